//! Where file bytes live: an S3 bucket (`aws-sdk-s3`, any S3-compatible
//! server) when `S3_BUCKET` is set, else a local directory (the seed's
//! fallback). Writes stream: a local file is written under `tmp/` and
//! renamed into place when complete; S3 gets one `PutObject` for small
//! files and a multipart upload in 5 MiB parts otherwise, so an upload holds
//! at most one part in memory. An aborted write leaves nothing behind.

use std::path::{Path, PathBuf};
use std::pin::Pin;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use futures_util::Stream;
use tokio::io::AsyncWriteExt;

use crate::config::S3Config;

/// S3's smallest part (but the last).
const PART_BYTES: usize = 5 * 1024 * 1024;

pub type ByteChunks = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

#[derive(Clone)]
pub enum Storage {
    Local { dir: PathBuf },
    S3 { client: aws_sdk_s3::Client, bucket: String },
}

impl Storage {
    pub async fn from_config(s3: Option<&S3Config>, upload_dir: &str) -> anyhow::Result<Self> {
        match s3 {
            Some(c) => {
                // rustls with ring (no C build), no proxy from the
                // environment; plain http:// endpoints work too.
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https();
                let mut b = aws_sdk_s3::config::Builder::new()
                    .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                    .http_client(http)
                    .region(aws_sdk_s3::config::Region::new(c.region.clone()))
                    .force_path_style(c.force_path_style)
                    // Many S3-compatible servers refuse the checksums the
                    // SDK adds by default since 2025.
                    .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
                    .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired);
                if let Some(e) = &c.endpoint {
                    b = b.endpoint_url(e);
                }
                if let (Some(k), Some(s)) = (&c.access_key_id, &c.secret_access_key) {
                    b = b.credentials_provider(aws_sdk_s3::config::Credentials::new(k, s, None, None, "ocomms-config"));
                }
                let client = aws_sdk_s3::Client::from_conf(b.build());
                Ok(Self::S3 { client, bucket: c.bucket.clone() })
            }
            None => {
                let dir = PathBuf::from(upload_dir);
                tokio::fs::create_dir_all(dir.join("tmp")).await?;
                sweep_tmp(&dir.join("tmp")).await;
                Ok(Self::Local { dir })
            }
        }
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, Self::S3 { .. })
    }

    fn path(dir: &Path, key: &str) -> PathBuf {
        dir.join(key)
    }

    /// Starts writing the object `key`.
    pub async fn writer(&self, key: &str, content_type: &str) -> anyhow::Result<Writer> {
        Ok(match self {
            Self::Local { dir } => {
                let tmp = dir.join("tmp").join(format!("{}.part", key.replace('/', "_")));
                let file = tokio::fs::File::create(&tmp).await?;
                Writer::Local { file, tmp, dest: Self::path(dir, key) }
            }
            Self::S3 { client, bucket } => Writer::S3 {
                client: client.clone(),
                bucket: bucket.clone(),
                key: key.to_owned(),
                content_type: content_type.to_owned(),
                buf: Vec::new(),
                upload_id: None,
                parts: Vec::new(),
            },
        })
    }

    /// Writes a whole small object (re-encoded avatars, emoji, thumbnails).
    pub async fn put(&self, key: &str, content_type: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        let mut w = self.writer(key, content_type).await?;
        w.write(&bytes).await?;
        w.finish().await
    }

    /// Reads `[start, end]` (inclusive) of the object, or all of it.
    pub async fn read(&self, key: &str, range: Option<(u64, u64)>) -> anyhow::Result<ByteChunks> {
        match self {
            Self::Local { dir } => {
                use tokio::io::AsyncSeekExt;
                let mut file = tokio::fs::File::open(Self::path(dir, key)).await?;
                let reader: Pin<Box<dyn tokio::io::AsyncRead + Send>> = match range {
                    Some((start, end)) => {
                        file.seek(std::io::SeekFrom::Start(start)).await?;
                        Box::pin(tokio::io::AsyncReadExt::take(file, end - start + 1))
                    }
                    None => Box::pin(file),
                };
                Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024)))
            }
            Self::S3 { client, bucket } => {
                let mut req = client.get_object().bucket(bucket).key(key);
                if let Some((start, end)) = range {
                    req = req.range(format!("bytes={start}-{end}"));
                }
                let out = req.send().await?;
                let body = out.body;
                Ok(Box::pin(futures_util::stream::unfold(body, |mut body| async move {
                    match body.next().await {
                        Some(Ok(b)) => Some((Ok(b), body)),
                        Some(Err(e)) => Some((Err(std::io::Error::other(e)), body)),
                        None => None,
                    }
                })))
            }
        }
    }

    /// Reads a whole object (thumbnails are made from it; at most 25 MB).
    pub async fn read_all(&self, key: &str, max: usize) -> anyhow::Result<Vec<u8>> {
        use futures_util::StreamExt;
        let mut s = self.read(key, None).await?;
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
            anyhow::ensure!(out.len() <= max, "object {key} is larger than {max} bytes");
        }
        Ok(out)
    }

    /// Removes the object; one already gone is fine.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self {
            Self::Local { dir } => match tokio::fs::remove_file(Self::path(dir, key)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            },
            Self::S3 { client, bucket } => {
                client.delete_object().bucket(bucket).key(key).send().await?;
                Ok(())
            }
        }
    }
}

