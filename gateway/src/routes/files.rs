//! Uploads (multipart, streamed to svc-files over gRPC client streaming as
//! the bytes arrive: the gateway holds one chunk at a time), downloads
//! (streamed back, with Range, and headers that keep a browser from running
//! or sniffing what it gets), custom emoji.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use ocomms_proto::files::v1 as pb;
use ocomms_runtime::ErrorCode;
use tokio_stream::wrappers::ReceiverStream;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Caller, path_id};

/// The largest request an upload route reads: the biggest kind (25 MB)
/// and room for the form's other parts. Each kind's own limit is
/// svc-files', enforced as the bytes stream.
pub const MAX_UPLOAD_BODY: usize = 25 * 1024 * 1024 + 256 * 1024;

fn multipart_error(e: &MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::FileTooLarge, "the upload is too large")
    } else {
        ApiError::validation(format!("malformed multipart body: {}", e.body_text()))
    }
}

pub async fn upload_attachment(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UploadQuery>,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<pb::File>> {
    let up = upload(&s, &caller, "attachment", q, mp).await?;
    up.file.map(Json).ok_or_else(|| ApiError::new(ErrorCode::Internal, "no file in the answer"))
}

pub async fn upload_avatar(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UploadQuery>,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<pb::File>> {
    let up = upload(&s, &caller, "avatar", q, mp).await?;
    up.file.map(Json).ok_or_else(|| ApiError::new(ErrorCode::Internal, "no file in the answer"))
}

pub async fn upload_emoji(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UploadQuery>,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<pb::Emoji>)> {
    let up = upload(&s, &caller, "emoji", q, mp).await?;
    up.emoji.map(|e| (StatusCode::CREATED, Json(e))).ok_or_else(|| ApiError::new(ErrorCode::Internal, "no emoji in the answer"))
}

/// `workspaceId` and `name` may also come in the query string.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadQuery {
    workspace_id: Option<String>,
    name: Option<String>,
}

/// Aborts the spawned call when the handler is dropped (the client went
/// away): svc-files then sees the stream fail and stores nothing.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads the form: text fields (`workspaceId`, `name`) first, then `file`,
/// whose chunks go to svc-files as they arrive. svc-files stores the file
/// only once the whole form was read and the last message says so
/// (`finish`): a form that turns out wrong after the file (a field after
/// it, a second file) or a client that goes away stores nothing.
async fn upload(
    s: &AppState,
    caller: &Caller,
    kind: &str,
    q: UploadQuery,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<pb::UploadResponse> {
    let mut mp = mp.map_err(|e| ApiError::validation(format!("send multipart/form-data with a `file` part ({})", e.body_text())))?;
    let mut workspace_id = q.workspace_id;
    let mut name = q.name;
    let mut sending: Option<(
        tokio::sync::mpsc::Sender<pb::UploadRequest>,
        AbortOnDrop<Result<tonic::Response<pb::UploadResponse>, tonic::Status>>,
    )> = None;
    let mut seen = std::collections::HashSet::new();
    while let Some(field) = mp.next_field().await.map_err(|e| multipart_error(&e))? {
        let field_name = field.name().unwrap_or_default().to_owned();
        if !seen.insert(field_name.clone()) && field_name != "file" {
            return Err(ApiError::validation(format!("the form field `{field_name}` is given twice")));
        }
        match field_name.as_str() {
            "workspaceId" | "name" if sending.is_some() => {
                return Err(ApiError::validation("send workspaceId and name before file (or in the query string)"));
            }
            "workspaceId" => workspace_id = Some(field.text().await.map_err(|e| multipart_error(&e))?),
            "name" => name = Some(field.text().await.map_err(|e| multipart_error(&e))?),
            "file" if sending.is_some() => return Err(ApiError::validation("one file per upload")),
            "file" => {
                let start = pb::UploadStart {
                    kind: kind.to_owned(),
                    filename: field.file_name().unwrap_or("file").to_owned(),
                    workspace_id: workspace_id.clone().filter(|w: &String| !w.trim().is_empty()),
                    emoji_name: name.clone(),
                };
                match stream_file(s, caller, start, field).await? {
                    Streamed::Sent(tx, call) => sending = Some((tx, call)),
                    // svc-files refused on the way: its answer says why.
                    Streamed::Refused(call) => return finish(call).await,
                }
            }
            // A part the form does not have (as a JSON body's unknown key).
            other => return Err(ApiError::validation(format!("unknown form field `{other}`"))),
        }
    }
    let (tx, call) = sending.ok_or_else(|| ApiError::validation("no file part").with_details(serde_json::json!({ "field": "file" })))?;
    // The whole form was read: the file is complete.
    let _ = tx.send(pb::UploadRequest { start: None, data: Vec::new(), finish: true }).await;
    drop(tx);
    finish(call).await
}

type Call = AbortOnDrop<Result<tonic::Response<pb::UploadResponse>, tonic::Status>>;

enum Streamed {
    /// Every chunk went; the stream is still open for `finish`.
    Sent(tokio::sync::mpsc::Sender<pb::UploadRequest>, Call),
    /// svc-files stopped reading: it refused the upload.
    Refused(Call),
}

async fn finish(mut call: Call) -> ApiResult<pb::UploadResponse> {
    let answer = (&mut call.0).await.map_err(|e| ApiError::new(ErrorCode::Internal, format!("upload task: {e}")))??;
    Ok(answer.into_inner())
}

async fn stream_file(s: &AppState, caller: &Caller, start: pb::UploadStart, mut field: Field<'_>) -> ApiResult<Streamed> {
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::UploadRequest>(4);
    let mut client = s.clients.file_streams.clone();
    let req = caller.req(ReceiverStream::new(rx));
    let call = AbortOnDrop(tokio::spawn(async move { client.upload(req).await }));
    if tx.send(pb::UploadRequest { start: Some(start), data: Vec::new(), finish: false }).await.is_err() {
        return Ok(Streamed::Refused(call));
    }
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if tx.send(pb::UploadRequest { start: None, data: chunk.to_vec(), finish: false }).await.is_err() {
                    return Ok(Streamed::Refused(call));
                }
            }
            Ok(None) => return Ok(Streamed::Sent(tx, call)),
            // The client's body broke off: dropping the call aborts it, and
            // svc-files stores nothing.
            Err(e) => return Err(multipart_error(&e)),
        }
    }
}

