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

impl MediaKind {
    /// The documented size limit (MB read as 10^6 bytes, the stricter reading
    /// would be 2^20; 10^6 is the safer choice since the vendor does not say).
    pub fn max_bytes(self) -> u64 {
        match self {
            MediaKind::Image => 5_000_000,
            MediaKind::Document => 100_000_000,
            MediaKind::Video => 16_000_000,
            MediaKind::Audio => 16_000_000,
        }
    }

    /// Accepted file extensions (lower case) and their MIME types.
    pub fn accepted(self) -> &'static [(&'static str, &'static str)] {
        match self {
            MediaKind::Image => &[
                ("jpg", "image/jpeg"),
                ("jpeg", "image/jpeg"),
                ("png", "image/png"),
            ],
            MediaKind::Document => &[
                ("pdf", "application/pdf"),
                ("doc", "application/msword"),
                (
                    "docx",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                ),
            ],
            MediaKind::Video => &[("mp4", "video/mp4")],
            MediaKind::Audio => &[
                ("mp3", "audio/mpeg"),
                ("ogg", "audio/ogg"),
                ("opus", "audio/ogg"),
                ("m4a", "audio/mp4"),
                ("aac", "audio/aac"),
                ("amr", "audio/amr"),
                ("wav", "audio/wav"),
            ],
        }
    }

    /// The MIME type for a file name, when its extension is accepted for this kind.
    pub fn mime_for(self, file_name: &str) -> Option<&'static str> {
        let ext = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
        self.accepted()
            .iter()
            .find(|(e, _)| *e == ext)
            .map(|(_, mime)| *mime)
    }
}
