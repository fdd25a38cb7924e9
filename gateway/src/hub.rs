//! The sockets connected to this gateway, by user, and the dispatcher that
//! delivers bus events to them.
//!
//! Each event is encoded once; every recipient socket gets a clone of the
//! same reference-counted bytes. A socket whose queue is full is closed
//! (its client reconnects and resumes from history by sequence) rather
//! than silently losing events; likewise every socket when this gateway
//! fell behind the bus.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::ws::Utf8Bytes;
use ocomms_runtime::events::{Audience, Bus};
use ocomms_runtime::ids::UserId;
use tokio::sync::{broadcast, mpsc};

/// Channel ids a socket asked note updates for (`note:subscribe`).
pub type NoteSubscriptions = Arc<std::sync::Mutex<HashSet<String>>>;

/// Per socket: id, frame queue, note subscriptions, and the session it was
/// opened with (closed when that session is revoked).
type Sockets = HashMap<UserId, Vec<(u64, mpsc::Sender<Utf8Bytes>, NoteSubscriptions, String)>>;

pub struct Hub {
    sockets: RwLock<Sockets>,
    next_id: AtomicU64,
    queue: usize,
    metrics: Arc<crate::metrics::Metrics>,
}

/// A registered socket: its id and the frames addressed to it. When the
/// receiver yields `None`, the socket must close (it fell behind).
pub struct Registration {
    pub id: u64,
    pub frames: mpsc::Receiver<Utf8Bytes>,
    pub notes: NoteSubscriptions,
}

impl Hub {
    pub fn new(queue: usize, metrics: Arc<crate::metrics::Metrics>) -> Arc<Self> {
        Arc::new(Self { sockets: RwLock::default(), next_id: AtomicU64::new(1), queue, metrics })
    }

