//! One drop read from disk: its manifest, the content hash (CSV bytes then
//! manifest bytes) that identifies it, and the campaign row it describes.
//!
//! The manifest is parsed from the bytes that were hashed. The CSV is read
//! twice — hashed here, parsed while it streams into the database — so its
//! rows hash the bytes they come from again ([`CampaignFile::same_bytes`]);
//! a file that changed in between is never stored under the other hash.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::campaign::Problem;
use crate::campaign::csv::CsvSource;
use crate::campaign::file::{ContentHash, open_regular};
use crate::campaign::manifest::{MAX_MANIFEST_BYTES, Manifest};
use crate::campaign::plan::Planner;
use crate::campaign::settings::CampaignSettings;
use crate::queue::load::NewCampaign;

use super::problems::ProblemList;

/// A campaign CSV with its manifest, hashed.
#[derive(Debug, Clone)]
pub struct CampaignFile {
    pub csv: PathBuf,
    /// The CSV's file name (UTF-8 checked).
    pub file_name: String,
    pub manifest_path: Option<PathBuf>,
    pub manifest: Manifest,
    manifest_text: String,
    /// The drop's identity: SHA-256 of the CSV bytes, then the manifest bytes.
    pub sha256: Vec<u8>,
    /// SHA-256 of the CSV bytes alone, to compare with the bytes parsed.
    csv_sha256: Vec<u8>,
}

impl CampaignFile {
    /// Reads the manifest and hashes both files (blocking I/O).
    pub fn read(csv: &Path, manifest_path: Option<&Path>) -> Result<CampaignFile, ProblemList> {
        let mut problems = ProblemList::default();
        let file_name = csv
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| super::problems::single("the file name is not valid UTF-8; rename it"))?
            .to_string();
        let mut hasher = Sha256::new();
        // A FIFO or device is refused, never waited on.
        let mut file = open_regular(csv)
            .map_err(|e| super::problems::single(format!("cannot open {file_name}: {e}")))?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) => return Err(super::problems::single(format!("cannot read: {e}"))),
            }
        }
        let csv_sha256 = hasher.clone().finalize().to_vec();
        let mut manifest = Manifest::default();
        let mut manifest_text = String::new();
        if let Some(m) = manifest_path {
            let name = manifest_name(m);
            let in_manifest = |reason: String| Problem::file(reason).in_manifest(&name);
            match read_bounded(m, MAX_MANIFEST_BYTES) {
                Err(e) => problems.push(in_manifest(format!("cannot read: {e}"))),
                Ok(bytes) => {
                    hasher.update(&bytes);
                    match String::from_utf8(bytes) {
                        Err(_) => problems.push(in_manifest("not UTF-8 text".into())),
                        Ok(text) => match Manifest::parse(&text) {
                            Ok(parsed) => {
                                manifest = parsed;
                                manifest_text = text;
                            }
                            Err(ps) => {
                                problems.extend(ps.into_iter().map(|p| p.in_manifest(&name)))
                            }
                        },
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(CampaignFile {
            csv: csv.to_path_buf(),
            file_name,
            manifest_path: manifest_path.map(Path::to_path_buf),
            manifest,
            manifest_text,
            sha256: hasher.finalize().to_vec(),
            csv_sha256,
        })
    }

    /// Whether the CSV bytes parsed (hashed by `parsed`, see
    /// [`CsvSource::content_hash`]) are the bytes this drop was hashed from.
    pub fn same_bytes(&self, parsed: &ContentHash) -> bool {
        parsed.digest() == self.csv_sha256
    }

    /// The problem of a file that changed while it was read.
    pub fn changed_problem(&self) -> String {
        format!(
            "{} changed while it was being read; nothing was loaded from it \
             (it is read again once it has stopped changing)",
            self.file_name
        )
    }

    /// Opens the rows and checks the header against the manifest (blocking).
    pub fn open_rows(&self) -> Result<(CsvSource, Planner), ProblemList> {
        let source = CsvSource::open(&self.csv).map_err(|p| {
            let mut l = ProblemList::default();
            l.push(p);
            l
        })?;
        let planner = Planner::new(&self.manifest, source.headers()).map_err(|ps| {
            let mut l = ProblemList::default();
            l.extend(ps);
            l
        })?;
        Ok((source, planner))
    }

    /// The manifest's file name (`list.toml`), when there is a manifest.
    pub fn manifest_name(&self) -> Option<String> {
        self.manifest_path.as_deref().map(manifest_name)
    }

    /// Names `problems` as problems of the manifest (when there is one).
    pub fn in_manifest(&self, problems: ProblemList) -> ProblemList {
        let Some(name) = self.manifest_name() else {
            return problems;
        };
        let mut named = ProblemList {
            not_listed: problems.not_listed,
            ..ProblemList::default()
        };
        named.extend(problems.listed.into_iter().map(|p| p.in_manifest(&name)));
        named
    }

    /// The manifest's name, else the file's stem.
    pub fn campaign_name(&self) -> String {
        match self.manifest.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => Path::new(&self.file_name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.file_name.clone()),
        }
    }

    /// The campaign to insert: this drop's identity and the manifest's
    /// settings, converted (and validated) once by
    /// [`CampaignSettings::from_manifest`].
    pub fn new_campaign(
        &self,
        template_verified: Option<bool>,
    ) -> Result<NewCampaign, ProblemList> {
        let settings = CampaignSettings::from_manifest(&self.manifest)
            .map_err(|ps| self.in_manifest(ps.into()))?;
        Ok(NewCampaign {
            name: self.campaign_name(),
            source_sha256: self.sha256.clone(),
            source_file: self.file_name.clone(),
            settings,
            template_verified,
            manifest: manifest_json(&self.manifest_text),
        })
    }

    /// The folder the manifest's relative paths start from.
    pub fn folder(&self) -> PathBuf {
        let dir = self
            .manifest_path
            .as_deref()
            .unwrap_or(&self.csv)
            .parent()
            .unwrap_or(Path::new("."));
        if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir.to_path_buf()
        }
    }
}

/// The whole of a regular file of at most `max` bytes.
fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path)?
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}

/// A manifest's file name, for problem messages.
fn manifest_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The manifest as JSON for `campaigns.manifest` (dates as RFC 3339 strings).
fn manifest_json(text: &str) -> serde_json::Value {
    fn convert(v: toml::Value) -> serde_json::Value {
        use serde_json::Value as J;
        match v {
            toml::Value::String(s) => J::String(s),
            toml::Value::Integer(i) => J::from(i),
            toml::Value::Float(f) => J::from(f),
            toml::Value::Boolean(b) => J::Bool(b),
            toml::Value::Datetime(d) => J::String(d.to_string()),
            toml::Value::Array(a) => J::Array(a.into_iter().map(convert).collect()),
            toml::Value::Table(t) => {
                J::Object(t.into_iter().map(|(k, v)| (k, convert(v))).collect())
            }
        }
    }
    toml::from_str::<toml::Table>(text)
        .map(|t| convert(toml::Value::Table(t)))
        .unwrap_or_else(|_| serde_json::json!({}))
}
