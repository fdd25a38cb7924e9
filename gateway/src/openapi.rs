//! `GET /api/openapi.json`: OpenAPI 3.1, generated from the protos. Every
//! RPC with a `google.api.http` option is an operation: its path and query
//! parameters and body come from the request message, its answer from the
//! response message, its summary from the RPC's comment, limits and formats
//! from `ocomms.api.v1.field` options, extra statuses from
//! `ocomms.api.v1.route` (see `ocomms_proto::rest`). The few routes that are
//! no RPC (uploads, downloads, the export, the socket, operations) are
//! described in `routes::described`, with the schemas written below.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Json;
use ocomms_proto::rest::{self as spec, FieldOptions};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use crate::routes;

fn s(t: &str) -> Value {
    json!({ "type": t })
}
fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}
fn obj(props: &[(&str, Value)], required: &[&str]) -> Value {
    let p: Map<String, Value> = props.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    json!({ "type": "object", "properties": p, "required": required })
}

/// `schema` that also takes `null`.
fn or_null(mut schema: Value) -> Value {
    if schema.get("$ref").is_some() {
        return json!({ "oneOf": [schema, { "type": "null" }] });
    }
    match schema.get("type").cloned() {
        Some(Value::String(t)) => schema["type"] = json!([t, "null"]),
        Some(Value::Array(mut ts)) if !ts.contains(&json!("null")) => {
            ts.push(json!("null"));
            schema["type"] = Value::Array(ts);
        }
        _ => {}
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    schema
}

/// Which way a message travels: a request's fields are those a client may
/// send (closed: others answer 400), a response's are all present.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Request,
    Response,
}

/// The components the operations refer to, built as they are met.
#[derive(Default)]
struct Schemas {
    done: BTreeMap<String, Value>,
}

impl Schemas {
    /// The component name of `message` on `side`: its proto name, with
    /// `Input` for a message that is not a request but travels in one.
    fn name(message: &MessageDescriptor, side: Side) -> String {
        match side {
            Side::Request if !message.name().ends_with("Request") => format!("{}Input", message.name()),
            _ => message.name().to_owned(),
        }
    }

    /// A reference to `message`'s schema, writing it on first use.
    fn reference(&mut self, message: &MessageDescriptor, side: Side) -> Value {
        let name = Self::name(message, side);
        if !self.done.contains_key(&name) {
            self.done.insert(name.clone(), Value::Null);
            let schema = self.message(message, side);
            self.done.insert(name.clone(), schema);
        }
        r(&name)
    }

    /// The answer of an RPC: `Success` for an empty message (the forwarder
    /// answers `{"success":true}` then).
    fn answer(&mut self, message: &MessageDescriptor) -> Value {
        if message.fields().len() == 0 { r("Success") } else { self.reference(message, Side::Response) }
    }