    /// Registers a socket opened with `session` (its id).
    pub fn register_session(&self, user: UserId, session: String) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.queue);
        let notes = NoteSubscriptions::default();
        if let Ok(mut s) = self.sockets.write() {
            s.entry(user).or_default().push((id, tx, notes.clone(), session));
        }
        Registration { id, frames: rx, notes }
    }

    pub fn unregister(&self, user: UserId, id: u64) {
        if let Ok(mut s) = self.sockets.write()
            && let Some(list) = s.get_mut(&user)
        {
            list.retain(|(i, _, _, _)| *i != id);
            if list.is_empty() {
                s.remove(&user);
            }
        }
    }

    /// Sockets currently connected here.
    pub fn socket_count(&self) -> usize {
        self.sockets.read().map(|s| s.values().map(Vec::len).sum()).unwrap_or(0)
    }

    /// Delivers one frame to every socket of `users`; sockets that cannot
    /// take it are dropped (and so closed).
    pub fn deliver(&self, users: &[UserId], frame: &Utf8Bytes) {
        self.deliver_to(users, frame, None);
    }

    /// As `deliver`, but only to sockets subscribed to `note_channel` when given.
    pub fn deliver_to(&self, users: &[UserId], frame: &Utf8Bytes, note_channel: Option<&str>) {
        let mut full = Vec::new();
        if let Ok(s) = self.sockets.read() {
            for user in users {
                for (id, tx, notes, _) in s.get(user).into_iter().flatten() {
                    if let Some(c) = note_channel
                        && !notes.lock().map(|n| n.contains(c)).unwrap_or(false)
                    {
                        continue;
                    }
                    if tx.try_send(frame.clone()).is_err() {
                        full.push((*user, *id));
                    } else {
                        self.metrics.events_delivered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        for (user, id) in full {
            self.metrics.sockets_closed_lagging.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%user, socket = id, "socket fell behind; closing it so the client resumes");
            self.unregister(user, id);
        }
    }

    /// Closes the sockets opened with any of these sessions (revoked).
    pub fn close_sessions(&self, sessions: &[String]) {
        if sessions.is_empty() {
            return;
        }
        if let Ok(mut s) = self.sockets.write() {
            for list in s.values_mut() {
                // Dropping the sender ends the socket's frame queue: it closes.
                list.retain(|(_, _, _, session)| !sessions.contains(session));
            }
            s.retain(|_, list| !list.is_empty());
        }
    }

    fn drop_all(&self) {
        if let Ok(mut s) = self.sockets.write() {
            s.clear();
        }
    }

    /// Runs until the bus closes: encodes each client event once and
    /// delivers it.
    pub async fn dispatch(self: Arc<Self>, bus: Bus) {
        let mut events = bus.subscribe();
        loop {
            match events.recv().await {
                Ok(ev) => {
                    if ev.name == ocomms_runtime::events::BUS_RESUBSCRIBED {
                        // Redis was away: events (revocations too) were missed.
                        tracing::warn!("the event bus reconnected; closing all sockets so clients resume");
                        self.drop_all();
                        continue;
                    }
                    if ev.name == ocomms_runtime::events::SESSION_REVOKED {
                        match ev.decode::<ocomms_proto::auth::v1::SessionsRevokedEvent>() {
                            Ok(revoked) => self.close_sessions(&revoked.session_ids),
                            Err(e) => tracing::error!(error = %e, "a revocation this gateway cannot read"),
                        }
                        continue;
                    }
                    let Audience::Users(users) = &ev.to else { continue };
                    let frame = serde_json::json!({ "event": ev.name, "data": ev.data }).to_string();
                    // Note updates go only to sockets that subscribed to the channel's note.
                    let note_channel = (ev.name == "note:updated").then(|| ev.data["channelId"].as_str()).flatten();
                    self.deliver_to(users, &Utf8Bytes::from(frame), note_channel);
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::error!(missed = n, "gateway fell behind the event bus; closing all sockets so clients resume");
                    self.drop_all();
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_to_every_socket_of_a_user_and_closes_slow_ones() {
        let hub = Hub::new(2, Arc::default());
        let (a, b) = (UserId::new(), UserId::new());
        let mut a1 = hub.register_session(a, "s1".into());
        let mut a2 = hub.register_session(a, "s2".into());
        let mut b1 = hub.register_session(b, "s3".into());
        hub.deliver(&[a], &Utf8Bytes::from_static("one"));
        assert_eq!(a1.frames.recv().await.as_deref(), Some("one"));
        assert_eq!(a2.frames.recv().await.as_deref(), Some("one"));
        assert!(b1.frames.try_recv().is_err(), "b is not a recipient");
        // a1 keeps up; a2 never reads and overflows its queue of 2.
        for _ in 0..3 {
            hub.deliver(&[a], &Utf8Bytes::from_static("x"));
            let _ = a1.frames.recv().await;
        }
        assert_eq!(hub.socket_count(), 2, "the slow socket was dropped");
        let mut got = 0;
        while a2.frames.recv().await.is_some() {
            got += 1;
        }
        assert_eq!(got, 2, "the slow socket's queue drains, then it ends");
    }

    #[tokio::test]
    async fn sockets_close_when_the_bus_may_have_missed_events() {
        let hub = Hub::new(8, Arc::default());
        let bus = Bus::local();
        tokio::spawn(hub.clone().dispatch(bus.clone()));
        let mut socket = hub.register_session(UserId::new(), "s1".into());
        tokio::task::yield_now().await;
        bus.publish(ocomms_runtime::events::Event::internal(ocomms_runtime::events::BUS_RESUBSCRIBED, serde_json::json!({}))).await;
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), socket.frames.recv()).await.expect("in time");
        assert!(closed.is_none(), "the socket was closed, so its client resumes from history");
    }

    #[tokio::test]
    async fn revoked_sessions_lose_their_sockets() {
        let hub = Hub::new(8, Arc::default());
        let a = UserId::new();
        let mut revoked = hub.register_session(a, "s1".into());
        let mut kept = hub.register_session(a, "s2".into());
        hub.close_sessions(&["s1".to_owned()]);
        assert!(revoked.frames.recv().await.is_none(), "closed");
        hub.deliver(&[a], &Utf8Bytes::from_static("x"));
        assert_eq!(kept.frames.recv().await.as_deref(), Some("x"));
    }
}
