//! Media kinds accepted by `send-message` and their documented limits.

use std::path::PathBuf;

/// The four media fields of `send-message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Image,
    Document,
    Video,
    Audio,
}

impl MediaKind {
    pub const ALL: [MediaKind; 4] = [
        MediaKind::Image,
        MediaKind::Document,
        MediaKind::Video,
        MediaKind::Audio,
    ];

    /// The multipart field name (and manifest key).
    pub fn field(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Document => "document",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
        }
    }
}

/// A media file to upload, already checked against its kind's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub kind: MediaKind,
    pub path: PathBuf,
    pub file_name: String,
    pub mime_type: String,
}
