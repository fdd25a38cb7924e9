//! The generic REST forwarder: one handler for every route declared in the
//! protos with `google.api.http` (and not marked `custom`).
//!
//! A request becomes the RPC's request message the way the annotation says:
//! path variables fill their fields (a malformed id names nothing: 404),
//! the JSON body (`body: "*"`) or else the query string fills the rest,
//! typed by the field's proto type. Unknown keys, fields the client may not
//! set (`path_only`, `internal`) and missing `required` ones answer 400 and
//! call nothing; a path field repeated in the body must have the path's
//! value. The answer is the response message as JSON (camelCase,
//! every field present), or `{"success":true}` for an empty message.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, RawPathParamsRejection};
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use ocomms_proto::rest as spec;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::token_from_headers;
use crate::{AppState, Clients};

/// One HTTP binding of an RPC, resolved once when the router is built.
pub struct Forward {
    /// The request's fields a client may send, with their options (read
    /// from the descriptors once here, not per request).
    fields: Vec<(FieldDescriptor, spec::FieldOptions)>,
    /// The path's variables: their fields, and the name a 404 gives.
    path: Vec<(FieldDescriptor, bool, String)>,
    body: bool,
    status: StatusCode,
    public: bool,
}

impl Forward {
    pub fn new(route: &spec::Route, binding: &spec::Binding) -> Self {
        let path = binding
            .path_fields
            .iter()
            .map(|f| {
                let uuid = spec::field_options(f).format == "uuid";
                (f.clone(), uuid, f.name().trim_end_matches("_id").replace('_', " "))
            })
            .collect();
        let fields = route
            .method
            .input()
            .fields()
            .map(|f| {
                let options = spec::field_options(&f);
                (f, options)
            })
            .filter(|(_, o)| o.client_may_send())
            .collect();
        Self {
            fields,
            path,
            body: binding.body,
            status: StatusCode::from_u16(route.options.status).unwrap_or(StatusCode::OK),
            public: route.options.public,
        }
    }
}

pub type Reply<Resp> = Pin<Box<dyn Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send>>;
/// Calls one RPC with the typed client (written by `http_routes!`).
pub type Call<Req, Resp> = fn(Arc<Clients>, tonic::Request<Req>) -> Reply<Resp>;

/// The axum route of one binding.
pub fn method_router<Req, Resp>(verb: &str, forward: Forward, call: Call<Req, Resp>) -> MethodRouter<AppState>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
{
    let filter = match verb {
        "get" => MethodFilter::GET,
        "post" => MethodFilter::POST,
        "put" => MethodFilter::PUT,
        "patch" => MethodFilter::PATCH,
        _ => MethodFilter::DELETE,
    };
    let forward = Arc::new(forward);
    on(
        filter,
        move |State(s): State<AppState>,
              params: Result<RawPathParams, RawPathParamsRejection>,
              RawQuery(query),
              headers: HeaderMap,
              body: Result<Bytes, BytesRejection>| {
            let forward = forward.clone();
            async move {
                // A path that does not decode names nothing; a body past the
                // limit is refused in the API's error shape.
                let params = params.map_err(|_| ApiError::not_found("resource"))?;
                let body = body.map_err(|e| ApiError::validation(format!("the body could not be read: {e}")))?;
                let params: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
                handle(&s, &forward, call, &params, query.as_deref(), &headers, &body).await
            }
        },
    )
}

