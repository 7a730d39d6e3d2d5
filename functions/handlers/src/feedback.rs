//! Ratings of answers (`POST /api/feedback`, listed for operators at `GET /api/feedback`) and the
//! model usage and cost per day (`GET /api/usage`).

use ::http::StatusCode;
use serde::{Deserialize, Serialize};

use docent_core::crawl::schedule::utc_day;
use docent_core::domain::{Feedback, Rating, UsageTotals};
use docent_core::ports::Clock;
use docent_store::api::AnswerStore;

use crate::http::{json_response, parse_json, query_param, ApiError, Request, Response};
use crate::kv_state::{KvState, SessionKey};
use crate::Platform;

/// The longest comment on a rating.
pub const MAX_COMMENT_CHARS: usize = 2_000;
/// Ratings listed when `limit` is not given, and the most one list may hold.
pub const DEFAULT_LIST_LIMIT: u32 = 50;
pub const MAX_LIST_LIMIT: u32 = 500;
/// Days of usage reported when `days` is not given, and the most one report may cover.
pub const DEFAULT_USAGE_DAYS: u32 = 7;
pub const MAX_USAGE_DAYS: u32 = 366;

/// The body of `POST /api/feedback`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// The `answer_id` of the answer's `done` event (`<session_id>-<n>`).
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = "^[0-9a-f]{32}-[0-9]+$")))]
    answer_id: String,
    #[cfg_attr(feature = "openapi", schemars(with = "Rating"))]
    rating: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(length(max = MAX_COMMENT_CHARS)))]
    comment: Option<String>,
}

/// The answer of `POST /api/feedback`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct FeedbackRecorded {
    /// The rating's id.
    pub id: String,
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "recorded")))]
    pub status: &'static str,
}

/// The query parameters of `GET /api/feedback`.
#[derive(Debug)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct FeedbackFilter {
    /// Only ratings of this kind.
    pub rating: Option<Rating>,
    /// How many ratings, at most.
    #[cfg_attr(
        feature = "openapi",
        schemars(default = "default_list_limit", range(min = 1, max = MAX_LIST_LIMIT))
    )]
    pub limit: u32,
}

fn default_list_limit() -> u32 {
    DEFAULT_LIST_LIMIT
}

/// The answer of `GET /api/feedback`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct FeedbackList {
    /// Newest first.
    pub feedback: Vec<Feedback>,
}

/// The query parameters of `GET /api/usage`.
#[derive(Debug)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct UsageParams {
    /// How many days back, today included.
    #[cfg_attr(
        feature = "openapi",
        schemars(default = "default_usage_days", range(min = 1, max = MAX_USAGE_DAYS))
    )]
    pub days: u32,
}

fn default_usage_days() -> u32 {
    DEFAULT_USAGE_DAYS
}

/// The answer of `GET /api/usage`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct UsageReport {
    /// The first day counted (`YYYY-MM-DD`, UTC).
    pub since: String,
    /// One entry per day, provider and model.
    pub days: Vec<UsageTotals>,
    /// Estimated, in US dollars.
    pub total_cost_usd: f64,
}

