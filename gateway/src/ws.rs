//! `GET /api/ws`: the real-time socket.
//!
//! Authenticated like REST (bearer header, `?token=`, or the cookie, in
//! that order). A browser attaches the cookie to a socket any site's page
//! opens, so an upgrade authenticated by the cookie alone must come from an
//! allowed `Origin` (the gateway's own, or one of `ALLOWED_ORIGINS`), else
//! 403 before upgrading; a token the client presents itself is no ambient
//! credential and needs no such check. Frames are
//! JSON text: a client frame `{"event","data","ack"?}` is answered, when it
//! carries `ack`, by `{"ack","ok":true,"data"}` or `{"ack","ok":false,
//! "error"}`; server events are `{"event","data"}`. Events are addressed to
//! users, so membership changes apply without reconnecting.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ocomms_proto::auth::v1::GetSessionRequest;
use ocomms_proto::messaging::v1::{
    DeleteMessageRequest, EditMessageRequest, GetChannelNoteRequest, SaveChannelNoteRequest, SendMessageRequest, ToggleReactionRequest,
    TypingRequest,
};
use ocomms_proto::notify::v1::MarkNotificationReadRequest;
use ocomms_proto::presence::v1::{GetPresenceRequest, SetPresenceRequest};
use ocomms_runtime::ErrorCode;
use ocomms_runtime::ids::UserId;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult, error_json};
use crate::extract::{bearer_from_headers, cookie_from_headers};
use ocomms_runtime::identity::bearer_request;

/// Chat frames are small: 1 KiB read chunks and write batches (larger
/// frames are read in several chunks and written at once) keep an idle
/// socket's buffers at 2 KiB instead of ~256 KiB with the defaults.
const BUFFER: usize = 1024;
/// Large enough for a 40,000-character message in any script.
const MAX_MESSAGE: usize = 256 * 1024;
const PING_EVERY: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
}

pub async fn upgrade(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<WsQuery>, ws: WebSocketUpgrade) -> ApiResult<Response> {
    let token = match bearer_from_headers(&headers).or(q.token.filter(|t| !t.is_empty())) {
        Some(token) => token,
        None => {
            let token = cookie_from_headers(&headers).ok_or_else(ApiError::unauthorized)?;
            if !origin_allowed(&s.config, &headers) {
                return Err(ApiError::new(ErrorCode::Forbidden, "this origin may not open a socket with the session cookie"));
            }
            token
        }
    };
    let session = s.clients.auth.clone().get_session(bearer_request(&token, GetSessionRequest {})).await?.into_inner();
    let session_id = session.session.as_ref().map(|s| s.id.clone()).unwrap_or_default();
    let user: UserId =
        session.user.and_then(|u| u.id.parse().ok()).ok_or_else(|| ApiError::new(ErrorCode::Internal, "session without user"))?;
    Ok(ws
        .read_buffer_size(BUFFER)
        .write_buffer_size(BUFFER)
        .max_write_buffer_size(MAX_MESSAGE * 4)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| run(s, socket, token, user, session_id)))
}

/// Whether a cookie-authenticated upgrade comes from an origin allowed to
/// use the cookie: no `Origin` (not a browser: nothing ambient), the
/// gateway's own origin (the `Origin`'s host and port are the request's
/// `Host`, or it is `PUBLIC_URL`'s), or one of `ALLOWED_ORIGINS`.
pub(crate) fn origin_allowed(config: &crate::Config, headers: &HeaderMap) -> bool {
    let Some(raw) = headers.get(axum::http::header::ORIGIN) else { return true };
    // `Origin: null` (sandboxed frames, files) and anything malformed: refused.
    let Some(origin) = raw.to_str().ok().and_then(crate::config::normalize_origin) else { return false };
    if config.allowed_origins.contains(&origin) || crate::config::normalize_origin(&config.public_url).is_some_and(|o| o == origin) {
        return true;
    }
    let Some(host) = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    let (scheme, authority) = origin.split_once("://").unwrap_or_default();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host = host.trim().to_ascii_lowercase();
    authority.trim_end_matches(default_port) == host.trim_end_matches(default_port)
}

#[derive(Deserialize)]
struct ClientFrame {
    event: String,
    #[serde(default)]
    data: Value,
    #[serde(default)]
    ack: Option<Value>,
}