async fn handle<Req, Resp>(
    s: &AppState,
    forward: &Forward,
    call: Call<Req, Resp>,
    params: &[(String, String)],
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<Response>
where
    Req: DeserializeOwned,
    Resp: Serialize,
{
    let token = match (forward.public, token_from_headers(headers)) {
        (true, _) => None,
        (false, Some(token)) => Some(token),
        (false, None) => return Err(ApiError::unauthorized()),
    };
    let message = request_json(forward, params, query, headers, body)?;
    let req: Req = serde_json::from_value(Value::Object(message)).map_err(|e| ApiError::validation(e.to_string()))?;
    let req = match &token {
        Some(token) => ocomms_runtime::identity::bearer_request(token, req),
        None => tonic::Request::new(req),
    };
    let answer = call(s.clients.clone(), req).await?.into_inner();
    let mut json = serde_json::to_value(answer).map_err(|e| ApiError::new(ocomms_runtime::ErrorCode::Internal, e.to_string()))?;
    if json.as_object().is_some_and(Map::is_empty) {
        json = serde_json::json!({ "success": true });
    }
    Ok((forward.status, Json(json)).into_response())
}

/// The request message as JSON, from the path, the body or the query.
fn request_json(
    forward: &Forward,
    params: &[(String, String)],
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<Map<String, Value>> {
    let mut message = Map::new();
    let mut repeated = Vec::new();
    if forward.body {
        let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            let media = v.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("application/json") || media.to_ascii_lowercase().ends_with("+json")
        });
        if !json {
            return Err(ApiError::validation("expected a JSON body (Content-Type: application/json)"));
        }
        let mut value: Value =
            serde_json::from_slice(body).map_err(|e| ApiError::validation(format!("the body is not valid JSON: {e}")))?;
        crate::extract::whole_numbers(&mut value);
        let Value::Object(fields) = value else {
            return Err(ApiError::validation("the body must be a JSON object"));
        };
        for (key, value) in fields {
            // A path field may be repeated in the body (grpc-gateway reads
            // the whole message from it), but only with the path's value.
            if forward.path.iter().any(|(f, _, _)| f.json_name() == key) {
                repeated.push((key, value));
                continue;
            }
            let field = forward.field(&key, "field")?;
            nested_keys(&field, &value, &key)?;
            message.insert(key, value);
        }
    }
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|_| ApiError::validation("the query string is malformed"))?;
        for (key, raw) in pairs {
            if forward.body {
                return Err(ApiError::validation(format!("unknown query parameter `{key}`")));
            }
            let field = forward.field(&key, "query parameter")?;
            if message.contains_key(&key) {
                return Err(ApiError::validation(format!("query parameter `{key}` is given twice")));
            }
            message.insert(key, query_value(&field, &raw)?);
        }
    }
    for (field, options) in &forward.fields {
        let value = message.get(field.json_name());
        if options.required && value.is_none_or(Value::is_null) {
            return Err(ApiError::validation(format!("`{}` is required", field.json_name())));
        }
        // Ids are UUIDs, as the document says (other formats and limits
        // are the services' to check, with their reasons).
        if options.format == "uuid" {
            let values = match value {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(v) => vec![v],
                None => vec![],
            };
            if values.into_iter().any(|v| v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_err())) {
                return Err(ApiError::validation(format!("`{}` must be a UUID", field.json_name())));
            }
        }
    }
    for (field, uuid, what) in &forward.path {
        let raw = params.iter().find(|(k, _)| k == field.json_name()).map(|(_, v)| v.as_str()).unwrap_or_default();
        let value = if *uuid { crate::extract::path_id(raw, what)? } else { raw.to_owned() };
        message.insert(field.json_name().to_owned(), Value::String(value));
    }
    for (key, value) in repeated {
        let same = match (value.as_str(), message.get(&key).and_then(Value::as_str)) {
            (Some(body), Some(path)) => body == path || uuid::Uuid::parse_str(body).is_ok_and(|u| u.to_string() == path),
            _ => false,
        };
        if !same {
            return Err(ApiError::validation(format!("`{key}` in the body differs from the path's")));
        }
    }
    Ok(message)
}

impl Forward {
    /// The field a client names in a body or query string: one that exists
    /// and that it may set.
    fn field(&self, key: &str, what: &str) -> ApiResult<FieldDescriptor> {
        self.fields
            .iter()
            .find(|(f, _)| f.json_name() == key)
            .map(|(f, _)| f.clone())
            .ok_or_else(|| ApiError::validation(format!("unknown {what} `{key}`")))
    }
}

/// The same inside a nested message (read from the descriptors: rare).
fn client_field(input: &MessageDescriptor, key: &str, what: &str) -> ApiResult<FieldDescriptor> {
    input
        .get_field_by_json_name(key)
        .filter(|f| f.json_name() == key && spec::field_options(f).client_may_send())
        .ok_or_else(|| ApiError::validation(format!("unknown {what} `{key}`")))
}

/// The keys of a message-typed field's JSON object (or of each in a list)
/// name fields of that message, as at the top level.
fn nested_keys(field: &FieldDescriptor, value: &Value, at: &str) -> ApiResult<()> {
    let Kind::Message(message) = field.kind() else { return Ok(()) };
    let objects: Vec<&Map<String, Value>> = match value {
        Value::Object(o) => vec![o],
        Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
        _ => return Ok(()),
    };
    for object in objects {
        for (key, inner) in object {
            let path = format!("{at}.{key}");
            let f = client_field(&message, key, "field").map_err(|_| ApiError::validation(format!("unknown field `{path}`")))?;
            nested_keys(&f, inner, &path)?;
        }
    }
    Ok(())
}

/// A query parameter as the JSON value of its field's type.
fn query_value(field: &FieldDescriptor, raw: &str) -> ApiResult<Value> {
    let name = field.json_name();
    let bad = |kind: &str| ApiError::validation(format!("query parameter `{name}` must be {kind}"));
    Ok(match field.kind() {
        Kind::Bool => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            Value::from(raw.parse::<i64>().map_err(|_| bad("an integer"))?)
        }
        Kind::Uint32 | Kind::Fixed32 | Kind::Uint64 | Kind::Fixed64 => {
            Value::from(raw.parse::<u64>().map_err(|_| bad("a non-negative integer"))?)
        }
        Kind::Double | Kind::Float => serde_json::Number::from_f64(raw.parse::<f64>().map_err(|_| bad("a number"))?)
            .map(Value::Number)
            .ok_or_else(|| bad("a number"))?,
        _ => Value::String(raw.to_owned()),
    })
}
