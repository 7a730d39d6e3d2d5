//! The MCP server: Model Context Protocol over Streamable HTTP at `/mcp` (JSON-RPC 2.0).
//!
//! Docent speaks the `initialize` handshake (revisions 2025-03-26 to 2025-11-25). Clients that
//! first try the 2026-07-28 `server/discover` probe get "method not found" and fall back to the
//! handshake, as the specification prescribes. Each POST carries one message (or a batch) and is
//! answered with one JSON body; Docent opens no server-initiated streams, so `GET` is 405, and it
//! keeps no session state, so `DELETE` is 405 too. The `Mcp-Session-Id` it issues is signed, so any
//! instance can check it without shared storage; an unknown or forged id gets 404, which tells the
//! client to initialise again.
//!
//! Authentication: `Authorization: Bearer <admin key or one of DOCENT_API_KEYS>`.

use ::http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use docent_core::domain::sha256_hex;
use docent_core::escalation::signature::ct_eq;
use docent_core::escalation::tickets::TicketStatus;
use docent_core::ports::Clock;
use docent_store::api::TicketStore;

use crate::http::{bearer_token, json_response, ApiError, Body, Request, Response};
// The limits of the question (`chat::answer` checks it) and of `/api/search`'s text, for the input
// schemas.
#[cfg(feature = "openapi")]
use crate::chat::MAX_MESSAGE_CHARS;
use crate::retrieve::search_results;
#[cfg(feature = "openapi")]
use crate::retrieve::MAX_QUERY_CHARS;
use crate::tickets::{self, CreateTicket, UpdateTicket};
use crate::{chat, Platform};

/// Protocol revisions reachable through `initialize`, newest first.
pub const PROTOCOL_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];
const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// A tool Docent offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    SearchDocs,
    Ask,
    CreateTicket,
    GetTicket,
    ListTickets,
    UpdateTicket,
}

/// A tool as `tools/list` presents it; its input schema comes from its argument type (see
/// [`TOOLS_JSON`]).
#[derive(Debug)]
pub struct ToolSpec {
    pub tool: Tool,
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
}

/// Every tool, in the order `tools/list` gives them.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        tool: Tool::SearchDocs,
        name: "search_docs",
        title: "Search the documentation",
        description:
            "Ranked passages from the crawled documentation, each with its URL (deep-linked \
             to the section).",
    },
    ToolSpec {
        tool: Tool::Ask,
        name: "ask",
        title: "Ask the documentation",
        description:
            "A grounded answer to a question, citing its sources as [n]. Says so when the \
             documentation has no answer.",
    },
    ToolSpec {
        tool: Tool::CreateTicket,
        name: "create_ticket",
        title: "Create a support ticket",
        description: "Opens a ticket for a person to handle.",
    },
    ToolSpec {
        tool: Tool::GetTicket,
        name: "get_ticket",
        title: "Get a ticket",
        description: "A ticket with its comments and audit log.",
    },
    ToolSpec {
        tool: Tool::ListTickets,
        name: "list_tickets",
        title: "List tickets",
        description: "Recently updated tickets, optionally only those with one status.",
    },
    ToolSpec {
        tool: Tool::UpdateTicket,
        name: "update_ticket",
        title: "Update a ticket",
        description: "Changes status (open → pending → resolved/closed), assignee, and/or adds a \
                      comment.",
    },
];

/// The `tools/list` entries: [`TOOLS`] with each tool's input schema, generated from the argument
/// types below by the OpenAPI generator (the Worker does not carry it) and checked by its test.
pub const TOOLS_JSON: &str = include_str!("mcp_tools.json");

/// Passages `search_docs` returns when `k` is not given, and the most it returns.
pub const SEARCH_DOCS_DEFAULT_K: u32 = 5;
pub const SEARCH_DOCS_MAX_K: u32 = 20;

// The arguments of the lenient tools are read as they always were: a value of the wrong type counts
// as absent (a missing `query` is reported by name, a `k` that is not a whole number means the
// default). Their schemas say what is meant.

/// The arguments of `search_docs`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(deny_unknown_fields))]
pub struct SearchDocsArgs {
    /// What to look for.
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "String", length(min = 1, max = MAX_QUERY_CHARS))
    )]
    pub query: Option<Value>,
    /// How many passages, at most.
    #[cfg_attr(
        feature = "openapi",
        schemars(
            with = "Option<u32>",
            range(min = 1, max = SEARCH_DOCS_MAX_K),
            extend("default" = SEARCH_DOCS_DEFAULT_K)
        )
    )]
    pub k: Option<Value>,
}

