//! The route table: every HTTP route Docent serves, as data.
//!
//! An entry names the method, the path pattern (`{name}` matches one non-empty segment), who may
//! call the route, the per-client rate limit counted before the handler runs, the [`Handler`] that
//! serves it, and the prose of its OpenAPI operation. `dispatch` (lib.rs) matches [`Handler`]
//! exhaustively and so does the OpenAPI generator (`openapi.rs`, which adds each handler's request
//! and response types), so a route cannot be added without a handler and a description.

use ::http::Method;

use docent_core::config::Config;
use docent_core::crawl::ratelimit::RateLimit;

/// Who may call a route, and where that is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// `Authorization: Bearer <admin key>`, checked by `dispatch` before the handler runs.
    Admin,
    /// The admin key or the ticket's access token, checked by the ticket handlers (a token that
    /// does not fit the ticket gets 404, so ticket ids cannot be probed).
    TicketToken,
    /// The admin key or one of `DOCENT_API_KEYS`, checked by the MCP handler.
    ApiKey,
    /// A delivery signed with the source's webhook secret, checked by the webhook handler.
    Signed,
    /// The admin key or `DOCENT_METRICS_KEY`, checked by the metrics handler.
    MetricsKey,
}

/// A per-client budget that `dispatch` counts (`limits::rate_limit`) before the handler runs.
#[derive(Debug, Clone, Copy)]
pub struct RateLimited {
    /// The budget's key prefix; routes that share a scope share the budget.
    pub scope: &'static str,
    /// The requests as the 429 message names them ("too many questions").
    pub what: &'static str,
    /// The budget, from the deployment's configuration.
    pub budget: fn(&Config) -> RateLimit,
}

const SEARCHES: RateLimited =
    RateLimited { scope: "search", what: "searches", budget: |c| c.search_rate_limit };
const QUESTIONS: RateLimited =
    RateLimited { scope: "chat", what: "questions", budget: |c| c.chat_rate_limit };
const RATINGS: RateLimited =
    RateLimited { scope: "feedback", what: "ratings", budget: |c| c.chat_rate_limit };

/// What serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Health,
    OpenApi,
    Search,
    Chat,
    Models,
    ChatCompletions,
    RecordFeedback,
    ListFeedback,
    Usage,
    Gaps,
    StartCrawl,
    ListCrawls,
    Schedules,
    CrawlStatus,
    CancelCrawl,
    IndexStats,
    Metrics,
    ListAlerts,
    About,
    ListDeadLetters,
    ReplayDeadLetters,
    Webhook,
    CreateTicket,
    ListTickets,
    GetTicket,
    UpdateTicket,
    Mcp,
    /// `GET` and `DELETE /mcp`: Docent opens no server-initiated stream and keeps no session.
    McpNotOffered,
}

/// One route; see the module documentation.
#[derive(Debug)]
pub struct Route {
    pub method: Method,
    pub pattern: &'static str,
    pub access: Access,
    pub limit: Option<RateLimited>,
    pub handler: Handler,
    /// The OpenAPI operation's summary: one line.
    pub summary: &'static str,
    /// The OpenAPI operation's description (empty for none).
    pub description: &'static str,
}

/// A public route without a rate limit; the methods below change that.
const fn route(
    method: Method, pattern: &'static str, handler: Handler, summary: &'static str,
) -> Route {
    Route {
        method,
        pattern,
        access: Access::Public,
        limit: None,
        handler,
        summary,
        description: "",
    }
}

impl Route {
    const fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }
    const fn admin(self) -> Self {
        self.access(Access::Admin)
    }
    const fn limited(mut self, limit: RateLimited) -> Self {
        self.limit = Some(limit);
        self
    }
    const fn described(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }
}

use Handler as H;
use Method as M;

