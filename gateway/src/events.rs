//! `ocomms.gateway.v1.EventsService/Subscribe`: the WebSocket's events as a
//! server-streaming gRPC call on the gateway's port, for internal tools
//! (gRPC over HTTP/2) and browsers (gRPC-web, through tonic-web).
//!
//! The caller is resolved like a socket's (svc-auth `GetSession` with the
//! bearer token) and registered with the hub *before* anything is replayed,
//! so no event falls between the replay and the live stream. Each `resume`
//! entry's missed messages are paged from svc-messaging (as the caller, so
//! what it may not see answers NOT_FOUND) and sent as `message:new`; live
//! `message:new` events at or below a replayed sequence are skipped. The
//! hub closing the registration (the caller fell behind, or its session was
//! revoked) ends the stream with UNAVAILABLE, as the socket closes with 1013;
//! so does the gateway stopping (graceful shutdown waits for open
//! responses, so streams must end for it to finish).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use ocomms_proto::auth::v1::GetSessionRequest;
use ocomms_proto::gateway::v1 as pb;
use ocomms_proto::messaging::v1::{GetChannelRequest, ListMessagesRequest};
use ocomms_runtime::identity::bearer_request;
use ocomms_runtime::ids::UserId;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tonic::Status;
use tower::{Layer, ServiceExt};

use crate::AppState;

/// The gRPC paths this module answers.
pub const PATH_PREFIX: &str = "/ocomms.gateway.v1.EventsService/";
/// Places one subscription may resume.
const MAX_RESUME: usize = 100;
/// Messages per history page while replaying.
const PAGE: u32 = 200;
/// Missed messages one place may replay; past it, the stream ends with
/// FAILED_PRECONDITION and the client pages history over REST first.
const MAX_REPLAY: usize = 5_000;

/// Answers a gRPC or gRPC-web request for the events service.
pub async fn serve(s: AppState, req: Request) -> Response {
    let svc = ocomms_runtime::sized!(pb::events_service_server::EventsServiceServer::new(Events { s }));
    if !crate::grpc_web::is_grpc_web(req.headers()) {
        return match svc.oneshot(req).await {
            Ok(resp) => resp.map(Body::new),
            Err(never) => match never {},
        };
    }
    match tonic_web::GrpcWebLayer::new().layer(svc).oneshot(req).await {
        Ok(resp) => resp.map(Body::new),
        Err(never) => match never {},
    }
}

struct Events {
    s: AppState,
}

type Stream = tokio_stream::wrappers::ReceiverStream<Result<pb::Event, Status>>;

#[tonic::async_trait]
impl pb::events_service_server::EventsService for Events {
    type SubscribeStream = Stream;

    async fn subscribe(&self, req: tonic::Request<pb::SubscribeRequest>) -> Result<tonic::Response<Stream>, Status> {
        let token = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(ocomms_runtime::identity::parse_bearer)
            .map(str::to_owned)
            .ok_or_else(|| Status::unauthenticated("authorization: Bearer <token> is required"))?;
        let body = req.into_inner();
        if body.resume.len() > MAX_RESUME {
            return Err(Status::invalid_argument(format!("resume names at most {MAX_RESUME} places")));
        }
        for r in &body.resume {
            if r.channel_id.is_some() == r.conversation_id.is_some() {
                return Err(Status::invalid_argument("each resume entry names a channelId or a conversationId"));
            }
            if r.after_sequence < 0 {
                return Err(Status::invalid_argument("afterSequence must be 0 or more"));
            }
        }
        let session = self.s.clients.auth.clone().get_session(bearer_request(&token, GetSessionRequest {})).await?.into_inner();
        let session_id = session.session.as_ref().map(|s| s.id.clone()).unwrap_or_default();
        let user: UserId = session.user.and_then(|u| u.id.parse().ok()).ok_or_else(|| Status::unauthenticated("no such session"))?;
        // Registered first: events from now on queue while the replay runs.
        let reg = self.s.hub.register_session(user, session_id);
        let (tx, rx) = mpsc::channel(64);
        let s = self.s.clone();
        tokio::spawn(async move {
            let id = reg.id;
            // The gateway stopping ends the stream wherever it is, even
            // waiting on a client that does not read.
            tokio::select! {
                _ = run(&s, &token, body.resume, reg.frames, &tx) => {}
                _ = stopped(s.stopping.clone()) => {
                    let stop = Status::unavailable("the gateway is stopping: subscribe again and resume");
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), tx.send(Err(stop))).await;
                }
            }
            s.hub.unregister(user, id);
        });
        Ok(tonic::Response::new(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }
}

