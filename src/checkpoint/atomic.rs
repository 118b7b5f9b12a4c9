//! Atomic file replacement: write a temporary file in the same directory,
//! flush it to disk, rename it over the target, then flush the directory.
//! POSIX rename is atomic, so a reader (or a process restarted after a
//! crash at any point) sees the old file or the new one, never a mix; on
//! error the old file is untouched and the temporary file removed.
//!
//! What is replaced: a regular file, or nothing (a new file is created).
//! A symbolic link is followed (through chains of links, up to
//! [`MAX_LINKS`]) and the file it points to is replaced, so the link
//! stays and keeps pointing there; a dangling link gets its target
//! created. A directory, FIFO, socket or device at the path (or at the
//! end of its links) is an error, checked before anything is written:
//! such a node is never written into, blocked on or replaced.

use super::reading::describe_type;
use crate::error::{Result, ZooError};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// Symbolic links followed before a save gives up (as Linux's ELOOP).
pub const MAX_LINKS: usize = 40;

/// Replaces the file at `path` (or at the end of its symbolic links) by
/// `bytes` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = resolve(path)?;
    let shown = if target == path {
        path.display().to_string()
    } else {
        format!("{} (a link to {})", path.display(), target.display())
    };
    let io = |what: &str, e: std::io::Error| ZooError::Io {
        path: shown.clone(),
        message: format!("{what}: {e}"),
    };
    let name = target
        .file_name()
        .ok_or_else(|| ZooError::InvalidArgument(format!("'{shown}' names no file")))?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // One temporary name per process and thread, so concurrent writers
    // never share one; a stale one (a crashed process with the same id)
    // is removed, and the new one is created, never opened through a link.
    let temp = dir.join(format!(
        ".{}.tmp-{}-{:?}",
        name.to_string_lossy(),
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = fs::remove_file(&temp);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| io("cannot create a temporary file", e))?;
        file.write_all(bytes)
            .map_err(|e| io("cannot write the temporary file", e))?;
        file.sync_all()
            .map_err(|e| io("cannot flush the temporary file", e))?;
        fs::rename(&temp, &target).map_err(|e| io("cannot move the new file into place", e))
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

/// The path a save replaces: `path` with its symbolic links followed,
/// when it ends at a regular file or at nothing; else an error naming
/// what is there.
pub fn resolve(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        let shown = || {
            if current == path {
                path.display().to_string()
            } else {
                format!("{} (a link to {})", path.display(), current.display())
            }
        };
        let info = match fs::symlink_metadata(&current) {
            Ok(info) => info,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(current),
            Err(e) => {
                return Err(ZooError::Io {
                    path: shown(),
                    message: format!("cannot examine the save target: {e}"),
                })
            }
        };
        let file_type = info.file_type();
        if file_type.is_file() {
            return Ok(current);
        }
        if !file_type.is_symlink() {
            return Err(ZooError::Io {
                path: shown(),
                message: format!(
                    "is {}, not a regular file; checkpoints are saved to regular files only, and this one was left as it was",
                    describe_type(file_type)
                ),
            });
        }
        let link = fs::read_link(&current).map_err(|e| ZooError::Io {
            path: shown(),
            message: format!("cannot read the symbolic link: {e}"),
        })?;
        // A relative link is relative to the directory that holds it.
        current = match current.parent() {
            Some(dir) => dir.join(link),
            None => link,
        };
    }
    Err(ZooError::Io {
        path: path.display().to_string(),
        message: format!("more than {MAX_LINKS} levels of symbolic links (a loop?)"),
    })
}