    fn message(&mut self, message: &MessageDescriptor, side: Side) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in message.fields() {
            let options = spec::field_options(&field);
            if side == Side::Request && !options.client_may_send() {
                continue;
            }
            properties.insert(field.json_name().to_owned(), self.field(&field, &options, side));
            if side == Side::Response || options.required {
                required.push(field.json_name().to_owned());
            }
        }
        let mut schema = json!({ "type": "object", "properties": properties, "required": required });
        if let Some(text) = spec::comment(&message.parent_file(), message.path()) {
            schema["description"] = json!(text);
        }
        if side == Side::Request {
            schema["additionalProperties"] = json!(false);
        }
        schema
    }

    fn field(&mut self, field: &FieldDescriptor, options: &FieldOptions, side: Side) -> Value {
        let request = side == Side::Request;
        let mut schema = match field.kind() {
            Kind::Message(m) => self.reference(&m, side),
            Kind::Bool => s("boolean"),
            Kind::Double | Kind::Float => s("number"),
            Kind::String => {
                let mut schema = s("string");
                if !options.format.is_empty() {
                    schema["format"] = json!(options.format);
                }
                if !options.pattern.is_empty() {
                    schema["pattern"] = json!(options.pattern);
                }
                if let Some(n) = options.min_length {
                    schema["minLength"] = json!(n);
                }
                if let Some(n) = options.max_length {
                    schema["maxLength"] = json!(n);
                }
                if !options.enum_values.is_empty() {
                    schema["enum"] = json!(options.enum_values);
                }
                schema
            }
            Kind::Bytes => json!({ "type": "array", "items": { "type": "integer", "minimum": 0, "maximum": 255 } }),
            kind => {
                // Integers: the bounds of the Rust type (a request with a
                // larger number is refused), narrowed by the options.
                let (min, max): (i128, i128) = match kind {
                    Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Enum(_) => (i32::MIN.into(), i32::MAX.into()),
                    Kind::Uint32 | Kind::Fixed32 => (0, u32::MAX.into()),
                    Kind::Uint64 | Kind::Fixed64 => (0, u64::MAX.into()),
                    _ => (i64::MIN.into(), i64::MAX.into()),
                };
                let mut schema = s("integer");
                let min = options.minimum.map_or(min, i128::from);
                let max = options.maximum.map_or(max, i128::from);
                if request || options.minimum.is_some() {
                    schema["minimum"] = json!(min);
                }
                if request || options.maximum.is_some() {
                    schema["maximum"] = json!(max);
                }
                schema
            }
        };
        if field.is_list() {
            schema = json!({ "type": "array", "items": schema });
            if let Some(n) = options.min_items {
                schema["minItems"] = json!(n);
            }
            if let Some(n) = options.max_items {
                schema["maxItems"] = json!(n);
            }
        } else if nullable(field) && !(request && options.required) {
            schema = or_null(schema);
        }
        if let Some(text) = spec::field_comment(field) {
            // A `$ref` takes no siblings in older tools: wrap it.
            if schema.get("$ref").is_some() {
                schema = json!({ "allOf": [schema] });
            }
            schema["description"] = json!(text);
        }
        schema
    }
}

/// A query parameter's schema: a query string has no `null` (a parameter
/// is absent instead).
fn not_null(mut schema: Value) -> Value {
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            schema["type"] = types[0].clone();
        }
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    schema
}

/// Whether a field may be `null` on the wire: a proto3 `optional` one. A
/// message field without `optional` is always set by the services (a
/// request that omits it is refused by them, or by `required`).
fn nullable(field: &FieldDescriptor) -> bool {
    field.field_descriptor_proto().proto3_optional()
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": r("Error") } } })
}

/// What every operation may answer besides success.
struct Statuses<'a> {
    auth: bool,
    unauthenticated: &'a str,
    locked: bool,
    conflict: &'a str,
}

fn responses(ok: (u16, Value), media: &str, st: &Statuses) -> Map<String, Value> {
    let mut responses = Map::new();
    let success = match ok.0 {
        204 => json!({ "description": "success, no content" }),
        _ => json!({ "description": "success", "content": { media: { "schema": ok.1 } } }),
    };
    responses.insert(ok.0.to_string(), success);
    responses.insert("400".into(), error_response("invalid input (VALIDATION_ERROR)"));
    if !st.unauthenticated.is_empty() {
        responses.insert("401".into(), error_response(&format!("UNAUTHORIZED: {}", st.unauthenticated)));
    }
    if st.locked {
        responses.insert(
            "423".into(),
            error_response("the account is locked after repeated failed sign-ins (ACCOUNT_LOCKED, details.lockedUntil)"),
        );
    }
    if st.auth {
        responses.insert("401".into(), error_response("no valid session (UNAUTHORIZED)"));
        responses.insert("403".into(), error_response("not allowed (FORBIDDEN, GUEST_LOCKED)"));
        responses.insert("404".into(), error_response("not found, or not visible to the caller (NOT_FOUND)"));
    }
    responses.insert("429".into(), error_response("rate limited (RATE_LIMIT_EXCEEDED, with Retry-After)"));
    responses.insert(
        "503".into(),
        error_response(
            "busy or a dependency unavailable (SERVICE_UNAVAILABLE); with Retry-After when the request was refused before anything was done",
        ),
    );
    if !st.conflict.is_empty() {
        responses.insert("409".into(), error_response(&format!("conflict (CONFLICT): {}", st.conflict)));
    }
    responses
}

