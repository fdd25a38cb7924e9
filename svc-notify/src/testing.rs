//! A push service for tests, as browsers' vendors run them (RFC 8030): it
//! hands out subscriptions (a P-256 key pair and an auth secret per
//! "browser", as `pushManager.subscribe` does), and for each push it checks
//! the VAPID signature (RFC 8292: an ES256 JWT whose `aud` is its origin,
//! `exp` within 24 hours, a `sub`, signed by the key in `k=`, which must be
//! the application server's) and decrypts the aes128gcm payload (RFC 8291)
//! with the browser's private key. Real cryptography both ways; nothing of
//! the sending side is stubbed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use web_push_native::jwt_simple::prelude::*;

/// A push the service accepted: the decrypted payload.
#[derive(Debug, Clone)]
pub struct Received {
    pub subscription: String,
    pub payload: serde_json::Value,
    pub topic: Option<String>,
}

#[derive(Default)]
struct Inner {
    /// Subscription id → (browser's secret key, auth secret).
    keys: HashMap<String, (web_push_native::p256::SecretKey, Vec<u8>)>,
    /// Subscriptions that answer 410 Gone.
    gone: Vec<String>,
    /// Subscriptions that answer 503 the next n times.
    failing: HashMap<String, u32>,
    received: Vec<Received>,
    /// Requests refused, and why.
    refused: Vec<String>,
}

#[derive(Clone)]
pub struct PushService {
    pub port: u16,
    /// The application server key pushes must be signed with (base64url).
    vapid_public: String,
    inner: Arc<Mutex<Inner>>,
}

/// A browser's subscription, as `PushSubscription.toJSON()` gives it.
pub struct TestSubscription {
    pub id: String,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl TestSubscription {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({ "endpoint": self.endpoint, "expirationTime": null, "keys": { "p256dh": self.p256dh, "auth": self.auth } })
    }
}

pub use crate::push::generate_vapid_keys as vapid_keys;

impl PushService {
    /// Starts the service on a free port of 127.0.0.1; pushes must be
    /// signed with `vapid_public`.
    pub async fn start(vapid_public: &str) -> Self {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("binding the test push service: {e}"),
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let svc = Self { port, vapid_public: vapid_public.to_owned(), inner: Arc::default() };
        let app = axum::Router::new().route("/push/{id}", axum::routing::post(receive)).with_state(svc.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        svc
    }

    /// A new browser subscription.
    pub fn subscribe(&self) -> TestSubscription {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut raw = [0u8; 32];
        let secret = loop {
            rand::fill(&mut raw);
            if let Ok(k) = web_push_native::p256::SecretKey::from_slice(&raw) {
                break k;
            }
        };
        let mut auth = [0u8; 16];
        rand::fill(&mut auth);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let p256dh = b64.encode(web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false));
        if let Ok(mut g) = self.inner.lock() {
            g.keys.insert(id.clone(), (secret, auth.to_vec()));
        }
        TestSubscription { endpoint: format!("http://127.0.0.1:{}/push/{id}", self.port), id, p256dh, auth: b64.encode(auth) }
    }

    /// From now on, this subscription answers 410 Gone.
    pub fn expire(&self, id: &str) {
        if let Ok(mut g) = self.inner.lock() {
            g.gone.push(id.to_owned());
        }
    }

    /// The next `times` pushes to this subscription answer 503.
    pub fn fail(&self, id: &str, times: u32) {
        if let Ok(mut g) = self.inner.lock() {
            g.failing.insert(id.to_owned(), times);
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().map(|g| g.received.clone()).unwrap_or_default()
    }

    pub fn refused(&self) -> Vec<String> {
        self.inner.lock().map(|g| g.refused.clone()).unwrap_or_default()
    }

    /// Checks the request's VAPID authorization (RFC 8292 section 2-3).
    fn check_vapid(&self, headers: &HeaderMap) -> Result<(), String> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let value = headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or("no Authorization header")?;
        let params = value.strip_prefix("vapid ").ok_or("Authorization is not vapid")?;
        let mut token = None;
        let mut key = None;
        for part in params.split(',') {
            match part.trim().split_once('=') {
                Some(("t", v)) => token = Some(v.trim().to_owned()),
                Some(("k", v)) => key = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        let (token, key) = (token.ok_or("no t=")?, key.ok_or("no k=")?);
        if key != self.vapid_public {
            return Err("k= is not the application server's key".into());
        }
        let raw = b64.decode(&key).map_err(|_| "k= is not base64url")?;
        let public = ES256PublicKey::from_bytes(&raw).map_err(|e| format!("k= is not a P-256 key: {e}"))?;
        let options = VerificationOptions { allowed_audiences: Some(HashSet::from_strings(&["http://127.0.0.1"])), ..Default::default() };
        let claims = public.verify_token::<NoCustomClaims>(&token, Some(options)).map_err(|e| format!("JWT refused: {e}"))?;
        let sub = claims.subject.ok_or("no sub claim")?;
        if !(sub.starts_with("mailto:") || sub.starts_with("https://")) {
            return Err(format!("sub {sub} is neither mailto: nor https:"));
        }
        let exp = claims.expires_at.ok_or("no exp claim")?;
        if exp > Clock::now_since_epoch() + Duration::from_hours(24) {
            return Err("exp more than 24 hours ahead".into());
        }
        Ok(())
    }
}

async fn receive(State(svc): State<PushService>, Path(id): Path<String>, headers: HeaderMap, body: axum::body::Bytes) -> StatusCode {
    let refuse = |why: String, code: StatusCode| {
        if let Ok(mut g) = svc.inner.lock() {
            g.refused.push(why);
        }
        code
    };
    if let Err(why) = svc.check_vapid(&headers) {
        return refuse(why, StatusCode::UNAUTHORIZED);
    }
    if headers.get("content-encoding").and_then(|v| v.to_str().ok()) != Some("aes128gcm") {
        return refuse("Content-Encoding is not aes128gcm".into(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    if headers.get("ttl").is_none() {
        return refuse("no TTL header".into(), StatusCode::BAD_REQUEST);
    }
    if body.len() > 4096 {
        return refuse(format!("payload of {} bytes", body.len()), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let Ok(mut g) = svc.inner.lock() else { return StatusCode::INTERNAL_SERVER_ERROR };
    if g.gone.contains(&id) {
        return StatusCode::GONE;
    }
    if let Some(n) = g.failing.get_mut(&id).filter(|n| **n > 0) {
        *n -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let Some((secret, auth)) = g.keys.get(&id).cloned() else { return StatusCode::NOT_FOUND };
    let auth = web_push_native::Auth::clone_from_slice(&auth);
    let plain = match web_push_native::decrypt(body.to_vec(), &secret, &auth) {
        Ok(p) => p,
        Err(e) => {
            g.refused.push(format!("payload does not decrypt: {e}"));
            return StatusCode::BAD_REQUEST;
        }
    };
    let payload = serde_json::from_slice(&plain).unwrap_or(serde_json::Value::Null);
    let topic = headers.get("topic").and_then(|v| v.to_str().ok()).map(str::to_owned);
    g.received.push(Received { subscription: id, payload, topic });
    StatusCode::CREATED
}