async fn run(
    s: &AppState,
    token: &str,
    resume: Vec<pb::Resume>,
    mut frames: mpsc::Receiver<axum::extract::ws::Utf8Bytes>,
    tx: &mpsc::Sender<Result<pb::Event, Status>>,
) {
    let mut replayed: HashMap<String, i64> = HashMap::new();
    tracing::debug!(places = resume.len(), "event stream: replaying");
    for r in resume {
        if frames.is_closed() {
            break;
        }
        match replay(s, token, &r, &replayed, tx).await {
            Ok(Some((place, last))) => {
                tracing::debug!(%place, last, "event stream: replayed");
                replayed.insert(place, last);
            }
            Ok(None) => return,
            Err(status) => {
                tracing::debug!(?status, "event stream: replay failed");
                let _ = tx.send(Err(status)).await;
                return;
            }
        }
    }
    loop {
        tokio::select! {
            frame = frames.recv() => {
                let Some(text) = frame else {
                    let _ = tx.send(Err(Status::unavailable("fell behind or signed out: subscribe again and resume"))).await;
                    return;
                };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                let name = v["event"].as_str().unwrap_or_default().to_owned();
                if name == "message:new" && already_sent(&replayed, &v["data"]) {
                    continue;
                }
                let event = pb::Event { event: name, data: v["data"].to_string() };
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            _ = tx.closed() => return,
        }
    }
}

/// Resolves once the gateway is stopping.
async fn stopped(mut stopping: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stopping.borrow_and_update() {
            return;
        }
        if stopping.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Whether a live `message:new` was already sent by the replay.
fn already_sent(replayed: &HashMap<String, i64>, data: &Value) -> bool {
    let place = data["channel"]["id"].as_str().or_else(|| data["conversation"]["id"].as_str());
    match (place, data["message"]["sequence"].as_i64()) {
        (Some(p), Some(seq)) => replayed.get(p).is_some_and(|last| seq <= *last),
        _ => false,
    }
}

/// Sends one place's messages after `r.after_sequence` as `message:new`
/// events; returns the place and the last sequence sent (None: the caller
/// went away).
async fn replay(
    s: &AppState,
    token: &str,
    r: &pb::Resume,
    done: &HashMap<String, i64>,
    tx: &mpsc::Sender<Result<pb::Event, Status>>,
) -> Result<Option<(String, i64)>, Status> {
    let (key, place, id) = match (&r.channel_id, &r.conversation_id) {
        (Some(c), _) => {
            let ch = s.clients.messaging.clone().get_channel(bearer_request(token, GetChannelRequest { channel_id: c.clone() })).await?;
            let ch = ch.into_inner();
            ("channel", json!({ "id": ch.id, "name": ch.name, "workspaceId": ch.workspace_id }), ch.id)
        }
        (_, Some(c)) => {
            // Live events name it in canonical form.
            let id = uuid::Uuid::parse_str(c).map(|u| u.to_string()).map_err(|_| Status::not_found("no such conversation"))?;
            ("conversation", json!({ "id": id }), id)
        }
        _ => return Err(Status::invalid_argument("each resume entry names a channelId or a conversationId")),
    };
    // A place named twice is replayed once, from the first entry.
    if let Some(last) = done.get(&id) {
        return Ok(Some((id, *last)));
    }
    let mut after = r.after_sequence;
    let mut sent = 0usize;
    loop {
        let page = s
            .clients
            .messaging
            .clone()
            .list_messages(bearer_request(
                token,
                ListMessagesRequest {
                    channel_id: r.channel_id.clone(),
                    conversation_id: r.conversation_id.clone(),
                    before: None,
                    after: Some(after),
                    limit: Some(PAGE),
                },
            ))
            .await?
            .into_inner();
        sent += page.messages.len();
        if sent > MAX_REPLAY {
            return Err(Status::failed_precondition(format!(
                "more than {MAX_REPLAY} missed messages in {id}: page its history first, then subscribe from the last sequence"
            )));
        }
        for m in page.messages {
            after = after.max(m.sequence);
            let mut data = json!({ "message": m });
            data[key] = place.clone();
            if tx.send(Ok(pb::Event { event: "message:new".into(), data: data.to_string() })).await.is_err() {
                return Ok(None);
            }
        }
        if !page.has_more {
            return Ok(Some((id, after)));
        }
    }
}