fn operation_id(method: &str, path: &str) -> String {
    format!("{}_{}", method, path.trim_start_matches("/api/").replace(['/', '{', '}', '-', '.'], "_"))
}

/// The operation of one binding of an RPC.
fn rpc_operation(route: &spec::Route, binding: &spec::Binding, schemas: &mut Schemas) -> Value {
    let input = route.method.input();
    let mut params: Vec<Value> = binding
        .path_fields
        .iter()
        .map(|f| {
            let schema = schemas.field(f, &FieldOptions { required: true, ..spec::field_options(f) }, Side::Request);
            json!({ "name": f.json_name(), "in": "path", "required": true, "schema": schema })
        })
        .collect();
    let in_query = |f: &FieldDescriptor| !binding.body || route.options.query.iter().any(|q| q == f.name());
    {
        for field in input.fields().filter(in_query) {
            let mut options = spec::field_options(&field);
            if !options.client_may_send() {
                continue;
            }
            // A body route's query form is one of two: never required.
            options.required &= !binding.body;
            let mut schema = not_null(schemas.field(&field, &options, Side::Request));
            let description = schema.as_object_mut().and_then(|o| o.remove("description"));
            let mut param = json!({ "name": field.json_name(), "in": "query", "required": options.required, "schema": schema });
            if let Some(d) = description {
                param["description"] = d;
            }
            params.push(param);
        }
    }
    let o = &route.options;
    let statuses = Statuses { auth: !o.public, unauthenticated: &o.unauthenticated, locked: o.locked, conflict: &o.conflict };
    let answer = schemas.answer(&route.method.output());
    let comment = spec::method_comment(&route.method).unwrap_or_else(|| route.method.name().to_owned());
    let (summary, description) = match comment.split_once("\n\n") {
        Some((first, rest)) => (first.to_owned(), Some(rest.to_owned())),
        None => (comment, None),
    };
    let mut op = json!({
        "summary": summary,
        "tags": [o.tag],
        "operationId": operation_id(&binding.verb, &binding.path),
        "parameters": params,
        "responses": responses((o.status, answer), "application/json", &statuses),
        "x-grpc-method": route.grpc_path(),
    });
    if let Some(d) = description {
        op["description"] = json!(d);
    }
    if !o.public {
        op["security"] = json!([{ "bearer": [] }, { "cookie": [] }]);
    }
    if binding.body {
        let body = schemas.reference(&input, Side::Request);
        // A custom handler decodes its body itself, ignoring what it does not know.
        if o.custom
            && let Some(schema) = schemas.done.get_mut(&Schemas::name(&input, Side::Request))
            && let Some(fields) = schema.as_object_mut()
        {
            fields.remove("additionalProperties");
        }
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": body } } });
    }
    op
}