/// Every route Docent serves.
pub const ROUTES: &[Route] = &[
    route(M::GET, "/healthz", H::Health, "Liveness and store check").described(
        "Answers once the service can answer: reading the index version proves the store \
        responds.",
    ),
    route(M::GET, "/openapi.json", H::OpenApi, "This document"),
    route(M::GET, "/api/search", H::Search, "Search the indexed pages")
        .described(
            "Ranked passages, at most one per page section, best first. CDN-cacheable: sends \
            `ETag` (If-None-Match is answered with 304) and `Cache-Control` with `s-maxage`; a \
            recrawl that changes content changes every ETag. Rate-limited per client.",
        )
        .limited(SEARCHES),
    route(
        M::POST,
        "/api/chat",
        H::Chat,
        "Ask a question; the answer streams as server-sent events",
    )
    .described(
        "The answer is grounded in the indexed pages and cites them as [n]. Events, in order: \
        `sources`, `delta`*, then `done` (or `error`). Pass the `session_id` of a `done` \
        event to ask a follow-up in the same conversation. Rate-limited per client.",
    )
    .limited(QUESTIONS),
    route(M::GET, "/v1/models", H::Models, "OpenAI-compatible model list: the one model, docent"),
    route(
        M::POST,
        "/v1/chat/completions",
        H::ChatCompletions,
        "OpenAI-compatible chat completion grounded in the indexed pages",
    )
    .described(
        "Any OpenAI client library works unmodified. The conversation comes with each \
        request; the last user message is the question. `stream: true` sends server-sent \
        `chat.completion.chunk`s ending with `data: [DONE]`. Other OpenAI parameters are \
        accepted and have no effect. Rate-limited per client, in the same budget as \
        /api/chat.",
    )
    .limited(QUESTIONS),
    route(
        M::POST,
        "/api/feedback",
        H::RecordFeedback,
        "Rate an answer (thumbs up or down, optional comment)",
    )
    .described(
        "Rating the same answer again replaces the earlier rating. Answers can be rated while \
        their conversation is kept (its last turns, for DOCENT_SESSION_TTL_SECONDS). \
        Rate-limited per client.",
    )
    .limited(RATINGS),
    route(
        M::GET,
        "/api/feedback",
        H::ListFeedback,
        "Ratings, newest first, with the question and answer they rate (admin)",
    )
    .admin(),
    route(
        M::GET,
        "/api/usage",
        H::Usage,
        "Language-model calls, tokens and estimated cost per day, provider and model (admin)",
    )
    .admin(),
    route(
        M::GET,
        "/api/gaps",
        H::Gaps,
        "Content gaps: questions answered \"not found\", most asked first (admin)",
    )
    .described(
        "Each distinct question (ignoring case and spacing) with how often and when last it was \
        asked. With down-voted answers (GET /api/feedback?rating=down) and tickets, what the \
        documentation is missing.",
    )
    .admin(),
    route(M::POST, "/api/crawls", H::StartCrawl, "Start a crawl")
        .described(
            "Queues a crawl that starts at `url`; `Location` names the job. Every fetch passes \
            one outbound policy: http/https only and, unless DOCENT_ALLOW_PRIVATE_HOSTS is set, \
            no loopback, private or special-purpose address.",
        )
        .admin(),
    route(M::GET, "/api/crawls", H::ListCrawls, "Recent crawls, newest first").admin(),
    route(
        M::GET,
        "/api/schedules",
        H::Schedules,
        "Scheduled sources (DOCENT_CRAWL_SOURCES) with their next run and last crawl",
    )
    .admin(),
    route(M::GET, "/api/crawls/{id}", H::CrawlStatus, "Crawl status with exact page counts")
        .admin(),
    route(M::DELETE, "/api/crawls/{id}", H::CancelCrawl, "Cancel a queued or running crawl")
        .admin(),
    route(M::GET, "/api/index", H::IndexStats, "Index size and version").admin(),
    route(M::GET, "/metrics", H::Metrics, "Metrics in the Prometheus text format")
        .described(
            "Requests by route and status with latency histograms, language-model calls, \
            errors, tokens and cost, cache hits and misses, questions and sessions, crawled pages \
            by outcome, and gauges read when scraped (index size, crawl backlog per tier, dead \
            letters, firing alerts). Totals are kept in the database, so every instance serves \
            the same figures. The admin key or DOCENT_METRICS_KEY.",
        )
        .access(Access::MetricsKey),
    route(
        M::GET,
        "/api/alerts",
        H::ListAlerts,
        "Alert rules with their levels and state (firing since when, last value)",
    )
    .described(
        "Rules are evaluated at each cron tick over the window since the previous one; changes \
        are POSTed to DOCENT_ALERT_WEBHOOK_URL signed as Standard Webhooks.",
    )
    .admin(),
    route(M::GET, "/api/about", H::About, "What is indexed: pages, sites, example questions")
        .limited(SEARCHES)
        .described(
            "For the chat page and the widget: how many pages are indexed, the sites crawled \
             (origins only) with the end of each one's last crawl, and the example questions the \
             deployment offers (DOCENT_EXAMPLE_QUESTIONS). Cacheable for a minute.",
        ),
    route(
        M::GET,
        "/api/dead-letters",
        H::ListDeadLetters,
        "URLs the crawl queue gave up on, newest first, with attempts and the last failure",
    )
    .admin(),
    route(
        M::POST,
        "/api/dead-letters/replay",
        H::ReplayDeadLetters,
        "Requeue dead letters (of one job, or all); their jobs run again",
    )
    .described("The body is optional: without one, every dead letter is replayed.")
    .admin(),
    route(
        M::POST,
        "/hooks/{source}",
        H::Webhook,
        "Signed webhook that recrawls urls at high priority and removes deleted ones",
    )
    .described(
        "The source's secret selects how deliveries are signed: \
        DOCENT_WEBHOOK_SECRET_<SOURCE> for Standard Webhooks (webhook-id, webhook-timestamp, \
        webhook-signature), DOCENT_GITHUB_WEBHOOK_SECRET_<SOURCE> for GitHub \
        (X-Hub-Signature-256; a push recrawls the changed docs pages mapped by \
        DOCENT_GITHUB_DOCS_<SOURCE>, other events are acknowledged and ignored), \
        DOCENT_HMAC_WEBHOOK_SECRET_<SOURCE> for X-Signature-256: sha256=<hex> with an \
        X-Delivery-Id. The signature is checked before the body is parsed. A delivery id \
        seen before within the replay window is refused with 409.",
    )
    .access(Access::Signed),
    // Ticket routes authorise per ticket (admin key or the requester's token); see `tickets`.
    route(M::POST, "/api/tickets", H::CreateTicket, "Create a ticket").described(
        "Public callers (the chat page) are rate-limited per client and receive an \
        access_token that reads, comments on and closes this ticket only; the admin key is \
        not limited. `Location` names the ticket.",
    ),
    route(M::GET, "/api/tickets", H::ListTickets, "List tickets, most recently updated first")
        .admin(),
    route(M::GET, "/api/tickets/{id}", H::GetTicket, "A ticket (with its audit log for the admin)")
        .access(Access::TicketToken),
    route(
        M::PATCH,
        "/api/tickets/{id}",
        H::UpdateTicket,
        "Change status or assignee, or add a comment",
    )
    .described(
        "Status moves open → pending → resolved/closed, and pending or resolved tickets can \
        be reopened; a closed ticket is final. A null assignee unassigns. Requesters may \
        only comment and close.",
    )
    .access(Access::TicketToken),
    // MCP authenticates with the admin key or an API key; see `mcp`.
    route(M::POST, "/mcp", H::Mcp, "Model Context Protocol over Streamable HTTP (JSON-RPC 2.0)")
        .described(
            "Methods: initialize, ping, tools/list, tools/call. Tools: search_docs, ask, \
            create_ticket, get_ticket, list_tickets, update_ticket. Each POST carries one \
            message or a batch and is answered with one JSON body. initialize returns a signed \
            Mcp-Session-Id; an unknown or forged one gets 404 (initialize again). Browser \
            requests from another origin are refused.",
        )
        .access(Access::ApiKey),
    route(M::GET, "/mcp", H::McpNotOffered, "No server-initiated stream is offered"),
    route(M::DELETE, "/mcp", H::McpNotOffered, "Sessions are stateless; nothing to terminate"),
];

