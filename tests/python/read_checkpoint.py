"""Reads a zoo checkpoint with safetensors + numpy (no zoo involved) and
checks it against weights dumped as text by the program that wrote it.

Usage: python3 read_checkpoint.py CHECKPOINT DUMP
Exits 1 with a message when anything differs.
"""
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def main(checkpoint, dump):
    tensors = load_file(checkpoint)
    with safe_open(checkpoint, framework="numpy") as f:
        metadata = f.metadata()
    expected = np.loadtxt(dump, dtype=np.float64)
    params, mask = tensors["params"], tensors["mask"]
    problems = []
    if metadata.get("format") != "zoo-checkpoint":
        problems.append(f"format is {metadata.get('format')!r}")
    if metadata.get("kind") != "trainer":
        problems.append(f"kind is {metadata.get('kind')!r}")
    widths = [int(w) for w in metadata["layers"].split(",")]
    count = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    if params.dtype != np.float64 or params.shape != (count,):
        problems.append(f"params is {params.dtype} {params.shape}, expected float64 ({count},)")
    if not np.array_equal(params, expected):
        problems.append("params differ from the dump")
    if mask.dtype != np.uint8 or not np.all((mask == 0) | (mask == 1)):
        problems.append("mask is not 0/1 bytes")
    if np.any(params[mask == 0] != 0):
        problems.append("pruned weights are not zero")
    for name in ("optimizer.first", "optimizer.second"):
        if tensors[name].shape != (count,):
            problems.append(f"{name} has shape {tensors[name].shape}")
    if problems:
        print("FAIL: " + "; ".join(problems))
        return 1
    print(f"ok: {count} weights read from Python match, iteration {metadata['iteration']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
