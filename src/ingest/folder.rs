//! The drop folder on disk: `inbox/`, `processed/`, `rejected/`; which inbox
//! files are ready (settled, not ignored, not hostile); and moving files out
//! without clobbering anything, tolerant of another runner having moved them.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// `WUTT_CAMPAIGNS_DIR` and its subfolders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignsDir {
    pub root: PathBuf,
}

/// What the scan found in the inbox.
#[derive(Debug, Default)]
pub struct Scan {
    /// CSVs that have settled, each with its manifest path when one exists.
    pub ready: Vec<(PathBuf, Option<PathBuf>)>,
    /// Files that must be rejected without being read, with the reason.
    pub hostile: Vec<(PathBuf, String)>,
    /// CSVs still changing (or with a manifest still changing).
    pub unsettled: usize,
}

impl CampaignsDir {
    pub fn new(root: impl Into<PathBuf>) -> CampaignsDir {
        CampaignsDir { root: root.into() }
    }
    pub fn inbox(&self) -> PathBuf {
        self.root.join("inbox")
    }
    pub fn processed(&self) -> PathBuf {
        self.root.join("processed")
    }
    pub fn rejected(&self) -> PathBuf {
        self.root.join("rejected")
    }

    /// Creates the three folders when missing.
    pub fn ensure(&self) -> io::Result<()> {
        for d in [self.inbox(), self.processed(), self.rejected()] {
            std::fs::create_dir_all(&d)?;
        }
        Ok(())
    }

    /// Whether `path` is a direct child of the inbox.
    pub fn in_inbox(&self, path: &Path) -> bool {
        let (Some(parent), Ok(inbox)) = (path.parent(), self.inbox().canonicalize()) else {
            return false;
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        parent.canonicalize().is_ok_and(|p| p == inbox)
    }

    /// Lists the inbox: settled CSVs (sorted by name), hostile ones, and how many still change.
    pub fn scan(&self, settle: Duration) -> io::Result<Scan> {
        let inbox = self.inbox();
        let mut scan = Scan::default();
        let mut names: Vec<PathBuf> = std::fs::read_dir(&inbox)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        names.sort();
        for path in names {
            let Some(name) = path.file_name() else {
                continue;
            };
            if ignored(name) || !has_ext(name, b".csv") {
                continue;
            }
            let Some(meta) = std::fs::symlink_metadata(&path).ok() else {
                continue;
            };
            if meta.is_dir() {
                continue;
            }
            if name.to_str().is_none() {
                scan.hostile
                    .push((path, "the file name is not valid UTF-8; rename it".into()));
                continue;
            }
            if let Err(reason) = check_readable(&path, &inbox) {
                scan.hostile.push((path, reason));
                continue;
            }
            let manifest = manifest_for(&path);
            if let Some(m) = &manifest
                && let Err(reason) = check_readable(m, &inbox)
            {
                scan.hostile.push((path, format!("manifest: {reason}")));
                continue;
            }
            let settled = is_settled(&path, settle)
                && manifest.as_deref().is_none_or(|m| is_settled(m, settle));
            if settled {
                scan.ready.push((path, manifest));
            } else {
                scan.unsettled += 1;
            }
        }
        Ok(scan)
    }
}

/// Dot-files, editor and download leftovers, Office lock files.
pub fn ignored(name: &OsStr) -> bool {
    let b = name.as_bytes();
    b.starts_with(b".") || b.starts_with(b"~$") || has_ext(name, b".tmp") || has_ext(name, b".part")
}

fn has_ext(name: &OsStr, ext: &[u8]) -> bool {
    let b = name.as_bytes();
    b.len() > ext.len() && b[b.len() - ext.len()..].eq_ignore_ascii_case(ext)
}

/// `NAME.toml` beside `NAME.csv`, when it exists.
pub fn manifest_for(csv: &Path) -> Option<PathBuf> {
    ["toml", "TOML", "Toml"]
        .iter()
        .map(|ext| csv.with_extension(ext))
        .find(|p| std::fs::symlink_metadata(p).is_ok())
}

/// What a file of the inbox must be to be read: a regular file, or a symlink
/// to a regular file inside `folder`. A FIFO, socket or device is refused
/// without being opened (opening a FIFO waits for a writer: one in the inbox
/// would hang the scan, and under cron hold its lock forever).
pub fn check_readable(path: &Path, folder: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        return check_inside(path, folder);
    }
    if kind.is_file() {
        return Ok(());
    }
    use std::os::unix::fs::FileTypeExt as _;
    let what = if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else if kind.is_dir() {
        "a folder"
    } else {
        "a special file"
    };
    Err(format!(
        "not a regular file ({what}); only regular files are loaded: copy the file in instead"
    ))
}

/// Refuses a symlink that leads outside `folder` (or nowhere).
pub fn check_inside(path: &Path, folder: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.file_type().is_symlink() {
        return Ok(());
    }
    let target = path
        .canonicalize()
        .map_err(|_| "a symlink that leads nowhere".to_string())?;
    let folder = folder
        .canonicalize()
        .map_err(|e| format!("cannot resolve the folder: {e}"))?;
    if target.starts_with(&folder) && target.is_file() {
        Ok(())
    } else {
        Err("a symlink that leads outside the folder; copy the file in instead".into())
    }
}

/// Unchanged for `settle`: the modification time is at least that old.
pub fn is_settled(path: &Path, settle: Duration) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    match meta.modified().map(|m| SystemTime::now().duration_since(m)) {
        Ok(Ok(age)) => age >= settle,
        // A modification time in the future: settled only without a settle time.
        Ok(Err(_)) => settle.is_zero(),
        Err(_) => true,
    }
}

/// Moves `from` into `dir` as `name` (or `stem (2).ext`, … when taken).
/// `Ok(None)` when `from` is gone: another runner moved it first.
pub fn move_into(from: &Path, dir: &Path, name: &str) -> io::Result<Option<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    for n in 1..=1000 {
        let target = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        if std::fs::symlink_metadata(&target).is_ok() {
            continue;
        }
        // A hard link never replaces an existing file; then drop the old name.
        let linked = match std::fs::hard_link(from, &target) {
            Ok(()) => match std::fs::remove_file(from) {
                // Another runner moved it at the same moment: keep one copy, theirs.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let _ = std::fs::remove_file(&target);
                    return Ok(None);
                }
                other => other,
            },
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            // Filesystems without hard links: a rename (the target was free).
            Err(_) => std::fs::rename(from, &target),
        };
        return match linked {
            Ok(()) => Ok(Some(target)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        };
    }
    Err(io::Error::other(format!(
        "no free name for {name} in {}",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_leftovers() {
        for n in [".x.csv", "a.csv.tmp", "a.CSV.part", "~$a.csv", "a.TMP"] {
            assert!(ignored(OsStr::new(n)), "{n}");
        }
        assert!(!ignored(OsStr::new("a.csv")));
        assert!(has_ext(OsStr::new("A.CSV"), b".csv"));
        assert!(!has_ext(OsStr::new(".csv"), b".csv"));
    }
}
