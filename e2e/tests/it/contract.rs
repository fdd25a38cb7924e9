//! The API contract as outside tools see it: schemathesis fuzzing the
//! served OpenAPI document with every check, and the event stream through
//! grpcurl (gRPC over HTTP/2) and buf curl (gRPC-web). `scripts/test.sh`
//! installs them (`scripts/api-tools.sh`, and buf with the web client's
//! packages).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A tool from `scripts/api-tools.sh`'s virtualenv.
fn api_tool(name: &str) -> PathBuf {
    let dir = std::env::var_os("OCOMMS_API_TOOLS").map(PathBuf::from).expect(
        "OCOMMS_API_TOOLS is not set: run the e2e tests through scripts/test.sh (it installs schemathesis and grpcurl and sets it)",
    );
    let tool = dir.join("bin").join(name);
    assert!(tool.is_file(), "{} is missing: run scripts/test.sh", tool.display());
    tool
}

/// buf's own binary (npm's `.bin/buf` is a Node wrapper that would
/// outlive a kill as an orphan).
fn buf() -> PathBuf {
    let dir = repo().join("web/node_modules/@bufbuild");
    let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| e.path().join("bin/buf"))
            .find(|p| p.is_file() && p.parent().is_some_and(|b| b.to_string_lossy().contains("buf-")))
    });
    found.expect("buf is missing: run scripts/test.sh (npm ci in web/)")
}