/// The values of a pattern's `{name}` segments in `path`, or `None` if it does not match.
pub fn matches<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let (mut p, mut s) = (pattern.split('/'), path.split('/'));
    let mut params = Vec::new();
    loop {
        match (p.next(), s.next()) {
            (None, None) => return Some(params),
            (Some(seg), Some(value)) if seg.starts_with('{') && !value.is_empty() => {
                params.push(value)
            }
            (Some(seg), Some(value)) if seg == value => {}
            _ => return None,
        }
    }
}

/// What the table holds for a method and path.
pub enum Lookup<'p> {
    Found(&'static Route, Vec<&'p str>),
    /// The path exists, with these methods only.
    WrongMethod(Vec<&'static str>),
    NotFound,
}

/// The route for `method` on `path` (`HEAD` is looked up as `GET` by the caller).
pub fn lookup<'p>(method: &Method, path: &'p str) -> Lookup<'p> {
    let mut allowed = Vec::new();
    for route in ROUTES {
        let Some(params) = matches(route.pattern, path) else { continue };
        if route.method == method {
            return Lookup::Found(route, params);
        }
        allowed.push(route.method.as_str());
    }
    if allowed.is_empty() {
        Lookup::NotFound
    } else {
        Lookup::WrongMethod(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_matching() {
        assert_eq!(matches("/api/crawls/{id}", "/api/crawls/abc"), Some(vec!["abc"]));
        assert_eq!(matches("/api/crawls/{id}", "/api/crawls/"), None);
        assert_eq!(matches("/api/crawls/{id}", "/api/crawls/a/b"), None);
        assert_eq!(matches("/api/crawls", "/api/crawls"), Some(vec![]));
    }

    #[test]
    fn one_route_per_method_and_pattern() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    a.method != b.method || a.pattern != b.pattern,
                    "{} {} is in the table twice",
                    a.method,
                    a.pattern
                );
            }
        }
    }

    #[test]
    fn wrong_methods_list_the_allowed_ones() {
        match lookup(&Method::PUT, "/api/crawls/abc") {
            Lookup::WrongMethod(allowed) => assert_eq!(allowed, ["GET", "DELETE"]),
            _ => panic!("PUT /api/crawls/abc is a wrong method"),
        }
        assert!(matches!(lookup(&Method::GET, "/nope"), Lookup::NotFound));
        assert!(
            matches!(lookup(&Method::GET, "/hooks/docs"), Lookup::WrongMethod(m) if m == ["POST"])
        );
    }
}
