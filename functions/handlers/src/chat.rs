//! The chat function: `POST /api/chat`, answers streamed as server-sent events with their sources.

use serde::{Deserialize, Serialize};

use docent_core::answer::{extractive_answer, Source, NOTHING_FOUND};
use docent_core::tickets::wants_human;
use docent_core::domain::random_id;
use docent_core::ports::KeyValue;
use docent_core::search::{query_terms, snippet};
use docent_core::sse;

use crate::http::{event_stream_response, parse_json, ApiError, Request, Response};
use crate::retrieve::{retrieve, SearchOptions};
use crate::Platform;

const MAX_MESSAGE_CHARS: usize = 4_000;
/// Quotes in an extractive answer.
const EXTRACTIVE_QUOTES: usize = 3;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatRequest {
    message: String,
    session_id: Option<String>,
}

/// A conversation kept in KV under `session:<id>`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Session {
    turns: Vec<Turn>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Turn {
    user: String,
    assistant: String,
}

fn is_session_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `POST /api/chat`
pub async fn chat<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let chat: ChatRequest = parse_json(request)?;
    let message = chat.message.trim().to_string();
    if message.is_empty() {
        return Err(ApiError::bad_request("invalid_request", "message must not be empty"));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::bad_request("message_too_long", format!("message is limited to {MAX_MESSAGE_CHARS} characters")));
    }
    let session_id = match chat.session_id {
        Some(id) if is_session_id(&id) => id,
        Some(_) => return Err(ApiError::bad_request("invalid_session", "session_id must be the id returned by a previous answer")),
        None => random_id(platform.clock(), 16),
    };
    let key = format!("session:{session_id}");
    let mut session: Session = match platform.kv().get(&key).await {
        Ok(Some(json)) => serde_json::from_str(&json).unwrap_or_default(),
        Ok(None) => Session::default(),
        Err(e) => return Err(ApiError::internal("session store", e)),
    };

    let Answer { sources, text: answer, escalate } = answer(platform, &message).await?;

    session.turns.push(Turn { user: message, assistant: answer.clone() });
    let keep = platform.config().session_turns;
    if session.turns.len() > keep {
        session.turns.drain(..session.turns.len() - keep);
    }
    if let Ok(json) = serde_json::to_string(&session) {
        platform.kv().put(&key, &json, Some(platform.config().session_ttl_seconds)).await.map_err(|e| ApiError::internal("session store", e))?;
    }

    let mut events = vec![sse::event("sources", &serde_json::json!({"sources": sources}))];
    events.extend(answer_pieces(&answer).map(|piece| sse::event("delta", &serde_json::json!({"text": piece}))));
    events.push(sse::event(
        "done",
        &serde_json::json!({
            "session_id": session_id,
            "cached": false,
            "mode": "extractive",
            // The page offers "Create a ticket" when the docs had no answer or a person was asked for.
            "escalate": escalate,
            "usage": {"model": "extractive", "prompt_tokens": 0, "completion_tokens": 0, "passages": sources.len()},
        }),
    ));
    Ok(event_stream_response(events))
}

/// A grounded answer with the sources it cites.
pub struct Answer {
    pub sources: Vec<Source>,
    pub text: String,
    /// True when the indexed pages had nothing relevant, or the user asked for a person.
    pub escalate: bool,
}

/// Retrieves passages for `question` and answers from them (shared by chat and the MCP `ask` tool).
pub async fn answer<P: Platform>(platform: &P, question: &str) -> Result<Answer, ApiError> {
    let hits = retrieve(platform, question, platform.config().chat_passages, SearchOptions::of(platform.config())).await?;
    let terms = query_terms(question);
    let sources: Vec<Source> = hits
        .iter()
        .enumerate()
        .map(|(i, hit)| Source {
            number: i + 1,
            url: hit.url.clone(),
            title: hit.title.clone(),
            heading: hit.heading.clone(),
            snippet: snippet(&hit.text, &terms, 40),
        })
        .collect();
    let text = extractive_answer(question, &hits, EXTRACTIVE_QUOTES);
    let escalate = text == NOTHING_FOUND || wants_human(question);
    Ok(Answer { sources, text, escalate })
}

/// Splits an answer into small pieces (a few words each) for the `delta` events, keeping whitespace so
/// that the pieces concatenate to exactly the answer.
pub(crate) fn answer_pieces(answer: &str) -> impl Iterator<Item = &str> {
    const WORDS_PER_PIECE: usize = 6;
    let mut boundaries = vec![0];
    let mut words = 0;
    let mut in_word = false;
    for (i, c) in answer.char_indices() {
        if c.is_whitespace() {
            if in_word {
                words += 1;
                if words % WORDS_PER_PIECE == 0 {
                    boundaries.push(i);
                }
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    boundaries.push(answer.len());
    boundaries.dedup();
    (0..boundaries.len() - 1).map(move |i| &answer[boundaries[i]..boundaries[i + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_concatenate_to_the_answer() {
        let answer = "One two three four five six seven eight nine ten eleven twelve thirteen.\n\n> quote [1]";
        let pieces: Vec<&str> = answer_pieces(answer).collect();
        assert!(pieces.len() >= 3);
        assert_eq!(pieces.concat(), answer);
        assert_eq!(answer_pieces("").count(), 0);
    }

    #[test]
    fn session_ids_are_checked() {
        assert!(is_session_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_session_id("../../etc/passwd"));
        assert!(!is_session_id("0123"));
    }
}
