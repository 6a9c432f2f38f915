//! File helpers: atomic writes so nothing the user saved is lost on an error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    let pending = PendingTemporary::register(tmp.path());
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(path, e))?;
    // On failure the temporary is dropped, which deletes it.
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    drop(pending);
    sync_folder(&dir).map_err(|e| Error::io(&dir, e))
}

/// Temporaries of [`write_atomic`] that exist right now, for
/// [`remove_unfinished_temporaries`]. Destructors do not run when a process is ended by a
/// signal, so an interrupted write would otherwise leave its `.name.XXXX.tmp` behind.
static PENDING_TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// One entry of [`PENDING_TEMPORARIES`], removed from the list when dropped.
struct PendingTemporary(PathBuf);

impl PendingTemporary {
    fn register(path: &Path) -> Self {
        pending_list().push(path.to_path_buf());
        PendingTemporary(path.to_path_buf())
    }
}

impl Drop for PendingTemporary {
    fn drop(&mut self) {
        let mut list = pending_list();
        if let Some(i) = list.iter().position(|p| *p == self.0) {
            list.swap_remove(i);
        }
    }
}

/// The list, even after a panic elsewhere poisoned its lock (it holds plain paths).
fn pending_list() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING_TEMPORARIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Delete the temporary files of every [`write_atomic`] still in progress, and return how
/// many were removed. For an interrupt handler (Ctrl-C) that is about to end the process:
/// the writes it cuts short leave neither a temporary nor a changed target behind, since
/// the target is only ever replaced by a rename.
///
/// ```
/// // No write is in progress here, so nothing is removed.
/// assert_eq!(bfly_core::io::remove_unfinished_temporaries(), 0);
/// ```
pub fn remove_unfinished_temporaries() -> usize {
    remove_pending_where(|_| true)
}

/// Delete the pending temporaries that `select` picks (the unit tests pick their own
/// folder, so that writes of concurrent tests are left alone).
fn remove_pending_where(select: impl Fn(&Path) -> bool) -> usize {
    let list = pending_list();
    list.iter()
        .filter(|path| select(path) && std::fs::remove_file(path).is_ok())
        .count()
}

