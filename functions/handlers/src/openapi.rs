//! The OpenAPI 3.1 document (`openapi.json`, served at `/openapi.json`) and the MCP tool list
//! (`mcp_tools.json`, MCP `tools/list`), generated from the route table ([`crate::routes`]) and the
//! JSON Schemas of the request and response types.
//!
//! Only native builds with the `openapi` feature carry this module and `schemars`; the Worker and
//! the Spin component embed the committed files. The test below regenerates both and fails when a
//! committed file differs; [`BLESS_COMMAND`] rewrites them.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use docent_core::domain::CrawlJob;

use crate::chat::{ChatRequest, DeltaEvent, Done, SourcesEvent};
use crate::crawl::{
    CrawlList, CrawlQueued, CrawlRequest, CrawlStatus, DeadLetterList, ReplayRequest, Replayed,
};
use crate::feedback::{
    FeedbackFilter, FeedbackList, FeedbackRecorded, FeedbackRequest, UsageParams, UsageReport,
};
use crate::http::{ErrorBody, ErrorDetail};
use crate::mcp::{AskArgs, ListTicketsArgs, SearchDocsArgs, TicketId, Tool, TOOLS};
use crate::openai::{
    ChatCompletion, ChatCompletionChunk, CompletionRequest, ModelList, StreamError,
};
use crate::retrieve::{SearchParams, SearchResponse};
use crate::routes::{Access, Handler, Route, ROUTES};
use crate::tickets::{
    CreateTicket, CreatedTicket, TicketFilter, TicketList, TicketView, UpdateTicket,
};
use crate::webhooks::{UrlDelivery, WebhookAccepted, MAX_SOURCE_NAME_CHARS, MAX_URLS};
use crate::{Health, IndexStats};

/// The command that rewrites the committed files from the code.
pub const BLESS_COMMAND: &str =
    "DOCENT_BLESS=1 cargo test -p docent-functions --features openapi openapi";

/// Where request types are first put: they are moved to `#/components/schemas` at the end, under
/// another name if the response type of the same name has a different schema.
const REQUEST_SCHEMAS: &str = "/components/requestSchemas";
const SCHEMAS: &str = "/components/schemas";

/// A document as committed: one key or item per line, indented by one space (the Worker embeds
/// it, so it stays lean), ending with a newline.
pub fn render(document: &Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    document.serialize(&mut serializer).expect("a JSON value serialises");
    out.push(b'\n');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// The OpenAPI 3.1 document of every route.
pub fn document() -> Value {
    let mut schemas = Schemas::new();
    let mut paths = Map::new();
    for route in ROUTES {
        let item = paths.entry(route.pattern).or_insert_with(|| path_item(route.pattern));
        item[route.method.as_str().to_ascii_lowercase()] = operation(route, &mut schemas);
    }
    let error_body =
        json!({"application/json": {"schema": schemas.response::<ErrorBody<'static>>()}});
    let header =
        |description: &str| json!({"description": description, "schema": {"type": "string"}});
    let retry_after = header("Seconds to wait before trying again");
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Docent",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Edge-native support assistant: crawl your docs, search them, and chat \
                with cited answers. Errors are {\"error\": {\"code\", \"message\"}} (ErrorBody). \
                Admin routes need Authorization: Bearer <DOCENT_ADMIN_KEY>. Public routes are \
                rate-limited per client and answer 429 with Retry-After. Request bodies over the \
                configured limit (DOCENT_MAX_REQUEST_BYTES) get 413, unknown routes 404, wrong \
                methods 405 with Allow; HEAD is served as GET. Generated from Docent's route table \
                and request and response types.",
        },
        "components": {
            "securitySchemes": {
                "adminKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The DOCENT_ADMIN_KEY secret",
                },
                "ticketToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The access_token returned when the ticket was created",
                },
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "One of the DOCENT_API_KEYS (MCP)",
                },
                "metricsKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "DOCENT_METRICS_KEY: reads /metrics only",
                },
            },
            "responses": {
                "Error": {"description": "Error", "content": error_body},
                "MethodNotAllowed": {
                    "description": "The path exists, but not with this method",
                    "content": error_body,
                    "headers": {"Allow": header("The methods the path serves")},
                },
                "RateLimited": {
                    "description": "Too many requests from this client (rate_limited)",
                    "content": error_body,
                    "headers": {"Retry-After": retry_after},
                },
                "Unavailable": {
                    "description": "A backend is unavailable (backend_unavailable)",
                    "content": error_body,
                    "headers": {"Retry-After": retry_after},
                },
            },
        },
        "paths": paths,
    });
    document["components"]["schemas"] = Value::Object(schemas.into_components(&mut document));
    document
}

