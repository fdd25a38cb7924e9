//! The web client through the gateway: how its files are served, and two
//! people chatting in real headless Chromium (`web/e2e/`, run by Node
//! against this stack).

use std::path::PathBuf;

use crate::support::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_serves_the_client_with_its_caching_and_security_headers() {
    let dir = std::env::temp_dir().join(format!("ocomms-web-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("assets")).expect("dir");
    std::fs::write(dir.join("index.html"), "<!doctype html><title>OComms</title>").expect("index");
    std::fs::write(dir.join("assets/app-1a2b3c.js"), "console.log(1)").expect("asset");
    std::fs::write(dir.join("sw.js"), "self.addEventListener('fetch', () => {})").expect("sw");
    let t = TestStack::start(StackOptions { env: vec![("WEB_DIR".into(), dir.to_string_lossy().into_owned())], ..Default::default() })
        .await
        .expect("stack");
    let http = reqwest::Client::new();
    let get = |path: &'static str| {
        let (http, base) = (http.clone(), t.base.clone());
        async move { http.get(format!("{base}{path}")).send().await.expect("get") }
    };
    // The app, and its own routes (invite links, deep links), with a strict CSP.
    for path in ["/", "/invite/abc123", "/w/0199/c/0188"] {
        let r = get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        assert_eq!(h["cache-control"], "no-cache", "{path}");
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("report-uri /api/csp-report"), "{csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(r.text().await.expect("body").contains("<title>OComms</title>"));
    }
    // Hashed assets are cached for good; the service worker never.
    let r = get("/assets/app-1a2b3c.js").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(r.headers()["content-type"].to_str().expect("ascii").contains("javascript"));
    assert_eq!(get("/sw.js").await.headers()["cache-control"], "no-cache");
    // What does not exist is a 404, never the app; nothing outside the directory.
    for path in ["/assets/gone-000.js", "/missing.png", "/.env", "/%2e%2e/Cargo.toml", "/assets/..%2f..%2fCargo.toml"] {
        assert_eq!(get(path).await.status(), 404, "{path}");
    }
    let api = get("/api/no-such-route").await;
    assert_eq!(api.status(), 404);
    assert_eq!(api.json::<serde_json::Value>().await.expect("json")["error"]["code"], "NOT_FOUND");
    let post = http.post(format!("{}/", t.base)).send().await.expect("post");
    assert_eq!(post.status(), 405);
    t.stop().await.expect("stop");
    let _ = std::fs::remove_dir_all(dir);
}

/// `web/e2e/chat.test.mjs` in headless Chromium against this stack: sign
/// up, invite, live messages, a thread, a reaction, a DM's badge, two-factor
/// sign-in, and a message written offline that arrives exactly once; and
/// `web/e2e/stream.test.mjs`: the event stream over gRPC-web through the
/// TypeScript client generated from the protos, from Node and in a page
/// whose WebSockets are refused.
/// `scripts/test.sh` builds the client and installs Chromium first.
#[tokio::test(flavor = "multi_thread")]
async fn two_people_chat_in_real_browsers() {
    let root = repo();
    let dist = root.join("web/dist");
    assert!(
        dist.join("index.html").is_file()
            && root.join("web/node_modules/playwright-core").is_dir()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "the web client is not built, or Chromium is missing: run scripts/test.sh (it builds web/ and installs chromium)"
    );
    let t = TestStack::start(StackOptions { env: vec![("WEB_DIR".into(), dist.to_string_lossy().into_owned())], ..Default::default() })
        .await
        .expect("stack");
    let mut cmd = tokio::process::Command::new("node");
    cmd.args(["--test", "--test-concurrency=1", "e2e/"]).current_dir(root.join("web")).env("OCOMMS_BASE_URL", &t.base);
    let out = tokio::time::timeout(std::time::Duration::from_secs(180), cmd.output()).await.expect("in time").expect("node runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the browser test failed:\n{text}");
    assert!(text.contains("# pass") && text.contains("# fail 0"), "{text}");
    // Every file ran: the chat, and the event stream over gRPC-web with the
    // client generated from the protos (from Node, and in a page whose
    // WebSockets are refused).
    for name in [
        "two people chat",
        "the client generated from the protos follows the event stream from Node",
        "a browser whose WebSockets cannot get through gets its events over gRPC-web",
    ] {
        assert!(text.lines().any(|l| l.trim_start().starts_with("ok ") && l.contains(name)), "{name} did not pass:\n{text}");
    }
    t.stop().await.expect("stop");
}
