//! The rules of files, without IO: kinds and their limits, which types each
//! accepts (told by the bytes, never by the name), emoji names, the pixel
//! budget, filenames.

use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};

/// An uploaded file: `ocomms-domain`'s, since messages and scheduled
/// messages refer to their attachments.
pub use ocomms_domain::FileId;

ocomms_runtime::typed_id! {
    /// A custom emoji.
    EmojiId;
}

/// Bytes kept to tell a file's type (and, for images, usually its size).
pub const SNIFF_BYTES: usize = 256 * 1024;
/// Images past this many pixels are refused before any decoding
/// (decompression bombs): 50 megapixels.
pub const MAX_PIXELS: u64 = 50_000_000;
/// Avatars are stored at most this wide and high.
pub const AVATAR_SIDE: u32 = 512;
/// Emoji are stored at most this wide and high.
pub const EMOJI_SIDE: u32 = 128;
/// Thumbnails fit in this square.
pub const THUMBNAIL_SIDE: u32 = 400;

ocomms_runtime::text_enum!(
    /// What an upload is for (seed 2.4 and its appendix).
    Kind { Attachment = "attachment", Avatar = "avatar", Emoji = "emoji" }
);

impl Kind {
    /// A kind from a request, or 400.
    pub fn from_request(s: &str) -> ServiceResult<Self> {
        Self::parse(s).ok_or_else(|| ServiceError::validation("kind", "must be attachment, avatar or emoji"))
    }

    /// The largest upload of this kind, in bytes.
    pub fn max_bytes(self) -> u64 {
        match self {
            Self::Attachment => 25 * 1024 * 1024,
            Self::Avatar => 5 * 1024 * 1024,
            Self::Emoji => 256 * 1024,
        }
    }

    /// The MIME types this kind accepts.
    pub fn accepts(self) -> &'static [&'static str] {
        match self {
            Self::Attachment => &["image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"],
            Self::Avatar => &["image/jpeg", "image/png", "image/webp"],
            Self::Emoji => &["image/png", "image/gif"],
        }
    }

    /// Avatars and emoji are decoded and re-encoded (which strips EXIF and
    /// GPS) before they are stored, so they are read whole.
    pub fn reencoded(self) -> bool {
        !matches!(self, Self::Attachment)
    }
}

/// The type of a file from its first bytes, if this kind accepts it.
pub fn sniff(kind: Kind, head: &[u8]) -> ServiceResult<&'static str> {
    // A PDF must start as one (infer finds `%PDF` anywhere in the first KB).
    let found = infer::get(head).map(|t| t.mime_type()).filter(|m| *m != "application/pdf" || head.starts_with(b"%PDF-"));
    match found.and_then(|m| kind.accepts().iter().copied().find(|a| *a == m)) {
        Some(m) => Ok(m),
        None => {
            Err(ServiceError::new(ErrorCode::InvalidFileType, format!("{} uploads must be {}", kind.as_str(), kind.accepts().join(", ")))
                .with_details(serde_json::json!({ "detected": found, "accepted": kind.accepts() })))
        }
    }
}

pub fn is_image(mime: &str) -> bool {
    mime.starts_with("image/")
}

pub fn too_large(kind: Kind) -> ServiceError {
    ServiceError::new(ErrorCode::FileTooLarge, format!("{} uploads are limited to {} bytes", kind.as_str(), kind.max_bytes()))
        .with_details(serde_json::json!({ "maxBytes": kind.max_bytes() }))
}

pub fn quota_exceeded(used: i64, quota: i64) -> ServiceError {
    ServiceError::new(ErrorCode::QuotaExceeded, "this upload would exceed your storage quota")
        .with_details(serde_json::json!({ "used": used, "quota": quota }))
}

/// Refuses images whose header announces more than [`MAX_PIXELS`].
pub fn check_pixels(width: u32, height: u32) -> ServiceResult<()> {
    if u64::from(width) * u64::from(height) > MAX_PIXELS || width == 0 || height == 0 {
        return Err(ServiceError::validation("file", format!("images are limited to {MAX_PIXELS} pixels")));
    }
    Ok(())
}

/// A filename as shown and sent back: the last path segment, printable,
/// at most 255 characters; a default when nothing is left.
pub fn filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() { "file".to_owned() } else { clean }
}

/// A custom emoji's name: 2 to 32 of a-z, 0-9, `_` and `-`.
pub fn emoji_name(raw: Option<&str>) -> ServiceResult<String> {
    let name = raw.map(str::trim).unwrap_or_default().to_lowercase();
    let ok = (2..=32).contains(&name.len()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        return Err(ServiceError::validation("name", "must be 2 to 32 characters of a-z, 0-9, _ and -"));
    }
    Ok(name)
}

/// Where a file is downloaded.
pub fn url(id: FileId) -> String {
    format!("/api/files/{id}")
}

pub fn thumbnail_url(id: FileId) -> String {
    format!("/api/files/{id}/thumbnail")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(Kind::Attachment, PNG).expect("png"), "image/png");
        assert_eq!(sniff(Kind::Attachment, PDF).expect("pdf"), "application/pdf");
        assert_eq!(sniff(Kind::Attachment, SVG).expect_err("svg").code, ErrorCode::InvalidFileType);
        assert_eq!(sniff(Kind::Avatar, PDF).expect_err("pdf avatar").code, ErrorCode::InvalidFileType);
        assert_eq!(sniff(Kind::Emoji, PNG).expect("png emoji"), "image/png");
        assert_eq!(sniff(Kind::Attachment, b"").expect_err("empty").code, ErrorCode::InvalidFileType);
    }

    #[test]
    fn limits_names_and_budgets() {
        assert_eq!(Kind::Emoji.max_bytes(), 262_144);
        assert!(check_pixels(100_000, 100_000).is_err());
        assert!(check_pixels(4000, 3000).is_ok());
        assert_eq!(filename("../../etc/passwd"), "passwd");
        assert_eq!(filename("C:\\photos\\cat.png"), "cat.png");
        assert_eq!(filename("..."), "file");
        assert_eq!(filename("a\u{0}b\n.png"), "ab.png");
        assert_eq!(emoji_name(Some("Party_Parrot")).expect("ok"), "party_parrot");
        assert!(emoji_name(Some("x")).is_err());
        assert!(emoji_name(Some("no spaces")).is_err());
        assert!(emoji_name(None).is_err());
    }
}