/// The MCP `tools/list` entries: name, title, description and input schema of each tool.
pub fn mcp_tools() -> Value {
    let tools = TOOLS.iter().map(|spec| {
        json!({
            "name": spec.name,
            "title": spec.title,
            "description": spec.description,
            "inputSchema": tool_input(spec.tool),
        })
    });
    Value::Array(tools.collect())
}

fn tool_input(tool: Tool) -> Value {
    match tool {
        Tool::SearchDocs => standalone::<SearchDocsArgs>(),
        Tool::Ask => standalone::<AskArgs>(),
        Tool::CreateTicket => standalone::<CreateTicket>(),
        Tool::GetTicket => standalone::<TicketId>(),
        Tool::ListTickets => standalone::<ListTicketsArgs>(),
        // The runtime reads `id` first and the rest as the change (`mcp::run_tool`).
        Tool::UpdateTicket => merge_objects(standalone::<TicketId>(), standalone::<UpdateTicket>()),
    }
}

/// The schema of an object type with every subschema inlined, as a tool input or a set of query
/// parameters needs it: no `$ref`, no title or description of the type itself.
fn standalone<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .for_deserialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Some(object) = schema.as_object_mut() {
        for key in ["title", "description"] {
            object.remove(key);
        }
    }
    schema
}

/// The properties and required names of two object schemas together.
fn merge_objects(mut first: Value, second: Value) -> Value {
    for key in ["properties", "required"] {
        match (first.get_mut(key), second.get(key)) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => a.extend(b.clone()),
            (Some(Value::Array(a)), Some(Value::Array(b))) => a.extend(b.iter().cloned()),
            (None, Some(b)) => first[key] = b.clone(),
            _ => {}
        }
    }
    let closed = |schema: &Value| schema["additionalProperties"] == false;
    if !(closed(&first) && closed(&second)) {
        first.as_object_mut().map(|o| o.remove("additionalProperties"));
    }
    first
}

/// Two generators: requests are described as they are read (deserialised), answers as they are
/// written (serialised), which differ for optional and defaulted fields.
struct Schemas {
    requests: SchemaGenerator,
    responses: SchemaGenerator,
}

impl Schemas {
    fn new() -> Schemas {
        let settings = |path: &'static str| {
            SchemaSettings::draft2020_12().with(|s| {
                s.definitions_path = path.into();
                s.meta_schema = None;
            })
        };
        Schemas {
            requests: settings(REQUEST_SCHEMAS).for_deserialize().into_generator(),
            responses: settings(SCHEMAS).for_serialize().into_generator(),
        }
    }

    fn request<T: JsonSchema>(&mut self) -> Value {
        self.requests.subschema_for::<T>().to_value()
    }

    fn response<T: JsonSchema>(&mut self) -> Value {
        self.responses.subschema_for::<T>().to_value()
    }

    /// Query parameters from the fields of `T`: name, required, description and schema.
    fn query<T: JsonSchema>(&mut self) -> Vec<Value> {
        let schema = standalone::<T>();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = schema["properties"].as_object() else { return Vec::new() };
        properties
            .iter()
            .map(|(name, property)| {
                let mut property = not_null(property.clone());
                let description = property.as_object_mut().and_then(|p| p.remove("description"));
                let mut parameter = json!({
                    "name": name,
                    "in": "query",
                    "required": required.contains(&name.as_str()),
                    "schema": property,
                });
                if let Some(description) = description {
                    parameter["description"] = description;
                }
                parameter
            })
            .collect()
    }

    /// The definitions of both generators as `components/schemas`. A request type whose name is
    /// taken by a different response schema becomes `<Name>Input`; references are rewritten to
    /// match.
    fn into_components(mut self, document: &mut Value) -> Map<String, Value> {
        let mut components = self.responses.take_definitions(true);
        let mut renamed = Map::new();
        let requests = self.requests.take_definitions(true);
        for (name, schema) in &requests {
            let target = match components.get(name) {
                Some(existing) if *existing != *schema => format!("{name}Input"),
                _ => name.clone(),
            };
            renamed.insert(name.clone(), Value::String(target));
        }
        let rename = |value: &mut Value| rewrite_request_refs(value, &renamed);
        for (name, mut schema) in requests {
            rename(&mut schema);
            components.insert(renamed[&name].as_str().unwrap_or(&name).to_string(), schema);
        }
        rename(document);
        components
    }
}