/// The arguments of `ask`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(deny_unknown_fields))]
pub struct AskArgs {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "String", length(min = 1, max = MAX_MESSAGE_CHARS))
    )]
    pub question: Option<Value>,
}

/// The ticket `get_ticket` reads and `update_ticket` changes (whose other arguments are
/// [`UpdateTicket`]).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(deny_unknown_fields))]
pub struct TicketId {
    /// The ticket's id (`t_...`).
    #[cfg_attr(feature = "openapi", schemars(with = "String"))]
    pub id: Option<Value>,
}

/// The arguments of `list_tickets`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(deny_unknown_fields))]
pub struct ListTicketsArgs {
    /// Only tickets with this status.
    #[cfg_attr(feature = "openapi", schemars(with = "Option<TicketStatus>"))]
    pub status: Option<Value>,
}

/// `GET` and `DELETE /mcp`: no server-initiated stream, no server-side session to end.
pub fn method_not_allowed() -> Response {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Docent's MCP endpoint answers POSTed JSON-RPC messages only",
    )
    .into_response();
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

fn authenticate<P: Platform>(platform: &P, request: &Request) -> Result<(), ApiError> {
    let presented = bearer_token(request);
    let config = platform.config();
    let valid = presented.is_some_and(|p| {
        config.admin_key.iter().chain(&config.api_keys).any(|k| ct_eq(p.as_bytes(), k.as_bytes()))
    });
    if valid {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "send Authorization: Bearer <admin key or API key>",
    ))
}

/// The key that signs session ids: derived from the deployment's secrets, never sent anywhere.
fn session_key<P: Platform>(platform: &P) -> String {
    let config = platform.config();
    let secret =
        config.admin_key.iter().chain(&config.api_keys).cloned().collect::<Vec<_>>().join("\n");
    sha256_hex(format!("docent mcp session\n{secret}").as_bytes())
}

fn sign_session(key: &str, nonce: &str) -> String {
    format!("{nonce}.{}", &sha256_hex(format!("{key}\n{nonce}").as_bytes())[..32])
}

fn session_is_valid(key: &str, session: &str) -> bool {
    session
        .split_once('.')
        .is_some_and(|(nonce, _)| ct_eq(sign_session(key, nonce).as_bytes(), session.as_bytes()))
}

/// `POST /mcp`
pub async fn post<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    // A page on another site cannot drive this endpoint (DNS rebinding): `dispatch` checked the
    // Origin before any route ran (`cors::check_origin`).
    authenticate(platform, request)?;
    if let Some(version) = request.headers().get(VERSION_HEADER).and_then(|v| v.to_str().ok()) {
        if !PROTOCOL_VERSIONS.contains(&version) {
            return Err(ApiError::bad_request(
                "unsupported_protocol_version",
                format!(
                    "MCP-Protocol-Version {version} is not supported; use one of {}",
                    PROTOCOL_VERSIONS.join(", ")
                ),
            ));
        }
    }
    let key = session_key(platform);
    let session = request.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok());
    if session.is_some_and(|s| !session_is_valid(&key, s)) {
        return Err(ApiError::not_found("unknown MCP session; initialize again"));
    }
    let message: Value = match serde_json::from_slice(request.body()) {
        Ok(value) => value,
        Err(e) => {
            return Ok(rpc_response(
                StatusCode::BAD_REQUEST,
                error(Value::Null, PARSE_ERROR, &format!("parse error: {e}")),
                None,
            ))
        }
    };
    let (messages, batch) = match message {
        Value::Array(items) if !items.is_empty() => (items, true),
        Value::Array(_) => {
            return Ok(rpc_response(
                StatusCode::BAD_REQUEST,
                error(Value::Null, INVALID_REQUEST, "empty batch"),
                None,
            ))
        }
        other => (vec![other], false),
    };
    let mut replies = Vec::new();
    let mut new_session = None;
    for message in messages {
        if message.get("method").and_then(Value::as_str) == Some("initialize") && session.is_none()
        {
            new_session = Some(sign_session(&key, &platform.clock().random_id(16)));
        }
        if let Some(reply) = handle_message(platform, message).await {
            replies.push(reply);
        }
    }
    if replies.is_empty() {
        // Only notifications or responses: accepted, nothing to say.
        let mut response = http::Response::new(Body::empty());
        *response.status_mut() = StatusCode::ACCEPTED;
        return Ok(response);
    }
    let body = if batch { Value::Array(replies) } else { replies.remove(0) };
    Ok(rpc_response(StatusCode::OK, body, new_session))
}

