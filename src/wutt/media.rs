//! Media files for `send-message`: how a file is checked against its kind's
//! documented type and size limits ([`MediaKind`], a domain type of
//! [`crate::campaign`]) and streamed as a multipart part.

use std::path::PathBuf;

pub use crate::campaign::media::MediaKind;

/// A media file to upload, already checked against its kind's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub kind: MediaKind,
    pub path: PathBuf,
    pub file_name: String,
    pub mime_type: String,
}

/// Why a file cannot be sent as media. Raised before any byte is uploaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("{field} {file:?}: type not accepted (accepted: {accepted})")]
    WrongType {
        field: &'static str,
        file: String,
        accepted: String,
    },
    #[error("{field} {file:?}: {size} bytes is over the limit of {max} bytes")]
    TooLarge {
        field: &'static str,
        file: String,
        size: u64,
        max: u64,
    },
    #[error("{field} {file:?}: {reason}")]
    Unreadable {
        field: &'static str,
        file: String,
        reason: String,
    },
}

impl MediaFile {
    /// Checks a file against its kind's type and size limits and describes it.
    pub fn new(kind: MediaKind, path: impl Into<PathBuf>) -> Result<MediaFile, MediaError> {
        let path = path.into();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mime_type = kind.check_name(&file_name)?.to_string();
        let meta = std::fs::metadata(&path).map_err(|e| kind.unreadable(&file_name, e))?;
        kind.check_size(&file_name, &meta)?;
        Ok(MediaFile {
            kind,
            path,
            file_name,
            mime_type,
        })
    }

    /// Opens the file, checks it again (it may have changed since it was
    /// described) and returns a part that streams it: the file is never read
    /// whole into memory, and no more than the checked length is sent.
    pub(crate) async fn part(&self) -> Result<reqwest::multipart::Part, MediaError> {
        use tokio::io::AsyncReadExt;
        let kind = self.kind;
        let mime = kind.check_name(&self.file_name)?;
        if !self.mime_type.eq_ignore_ascii_case(mime) {
            return Err(MediaError::WrongType {
                field: kind.field(),
                file: self.file_name.clone(),
                accepted: format!("{mime} for this extension, not {}", self.mime_type),
            });
        }
        let mut options = tokio::fs::OpenOptions::new();
        options.read(true);
        // The file may have been replaced by a FIFO since it was described:
        // opening one must not wait for a writer (check_size refuses it).
        #[cfg(unix)]
        options.custom_flags(libc::O_NONBLOCK);
        let file = options
            .open(&self.path)
            .await
            .map_err(|e| kind.unreadable(&self.file_name, e))?;
        let meta = file
            .metadata()
            .await
            .map_err(|e| kind.unreadable(&self.file_name, e))?;
        let len = kind.check_size(&self.file_name, &meta)?;
        let stream = tokio_util::io::ReaderStream::new(file.take(len));
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), len)
            .file_name(self.file_name.clone())
            .mime_str(mime)
            .map_err(|e| kind.unreadable(&self.file_name, e))
    }
}

impl MediaKind {
    fn check_name(self, file_name: &str) -> Result<&'static str, MediaError> {
        self.mime_for(file_name)
            .ok_or_else(|| MediaError::WrongType {
                field: self.field(),
                file: file_name.to_string(),
                accepted: self
                    .accepted()
                    .iter()
                    .map(|(ext, _)| *ext)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn check_size(self, file_name: &str, meta: &std::fs::Metadata) -> Result<u64, MediaError> {
        if !meta.is_file() {
            return Err(self.unreadable(file_name, "not a regular file"));
        }
        let size = meta.len();
        if size == 0 {
            return Err(self.unreadable(file_name, "the file is empty"));
        }
        if size > self.max_bytes() {
            return Err(MediaError::TooLarge {
                field: self.field(),
                file: file_name.to_string(),
                size,
                max: self.max_bytes(),
            });
        }
        Ok(size)
    }

    fn unreadable(self, file_name: &str, reason: impl std::fmt::Display) -> MediaError {
        MediaError::Unreadable {
            field: self.field(),
            file: file_name.to_string(),
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_and_size_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("a.PNG");
        std::fs::write(&ok, b"png").unwrap();
        let f = MediaFile::new(MediaKind::Image, &ok).unwrap();
        assert_eq!(f.mime_type, "image/png");
        assert_eq!(f.file_name, "a.PNG");

        let wrong = dir.path().join("a.gif");
        std::fs::write(&wrong, b"gif").unwrap();
        assert!(matches!(
            MediaFile::new(MediaKind::Image, &wrong),
            Err(MediaError::WrongType { .. })
        ));

        let big = dir.path().join("big.jpg");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MediaKind::Image.max_bytes() + 1).unwrap();
        assert!(matches!(
            MediaFile::new(MediaKind::Image, &big),
            Err(MediaError::TooLarge { size, .. }) if size == 5_000_001
        ));
        assert!(matches!(
            MediaFile::new(MediaKind::Image, dir.path().join("missing.jpg")),
            Err(MediaError::Unreadable { .. })
        ));
        assert!(matches!(
            MediaFile::new(MediaKind::Document, dir.path().join("noext")),
            Err(MediaError::WrongType { .. })
        ));
    }
}
