//! Support tickets: `POST /api/tickets`, `GET /api/tickets`, `GET|PATCH /api/tickets/{id}`.
//!
//! Who may do what:
//! - the admin key: everything, including the audit log and the list;
//! - a requester (the public chat page): create, rate-limited per client; the answer carries a
//!   one-time access token, and with it the requester may read their own ticket, comment on it and
//!   close it;
//! - anyone else: nothing. A wrong token gets 404, so ticket ids cannot be probed.

use ::http::{header, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use docent_core::domain::sha256_hex;
use docent_core::escalation::signature::ct_eq;
use docent_core::escalation::tickets::{
    validate_new_ticket, AuditEntry, NewTicket, Ticket, TicketChange, TicketSource, TicketStatus,
    TranscriptTurn,
};
// The limits `validate_new_ticket` enforces, for the schema.
#[cfg(feature = "openapi")]
use docent_core::escalation::tickets::{
    MAX_DESCRIPTION_CHARS, MAX_EMAIL_CHARS, MAX_SOURCES, MAX_SUBJECT_CHARS, MAX_TRANSCRIPT_TURNS,
};
use docent_core::ports::Clock;
use docent_store::api::{TicketStore, TicketUpdate};

use crate::http::{
    bearer_token as bearer, json_response, parse_json, query_param, ApiError, Request, Response,
};
use crate::Platform;

/// A new ticket: the body of `POST /api/tickets` and the MCP `create_ticket` arguments.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    /// What the ticket is about, in a line.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = MAX_SUBJECT_CHARS)))]
    pub subject: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(length(max = MAX_DESCRIPTION_CHARS)))]
    pub description: String,
    /// Where the requester can be reached.
    #[cfg_attr(feature = "openapi", schemars(length(max = MAX_EMAIL_CHARS)))]
    pub email: Option<String>,
    /// The conversation that led to the ticket.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(length(max = MAX_TRANSCRIPT_TURNS)))]
    pub transcript: Vec<TranscriptTurn>,
    /// The sources the assistant showed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(length(max = MAX_SOURCES)))]
    pub sources: Vec<TicketSource>,
}

/// A change to a ticket: the body of `PATCH /api/tickets/{id}` and the MCP `update_ticket`
/// arguments besides `id`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    /// The new status.
    #[cfg_attr(feature = "openapi", schemars(with = "Option<TicketStatus>"))]
    pub status: Option<String>,
    /// A name, or null to unassign.
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    pub assignee: Option<Option<String>>,
    /// A comment to add.
    #[cfg_attr(feature = "openapi", schemars(length(max = MAX_COMMENT_CHARS)))]
    pub comment: Option<String>,
}

/// The query parameters of `GET /api/tickets`.
#[derive(Debug)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct TicketFilter {
    /// Only tickets with this status.
    pub status: Option<TicketStatus>,
}

/// The answer of `POST /api/tickets`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CreatedTicket {
    pub ticket: Ticket,
    /// Shown once: with it (`Authorization: Bearer <token>`) the requester reads, comments on
    /// and closes this ticket.
    pub access_token: String,
}

/// A ticket as `GET` and `PATCH /api/tickets/{id}` answer it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct TicketView {
    pub ticket: Ticket,
    /// The ticket's audit log, oldest first: for the admin, on `GET` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(with = "Vec<AuditEntry>"))]
    pub audit: Option<Vec<AuditEntry>>,
}

/// The answer of `GET /api/tickets`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct TicketList {
    /// Most recently updated first.
    pub tickets: Vec<Ticket>,
}

/// Distinguishes a missing field from an explicit null.
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// The longest comment on a ticket.
pub const MAX_COMMENT_CHARS: usize = 10_000;

/// Who is calling, relative to one ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Admin,
    Requester,
}

fn is_admin<P: Platform>(platform: &P, request: &Request) -> bool {
    match (bearer(request), platform.config().admin_key.as_deref()) {
        (Some(presented), Some(key)) => ct_eq(presented.as_bytes(), key.as_bytes()),
        _ => false,
    }
}

/// Creates a ticket; returns it with the requester's access token (shown once, stored only hashed).
/// With `limit_client`, the request counts against that client's budget, but only once it is valid:
/// a typo must not cost a user their ticket.
pub async fn create<P: Platform>(
    platform: &P, input: CreateTicket, actor: &str, limit_client: Option<&Request>,
) -> Result<(Ticket, String), ApiError> {
    let email = input.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    validate_new_ticket(
        &input.subject,
        &input.description,
        email,
        &input.transcript,
        &input.sources,
    )
    .map_err(|e| ApiError::bad_request("invalid_request", e))?;
    if let Some(request) = limit_client {
        crate::limits::rate_limit(
            platform,
            request,
            "tickets",
            platform.config().ticket_rate_limit,
            "tickets",
        )
        .await?;
    }
    let token = platform.clock().random_id(24);
    let new = NewTicket {
        id: format!("t_{}", platform.clock().random_id(10)),
        token_hash: sha256_hex(token.as_bytes()),
        subject: input.subject.trim().to_string(),
        description: input.description.trim().to_string(),
        email: email.map(str::to_string),
        transcript: input.transcript,
        sources: input.sources,
        actor: actor.to_string(),
    };
    let ticket = platform.store().create_ticket(&new, platform.clock().now_ms()).await?;
    Ok((ticket, token))
}

