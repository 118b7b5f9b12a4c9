//! Atomic file replacement: write a temporary file in the same directory,
//! flush it to disk, rename it over the target, then flush the directory.
//! POSIX rename is atomic, so a reader (or a process restarted after a
//! crash at any point) sees the old file or the new one, never a mix; on
//! error the old file is untouched and the temporary file removed.

use crate::error::{Result, ZooError};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Replaces `path` by `bytes` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |what: &str, e: std::io::Error| ZooError::Io {
        path: path.display().to_string(),
        message: format!("{what}: {e}"),
    };
    let name = path
        .file_name()
        .ok_or_else(|| ZooError::InvalidArgument(format!("'{}' names no file", path.display())))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // One temporary name per process and thread, so concurrent writers
    // never share one.
    let temp = dir.join(format!(
        ".{}.tmp-{}-{:?}",
        name.to_string_lossy(),
        std::process::id(),
        std::thread::current().id()
    ));
    let written = (|| {
        let mut file = File::create(&temp).map_err(|e| io("cannot create a temporary file", e))?;
        file.write_all(bytes)
            .map_err(|e| io("cannot write the temporary file", e))?;
        file.sync_all()
            .map_err(|e| io("cannot flush the temporary file", e))?;
        fs::rename(&temp, path).map_err(|e| io("cannot move the new file into place", e))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
        return written;
    }
    // The rename is durable once the directory entry is on disk.
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("cannot flush the directory", e))
}
