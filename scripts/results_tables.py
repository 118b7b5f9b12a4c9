#!/usr/bin/env python3
"""README learning tables, generated from the demos' result files.

Every learning number the README publishes comes from a file in results/
that a demo wrote (the file names the command that rewrites it). Each
table in the README sits between `<!-- results FILE/TABLE -->` and
`<!-- end results -->`; this script renders it from the file.

    python3 scripts/results_tables.py --check   # exit 1 if the README is stale
    python3 scripts/results_tables.py --write   # rewrite the README's tables
    python3 scripts/results_tables.py results/burgers.json   # print its tables

The result-file schema (results/README.md has it with an example):
{"name": ..., "reproduce": command, "tables": [{"id": ..., "columns": [...],
 "rows": [{"<value keys>": ..., "runs": [{"<metric>": number|null|bool}]}]}]}
Column aggregations: "value" (the row's own field), "median-range"
(median [min, max] over runs), "median", "count-true" (k/n), "ratio"
(median of this row / median of row `of`, or of the row that the row's own
field `of_key` names; same key), "runs" (n).
A null metric is a run that diverged: it counts as +infinity.
"""
import json
import math
import pathlib
import re
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"<!-- results ([\w.-]+)/([\w.-]+) -->\n(.*?)<!-- end results -->\n", re.S)


def number(value):
    if value is None:
        return math.inf
    if isinstance(value, bool):
        raise ValueError("a boolean where a number is needed")
    return float(value)


def fmt(value, spec):
    if math.isinf(value):
        return "diverged"
    if math.isnan(value):
        return "nan"
    return format(value, spec)


def values(row, key):
    runs = row.get("runs", [])
    missing = [i for i, run in enumerate(runs) if key not in run]
    if missing:
        raise ValueError(f"row {row.get('method', row)!r}: runs {missing} lack {key!r}")
    return [number(run[key]) for run in runs]


def median(xs):
    if not xs:
        raise ValueError("a median of no runs")
    return statistics.median(xs)


def cell(table, row, column):
    agg = column.get("agg", "value")
    key = column["key"]
    spec = column.get("format", ".3g")
    if agg == "value":
        value = row.get(key, "")
        return fmt(value, spec) if isinstance(value, float) else str(value)
    if agg == "runs":
        return str(len(row["runs"]))
    if agg == "count-true":
        flags = [run[key] for run in row["runs"]]
        return f"{sum(1 for f in flags if f)}/{len(flags)}"
    xs = values(row, key)
    if agg == "median":
        return fmt(median(xs), spec)
    if agg == "median-range":
        return f"{fmt(median(xs), spec)} [{fmt(min(xs), spec)}, {fmt(max(xs), spec)}]"
    if agg == "ratio":
        of = column["of"] if "of" in column else row[column["of_key"]]
        matches = [r for r in table["rows"] if r.get(column.get("by", "method")) == of
                   and all(r.get(k) == row.get(k) for k in column.get("same", []))]
        if len(matches) != 1:
            raise ValueError(f"table {table['id']}: {len(matches)} rows named {of!r}")
        base = median(values(matches[0], key))
        mine = median(xs)
        if math.isinf(mine):
            return "diverged"
        if math.isinf(base):
            return f"n/a ({of} diverged)"
        return format(mine / base, column.get("format", ".2f"))
    raise ValueError(f"table {table['id']}: unknown aggregation {agg!r}")


def render(table):
    columns = table["columns"]
    lines = ["| " + " | ".join(c["label"] for c in columns) + " |",
             "| " + " | ".join("---:" if c.get("agg", "value") != "value" else "---" for c in columns) + " |"]
    for row in table["rows"]:
        cells = [cell(table, row, c) for c in columns]
        if row.get("bold"):
            cells = [f"**{c}**" if c and c != cells[0] else c for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def load(name):
    path = ROOT / "results" / f"{name}.json"
    with open(path) as f:
        return json.load(f)


def rendered_readme(text):
    cache = {}

    def replace(match):
        name, table_id = match.group(1), match.group(2)
        if name not in cache:
            cache[name] = load(name)
        tables = [t for t in cache[name]["tables"] if t["id"] == table_id]
        if len(tables) != 1:
            raise SystemExit(f"README: results/{name}.json has no table {table_id!r}")
        return f"<!-- results {name}/{table_id} -->\n{render(tables[0])}<!-- end results -->\n"

    return MARKER.sub(replace, text)


def main(argv):
    if len(argv) == 2 and argv[1] in ("--check", "--write"):
        text = README.read_text()
        new = rendered_readme(text)
        if argv[1] == "--write":
            if new != text:
                README.write_text(new)
            return 0
        if new != text:
            import difflib
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                                       "README.md", "README.md (from results/)"))
            print("README.md's tables differ from results/: run python3 scripts/results_tables.py --write")
            return 1
        print(f"README.md: {len(MARKER.findall(text))} tables agree with results/")
        return 0
    if len(argv) == 2 and argv[1].endswith(".json"):
        with open(argv[1]) as f:
            data = json.load(f)
        for table in data["tables"]:
            print(f"{table['id']}: {table.get('title', '')}\n{render(table)}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