fn rpc_response(status: StatusCode, body: Value, session: Option<String>) -> Response {
    let mut response = json_response(status, &body);
    if let Some(value) = session.and_then(|s| HeaderValue::from_str(&s).ok()) {
        response.headers_mut().insert(SESSION_HEADER, value);
    }
    response
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// Handles one JSON-RPC message; `None` for notifications and responses.
async fn handle_message<P: Platform>(platform: &P, message: Value) -> Option<Value> {
    let id = message.get("id").cloned();
    let method = message.get("method").and_then(Value::as_str);
    let (Some(id), Some(method)) = (id, method) else {
        return match (message.get("jsonrpc"), message.get("method")) {
            (Some(v), Some(_)) if v == "2.0" => None, // a notification
            (Some(v), None)
                if v == "2.0"
                    && (message.get("result").is_some() || message.get("error").is_some()) =>
            {
                None
            }
            _ => Some(error(Value::Null, INVALID_REQUEST, "not a JSON-RPC 2.0 message")),
        };
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(error(id, INVALID_REQUEST, "jsonrpc must be \"2.0\""));
    }
    let params = message.get("params").cloned().unwrap_or(json!({}));
    Some(match method {
        "initialize" => {
            let requested = params.get("protocolVersion").and_then(Value::as_str).unwrap_or("");
            let version = PROTOCOL_VERSIONS
                .iter()
                .find(|v| **v == requested)
                .unwrap_or(&PROTOCOL_VERSIONS[0]);
            result(
                id,
                json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": {"name": "docent", "title": "Docent", "version": env!("CARGO_PKG_VERSION")},
                    "instructions": "Docent answers from the documentation it has crawled. Use search_docs to find passages, \
                                     ask for a cited answer, and the ticket tools to escalate to people.",
                }),
            )
        }
        "ping" => result(id, json!({})),
        "tools/list" => result(id, json!({"tools": tool_definitions()})),
        "tools/call" => {
            let Some(name) = params.get("name").and_then(Value::as_str) else {
                return Some(error(id, INVALID_PARAMS, "tools/call needs params.name"));
            };
            let Some(spec) = TOOLS.iter().find(|t| t.name == name) else {
                return Some(error(id, INVALID_PARAMS, &format!("unknown tool {name}")));
            };
            let arguments = params.get("arguments").cloned().unwrap_or(json!({}));
            result(id, call_tool(platform, spec.tool, arguments).await)
        }
        other => error(id, METHOD_NOT_FOUND, &format!("method {other} is not supported")),
    })
}

fn tool_definitions() -> Vec<Value> {
    serde_json::from_str(TOOLS_JSON).expect("mcp_tools.json is a JSON array (generated)")
}

/// A tool result: text for the model, the same data as structured content for programs.
fn tool_result(text: String, structured: Value) -> Value {
    json!({"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": false})
}

/// Tool failures are results with `isError`, so the model can read and correct them.
fn tool_error(message: impl Into<String>) -> Value {
    json!({"content": [{"type": "text", "text": message.into()}], "isError": true})
}

/// A tool's arguments as its type.
fn args<T: serde::de::DeserializeOwned>(arguments: &Value) -> Result<T, String> {
    serde_json::from_value(arguments.clone()).map_err(|e| format!("invalid arguments: {e}"))
}

/// The arguments of a lenient tool: every field absent unless `arguments` is an object.
fn lenient<T: serde::de::DeserializeOwned + Default>(arguments: &Value) -> T {
    serde_json::from_value(arguments.clone()).unwrap_or_default()
}

/// A string argument that must be there and not blank, trimmed.
fn required<'a>(value: &'a Option<Value>, name: &str) -> Result<&'a str, String> {
    value
        .as_ref()
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("argument `{name}` (a non-empty string) is required"))
}

async fn call_tool<P: Platform>(platform: &P, tool: Tool, arguments: Value) -> Value {
    match run_tool(platform, tool, &arguments).await {
        Ok(value) => value,
        Err(message) => tool_error(message),
    }
}

