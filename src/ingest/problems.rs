//! Every problem found in a drop, kept up to a cap (with a count of the rest),
//! and the `NAME.errors.txt` written beside a rejected file.

use std::fmt::Write as _;
use std::path::Path;

use crate::campaign::Problem;

/// How many problems are listed one by one.
pub const MAX_LISTED: usize = 1000;

/// Problems in the order found; beyond [`MAX_LISTED`] only counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProblemList {
    pub listed: Vec<Problem>,
    pub not_listed: u64,
}

impl ProblemList {
    pub fn push(&mut self, p: Problem) {
        if self.listed.len() < MAX_LISTED {
            self.listed.push(p);
        } else {
            self.not_listed += 1;
        }
    }

    pub fn extend(&mut self, ps: impl IntoIterator<Item = Problem>) {
        for p in ps {
            self.push(p);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty() && self.not_listed == 0
    }

    pub fn total(&self) -> u64 {
        self.listed.len() as u64 + self.not_listed
    }

    /// One problem per line, then the count of those not listed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for p in &self.listed {
            let _ = writeln!(out, "{p}");
        }
        if self.not_listed > 0 {
            let _ = writeln!(out, "… and {} more problems not listed", self.not_listed);
        }
        out
    }
}

/// A one-problem list.
pub fn single(reason: impl Into<String>) -> ProblemList {
    let mut l = ProblemList::default();
    l.push(Problem::file(reason));
    l
}

/// Writes `STEM.errors.txt` beside the moved file `moved` (best effort; a
/// failure is logged, the file has been moved already).
///
/// Written to a new temporary file of its own, then renamed over the name:
/// whatever already has that name — a symbolic link or a hard link someone
/// planted in `rejected/` — is replaced, never written through.
pub fn write_errors(moved: &Path, original_name: &str, heading: &str, body: &str) {
    let stem = moved
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let target = moved.with_file_name(format!("{stem}.errors.txt"));
    let text = format!(
        "{original_name}: {heading}\nchecked {}\n\n{body}",
        chrono::Utc::now().to_rfc3339()
    );
    if let Err(e) = write_new(&target, text.as_bytes()) {
        tracing::error!(file = %target.display(), error = %e, "cannot write the errors file");
    }
}

/// Replaces `target` with a new file holding `bytes` (temporary file created
/// exclusively in the same folder, then renamed).
fn write_new(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    use std::os::unix::fs::PermissionsExt as _;
    let mut tmp = tempfile::Builder::new()
        .prefix(".errors-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}