/// `bytes=a-b` or `bytes=a-`: one range, else none (the whole file).
fn parse_range(headers: &HeaderMap) -> Option<(i64, Option<i64>)> {
    let v = headers.get(header::RANGE)?.to_str().ok()?.trim();
    let spec = v.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let start: i64 = a.trim().parse().ok()?;
    let end = if b.trim().is_empty() { None } else { Some(b.trim().parse().ok()?) };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    Some((start, end))
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266 / 5987).
fn disposition(inline: bool, filename: &str) -> String {
    let ascii: String = filename.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for b in filename.as_bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(b) {
            encoded.push(char::from(*b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}", if inline { "inline" } else { "attachment" })
}

pub async fn download(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, headers: HeaderMap) -> ApiResult<Response> {
    serve(&s, &caller, &id, &headers, false).await
}

pub async fn thumbnail(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, headers: HeaderMap) -> ApiResult<Response> {
    serve(&s, &caller, &id, &headers, true).await
}

async fn serve(s: &AppState, caller: &Caller, id: &str, headers: &HeaderMap, thumbnail: bool) -> ApiResult<Response> {
    let range = if thumbnail { None } else { parse_range(headers) };
    let req = pb::DownloadRequest {
        file_id: path_id(id, "file")?,
        thumbnail,
        range_start: range.map(|(a, _)| a),
        range_end: range.and_then(|(_, b)| b),
    };
    let mut stream = s.clients.file_streams.clone().download(caller.req(req)).await?.into_inner();
    let info = stream
        .message()
        .await?
        .and_then(|m| m.info)
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the file service sent no file description"))?;
    let mut resp = Response::builder()
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox")
        // Access can end (a message deleted, a member removed): never reused unchecked.
        .header(header::CACHE_CONTROL, "private, no-cache")
        .header(header::ACCEPT_RANGES, "bytes");
    if info.partial && info.start > info.end {
        let resp = resp
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{}", info.size))
            .body(Body::empty())
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        return Ok(resp);
    }
    let inline = info.mime_type.starts_with("image/");
    let length = if info.size == 0 { 0 } else { info.end - info.start + 1 };
    resp = resp
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&info.mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
        )
        .header(header::CONTENT_LENGTH, length)
        .header(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition(inline, &info.filename)).unwrap_or(HeaderValue::from_static("attachment")),
        );
    if info.partial {
        resp = resp
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, format!("bytes {}-{}/{}", info.start, info.end, info.size));
    }
    let body = Body::from_stream(stream.map(|m| match m {
        Ok(m) => Ok(bytes::Bytes::from(m.data)),
        Err(s) => Err(std::io::Error::other(s.message().to_owned())),
    }));
    resp.body(body).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
}