/// The operation of a route that is no RPC.
fn described_operation(route: &routes::Described, schemas: &mut Schemas) -> Value {
    let mut params: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": s("string") }))
        .collect();
    params.extend(
        route.query.iter().map(|(n, kind, d)| json!({ "name": n, "in": "query", "required": false, "schema": s(kind), "description": d })),
    );
    let media = match route.ok.1 {
        // Files keep the type told by their bytes (image/png, application/pdf, …).
        "Binary" => "*/*",
        "Metrics" => "text/plain; version=0.0.4",
        _ => "application/json",
    };
    let ok = match proto_message(route.ok.1) {
        Some(m) => schemas.reference(&m, Side::Response),
        None => r(route.ok.1),
    };
    let statuses = Statuses { auth: route.auth, unauthenticated: "", locked: false, conflict: route.conflict };
    let mut op = json!({
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": operation_id(route.method, route.path),
        "parameters": params,
        "responses": responses((route.ok.0, ok), media, &statuses),
    });
    if route.auth {
        op["security"] = json!([{ "bearer": [] }, { "cookie": [] }]);
    }
    if let Some(body) = route.body {
        let (media, schema) = match body.strip_prefix("multipart:") {
            Some(name) => ("multipart/form-data", name),
            None => ("application/json", body),
        };
        op["requestBody"] = json!({ "required": true, "content": { media: { "schema": r(schema) } } });
    }
    op
}

/// The OComms message with this short name, if any.
fn proto_message(name: &str) -> Option<MessageDescriptor> {
    ocomms_proto::descriptor_pool().all_messages().find(|m| m.name() == name && m.package_name().starts_with("ocomms."))
}

/// The schemas of what is no proto message: errors, files, the export,
/// operations.
fn written_schemas(schemas: &mut Schemas) -> Value {
    let time = json!({ "type": "string", "format": "date-time" });
    let id = json!({ "type": "string", "format": "uuid" });
    let mut msg = |name: &str| proto_message(name).map_or_else(|| r(name), |m| schemas.reference(&m, Side::Response));
    let (user, profile, member, message, file) = (msg("User"), msg("Profile"), msg("Member"), msg("Message"), msg("File"));
    let (settings, email, note, reminder, scheduled) =
        (msg("ChannelSettings"), msg("EmailSettings"), msg("Note"), msg("Reminder"), msg("ScheduledMessage"));
    let arr = |items: &Value| json!({ "type": "array", "items": items });
    json!({
        "Error": obj(&[("error", obj(&[
            ("code", json!({ "type": "string", "enum": ["UNAUTHORIZED","FORBIDDEN","NOT_FOUND","VALIDATION_ERROR","CONFLICT","RATE_LIMIT_EXCEEDED","QUOTA_EXCEEDED","FILE_TOO_LARGE","INVALID_FILE_TYPE","ACCOUNT_LOCKED","GUEST_LOCKED","METHOD_NOT_ALLOWED","SERVICE_UNAVAILABLE","INTERNAL_ERROR"] })),
            ("message", s("string")),
            ("details", s("object")),
        ], &["code", "message"]))], &["error"]),
        "Success": obj(&[("success", json!({ "type": "boolean", "const": true }))], &["success"]),
        "Object": s("object"),
        "Binary": json!({ "type": "string", "format": "binary" }),
        "Metrics": json!({ "type": "string", "description": "Prometheus text exposition format" }),
        "UploadAttachment": obj(&[("file", json!({ "type": "string", "format": "binary" }))], &["file"]),
        "UploadAvatar": obj(&[("workspaceId", id.clone()), ("file", json!({ "type": "string", "format": "binary" }))], &["file"]),
        "UploadEmoji": obj(&[("workspaceId", id.clone()), ("name", json!({ "type": "string", "pattern": "^[a-z0-9_-]{2,32}$" })), ("file", json!({ "type": "string", "format": "binary" }))], &["workspaceId", "name", "file"]),
        "ExportRequest": obj(&[("workspaceId", id.clone()), ("userId", id)], &["workspaceId", "userId"]),
        "Export": obj(&[
            ("exportedAt", time),
            ("workspaceId", json!({ "type": "string", "format": "uuid" })),
            ("user", obj(&[("user", user), ("profile", profile), ("member", member)], &["user", "profile", "member"])),
            ("messages", arr(&message)),
            ("files", arr(&file)),
            ("settings", obj(&[("notifications", arr(&settings)), ("email", email)], &["notifications", "email"])),
            ("notes", obj(&[("personal", note)], &["personal"])),
            ("reminders", arr(&reminder)),
            ("scheduledMessages", arr(&scheduled)),
        ], &["user", "messages", "files", "settings", "notes", "reminders", "scheduledMessages"]),
        "CspReport": json!({ "description": "{\"csp-report\":{…}} (application/csp-report) or [{\"type\":\"csp-violation\",\"body\":{…}}] (application/reports+json)", "oneOf": [
            { "type": "object", "properties": { "csp-report": { "type": "object" } }, "required": ["csp-report"] },
            { "type": "array", "minItems": 1, "items": { "type": "object", "properties": { "type": { "const": "csp-violation" }, "body": { "type": "object" } }, "required": ["type", "body"] } },
        ] }),
        "Empty": json!({ "description": "no content" }),
        "Health": obj(&[("status", json!({ "type": "string", "enum": ["ok", "degraded"] })), ("services", s("object")), ("gateway", s("object"))], &["status", "services"]),
    })
}

