//! The kinds of media a campaign can send — the four media fields of Wutt's
//! `send-message` and the manifest's keys — with their documented type and
//! size limits. A domain type: the manifest checks files with it, and the
//! Wutt client ([`crate::wutt::media`]) uploads by it.

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

    /// The kind whose field name this is (`image`, `document`, `video`, `audio`).
    pub fn from_field(field: &str) -> Option<MediaKind> {
        MediaKind::ALL.into_iter().find(|k| k.field() == field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_types() {
        for kind in MediaKind::ALL {
            assert_eq!(MediaKind::from_field(kind.field()), Some(kind));
        }
        assert_eq!(MediaKind::Image.mime_for("a.JPG"), Some("image/jpeg"));
        assert_eq!(MediaKind::Image.mime_for("a.gif"), None);
        assert_eq!(MediaKind::from_field("sticker"), None);
    }
}