/// Part files older than an hour are from a process that died mid-upload.
async fn sweep_tmp(tmp: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(tmp).await else { return };
    while let Ok(Some(e)) = entries.next_entry().await {
        let old =
            e.metadata().await.ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok()).is_some_and(|age| age.as_secs() > 3600);
        if old {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}

/// An object being written.
pub enum Writer {
    Local {
        file: tokio::fs::File,
        tmp: PathBuf,
        dest: PathBuf,
    },
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        key: String,
        content_type: String,
        buf: Vec<u8>,
        upload_id: Option<String>,
        parts: Vec<CompletedPart>,
    },
}

impl Writer {
    pub async fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match self {
            Self::Local { file, .. } => Ok(file.write_all(data).await?),
            Self::S3 { buf, .. } => {
                buf.extend_from_slice(data);
                if buf.len() >= PART_BYTES {
                    self.flush_part().await?;
                }
                Ok(())
            }
        }
    }

    async fn flush_part(&mut self) -> anyhow::Result<()> {
        let Self::S3 { client, bucket, key, content_type, buf, upload_id, parts } = self else { return Ok(()) };
        if upload_id.is_none() {
            let out = client
                .create_multipart_upload()
                .bucket(bucket.as_str())
                .key(key.as_str())
                .content_type(content_type.as_str())
                .send()
                .await?;
            *upload_id = Some(out.upload_id().ok_or_else(|| anyhow::anyhow!("S3 gave no upload id"))?.to_owned());
        }
        let id = upload_id.clone().unwrap_or_default();
        let number = i32::try_from(parts.len() + 1)?;
        let body = std::mem::take(buf);
        let out = client
            .upload_part()
            .bucket(bucket.as_str())
            .key(key.as_str())
            .upload_id(id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await?;
        parts.push(CompletedPart::builder().set_e_tag(out.e_tag().map(str::to_owned)).part_number(number).build());
        Ok(())
    }

    /// Completes the object.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        match &mut self {
            Self::Local { file, tmp, dest } => {
                file.flush().await?;
                file.sync_all().await?;
                if let Some(parent) = dest.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                tokio::fs::rename(&tmp, &dest).await?;
                Ok(())
            }
            Self::S3 { upload_id: None, client, bucket, key, content_type, buf, .. } => {
                // Nothing left to abort once this is sent.
                let body = std::mem::take(buf);
                client
                    .put_object()
                    .bucket(bucket.as_str())
                    .key(key.as_str())
                    .content_type(content_type.as_str())
                    .body(ByteStream::from(body))
                    .send()
                    .await?;
                Ok(())
            }
            Self::S3 { .. } => {
                let result = async {
                    if let Self::S3 { buf, .. } = &self
                        && !buf.is_empty()
                    {
                        self.flush_part().await?;
                    }
                    let Self::S3 { client, bucket, key, upload_id, parts, .. } = &mut self else { return Ok(()) };
                    client
                        .complete_multipart_upload()
                        .bucket(bucket.as_str())
                        .key(key.as_str())
                        .upload_id(upload_id.clone().unwrap_or_default())
                        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(std::mem::take(parts))).build())
                        .send()
                        .await?;
                    // Complete: nothing to abort on drop.
                    *upload_id = None;
                    anyhow::Ok(())
                }
                .await;
                if result.is_err() {
                    self.abort().await;
                }
                result
            }
        }
    }

    /// Drops what was written.
    pub async fn abort(mut self) {
        match &mut self {
            Self::Local { tmp, .. } => {
                let _ = tokio::fs::remove_file(&tmp).await;
            }
            Self::S3 { client, bucket, key, upload_id, .. } => {
                if let Some(id) = upload_id.take()
                    && let Err(e) = client.abort_multipart_upload().bucket(bucket.as_str()).key(key.as_str()).upload_id(id).send().await
                {
                    tracing::warn!(error = %e, "aborting an S3 multipart upload failed (the bucket's lifecycle rule removes it)");
                }
            }
        }
    }
}

/// A writer dropped unfinished (its request was cancelled mid-await)
/// leaves nothing behind either: the local part file is removed (after a
/// finish it was renamed away), an unfinished multipart upload aborted.
impl Drop for Writer {
    fn drop(&mut self) {
        match self {
            Self::Local { tmp, .. } => {
                let _ = std::fs::remove_file(&*tmp);
            }
            Self::S3 { client, bucket, key, upload_id, .. } => {
                if let Some(id) = upload_id.take()
                    && let Ok(rt) = tokio::runtime::Handle::try_current()
                {
                    let (client, bucket, key) = (client.clone(), bucket.clone(), key.clone());
                    rt.spawn(async move {
                        let _ = client.abort_multipart_upload().bucket(bucket).key(key).upload_id(id).send().await;
                    });
                }
            }
        }
    }
}