/// The document, built once.
pub fn build() -> Value {
    let mut schemas = Schemas::default();
    let mut paths = Map::new();
    let mut put = |path: &str, method: &str, op: Value| {
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        entry[method] = op;
    };
    for route in routes::declared() {
        for binding in &route.bindings {
            put(&binding.path, &binding.verb, rpc_operation(&route, binding, &mut schemas));
        }
    }
    for route in routes::described() {
        let op = described_operation(&route, &mut schemas);
        put(route.path, route.method, op);
    }
    let mut components = written_schemas(&mut schemas);
    for (name, schema) in std::mem::take(&mut schemas.done) {
        components[name] = schema;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "OComms API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The OComms gateway: REST over JSON, a WebSocket at /api/ws, and gRPC services behind it. Errors: {\"error\":{\"code\",\"message\",\"details\"}}. A resource in another workspace, or one the caller may not see, answers 404.",
        },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "cookie": { "type": "apiKey", "in": "cookie", "name": "ocomms_session" },
            },
        },
        "x-grpc-web": {
            "path": "/ocomms.<domain>.v1.<Service>/<Method>",
            "contentTypes": ["application/grpc-web+proto", "application/grpc-web-text+proto"],
            "description": "Every service's gRPC API (proto/ocomms/*/v1/*.proto) through the gateway's port; authenticate with the authorization: Bearer header (a page of the gateway's own origin may use its session cookie instead). Rate limits are those of the matching REST routes (AuthService/SignIn, SignUp, ForgetPassword, ResetPassword per client address; MessagingService/SendMessage per account); over a limit the call answers RESOURCE_EXHAUSTED with x-ocomms-code: RATE_LIMIT_EXCEEDED and x-ocomms-details {retryAfter}. Addresses and user agents recorded by SignUp, SignIn and ForgetPassword come from the connection, never from the request's fields or metadata.",
        },
        "x-websocket": {
            "path": "/api/ws",
            "clientFrame": "{\"event\":\"message:send\",\"data\":{…},\"ack\":7}",
            "ackFrame": "{\"ack\":7,\"ok\":true,\"data\":{…}} or {\"ack\":7,\"ok\":false,\"error\":{\"code\",\"message\",\"details\"}}",
            "backlog": "A socket handles up to 64 of its frames at once (frames about one channel or conversation in the order written, others side by side). A frame is refused at once with SERVICE_UNAVAILABLE and details {retryAfter (seconds), event} in its ack (or an error event when it asked for no ack) past 64 frames in flight, and when its channel or conversation already has 4 in flight, the oldest read more than 0.25 s ago; that place then refuses its next frames too until its frames in flight are done. Nothing of a refused frame was done: resend it then, in order (with the same clientMsgId for message:send).",
            "serverFrame": "{\"event\":\"message:new\",\"data\":{\"message\":{…},\"channel\":{…}}}",
            "clientEvents": ["typing:start", "typing:stop", "note:subscribe", "note:unsubscribe", "note:broadcast", "message:send", "message:edit", "message:delete", "reaction:toggle", "presence:setActive", "presence:setAway", "presence:fetch", "notification:markRead"],
            "serverEvents": ["typing:update", "note:updated", "notification:new", "workspace:updated", "guest:locked", "workspace:joinRequest", "workspace:joinDecision", "member:updated", "workspace:removed", "profile:update", "status:update", "message:new", "message:edited", "message:deleted", "reaction:update", "thread:newReply", "unread:update", "workspace:unreadUpdate", "channel:updated", "channel:joined", "channel:left", "pin:update", "presence:update", "notification:read", "reminder:fired", "linkPreview:ready"],
            "resume": "Events are best-effort; history is durable and ordered. Every channel and conversation numbers its messages 1, 2, 3, … without gaps. A client remembers, per place, the highest sequence it has applied. After any reconnect (network loss, a gateway restart, or a close with code 1013 sent to a socket that fell behind), it first reopens the socket (so nothing new is missed), then for each place fetches GET /api/channels/{channelId}/messages?after=<last applied> (or /api/conversations/{conversationId}/messages) and repeats with the last sequence received until hasMore is false, applying messages in order; meanwhile it buffers live message:new events and afterwards applies only those whose sequence is greater than the last applied. The result has no gap and no duplicate. Edits, deletions and reactions carry the full message or its id and are idempotent to apply; GET /api/workspaces/{workspaceId}/unread refreshes the counts.",
        },
    })
}