/// Frames of one socket in flight at most. A frame is refused at once
/// (UNAVAILABLE with `retryAfter`, nothing done) past `MAX_IN_FLIGHT`, and
/// when its place (lane) already has `QUEUE_FREELY` frames in flight, the
/// oldest read more than `SLOW` ago (the server is past what it can do for
/// this client there); once a place refuses a frame, it refuses the next
/// ones too until its frames in flight are done, so that what a client
/// resends in order keeps its order. A client sending faster than the
/// server keeps up hears so in milliseconds instead of waiting seconds
/// behind its own backlog; a client flushing a few dozen queued sends to a
/// healthy server is served, and a frame that hangs in one place holds up
/// no other place.
const MAX_IN_FLIGHT: usize = 64;
const QUEUE_FREELY: usize = 4;
const SLOW: Duration = Duration::from_millis(250);

/// The lane a client frame is handled in: frames about one channel or
/// conversation keep their order (two sends arrive in the order written);
/// frames of different lanes run side by side.
fn lane(frame: &Result<ClientFrame, serde_json::Error>) -> String {
    let Ok(frame) = frame else { return String::new() };
    // Ids are UUIDs; anything longer names no place (and keeps keys small).
    let id = |k: &str| frame.data.get(k).and_then(Value::as_str).filter(|v| v.len() <= 64);
    match (id("channelId"), id("conversationId")) {
        (Some(c), _) => format!("c:{c}"),
        (_, Some(c)) => format!("d:{c}"),
        _ => String::new(),
    }
}