/// Schemathesis (every check: server errors, status codes, content types,
/// response schemas, headers, valid data accepted and invalid data refused,
/// authentication enforced) against `GET /api/openapi.json`, authenticated
/// as a workspace owner with a channel: any failure fails this test. The
/// only exceptions are in `e2e/schemathesis.toml`, each with its reason:
/// the statuses a valid request may also get (a rule no schema can state,
/// such as a time in the future). Sign-out and session
/// revocation are left out (they end the fuzzer's own session, after
/// which every call is a 401), and so is the WebSocket upgrade (HTTP
/// tools cannot speak it; the socket tests do). One worker and
/// schemathesis's deterministic generation keep the run repeatable; the
/// stateful phase, which follows responses, runs in the longer runs:
/// `SCHEMATHESIS_EXAMPLES=100 SCHEMATHESIS_SEED=<any>
/// SCHEMATHESIS_PHASES=examples,coverage,fuzzing,stateful`.
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_wrong_with_the_served_contract() {
    let st = api_tool("st");
    let t = TestStack::start(StackOptions { env: vec![("RATE_LIMIT_ENABLED".into(), "false".into())], ..Default::default() })
        .await
        .expect("stack");
    let api = t.api();
    let r = room(&api).await;
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let mut cmd = tokio::process::Command::new(st);
    cmd.arg("--config-file").arg(repo().join("e2e/schemathesis.toml"));
    cmd.args(["run", &format!("{}/api/openapi.json", t.base), "--checks", "all"])
        .args(["--max-examples", &var("SCHEMATHESIS_EXAMPLES", "4")])
        .args(["--phases", &var("SCHEMATHESIS_PHASES", "examples,coverage,fuzzing")])
        // A sign-in can wait up to 12 s behind others for the same account
        // (svc-auth parks them), longer than schemathesis's default 10 s.
        .args(["--workers", "1", "--request-timeout", "30", "--max-response-time", "30"])
        .args(["--header", &format!("Authorization: Bearer {}", r.ann.token)])
        .args(["--exclude-path", "/api/auth/sign-out", "--exclude-path", "/api/sessions/revoke", "--exclude-path", "/api/ws"])
        .args(["--no-color", "--suppress-health-check", "all"])
        .kill_on_drop(true);
    match std::env::var("SCHEMATHESIS_SEED") {
        Ok(seed) => cmd.args(["--seed", &seed, "--generation-database", "none"]),
        Err(_) => cmd.arg("--generation-deterministic"),
    };
    let out =
        tokio::time::timeout(Duration::from_secs(1200), cmd.output()).await.expect("schemathesis in time").expect("schemathesis runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "schemathesis found failures:\n{text}");
    // It ran: operations were tested and test cases passed.
    assert!(text.contains("Tested:") && text.contains(" passed"), "{text}");
    // Every exception names an operation of the document.
    let doc: serde_json::Value = reqwest::get(format!("{}/api/openapi.json", t.base)).await.expect("get").json().await.expect("json");
    let config = std::fs::read_to_string(repo().join("e2e/schemathesis.toml")).expect("config");
    let named = config.lines().filter(|l| !l.trim_start().starts_with('#')).flat_map(|l| l.split('"').skip(1).step_by(2));
    for op in named.filter(|s| ["GET /", "POST /", "PUT /", "PATCH /", "DELETE /"].iter().any(|m| s.starts_with(m))) {
        let (method, path) = op.split_once(' ').expect("METHOD /path");
        assert!(
            doc["paths"][path][method.to_lowercase()].is_object(),
            "e2e/schemathesis.toml names {op}, which the document does not have"
        );
    }
    t.stop().await.expect("stop");
}

/// Reads a tool's output lines until one contains `want`.
async fn line_containing(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>, want: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("read output") {
            let hit = line.contains(want);
            seen.push(line);
            if hit {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(found, "no line with {want:?} in:\n{}", seen.join("\n"));
    seen
}

/// `EventsService/Subscribe` through the two stock tools a developer
/// reaches for: grpcurl over HTTP/2 gRPC and `buf curl --protocol grpcweb`.
/// Each replays the message sent before it subscribed, then delivers one
/// sent while it listens; both take the protos from `proto/proto`.
#[tokio::test(flavor = "multi_thread")]
async fn grpcurl_and_buf_curl_follow_the_event_stream() {
    let (grpcurl, buf) = (api_tool("grpcurl"), buf());
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let msgs = format!("/api/channels/{}/messages", r.channel);
    api.post(&msgs, &r.ann.token, json!({ "content": "before subscribing" })).await.expect(201);
    let addr = t.base.trim_start_matches("http://").to_owned();
    let body = json!({ "resume": [{ "channelId": r.channel, "afterSequence": 0 }] }).to_string();
    let auth = format!("authorization: Bearer {}", r.bob.token);
    let protos = repo().join("proto/proto");
    // grpcurl on the stream, with these headers.
    let grpcurl_subscribe = |headers: &[&str]| {
        let mut cmd = tokio::process::Command::new(&grpcurl);
        cmd.arg("-plaintext").arg("-import-path").arg(&protos).args(["-proto", "ocomms/gateway/v1/events.proto"]);
        cmd.args(headers).args(["-d", &body, &addr, "ocomms.gateway.v1.EventsService/Subscribe"]);
        cmd
    };
    let grpcurl_cmd = grpcurl_subscribe(&["-H", &auth]);
    let mut buf_cmd = tokio::process::Command::new(buf);
    buf_cmd.args(["curl", "--protocol", "grpcweb", "--schema"]).arg(&protos).args([
        "-H",
        &auth,
        "-d",
        &body,
        &format!("{}/ocomms.gateway.v1.EventsService/Subscribe", t.base),
    ]);
    for (tool, mut cmd) in [("grpcurl", grpcurl_cmd), ("buf curl", buf_cmd)] {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true).spawn().expect("the tool runs");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        // The replay, as each tool prints proto JSON: the data field is the
        // socket's JSON text, so its quotes come escaped.
        let replayed = line_containing(&mut lines, "before subscribing").await;
        assert!(replayed.iter().any(|l| l.contains("message:new")), "{tool}: {replayed:?}");
        let live = format!("live to {tool}");
        api.post(&msgs, &r.ann.token, json!({ "content": live })).await.expect(201);
        let got = line_containing(&mut lines, &live).await;
        assert!(!got.iter().any(|l| l.contains("before subscribing")), "{tool} replayed a message twice: {got:?}");
        child.kill().await.expect("stop the tool");
    }
    // Without a session the stream is refused, as the socket is.
    let out = grpcurl_subscribe(&[]).output().await.expect("grpcurl runs");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("Unauthenticated"), "{text}");
    t.stop().await.expect("stop");
}