pub async fn document() -> Json<Value> {
    static DOC: OnceLock<Value> = OnceLock::new();
    Json(DOC.get_or_init(build).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/openapi.json` is the document as served, so every change to the
    /// contract shows in review (and the web client's types are generated
    /// from it). `UPDATE_OPENAPI=1 cargo test -p ocomms-gateway openapi`
    /// rewrites it.
    #[test]
    fn the_checked_in_document_is_the_served_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        let mut text = serde_json::to_string_pretty(&build()).expect("json");
        text.push('\n');
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &text).expect("write docs/openapi.json");
        }
        let saved = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            saved == text,
            "docs/openapi.json differs from the served document: run UPDATE_OPENAPI=1 cargo test -p ocomms-gateway openapi, and review the diff"
        );
    }

    #[test]
    fn every_route_is_documented_and_every_reference_resolves() {
        let doc = build();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for route in routes::declared() {
            for b in &route.bindings {
                assert!(doc["paths"][&b.path][&b.verb].is_object(), "{} {} missing", b.verb, b.path);
            }
        }
        for route in routes::described() {
            assert!(doc["paths"][route.path][route.method].is_object(), "{} {} missing", route.method, route.path);
        }
        let text = doc.to_string();
        for name in text.split("#/components/schemas/").skip(1).map(|s| s.split('"').next().unwrap_or_default()) {
            assert!(schemas.contains_key(name), "dangling $ref {name}");
        }
    }

    /// The document keeps today's wire format: a response lists every field
    /// as present, `optional` ones nullable, 64-bit integers as numbers.
    #[test]
    fn schemas_follow_the_wire_format() {
        let doc = build();
        let channel = &doc["components"]["schemas"]["Channel"];
        let props = channel["properties"].as_object().expect("Channel");
        assert_eq!(channel["required"].as_array().map(Vec::len), Some(props.len()), "every field of an answer is present");
        assert_eq!(props["lastSequence"]["type"], "integer");
        assert_eq!(props["description"]["type"], json!(["string", "null"]));
        assert_eq!(props["id"]["format"], "uuid");
        let send = &doc["components"]["schemas"]["SendMessageRequest"];
        assert_eq!(send["additionalProperties"], false, "a body refuses fields it does not name");
        assert!(send["properties"].get("channelId").is_none(), "path fields are not body fields");
        assert_eq!(send["required"], json!(["content"]));
    }
}