fn rewrite_request_refs(value: &mut Value, renamed: &Map<String, Value>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get_mut("$ref") {
                if let Some(name) = reference.strip_prefix(&format!("#{REQUEST_SCHEMAS}/")) {
                    let name = renamed.get(name).and_then(Value::as_str).unwrap_or(name);
                    *reference = format!("#{SCHEMAS}/{name}");
                }
            }
            object.values_mut().for_each(|v| rewrite_request_refs(v, renamed));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_request_refs(v, renamed)),
        _ => {}
    }
}

/// A query parameter's schema without the `null` an `Option` field adds (a parameter is absent,
/// never null).
fn not_null(mut schema: Value) -> Value {
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            schema["type"] = types[0].clone();
        }
    }
    if let Some(Value::Array(choices)) = schema.get("anyOf") {
        let rest: Vec<&Value> = choices.iter().filter(|c| c["type"] != "null").collect();
        if let [only] = rest.as_slice() {
            let mut inner = (*only).clone();
            if let (Some(inner), Some(outer)) = (inner.as_object_mut(), schema.as_object()) {
                for (key, value) in outer.iter().filter(|(k, _)| *k != "anyOf") {
                    inner.insert(key.clone(), value.clone());
                }
            }
            schema = inner;
        }
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    schema
}

/// The path item of `pattern`, with its path parameters.
fn path_item(pattern: &str) -> Value {
    let parameters: Vec<Value> = pattern
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let (description, schema) = path_parameter(pattern, name);
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "description": description,
                "schema": schema,
            })
        })
        .collect();
    if parameters.is_empty() {
        json!({})
    } else {
        json!({"parameters": parameters})
    }
}

fn path_parameter(pattern: &str, name: &str) -> (&'static str, Value) {
    match (pattern, name) {
        (_, "source") => (
            "The webhook source, as configured by its secret's variable name",
            json!({
                "type": "string",
                "pattern": format!("^[A-Za-z0-9_-]{{1,{MAX_SOURCE_NAME_CHARS}}}$"),
            }),
        ),
        (p, "id") if p.starts_with("/api/tickets/") => {
            ("The ticket's id", json!({"type": "string"}))
        }
        (p, "id") if p.starts_with("/api/crawls/") => {
            ("The crawl job's id", json!({"type": "string"}))
        }
        _ => panic!("describe path parameter {name} of {pattern} in openapi::path_parameter"),
    }
}

/// What the generator adds to a route's prose: its query parameters, body and answers.
#[derive(Default)]
struct Io {
    query: Vec<Value>,
    body: Option<Value>,
    /// The handler reads the body with `http::parse_json` (415 unless JSON, 400 if unreadable).
    parses_json: bool,
    responses: Map<String, Value>,
}

impl Io {
    fn query(mut self, parameters: Vec<Value>) -> Self {
        self.query = parameters;
        self
    }

    /// A JSON request body of this schema, read by `http::parse_json`.
    fn body(mut self, schema: Value, required: bool) -> Self {
        self.body = Some(
            json!({"required": required, "content": {"application/json": {"schema": schema}}}),
        );
        self.parses_json = true;
        self
    }

    /// A JSON request body the handler reads itself.
    fn raw_body(self, schema: Value) -> Self {
        Io { parses_json: false, ..self.body(schema, true) }
    }

    fn answer(mut self, status: u16, response: Value) -> Self {
        self.responses.insert(status.to_string(), response);
        self
    }