async fn run_tool<P: Platform>(
    platform: &P, tool: Tool, arguments: &Value,
) -> Result<Value, String> {
    let api = |e: ApiError| e.message;
    match tool {
        Tool::SearchDocs => {
            let input: SearchDocsArgs = lenient(arguments);
            let query = required(&input.query, "query")?;
            let k = input.k.as_ref().and_then(Value::as_u64);
            let k = k.unwrap_or(SEARCH_DOCS_DEFAULT_K.into()).clamp(1, SEARCH_DOCS_MAX_K.into());
            let k = k as u32;
            let results = search_results(
                platform,
                query,
                k,
                crate::retrieve::SearchOptions::of(platform.config()),
            )
            .await
            .map_err(|e| e.to_string())?;
            let text = if results.is_empty() {
                "No indexed passage matches this query.".to_string()
            } else {
                results
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        format!("{}. {} — {}\n{}\n{}", i + 1, r.title, r.heading, r.url, r.snippet)
                    })
                    .collect::<Vec<_>>()
                    .join("\n\n")
            };
            Ok(tool_result(text, json!({"results": results})))
        }
        Tool::Ask => {
            let input: AskArgs = lenient(arguments);
            let question = required(&input.question, "question")?;
            let answer = chat::answer(platform, question).await.map_err(api)?;
            let sources: Vec<String> = answer
                .sources
                .iter()
                .map(|s| format!("[{}] {} — {}", s.number, s.title, s.url))
                .collect();
            let text = if sources.is_empty() {
                answer.text.clone()
            } else {
                format!("{}\n\nSources:\n{}", answer.text, sources.join("\n"))
            };
            Ok(tool_result(
                text,
                json!({"answer": answer.text, "sources": answer.sources, "escalate": answer.escalate}),
            ))
        }
        Tool::CreateTicket => {
            let input: CreateTicket = args(arguments)?;
            let (ticket, _) = tickets::create(platform, input, "mcp", None).await.map_err(api)?;
            Ok(tool_result(
                format!("Created ticket {} ({}).", ticket.id, ticket.status.as_str()),
                json!({"ticket": ticket}),
            ))
        }
        Tool::GetTicket => {
            let input: TicketId = lenient(arguments);
            let id = required(&input.id, "id")?;
            let (ticket, _) = platform
                .store()
                .ticket(id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no ticket {id}"))?;
            let audit = platform.store().ticket_audit(id).await.map_err(|e| e.to_string())?;
            let text = format!(
                "Ticket {} [{}] {}\nassignee: {}\n{}",
                ticket.id,
                ticket.status.as_str(),
                ticket.subject,
                ticket.assignee.as_deref().unwrap_or("none"),
                ticket.description
            );
            Ok(tool_result(text, json!({"ticket": ticket, "audit": audit})))
        }
        Tool::ListTickets => {
            let input: ListTicketsArgs = lenient(arguments);
            let status = match input.status.as_ref().and_then(Value::as_str) {
                None => None,
                Some(s) => Some(TicketStatus::parse(s).ok_or_else(|| {
                    format!("status must be open, pending, resolved or closed, not `{s}`")
                })?),
            };
            let list =
                platform.store().list_tickets(status, 100).await.map_err(|e| e.to_string())?;
            let text = if list.is_empty() {
                "No tickets.".to_string()
            } else {
                list.iter()
                    .map(|t| format!("{} [{}] {}", t.id, t.status.as_str(), t.subject))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Ok(tool_result(text, json!({"tickets": list})))
        }
        Tool::UpdateTicket => {
            // `id` names the ticket, and every other argument is the change.
            let ticket: TicketId = lenient(arguments);
            let id = required(&ticket.id, "id")?.to_string();
            let mut fields = arguments.clone();
            if let Some(object) = fields.as_object_mut() {
                object.remove("id");
            }
            let input: UpdateTicket = args(&fields)?;
            let ticket = tickets::update(platform, &id, input, "mcp").await.map_err(api)?;
            Ok(tool_result(
                format!("Ticket {} is {}.", ticket.id, ticket.status.as_str()),
                json!({"ticket": ticket}),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_signed() {
        let session = sign_session("key", "abc");
        assert!(session_is_valid("key", &session));
        assert!(!session_is_valid("other key", &session));
        assert!(!session_is_valid("key", "abc.0000"));
        assert!(!session_is_valid("key", "garbage"));
    }

    #[test]
    fn every_tool_has_an_object_schema() {
        let tools = tool_definitions();
        let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["search_docs", "ask", "create_ticket", "get_ticket", "list_tickets", "update_ticket"]
        );
        let table: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
        assert_eq!(names, table, "mcp_tools.json lists the tools of TOOLS, in order");
        for tool in &tools {
            assert_eq!(tool["inputSchema"]["type"], "object", "{}", tool["name"]);
        }
    }
}
