//! Image work, off the async runtime and bounded: header-only dimensions,
//! decoding under limits after the pixel budget was checked, re-encoding
//! (which drops EXIF and GPS), thumbnails.

use std::io::Cursor;
use std::sync::OnceLock;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use ocomms_runtime::{ServiceError, ServiceResult};
use tokio::sync::Semaphore;

use crate::domain;

/// Decodes run at most two at a time (each may take hundreds of MB).
fn decodes() -> &'static Semaphore {
    static S: OnceLock<Semaphore> = OnceLock::new();
    S.get_or_init(|| Semaphore::new(2))
}

/// Width and height from the header, without decoding.
pub fn dimensions(head: &[u8]) -> Option<(u32, u32)> {
    let s = imagesize::blob_size(head).ok()?;
    Some((u32::try_from(s.width).ok()?, u32::try_from(s.height).ok()?))
}

fn decode(bytes: &[u8]) -> ServiceResult<DynamicImage> {
    let (w, h) = dimensions(bytes).ok_or_else(|| ServiceError::validation("file", "not a readable image"))?;
    domain::check_pixels(w, h)?;
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| ServiceError::validation("file", "not a readable image"))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(domain::MAX_PIXELS * 8);
    reader.limits(limits);
    reader.decode().map_err(|e| ServiceError::validation("file", format!("not a readable image: {e}")))
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> ServiceResult<T> + Send + 'static) -> ServiceResult<T> {
    let _slot = decodes().acquire().await.map_err(ServiceError::internal)?;
    tokio::task::spawn_blocking(work).await.map_err(ServiceError::internal)?
}

/// A stored avatar or emoji: the bytes, their type, and whether it moves.
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub dimensions: (u32, u32),
    pub animated: bool,
}

/// Re-encodes an avatar or emoji at most `side` pixels wide and high as
/// PNG. An animated GIF emoji keeps its frames (GIF carries no EXIF); its
/// size and budget are still checked and its first frame decoded.
pub async fn reencode(bytes: Vec<u8>, mime: &'static str, side: u32) -> ServiceResult<Encoded> {
    blocking(move || {
        let img = decode(&bytes)?;
        if mime == "image/gif" && gif_frames(&bytes) > 1 {
            return Ok(Encoded { dimensions: (img.width(), img.height()), bytes, mime, animated: true });
        }
        let img = if img.width() > side || img.height() > side { img.thumbnail(side, side) } else { img };
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).map_err(ServiceError::internal)?;
        Ok(Encoded { bytes: out, mime: "image/png", dimensions: (img.width(), img.height()), animated: false })
    })
    .await
}

fn gif_frames(bytes: &[u8]) -> usize {
    use image::AnimationDecoder;
    match image::codecs::gif::GifDecoder::new(Cursor::new(bytes)) {
        Ok(d) => d.into_frames().take(2).count(),
        Err(_) => 0,
    }
}

/// A thumbnail of an image attachment: JPEG for opaque images, PNG when
/// there is transparency. `None` for what cannot be made (not an image,
/// past the budget, undecodable).
pub async fn thumbnail(bytes: Vec<u8>) -> Option<(Vec<u8>, &'static str)> {
    let made = blocking(move || {
        let img = decode(&bytes)?;
        let small = img.thumbnail(domain::THUMBNAIL_SIDE, domain::THUMBNAIL_SIDE);
        let mut out = Vec::new();
        let mime = if small.color().has_alpha() {
            small.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).map_err(ServiceError::internal)?;
            "image/png"
        } else {
            DynamicImage::ImageRgb8(small.to_rgb8())
                .write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
                .map_err(ServiceError::internal)?;
            "image/jpeg"
        };
        Ok((out, mime))
    })
    .await;
    made.ok()
}