    /// A JSON answer of this schema.
    fn json(self, status: u16, description: &str, schema: Value) -> Self {
        let content = json!({"application/json": {"schema": schema}});
        self.answer(status, json!({"description": description, "content": content}))
    }

    /// An error answer (`ErrorBody`, with `Allow` or `Retry-After` where the status has one) and
    /// what it means on this route.
    fn error(self, status: u16, description: &str) -> Self {
        let response = match status {
            405 => "MethodNotAllowed",
            429 => "RateLimited",
            503 => "Unavailable",
            _ => "Error",
        };
        let reference = format!("#/components/responses/{response}");
        self.answer(status, json!({"$ref": reference, "description": description}))
    }

    /// Adds a response header to the answer of `status`.
    fn header(mut self, status: u16, name: &str, description: &str) -> Self {
        if let Some(response) = self.responses.get_mut(&status.to_string()) {
            response["headers"][name] =
                json!({"description": description, "schema": {"type": "string"}});
        }
        self
    }

    /// Adds an error answer unless the route already describes that status.
    fn error_if_absent(self, status: u16, description: &str) -> Self {
        if self.responses.contains_key(&status.to_string()) {
            return self;
        }
        self.error(status, description)
    }
}

/// A `text/event-stream` answer: `events` maps each event name to the schema of its `data` (JSON
/// text). In OpenAPI 3.1 `schema` describes one event (`event`, `data`, `id`, `retry`), so it
/// names the events; `x-sse-events` gives each one's data.
fn event_stream(events: Value) -> Value {
    let names: Vec<&String> = events.as_object().map(|e| e.keys().collect()).unwrap_or_default();
    // An event without a name is a `message` event.
    let event = if names.iter().all(|n| *n == "message") {
        json!({"type": "string"})
    } else {
        json!({"enum": names})
    };
    json!({
        "schema": {
            "type": "object",
            "required": ["data"],
            "properties": {
                "event": event,
                "data": {"type": "string", "contentMediaType": "application/json"},
                "id": {"type": "string"},
                "retry": {"type": "integer"},
            },
        },
        "x-sse-events": events,
    })
}

const SEARCH_CACHE_CONTROL: &str = "public, max-age=0, s-maxage=<DOCENT_SEARCH_CACHE_SECONDS>";