/// Refuse, before any work, a command whose outputs would destroy what it reads or each
/// other: every path in `outputs` must name a file different from every path in `inputs`
/// and from every other output. Each entry is `(role, path)`, the role naming the path in
/// the error (for example the option that gave it).
///
/// Two paths name the same file if both exist and are the same file (same device and
/// inode on Unix: symlinks and hard links included), or if they resolve to the same
/// location (absolute path, `.`/`..` and symlinked folders resolved) when one does not
/// exist yet.
///
/// ```
/// use std::path::Path;
/// let dir = tempfile::tempdir().unwrap();
/// let data = dir.path().join("x.csv");
/// std::fs::write(&data, "a\n1\n").unwrap();
/// let same = dir.path().join(".").join("x.csv");
/// let err = bfly_core::io::check_outputs_spare_inputs(&[("data", &data)], &[("out", &same)]);
/// assert!(matches!(err, Err(bfly_core::Error::OutputIsInput { .. })));
/// let other = dir.path().join("model.json");
/// assert!(bfly_core::io::check_outputs_spare_inputs(&[("data", &data)], &[("out", &other)]).is_ok());
/// ```
pub fn check_outputs_spare_inputs(
    inputs: &[(&str, &Path)],
    outputs: &[(&str, &Path)],
) -> Result<()> {
    for (i, &(output_role, output)) in outputs.iter().enumerate() {
        if let Some(&(input_role, _)) = inputs.iter().find(|(_, input)| same_file(output, input)) {
            return Err(Error::OutputIsInput {
                output_role: output_role.to_string(),
                input_role: input_role.to_string(),
                path: output.to_path_buf(),
            });
        }
        if let Some(&(first_role, _)) = outputs[..i].iter().find(|(_, o)| same_file(output, o)) {
            return Err(Error::OutputsCollide {
                first_role: first_role.to_string(),
                second_role: output_role.to_string(),
                path: output.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Check, before any work, that an output file can be created at `path`: its folder
/// exists and is a folder, and `path` itself is not a folder. `role` names the output in
/// the error ([`Error::OutputLocation`]).
///
/// ```
/// use std::path::Path;
/// let dir = tempfile::tempdir().unwrap();
/// assert!(bfly_core::io::check_output_file("--out", &dir.path().join("m.json")).is_ok());
/// let missing = dir.path().join("no-such-folder").join("m.json");
/// let err = bfly_core::io::check_output_file("--out", &missing).unwrap_err();
/// assert!(err.to_string().contains("does not exist"));
/// assert!(bfly_core::io::check_output_file("--out", dir.path()).is_err()); // a folder
/// ```
pub fn check_output_file(role: &str, path: &Path) -> Result<()> {
    let refuse = |reason: String| {
        Err(Error::OutputLocation {
            role: role.to_string(),
            path: path.to_path_buf(),
            reason,
        })
    };
    if path.is_dir() {
        return refuse("is a folder; give a file path inside it".into());
    }
    if path.file_name().is_none() {
        return refuse("is not a file path".into());
    }
    let folder = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => refuse(format!(
            "{} is a file, not a folder; choose a path in an existing folder",
            folder.display()
        )),
        Err(_) => refuse(format!(
            "the folder {} does not exist; create it first (mkdir -p {}) or choose another path",
            folder.display(),
            folder.display()
        )),
    }
}

/// Check, before any work, that an output folder can be used or created at `path`: it is
/// a folder if it exists, and otherwise nothing on the way to it is a file. `role` names
/// the output in the error ([`Error::OutputLocation`]).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// assert!(bfly_core::io::check_output_folder("--out", &dir.path().join("a/b")).is_ok());
/// let file = dir.path().join("results.csv");
/// std::fs::write(&file, "x\n").unwrap();
/// assert!(bfly_core::io::check_output_folder("--out", &file).is_err());
/// assert!(bfly_core::io::check_output_folder("--out", &file.join("sub")).is_err());
/// ```
pub fn check_output_folder(role: &str, path: &Path) -> Result<()> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    for ancestor in absolute.ancestors() {
        if let Ok(m) = std::fs::metadata(ancestor) {
            if m.is_dir() {
                return Ok(());
            }
            let reason = if ancestor == absolute {
                "is a file, but a folder is needed for the results; choose a folder path".into()
            } else {
                format!(
                    "{} is a file, so the folder cannot be made; choose another path",
                    ancestor.display()
                )
            };
            return Err(Error::OutputLocation {
                role: role.to_string(),
                path: path.to_path_buf(),
                reason,
            });
        }
    }
    Ok(())
}

/// Whether `a` and `b` name the same file (see [`check_outputs_spare_inputs`]).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        use std::os::unix::fs::MetadataExt;
        return ma.dev() == mb.dev() && ma.ino() == mb.ino();
    }
    resolved(a) == resolved(b)
}

/// `path` made absolute, with its folder resolved where it exists (the file itself may not).
fn resolved(path: &Path) -> PathBuf {
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map(|folder| folder.join(name))
            .unwrap_or(absolute),
        _ => absolute,
    }
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
    fn an_interrupt_removes_the_temporaries_of_unfinished_writes_only() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("state.npz");
        write_atomic(&target, b"saved before").unwrap();
        // A write cut short: its temporary exists and is registered.
        let temporary = dir.path().join(".state.npz.abc123.tmp");
        std::fs::write(&temporary, b"half").unwrap();
        let pending = PendingTemporary::register(&temporary);
        let in_dir = |p: &Path| p.starts_with(dir.path());
        assert_eq!(remove_pending_where(in_dir), 1);
        assert!(!temporary.exists());
        assert_eq!(std::fs::read(&target).unwrap(), b"saved before");
        // Finished writes are no longer listed.
        drop(pending);
        write_atomic(&target, b"saved after").unwrap();
        assert_eq!(remove_pending_where(in_dir), 0);
        assert_eq!(std::fs::read(&target).unwrap(), b"saved after");
    }

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

    #[test]
    fn outputs_that_name_an_input_or_each_other_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.csv");
        std::fs::write(&data, "a\n1\n").unwrap();
        let check = |inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]| {
            check_outputs_spare_inputs(inputs, outputs)
        };
        // The same file under another spelling, through a symlink and through a hard link.
        let dotted = dir.path().join("sub").join("..").join("data.csv");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&data, &link).unwrap();
            let hard = dir.path().join("hard.csv");
            std::fs::hard_link(&data, &hard).unwrap();
            for alias in [&link, &hard] {
                let e = check(&[("--data", &data)], &[("--out", alias)]).unwrap_err();
                assert!(matches!(e, Error::OutputIsInput { .. }), "{e:?}");
            }
        }
        let e = check(&[("--data", &data)], &[("--out", &dotted)]).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("--out") && msg.contains("--data"), "{msg}");
        assert!(msg.contains("would destroy"), "{msg}");
        // Two outputs that do not exist yet but are one location.
        let model = dir.path().join("model.json");
        let again = dir.path().join("sub").join("..").join("model.json");
        let e = check(&[], &[("--out", &model), ("--log-json", &again)]).unwrap_err();
        assert!(matches!(e, Error::OutputsCollide { .. }), "{e:?}");
        // Distinct paths pass, and nothing was written or removed.
        check(
            &[("--data", &data)],
            &[
                ("--out", &model),
                ("--log-json", &dir.path().join("log.jsonl")),
            ],
        )
        .unwrap();
        assert_eq!(std::fs::read(&data).unwrap(), b"a\n1\n");
        assert!(!model.exists());
    }
}
