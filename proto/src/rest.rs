//! The REST side of the contract, read from the protos' options: which RPCs
//! are routes (`google.api.http`), what the document says of them
//! (`ocomms.api.v1.route`) and of their fields (`ocomms.api.v1.field`).
//!
//! `build.rs` includes this file too: it checks every annotation and
//! generates the typed forwarders (`http_routes!`), and the gateway reads
//! the same annotations at run time to route requests and to write
//! `GET /api/openapi.json`. So a route is declared once, in its proto.

use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor, ReflectMessage, Value};

/// One HTTP binding of an RPC.
#[derive(Debug, Clone)]
pub struct Binding {
    /// `get`, `post`, `put`, `patch` or `delete`.
    pub verb: String,
    /// The public path in axum's syntax, variables by their JSON names:
    /// `/api/channels/{channelId}/messages`.
    pub path: String,
    /// The request fields the path's variables fill, in order.
    pub path_fields: Vec<FieldDescriptor>,
    /// Whether the JSON body fills the fields not in the path (`body: "*"`);
    /// otherwise they come from the query string.
    pub body: bool,
}

/// What `ocomms.api.v1.Route` says of an RPC.
#[derive(Debug, Clone, Default)]
pub struct RouteOptions {
    pub tag: String,
    pub status: u16,
    pub public: bool,
    pub conflict: String,
    pub unauthenticated: String,
    pub locked: bool,
    pub custom: bool,
    /// Fields a custom route also reads from the query string.
    pub query: Vec<String>,
}

/// An RPC reachable over REST.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: MethodDescriptor,
    pub bindings: Vec<Binding>,
    pub options: RouteOptions,
}

impl Route {
    /// The gRPC path: `/ocomms.messaging.v1.MessagingService/ListChanges`.
    pub fn grpc_path(&self) -> String {
        format!("/{}/{}", self.method.parent_service().full_name(), self.method.name())
    }
}

/// What `ocomms.api.v1.Field` says of a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldOptions {
    pub format: String,
    pub required: bool,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub pattern: String,
    pub enum_values: Vec<String>,
    pub path_only: bool,
    pub internal: bool,
    pub min_items: Option<u32>,
    pub max_items: Option<u32>,
}

impl FieldOptions {
    /// Whether a client may send this field in a body or query string.
    pub fn client_may_send(&self) -> bool {
        !self.path_only && !self.internal
    }
}

fn ext_message(options: &DynamicMessage, pool: &DescriptorPool, name: &str) -> Option<DynamicMessage> {
    let ext = pool.get_extension_by_name(name)?;
    if !options.has_extension(&ext) {
        return None;
    }
    options.get_extension(&ext).as_message().cloned()
}