async fn run(s: AppState, mut socket: WebSocket, token: String, user: UserId, session: String) {
    // A revoked session (sign-out, revocation, password reset) closes it.
    let reg = s.hub.register_session(user, session);
    let (reg_id, mut frames, notes) = (reg.id, reg.frames, reg.notes);
    // The user's allowances, shared with their REST calls and other sockets.
    let key = crate::ratelimit::user_key(user);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    // Client frames in flight: events keep flowing while they run. Each
    // lane's last frame leaves a receiver the lane's next frame waits on
    // (numbered, so that the entry goes when that frame is done).
    // Boxed: a frame's handler is a large future (every RPC it may call),
    // and FuturesUnordered keeps one inline in its stub even when empty,
    // so an idle socket would carry its size.
    let mut in_flight: futures_util::stream::FuturesUnordered<InFlight<'_>> = futures_util::stream::FuturesUnordered::new();
    let mut lanes: std::collections::HashMap<String, (u64, tokio::sync::oneshot::Receiver<()>)> = std::collections::HashMap::new();
    let mut numbered: u64 = 0;
    // When each frame in flight was read, and its lane, by number; the
    // lanes refusing frames until they drain.
    let mut read_at: std::collections::BTreeMap<u64, (std::time::Instant, String)> = std::collections::BTreeMap::new();
    let mut refusing: std::collections::HashSet<String> = std::collections::HashSet::new();
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Some(text) => {
                    if socket.send(Message::Text(text)).await.is_err() {
                        break;
                    }
                }
                None => {
                    // Fell behind or revoked: close with "try again later";
                    // the client reconnects (re-authenticating) and resumes.
                    let _ = socket.send(Message::Close(Some(CloseFrame { code: 1013, reason: Utf8Bytes::from_static("lagging; reconnect and resume") }))).await;
                    break;
                }
            },
            Some(done) = futures_util::StreamExt::next(&mut in_flight), if !in_flight.is_empty() => {
                let (reply, lane, n): (Option<Value>, String, u64) = done;
                read_at.remove(&n);
                if lanes.get(&lane).is_some_and(|(last, _)| *last == n) {
                    lanes.remove(&lane);
                    refusing.remove(&lane);
                }
                if let Some(reply) = reply
                    && socket.send(Message::Text(Utf8Bytes::from(reply.to_string()))).await.is_err()
                {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    // Parsed once, here: the lane and the handler read the same frame.
                    let frame = serde_json::from_str::<ClientFrame>(&text);
                    let place = lane(&frame);
                    if in_flight.len() >= MAX_IN_FLIGHT || refusing.contains(&place) || backlogged(&read_at, &place) {
                        if lanes.contains_key(&place) {
                            refusing.insert(place);
                        }
                        if socket.send(Message::Text(Utf8Bytes::from(refused(&frame).to_string()))).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    let (done, next) = tokio::sync::oneshot::channel::<()>();
                    numbered += 1;
                    let n = numbered;
                    let before = lanes.insert(place.clone(), (n, next)).map(|(_, rx)| rx);
                    let (s, token, key, notes) = (&s, token.as_str(), key.as_str(), &notes);
                    read_at.insert(n, (std::time::Instant::now(), place.clone()));
                    in_flight.push(Box::pin(async move {
                        if let Some(before) = before {
                            let _ = before.await;
                        }
                        let reply = handle(s, token, key, frame, notes).await;
                        drop(done);
                        (reply, place, n)
                    }));
                }
                Some(Ok(Message::Binary(_))) => {
                    let reply = json!({ "event": "error", "data": error_json(ErrorCode::Validation, "frames must be JSON text") });
                    if socket.send(Message::Text(Utf8Bytes::from(reply.to_string()))).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
    // Frames already read finish (a send is saved or not, never cut
    // half-way); their answers have nowhere to go.
    let finishing = async { while futures_util::StreamExt::next(&mut in_flight).await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(10), finishing).await.is_err() {
        tracing::warn!("socket closed with frames still in flight after 10 s");
    }
    s.hub.unregister(user, reg_id);
}

/// A client frame being handled: its answer, its lane and its number.
type InFlight<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = (Option<Value>, String, u64)> + Send + 'a>>;

/// Whether a place already has `QUEUE_FREELY` frames in flight, the
/// oldest read more than `SLOW` ago (at most `MAX_IN_FLIGHT` entries).
fn backlogged(read_at: &std::collections::BTreeMap<u64, (std::time::Instant, String)>, place: &str) -> bool {
    let mut here = read_at.values().filter(|(_, lane)| lane == place);
    let oldest = here.next().map(|(at, _)| *at);
    oldest.is_some_and(|at| 1 + here.count() >= QUEUE_FREELY && at.elapsed() > SLOW)
}

/// The answer to a frame refused for its socket's backlog (see
/// `MAX_IN_FLIGHT`): its ack refused, or an error event naming the frame's
/// event when it asked for no ack.
fn refused(frame: &Result<ClientFrame, serde_json::Error>) -> Value {
    let mut err = error_json(ErrorCode::Unavailable, "too many frames in flight here; try again");
    let frame = frame.as_ref().ok();
    err["details"] = json!({ "retryAfter": 1, "event": frame.map(|f| f.event.as_str()) });
    match frame.and_then(|f| f.ack.clone()) {
        Some(ack) => json!({ "ack": ack, "ok": false, "error": err }),
        None => json!({ "event": "error", "data": err }),
    }
}

/// Answers one client frame; `None` when nothing is to be sent back.
/// `key` is the socket's rate-limit key (its user's), computed once.
async fn handle(
    s: &AppState,
    token: &str,
    key: &str,
    frame: Result<ClientFrame, serde_json::Error>,
    notes: &crate::hub::NoteSubscriptions,
) -> Option<Value> {
    let frame: ClientFrame = match frame {
        Ok(f) => f,
        Err(e) => {
            return Some(json!({ "event": "error", "data": error_json(ErrorCode::Validation, &format!("malformed frame: {e}")) }));
        }
    };
    let result = dispatch(s, token, key, &frame.event, frame.data, notes).await;
    let ack = frame.ack?;
    Some(match result {
        Ok(data) => json!({ "ack": ack, "ok": true, "data": data }),
        Err(e) => {
            let mut err = error_json(e.code, &e.message);
            if let Some(d) = e.details {
                err["details"] = d;
            }
            json!({ "ack": ack, "ok": false, "error": err })
        }
    })
}

fn parse<T: serde::de::DeserializeOwned>(data: Value) -> ApiResult<T> {
    serde_json::from_value(data).map_err(|e| ApiError::validation(format!("invalid data: {e}")))
}

async fn dispatch(
    s: &AppState,
    token: &str,
    key: &str,
    event: &str,
    data: Value,
    notes: &crate::hub::NoteSubscriptions,
) -> ApiResult<Value> {
    if event == "typing:start" || event == "typing:stop" {
        // Seed 5.8: typing over the limit is dropped silently.
        if s.limiter.check(crate::ratelimit::Bucket::Typing, key).await.is_err() {
            return Ok(json!({ "dropped": true }));
        }
        let mut body: TypingRequest = parse(data)?;
        body.is_typing = event == "typing:start";
        s.clients.messaging.clone().typing(bearer_request(token, body)).await?;
        return Ok(json!({}));
    }
    // Every other frame counts against the account's general allowance.
    s.limiter.check(crate::ratelimit::Bucket::Default, key).await?;
    match event {
        "note:subscribe" | "note:unsubscribe" => {
            let body: GetChannelNoteRequest = parse(data)?;
            let channel = body.channel_id.clone();
            if event == "note:subscribe" {
                // Only a channel the caller can see; answers the note as it is now.
                let note = s.clients.messaging.clone().get_channel_note(bearer_request(token, body)).await?.into_inner();
                if let Ok(mut n) = notes.lock() {
                    n.insert(note.channel_id.clone().unwrap_or(channel));
                }
                Ok(json!(note))
            } else {
                if let Ok(mut n) = notes.lock() {
                    n.remove(&channel);
                }
                Ok(json!({ "channelId": channel }))
            }
        }
        "note:broadcast" => {
            let body: SaveChannelNoteRequest = parse(data)?;
            let note = s.clients.messaging.clone().save_channel_note(bearer_request(token, body)).await?.into_inner();
            Ok(json!(note))
        }
        "message:send" => {
            s.limiter.check(crate::ratelimit::Bucket::Messages, key).await?;
            let body: SendMessageRequest = parse(data)?;
            let m = s.clients.messaging.clone().send_message(bearer_request(token, body)).await?.into_inner();
            Ok(json!(m))
        }
        "message:edit" => {
            let body: EditMessageRequest = parse(data)?;
            let m = s.clients.messaging.clone().edit_message(bearer_request(token, body)).await?.into_inner();
            Ok(json!(m))
        }
        "message:delete" => {
            let body: DeleteMessageRequest = parse(data)?;
            let m = s.clients.messaging.clone().delete_message(bearer_request(token, body)).await?.into_inner();
            Ok(json!({ "messageId": m.id }))
        }
        "reaction:toggle" => {
            let body: ToggleReactionRequest = parse(data)?;
            let m = s.clients.messaging.clone().toggle_reaction(bearer_request(token, body)).await?.into_inner();
            Ok(json!({ "messageId": m.id, "reactions": m.reactions }))
        }
        "presence:setActive" | "presence:setAway" => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Body {
                workspace_id: String,
            }
            let body: Body = parse(data)?;
            let status = if event == "presence:setActive" { "active" } else { "away" };
            s.clients
                .presence
                .clone()
                .set_presence(bearer_request(token, SetPresenceRequest { workspace_id: body.workspace_id, status: status.into() }))
                .await?;
            Ok(json!({ "status": status }))
        }
        "presence:fetch" => {
            let body: GetPresenceRequest = parse(data)?;
            let r = s.clients.presence.clone().get_presence(bearer_request(token, body)).await?.into_inner();
            Ok(json!(r))
        }
        "notification:markRead" => {
            let body: MarkNotificationReadRequest = parse(data)?;
            let n = s.clients.notify.clone().mark_notification_read(bearer_request(token, body)).await?.into_inner();
            Ok(json!({ "notification": n }))
        }
        other => Err(ApiError::validation(format!("unknown event {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(allowed: &[&str]) -> crate::Config {
        let mut env = ocomms_runtime::config::Env::from_map(
            [("PUBLIC_URL".to_owned(), "https://chat.example.com".to_owned()), ("ALLOWED_ORIGINS".to_owned(), allowed.join(","))].into(),
        );
        crate::Config::from_env(&mut env)
    }

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::HOST, host.parse().expect("ascii"));
        if let Some(o) = origin {
            h.insert(axum::http::header::ORIGIN, o.parse().expect("ascii"));
        }
        h
    }

    #[test]
    fn cookie_sockets_open_only_from_allowed_origins() {
        let c = config(&[]);
        assert!(origin_allowed(&c, &headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000")), "same origin");
        assert!(origin_allowed(&c, &headers(Some("https://other.example.org"), "other.example.org:443")), "default port");
        assert!(origin_allowed(&c, &headers(Some("https://chat.example.com"), "gateway:3000")), "PUBLIC_URL behind a proxy");
        assert!(origin_allowed(&c, &headers(None, "gateway:3000")), "not a browser");
        assert!(!origin_allowed(&c, &headers(Some("https://evil.example"), "chat.example.com")));
        assert!(!origin_allowed(&c, &headers(Some("null"), "chat.example.com")));
        assert!(!origin_allowed(&c, &headers(Some("http://chat.example.com.evil.example"), "chat.example.com")));
        let c = config(&["https://app.example.com"]);
        assert!(origin_allowed(&c, &headers(Some("https://APP.example.com"), "chat.example.com")));
        assert!(!origin_allowed(&c, &headers(Some("https://other.example.com"), "chat.example.com")));
    }
}
