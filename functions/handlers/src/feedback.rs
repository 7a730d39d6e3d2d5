//! Ratings of answers (`POST /api/feedback`, listed for operators at `GET /api/feedback`) and the
//! model usage and cost per day (`GET /api/usage`).

use ::http::StatusCode;
use serde::Deserialize;

use docent_core::crawl::schedule::utc_day;
use docent_core::domain::{Feedback, Rating};
use docent_core::ports::Clock;
use docent_store::api::AnswerStore;

use crate::http::{json_response, parse_json, query_param, ApiError, Request, Response};
use crate::kv_state::{KvState, SessionKey};
use crate::Platform;

const MAX_COMMENT_CHARS: usize = 2_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackRequest {
    answer_id: String,
    rating: String,
    #[serde(default)]
    comment: Option<String>,
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
        &serde_json::json!({"id": feedback.id, "status": "recorded"}),
    ))
}

/// `GET /api/feedback?rating=down&limit=50` (admin), newest first.
pub async fn list<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let rating =
        match query_param(request, "rating") {
            None => None,
            Some(r) => Some(Rating::parse(&r).ok_or_else(|| {
                ApiError::bad_request("invalid_rating", "rating must be up or down")
            })?),
        };
    let limit = limit_param(request, 50, 500)?;
    let feedback = platform.store().list_feedback(rating, limit).await?;
    Ok(json_response(StatusCode::OK, &serde_json::json!({"feedback": feedback})))
}

/// `GET /api/usage?days=7` (admin): model calls, tokens and estimated cost per day, provider and
/// model.
pub async fn usage<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let days = limit_param_named(request, "days", 7, 366)?;
    let since = utc_day(platform.clock().now_ms().saturating_sub(u64::from(days - 1) * 86_400_000));
    let totals = platform.store().usage_since(&since).await?;
    let cost: f64 = totals.iter().map(|t| t.cost_usd).sum();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({"since": since, "days": totals, "total_cost_usd": cost}),
    ))
}

fn limit_param(request: &Request, default: u32, max: u32) -> Result<u32, ApiError> {
    limit_param_named(request, "limit", default, max)
}

fn limit_param_named(
    request: &Request,
    name: &str,
    default: u32,
    max: u32,
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