fn string(m: &DynamicMessage, name: &str) -> String {
    m.get_field_by_name(name).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
fn boolean(m: &DynamicMessage, name: &str) -> bool {
    m.get_field_by_name(name).and_then(|v| v.as_bool()).unwrap_or(false)
}
fn present(m: &DynamicMessage, name: &str) -> Option<Value> {
    let field = m.descriptor().get_field_by_name(name)?;
    m.has_field(&field).then(|| m.get_field(&field).into_owned())
}

/// The field's REST options (defaults when it has none).
pub fn field_options(field: &FieldDescriptor) -> FieldOptions {
    let Some(m) = ext_message(&field.options(), field.parent_pool(), "ocomms.api.v1.field") else {
        return FieldOptions::default();
    };
    FieldOptions {
        format: string(&m, "format"),
        required: boolean(&m, "required"),
        minimum: present(&m, "minimum").and_then(|v| v.as_i64()),
        maximum: present(&m, "maximum").and_then(|v| v.as_i64()),
        min_length: present(&m, "min_length").and_then(|v| v.as_u32()),
        max_length: present(&m, "max_length").and_then(|v| v.as_u32()),
        pattern: string(&m, "pattern"),
        enum_values: m
            .get_field_by_name("enum")
            .and_then(|v| v.as_list().map(|l| l.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()))
            .unwrap_or_default(),
        path_only: boolean(&m, "path_only"),
        internal: boolean(&m, "internal"),
        min_items: present(&m, "min_items").and_then(|v| v.as_u32()),
        max_items: present(&m, "max_items").and_then(|v| v.as_u32()),
    }
}

/// The leading comment of the descriptor at `path` in `file`, as one
/// paragraph per blank-line-separated block, lines joined.
pub fn comment(file: &prost_reflect::FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let loc = info.location.iter().find(|l| l.path == path)?;
    let text = loc.leading_comments.as_deref()?;
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| p.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    (!paragraphs.is_empty()).then(|| paragraphs.join("\n\n"))
}

/// A field's comment.
pub fn field_comment(field: &FieldDescriptor) -> Option<String> {
    comment(&field.parent_file(), field.path())
}

/// An RPC's comment.
pub fn method_comment(method: &MethodDescriptor) -> Option<String> {
    comment(&method.parent_file(), method.path())
}

/// The field of `message` called `field` (its proto name).
fn field_named(message: &MessageDescriptor, field: &str) -> Result<FieldDescriptor, String> {
    message.get_field_by_name(field).ok_or_else(|| format!("{} has no field {field}", message.full_name()))
}

fn binding(method: &MethodDescriptor, rule: &DynamicMessage) -> Result<Binding, String> {
    let verbs = ["get", "put", "post", "delete", "patch"];
    let mut found = verbs.iter().map(|v| (*v, string(rule, v))).filter(|(_, p)| !p.is_empty());
    let (verb, template) = found.next().ok_or_else(|| format!("{}: an http rule without a verb", method.full_name()))?;
    let body = match string(rule, "body").as_str() {
        "" => false,
        "*" => true,
        other => return Err(format!("{}: body {other:?}: only \"*\" is supported", method.full_name())),
    };
    let input = method.input();
    let mut path = String::new();
    let mut path_fields = Vec::new();
    let mut rest = template.as_str();
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').ok_or_else(|| format!("{}: unclosed {{ in {template}", method.full_name()))? + start;
        path.push_str(&rest[..start]);
        let field = field_named(&input, &rest[start + 1..end])?;
        if field.kind() != Kind::String || field.is_list() {
            return Err(format!("{}: path variable {} is not a string field", method.full_name(), field.name()));
        }
        if !field_options(&field).path_only {
            return Err(format!("{}: path variable {} must be marked path_only", method.full_name(), field.name()));
        }
        path.push('{');
        path.push_str(field.json_name());
        path.push('}');
        path_fields.push(field);
        rest = &rest[end + 1..];
    }
    path.push_str(rest);
    if !path.starts_with('/') {
        return Err(format!("{}: path {template} must start with /", method.full_name()));
    }
    if !body {
        for field in input.fields().filter(|f| field_options(f).client_may_send()) {
            if field.is_list() || matches!(field.kind(), Kind::Message(_) | Kind::Bytes) {
                return Err(format!("{}: query parameter {} must be a scalar", method.full_name(), field.name()));
            }
        }
    }
    Ok(Binding { verb: verb.to_owned(), path, path_fields, body })
}

/// Every RPC with a `google.api.http` option, in the order of the files and
/// services, checked: a path variable names a string field marked
/// `path_only`; query parameters are scalars; every route has a tag.
pub fn routes(pool: &DescriptorPool) -> Result<Vec<Route>, String> {
    let mut out = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            let Some(rule) = ext_message(&options, pool, "google.api.http") else { continue };
            let mut bindings = vec![binding(&method, &rule)?];
            if let Some(extra) = rule.get_field_by_name("additional_bindings")
                && let Some(list) = extra.as_list()
            {
                for b in list {
                    let b = b.as_message().ok_or("additional_bindings holds messages")?;
                    bindings.push(binding(&method, b)?);
                }
            }
            let route = ext_message(&options, pool, "ocomms.api.v1.route")
                .unwrap_or_else(|| DynamicMessage::new(pool.get_message_by_name("ocomms.api.v1.Route").expect("rest.proto is compiled")));
            let status = route.get_field_by_name("status").and_then(|v| v.as_u32()).unwrap_or(0);
            let options = RouteOptions {
                tag: string(&route, "tag"),
                status: if status == 0 { 200 } else { u16::try_from(status).map_err(|_| "status out of range")? },
                public: boolean(&route, "public"),
                conflict: string(&route, "conflict"),
                unauthenticated: string(&route, "unauthenticated"),
                locked: boolean(&route, "locked"),
                custom: boolean(&route, "custom"),
                query: route
                    .get_field_by_name("query")
                    .and_then(|v| v.as_list().map(|l| l.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()))
                    .unwrap_or_default(),
            };
            for name in &options.query {
                field_named(&method.input(), name)?;
            }
            if options.tag.is_empty() {
                return Err(format!("{}: (ocomms.api.v1.route).tag is required", method.full_name()));
            }
            out.push(Route { method, bindings, options });
        }
    }
    Ok(out)
}