/// `POST /api/tickets`
pub async fn create_route<P: Platform>(
    platform: &P, request: &Request,
) -> Result<Response, ApiError> {
    let admin = is_admin(platform, request);
    let input: CreateTicket = parse_json(request)?;
    let (actor, limit) = if admin { ("admin", None) } else { ("requester", Some(request)) };
    let (ticket, token) = create(platform, input, actor, limit).await?;
    let location = HeaderValue::from_str(&format!("/api/tickets/{}", ticket.id));
    let mut response =
        json_response(StatusCode::CREATED, &CreatedTicket { ticket, access_token: token });
    if let Ok(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Resolves the caller for ticket `id`, or the error to answer with.
async fn authorize<P: Platform>(
    platform: &P, request: &Request, id: &str,
) -> Result<(Caller, Ticket), ApiError> {
    let not_found = || ApiError::not_found(format!("no ticket {id} for these credentials"));
    let Some(presented) = bearer(request) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <ticket access token or admin key>",
        ));
    };
    let (ticket, token_hash) = platform.store().ticket(id).await?.ok_or_else(not_found)?;
    if is_admin(platform, request) {
        return Ok((Caller::Admin, ticket));
    }
    if ct_eq(sha256_hex(presented.as_bytes()).as_bytes(), token_hash.as_bytes()) {
        return Ok((Caller::Requester, ticket));
    }
    Err(not_found())
}

/// `GET /api/tickets/{id}`: the ticket; for the admin also its audit log.
pub async fn get_route<P: Platform>(
    platform: &P, request: &Request, id: &str,
) -> Result<Response, ApiError> {
    let (caller, ticket) = authorize(platform, request, id).await?;
    let audit = match caller {
        Caller::Admin => Some(platform.store().ticket_audit(id).await?),
        Caller::Requester => None,
    };
    Ok(json_response(StatusCode::OK, &TicketView { ticket, audit }))
}

/// `GET /api/tickets?status=open` (admin)
pub async fn list_route<P: Platform>(
    platform: &P, request: &Request,
) -> Result<Response, ApiError> {
    let TicketFilter { status } = TicketFilter::from_request(request)?;
    let tickets = platform.store().list_tickets(status, 100).await?;
    Ok(json_response(StatusCode::OK, &TicketList { tickets }))
}

impl TicketFilter {
    pub fn from_request(request: &Request) -> Result<TicketFilter, ApiError> {
        Ok(TicketFilter { status: parse_status(query_param(request, "status").as_deref())? })
    }
}

pub fn parse_status(status: Option<&str>) -> Result<Option<TicketStatus>, ApiError> {
    status
        .map(|s| {
            TicketStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_request",
                    format!("status must be open, pending, resolved or closed, not `{s}`"),
                )
            })
        })
        .transpose()
}

/// Applies a change as `actor` and maps the store's answer to HTTP.
pub async fn update<P: Platform>(
    platform: &P, id: &str, input: UpdateTicket, actor: &str,
) -> Result<Ticket, ApiError> {
    let change = TicketChange {
        status: parse_status(input.status.as_deref())?,
        assignee: input.assignee.map(|a| a.map(|a| a.trim().to_string()).filter(|a| !a.is_empty())),
        comment: input.comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()),
    };
    if change == TicketChange::default() {
        return Err(ApiError::bad_request(
            "invalid_request",
            "nothing to change: send status, assignee or comment",
        ));
    }
    if change.comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!("comment is limited to {MAX_COMMENT_CHARS} characters"),
        ));
    }
    let revision = platform.clock().random_id(12);
    match platform
        .store()
        .update_ticket(id, &change, actor, &revision, platform.clock().now_ms())
        .await?
    {
        TicketUpdate::Updated(ticket) => Ok(*ticket),
        TicketUpdate::NotFound => Err(ApiError::not_found(format!("no ticket {id}"))),
        TicketUpdate::InvalidTransition { from, to } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_transition",
            format!("a {} ticket cannot become {}", from.as_str(), to.as_str()),
        )),
        TicketUpdate::Conflict => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the ticket changed at the same time; retry",
        )),
    }
}

/// `PATCH /api/tickets/{id}`
pub async fn update_route<P: Platform>(
    platform: &P, request: &Request, id: &str,
) -> Result<Response, ApiError> {
    let (caller, _) = authorize(platform, request, id).await?;
    let input: UpdateTicket = parse_json(request)?;
    if caller == Caller::Requester {
        let closing_only = input.status.as_deref().is_none_or(|s| s == "closed");
        if input.assignee.is_some() || !closing_only {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "requesters may only comment on or close their ticket",
            ));
        }
    }
    let actor = if caller == Caller::Admin { "admin" } else { "requester" };
    let ticket = update(platform, id, input, actor).await?;
    Ok(json_response(StatusCode::OK, &TicketView { ticket, audit: None }))
}
