//! Reading a checkpoint file without trusting it.
//!
//! Only regular files are read: a directory, FIFO, socket or device is
//! refused by its type before it is opened (opening a FIFO would block,
//! reading `/dev/zero` would never end), and checked again on the opened
//! file. The safetensors layout is then checked piece by piece against
//! the file's actual size before anything larger is read: the 8-byte
//! header length (at most [`MAX_HEADER_BYTES`] and within the file), then
//! the JSON header, whose tensors must declare exactly the bytes that
//! follow it. Buffers are allocated fallibly, so no size written in a
//! file can make zoo abort or grow without bound.

use crate::error::{Result, ZooError};
use safetensors::tensor::Metadata;
use std::fs::{File, FileType};
use std::io::Read;
use std::path::Path;

/// The largest JSON header zoo reads. zoo writes a few kilobytes; a
/// larger header is a corrupted or foreign file.
pub const MAX_HEADER_BYTES: u64 = 1 << 20;

/// The bytes of the checkpoint file at `path`, after the checks above.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let name = path.display().to_string();
    let bad = |reason: String| ZooError::BadCheckpoint {
        path: name.clone(),
        reason,
    };
    let io = |e: std::io::Error| ZooError::Io {
        path: name.clone(),
        message: format!("cannot read the checkpoint: {e}"),
    };
    let examined = std::fs::metadata(path).map_err(io)?;
    regular(examined.file_type()).map_err(&bad)?;
    let mut file = File::open(path).map_err(io)?;
    // The file opened may have replaced the one examined.
    let opened = file.metadata().map_err(io)?;
    regular(opened.file_type()).map_err(&bad)?;
    let size = opened.len();
    if size < 8 {
        return Err(bad(format!(
            "the file holds {size} bytes, fewer than the 8-byte header length that starts a safetensors file (truncated?)"
        )));
    }
    let mut prefix = [0u8; 8];
    file.read_exact(&mut prefix).map_err(io)?;
    let header_len = u64::from_le_bytes(prefix);
    if header_len > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "header length {header_len} bytes is over the limit of {MAX_HEADER_BYTES} bytes: not a zoo checkpoint (a safetensors file starts with its header length)"
        )));
    }
    let after_prefix = size - 8;
    if header_len > after_prefix {
        return Err(bad(format!(
            "header length {header_len} bytes, but the file holds only {after_prefix} bytes after it (truncated?)"
        )));
    }
    let mut bytes = allocate(8 + header_len, &name)?;
    bytes.extend_from_slice(&prefix);
    read_exactly(&mut file, header_len, &mut bytes, &bad, io)?;
    let header: Metadata = serde_json::from_slice(&bytes[8..])
        .map_err(|e| bad(format!("unreadable safetensors header: {e}")))?;
    let declared = header.data_len() as u64;
    let payload = after_prefix - header_len;
    if declared != payload {
        return Err(bad(format!(
            "the tensors declare {declared} bytes of data, but the file holds {payload} bytes after the header ({})",
            if declared > payload {
                "truncated?"
            } else {
                "trailing bytes: corrupted?"
            }
        )));
    }
    let mut all = allocate(size, &name)?;
    all.extend_from_slice(&bytes);
    drop(bytes);
    read_exactly(&mut file, payload, &mut all, &bad, io)?;
    Ok(all)
}

/// An empty buffer with room for `len` bytes, or an error naming the file.
fn allocate(len: u64, name: &str) -> Result<Vec<u8>> {
    let refused = || ZooError::OutOfMemory {
        what: format!("{len} bytes to read the checkpoint {name}"),
    };
    let len = usize::try_from(len).map_err(|_| refused())?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| refused())?;
    Ok(bytes)
}

/// Appends exactly `len` more bytes of `file` to `bytes` (which has room
/// for them); a file that changed size while being read is an error.
fn read_exactly(
    file: &mut File,
    len: u64,
    bytes: &mut Vec<u8>,
    bad: &dyn Fn(String) -> ZooError,
    io: impl Fn(std::io::Error) -> ZooError,
) -> Result<()> {
    let got = file.take(len).read_to_end(bytes).map_err(io)?;
    if got as u64 != len {
        return Err(bad(format!(
            "the file changed while it was read ({got} of {len} bytes)"
        )));
    }
    Ok(())
}

/// Ok for a regular file, else what the file is.
fn regular(file_type: FileType) -> std::result::Result<(), String> {
    if file_type.is_file() {
        Ok(())
    } else {
        Err(format!(
            "is {}, not a regular file; checkpoints are read from regular files only",
            describe_type(file_type)
        ))
    }
}

/// What a file that is not a regular file is, for messages.
pub(crate) fn describe_type(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}