/// `POST /api/feedback` `{"answer_id", "rating": "up"|"down", "comment"?}` → 201. Rating an answer
/// again replaces the earlier rating.
pub async fn record<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let input: FeedbackRequest = parse_json(request)?;
    let rating = Rating::parse(&input.rating).ok_or_else(|| {
        ApiError::bad_request("invalid_rating", "rating must be \"up\" or \"down\"")
    })?;
    let parsed = input.answer_id.split_once('-').and_then(|(session, n)| {
        let valid = session.len() == 32 && session.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then_some(()).and_then(|_| n.parse::<u64>().ok()).map(|n| (session.to_string(), n))
    });
    let Some((session_id, number)) = parsed else {
        return Err(ApiError::bad_request(
            "invalid_answer_id",
            "answer_id must be the answer_id of a `done` event",
        ));
    };
    let comment = input.comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(ApiError::bad_request(
            "comment_too_long",
            format!("comment is limited to {MAX_COMMENT_CHARS} characters"),
        ));
    }
    // The answer is read from its conversation, so a rating is only accepted for an answer Docent
    // gave.
    let session = KvState::of(platform)
        .load(&SessionKey { id: &session_id })
        .await
        .map_err(|e| ApiError::internal("session store", e))?;
    let Some(turn) = session.as_ref().and_then(|s| s.turn(number)).cloned() else {
        return Err(ApiError::not_found(format!(
            "no answer {} (answers can be rated while their conversation is kept: its last turns, for DOCENT_SESSION_TTL_SECONDS)",
            input.answer_id
        )));
    };
    let feedback = Feedback {
        id: platform.clock().random_id(12),
        answer_id: input.answer_id,
        session_id: Some(session_id),
        rating,
        comment,
        question: turn.user,
        answer: turn.assistant,
        created_at: platform.clock().now_ms(),
    };
    platform.store().record_feedback(&feedback).await?;
    platform.log(&serde_json::json!({"event": "feedback", "answer_id": feedback.answer_id, "rating": rating.as_str()}));
    Ok(json_response(
        StatusCode::CREATED,
        &FeedbackRecorded { id: feedback.id, status: "recorded" },
    ))
}

/// `GET /api/feedback?rating=down&limit=50` (admin), newest first.
pub async fn list<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let FeedbackFilter { rating, limit } = FeedbackFilter::from_request(request)?;
    let feedback = platform.store().list_feedback(rating, limit).await?;
    Ok(json_response(StatusCode::OK, &FeedbackList { feedback }))
}

impl FeedbackFilter {
    pub fn from_request(request: &Request) -> Result<FeedbackFilter, ApiError> {
        let rating = match query_param(request, "rating") {
            None => None,
            Some(r) => Some(Rating::parse(&r).ok_or_else(|| {
                ApiError::bad_request("invalid_rating", "rating must be up or down")
            })?),
        };
        let limit = whole_number_param(request, "limit", default_list_limit(), MAX_LIST_LIMIT)?;
        Ok(FeedbackFilter { rating, limit })
    }
}

/// `GET /api/usage?days=7` (admin): model calls, tokens and estimated cost per day, provider and
/// model.
pub async fn usage<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let UsageParams { days } = UsageParams::from_request(request)?;
    let since = utc_day(platform.clock().now_ms().saturating_sub(u64::from(days - 1) * 86_400_000));
    let totals = platform.store().usage_since(&since).await?;
    let cost: f64 = totals.iter().map(|t| t.cost_usd).sum();
    Ok(json_response(StatusCode::OK, &UsageReport { since, days: totals, total_cost_usd: cost }))
}

impl UsageParams {
    pub fn from_request(request: &Request) -> Result<UsageParams, ApiError> {
        let days = whole_number_param(request, "days", default_usage_days(), MAX_USAGE_DAYS)?;
        Ok(UsageParams { days })
    }
}

/// Query parameter `name`: a whole number from 1 to `max`, `default` when absent.
fn whole_number_param(
    request: &Request, name: &str, default: u32, max: u32,
) -> Result<u32, ApiError> {
    match query_param(request, name) {
        None => Ok(default),
        Some(v) => v.parse::<u32>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_request",
                format!("{name} must be a whole number from 1 to {max}"),
            )
        }),
    }
}

/// A question declined for weak evidence, as `GET /api/gaps` lists it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Gap {
    pub question: String,
    /// How often it was asked.
    pub times: u64,
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    pub last_asked_at: String,
}

/// The answer of `GET /api/gaps`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Gaps {
    /// Questions answered "not found", most asked first (at most 200).
    pub declined: Vec<Gap>,
}

/// `GET /api/gaps` (admin): what readers asked that the indexed pages do not answer.
pub async fn gaps<P: Platform>(platform: &P) -> Result<Response, ApiError> {
    let declined = platform
        .store()
        .declined_questions(200)
        .await?
        .into_iter()
        .map(|d| Gap { question: d.question, times: d.times, last_asked_at: d.last_at })
        .collect();
    Ok(json_response(StatusCode::OK, &Gaps { declined }))
}
