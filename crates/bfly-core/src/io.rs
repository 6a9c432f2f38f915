//! File helpers: atomic writes so nothing the user saved is lost on an error.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Write `bytes` to `path` atomically and durably.
///
/// The bytes go to a uniquely named temporary file in the same folder (`tempfile`, so two
/// threads or processes writing the same path never share a temporary), which is synced
/// and renamed over `path`; the folder is then synced so the rename itself survives a power
/// loss. A crash or error mid-write leaves any previous file at `path` intact, and the
/// temporary is removed.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("model.json");
/// bfly_core::io::write_atomic(&path, b"{}").unwrap();
/// bfly_core::io::write_atomic(&path, b"{\"v\": 2}").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"{\"v\": 2}");
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::InvalidInput(format!("{}: not a file path", path.display())))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(path, e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(path, e))?;
    // On failure the temporary is dropped, which deletes it.
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    sync_folder(&dir).map_err(|e| Error::io(&dir, e))
}

/// Make a rename inside `dir` durable (a no-op where folders cannot be opened as files).
fn sync_folder(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_previous_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keep.json");
        write_atomic(&path, b"old").unwrap();
        // A path whose parent is a file cannot take a temporary: the write fails.
        let bad = path.join("child.json");
        assert!(write_atomic(&bad, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("keep.json")]);
    }

    #[test]
    fn concurrent_writers_of_one_path_never_share_a_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.bin");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..20 {
                        write_atomic(path, &[t; 4096]).unwrap();
                    }
                });
            }
        });
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|&b| b == bytes[0]), "a torn write");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