/// The request and responses of each handler.
fn io(handler: Handler, s: &mut Schemas) -> Io {
    let io = Io::default();
    match handler {
        Handler::Health => io
            .json(200, "The service answers", s.response::<Health>())
            .error(503, "The store does not answer (backend_unavailable)"),
        Handler::OpenApi => io.answer(
            200,
            json!({"description": "OpenAPI 3.1", "content": {"application/json": {}}}),
        ),
        Handler::Search => io
            .query(s.query::<SearchParams>())
            .json(200, "Results, best first", s.response::<SearchResponse<'static>>())
            .header(200, "ETag", "Changes with the parameters and the index version")
            .header(200, "Cache-Control", SEARCH_CACHE_CONTROL)
            .header(200, "X-Docent-Cache", "hit when the edge cache answered, else miss")
            .answer(304, json!({"description": "Not modified (If-None-Match matched)"}))
            .error(
                400,
                "A parameter is missing or invalid (missing_query, query_too_long, invalid_k, \
                 invalid_mode, invalid_prefix)",
            ),
        Handler::Chat => io
            .body(s.request::<ChatRequest>(), true)
            .answer(
                200,
                json!({
                    "description": "Server-sent events, in order: `sources` (SourcesEvent), \
                        `delta`* (DeltaEvent: the answer in markdown pieces, citations [n]), then \
                        `done` (Done) or `error` (ErrorDetail, e.g. answer_interrupted when a \
                        model stops mid-answer). x-sse-events maps each event to the schema of \
                        its data.",
                    "content": {"text/event-stream": event_stream(json!({
                        "sources": s.response::<SourcesEvent<'static>>(),
                        "delta": s.response::<DeltaEvent<'static>>(),
                        "done": s.response::<Done>(),
                        "error": s.response::<ErrorDetail<'static>>(),
                    }))},
                }),
            )
            .error(
                400,
                "The question is empty or too long, or session_id is not one Docent issued \
                 (invalid_request, message_too_long, invalid_session)",
            ),
        Handler::Models => io.json(200, "The one model", s.response::<ModelList>()),
        Handler::ChatCompletions => io
            .body(s.request::<CompletionRequest>(), true)
            .answer(
                200,
                json!({
                    "description": "A chat.completion (with usage and the cited sources), or \
                        with stream: true server-sent chat.completion.chunk data lines ending \
                        with data: [DONE] (an error mid-stream is a StreamError line)",
                    "content": {
                        "application/json": {"schema": s.response::<ChatCompletion>()},
                        "text/event-stream": event_stream(json!({"message": {"anyOf": [
                            s.response::<ChatCompletionChunk>(),
                            s.response::<StreamError<'static>>(),
                        ]}})),
                    },
                }),
            )
            .error(
                400,
                "No user message with text, too many messages, or the question is too long",
            )
            .error(404, "The model is not docent (model_not_found)")
            .error(502, "Every way of answering failed (the non-streamed answer)"),
        Handler::RecordFeedback => io
            .body(s.request::<FeedbackRequest>(), true)
            .json(201, "Recorded", s.response::<FeedbackRecorded>())
            .error(
                400,
                "Invalid rating, answer_id or comment (invalid_rating, invalid_answer_id, \
                 comment_too_long)",
            )
            .error(404, "No such answer, or its conversation is no longer kept"),
        Handler::ListFeedback => io
            .query(s.query::<FeedbackFilter>())
            .json(200, "Ratings, newest first", s.response::<FeedbackList>())
            .error(400, "Invalid rating or limit"),
        Handler::Usage => io
            .query(s.query::<UsageParams>())
            .json(200, "Usage per day, provider and model", s.response::<UsageReport>())
            .error(400, "Invalid days"),
        Handler::StartCrawl => io
            .body(s.request::<CrawlRequest>(), true)
            .json(202, "Queued", s.response::<CrawlQueued>())
            .header(202, "Location", "The job: /api/crawls/{id}")
            .error(400, "Invalid url, limits, globs or priority (invalid_url, invalid_request)")
            .error(403, "url is a private or loopback address (url_not_allowed)"),
        Handler::ListCrawls => {
            io.json(200, "Recent crawls, newest first", s.response::<CrawlList>())
        }
        Handler::CrawlStatus => io
            .json(200, "The job", s.response::<CrawlStatus>())
            .error(404, "No crawl with this id"),
        Handler::CancelCrawl => io
            .json(200, "The cancelled job", s.response::<CrawlJob>())
            .error(404, "No crawl with this id")
            .error(409, "The crawl already ended (crawl_finished)"),
        Handler::IndexStats => io.json(200, "Index size and version", s.response::<IndexStats>()),
        Handler::About => io.json(200, "What is indexed", s.response::<crate::About>()),
        Handler::Schedules => io
            .json(200, "The scheduled sources", s.response::<crate::crawl::Schedules>())
            .error(503, "DOCENT_CRAWL_SOURCES is not valid (misconfigured)"),
        Handler::Gaps => io.json(200, "Declined questions", s.response::<crate::feedback::Gaps>()),
        Handler::Metrics => io
            .answer(
                200,
                json!({
                    "description": "Prometheus text exposition format 0.0.4",
                    "content": {"text/plain; version=0.0.4; charset=utf-8": {"schema": {"type": "string"}}},
                }),
            )
            .error(401, "Neither the admin key nor DOCENT_METRICS_KEY (unauthorized)"),
        Handler::ListAlerts => {
            io.json(200, "The rules and their state", s.response::<crate::monitoring::Alerts>())
        }
        Handler::ListDeadLetters => {
            io.json(200, "Dead letters, newest first", s.response::<DeadLetterList>())
        }
        Handler::ReplayDeadLetters => io
            .body(s.request::<ReplayRequest>(), false)
            .json(202, "Requeued", s.response::<Replayed>()),
        Handler::Webhook => io
            .body(s.request::<UrlDelivery>(), true)
            .json(
                202,
                "Acted on (or, for GitHub events other than push, acknowledged)",
                s.response::<WebhookAccepted<'static>>(),
            )
            .error(
                400,
                &format!(
                    "The body or a URL is invalid, or it holds more than {MAX_URLS} urls and \
                     deleted entries"
                ),
            )
            .error(401, "The signature is missing or wrong (invalid_signature)")
            .error(404, "No source of this name is configured")
            .error(409, "This delivery was processed before (duplicate_delivery)"),
        Handler::CreateTicket => io
            .body(s.request::<CreateTicket>(), true)
            .json(201, "Created; the access token is shown once", s.response::<CreatedTicket>())
            .header(201, "Location", "The ticket: /api/tickets/{id}")
            .error(400, "A field is missing, too long or invalid (invalid_request)")
            .error(429, "Too many tickets from this client (public callers only); see Retry-After"),
        Handler::ListTickets => io
            .query(s.query::<TicketFilter>())
            .json(200, "Tickets, most recently updated first", s.response::<TicketList>())
            .error(400, "Unknown status"),
        Handler::GetTicket => io
            .json(200, "The ticket, with its audit log for the admin", s.response::<TicketView>())
            .error(401, "No Authorization header")
            .error(404, "No such ticket, or the credentials do not fit it"),
        Handler::UpdateTicket => io
            .body(s.request::<UpdateTicket>(), true)
            .json(200, "The changed ticket", s.response::<TicketView>())
            .error(400, "Nothing to change, an unknown status, or a comment too long")
            .error(401, "No Authorization header")
            .error(403, "Requesters may only comment and close (forbidden)")
            .error(404, "No such ticket, or the credentials do not fit it")
            .error(
                409,
                "The status cannot change this way (invalid_transition), or the ticket changed \
                 at the same time (conflict)",
            ),
        Handler::Mcp => io
            .raw_body(json!({
                "description": "A JSON-RPC 2.0 message, or a batch of them",
                "anyOf": [
                    {"type": "object"},
                    {"type": "array", "items": {"type": "object"}, "minItems": 1},
                ],
            }))
            .answer(
                200,
                json!({
                    "description": "The JSON-RPC response (or a batch of them); tools/list \
                        gives each tool's input schema",
                    "content": {"application/json": {}},
                }),
            )
            .header(200, "Mcp-Session-Id", "Set by initialize; send it with later requests")
            .answer(202, json!({"description": "Notifications or responses only: accepted"}))
            .json(
                400,
                "An unsupported MCP-Protocol-Version (an ErrorBody, unsupported_protocol_version), \
                 or a body that is not JSON-RPC: a parse error or empty batch (a JSON-RPC error \
                 response)",
                json!({"anyOf": [
                    {"$ref": "#/components/schemas/ErrorBody"},
                    {
                        "type": "object",
                        "required": ["jsonrpc", "error"],
                        "properties": {
                            "jsonrpc": {"const": "2.0"},
                            "id": {"type": ["string", "integer", "null"]},
                            "error": {
                                "type": "object",
                                "required": ["code", "message"],
                                "properties": {
                                    "code": {"type": "integer"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                ]}),
            )
            .error(401, "No valid key")
            .error(404, "An unknown or forged Mcp-Session-Id: initialize again"),
        Handler::McpNotOffered => {
            io.error(405, "Only POST is served here (Allow: POST)")
        }
    }
}

/// The operation of `route`: its prose and security from the table, its parameters, body and
/// answers from [`io`], and the errors every route of its kind can answer.
fn operation(route: &Route, schemas: &mut Schemas) -> Value {
    let mut io = io(route.handler, schemas);
    let security = match route.access {
        Access::Public | Access::Signed => None,
        Access::Admin => Some(json!([{"adminKey": []}])),
        Access::TicketToken => Some(json!([{"adminKey": []}, {"ticketToken": []}])),
        Access::ApiKey => Some(json!([{"adminKey": []}, {"apiKey": []}])),
        Access::MetricsKey => Some(json!([{"adminKey": []}, {"metricsKey": []}])),
    };
    if route.access == Access::Admin {
        io = io.error_if_absent(401, "Missing or wrong admin key (unauthorized)");
    }
    if route.limit.is_some() {
        io = io.error_if_absent(429, "Too many requests from this client (rate_limited)");
    }
    // Checked by `dispatch` before every route (`cors::check_origin`).
    io = io.error_if_absent(
        403,
        "A browser request from an origin that is neither Docent's own nor in \
         DOCENT_ALLOWED_ORIGINS (origin_not_allowed)",
    );
    if io.body.is_some() {
        io = io
            .error_if_absent(413, "The body is over DOCENT_MAX_REQUEST_BYTES (body_too_large)")
            .error_if_absent(
                408,
                "The body did not arrive within the read deadline (request_timeout)",
            );
    }
    if io.parses_json {
        io = io
            .error_if_absent(
                400,
                "The body is not valid JSON for this route (invalid_json, invalid_request)",
            )
            .error_if_absent(
                415,
                "The body is not sent as application/json (unsupported_media_type)",
            );
    }
    let serves_without_backend =
        matches!(route.handler, Handler::OpenApi | Handler::Models | Handler::McpNotOffered);
    if !serves_without_backend {
        let description = if route.access == Access::Admin {
            "A backend is unavailable (backend_unavailable), or admin routes are disabled because \
             DOCENT_ADMIN_KEY is not set (admin_disabled); see Retry-After"
        } else {
            "A backend is unavailable (backend_unavailable); see Retry-After"
        };
        io = io.error_if_absent(503, description);
    }
    let mut operation = json!({"summary": route.summary, "responses": io.responses});
    if !route.description.is_empty() {
        operation["description"] = json!(route.description);
    }
    if let Some(security) = security {
        operation["security"] = security;
    }
    if !io.query.is_empty() {
        operation["parameters"] = Value::Array(io.query);
    }
    if let Some(body) = io.body {
        operation["requestBody"] = body;
    }
    operation
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Regenerates the committed files and fails when one differs; with `DOCENT_BLESS` set it
    /// rewrites them instead.
    #[test]
    fn committed_openapi_and_mcp_tools_are_current() {
        let files = [("../web/openapi.json", document()), ("src/mcp_tools.json", mcp_tools())];
        let bless = std::env::var_os("DOCENT_BLESS").is_some();
        let mut stale = Vec::new();
        for (name, generated) in files {
            let path = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
                .join(name);
            let generated = render(&generated);
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed == generated {
                continue;
            }
            if bless {
                std::fs::write(&path, generated).expect("write the generated file");
            } else {
                stale.push(format!("functions/handlers/{name}"));
            }
        }
        assert!(
            stale.is_empty(),
            "{} {} stale: the route table or the request and response types changed. Regenerate \
             with\n    {BLESS_COMMAND}\nand commit the result.",
            stale.join(" and "),
            if stale.len() == 1 { "is" } else { "are" },
        );
    }

    #[test]
    fn every_limit_reaches_the_document() {
        let spec = document();
        let search = &spec["paths"]["/api/search"]["get"]["parameters"];
        let k = search.as_array().unwrap().iter().find(|p| p["name"] == "k").unwrap();
        assert_eq!(k["schema"]["maximum"], crate::retrieve::MAX_K);
        assert_eq!(k["schema"]["default"], crate::retrieve::DEFAULT_K);
        assert_eq!(k["required"], false);
        let chat = &spec["components"]["schemas"]["ChatRequest"]["properties"]["message"];
        assert_eq!(chat["maxLength"], crate::chat::MAX_MESSAGE_CHARS);
        let tools = mcp_tools();
        let search_docs = &tools[0]["inputSchema"]["properties"];
        assert_eq!(search_docs["query"]["maxLength"], crate::retrieve::MAX_QUERY_CHARS);
        assert_eq!(search_docs["k"]["maximum"], crate::mcp::SEARCH_DOCS_MAX_K);
    }

    #[test]
    fn every_reference_resolves() {
        fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::Object(o) => {
                    if let Some(Value::String(r)) = o.get("$ref") {
                        out.push(r);
                    }
                    o.values().for_each(|v| refs(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let spec = document();
        let mut found = Vec::new();
        refs(&spec, &mut found);
        for reference in found {
            let pointer = reference.strip_prefix('#').expect("a local reference");
            assert!(spec.pointer(pointer).is_some(), "{reference} does not resolve");
        }
        let tools = mcp_tools();
        let mut found = Vec::new();
        refs(&tools, &mut found);
        assert!(found.is_empty(), "MCP input schemas must stand alone: {found:?}");
    }
}
