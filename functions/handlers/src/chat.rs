//! The chat function: `POST /api/chat`, answers streamed as server-sent events with their sources.
//!
//! [`run_answer`] is the one answering pipeline, shared by `/api/chat`, `/v1/chat/completions` and
//! the MCP `ask` tool: condense a follow-up, serve from the response cache, retrieve, decline weak
//! evidence, ask the model gateway (streaming), fall back to the extractive answerer, then save the
//! session and the answer record. Each endpoint only formats the [`AnswerEvent`]s.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use docent_core::escalation::tickets::wants_human;
use docent_core::llm::accounting::answer_fingerprint;
use docent_core::llm::prompt::{self, Turn};
use docent_core::llm::sse;
use docent_core::ops::metrics::{CACHE_LOOKUPS, QUESTIONS, SESSIONS};
use docent_core::ports::Clock;
use docent_core::retrieval::answer::{
    choose_quotes, render_not_found, render_quotes, shown_sections, AnswerOptions, Choice,
    PageChunks, Quote, Section, Source, WeightedTerms, EXTRACTIVE_NOTICE,
};
use docent_core::retrieval::search::{query_terms, snippet, SearchHit};
use docent_store::api::{AnswerStore, DocumentStore};

use crate::gateway::{self, GatewayError};
use crate::http::{event_stream, parse_json, ApiError, ErrorDetail, Request, Response};
use crate::kv_state::{AnswerUsage, CachedAnswer, CachedAnswerKey, KvState, Session, SessionKey};
use crate::retrieve::{retrieve, SearchOptions};
use crate::Platform;

/// The longest question (`/api/chat`, the last user message of `/v1/chat/completions`, MCP
/// `ask`).
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// The label of an extractive answer given because every model failed.
pub const FALLBACK_NOTICE: &str =
    "_The language model could not answer just now, so this is an extractive answer: the passages below are quoted from the indexed pages._";

/// The body of `POST /api/chat`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The question.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = MAX_MESSAGE_CHARS)))]
    pub message: String,
    /// The `session_id` of an earlier answer's `done` event, to ask a follow-up in that
    /// conversation; without it a new conversation starts.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = "^[0-9a-f]{32}$")))]
    pub session_id: Option<String>,
}

/// The `data` of a `sources` event: the passages the answer may cite, numbered as in its [n].
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct SourcesEvent<'a> {
    pub sources: &'a [Source],
}

/// The `data` of a `delta` event: the next piece of the answer (markdown).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct DeltaEvent<'a> {
    pub text: &'a str,
}

fn is_session_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What one answer is about.
pub struct Question {
    pub message: String,
    /// Earlier turns, oldest first.
    pub history: Vec<Turn>,
    /// The session to append this turn to (`/api/chat`); `/v1` conversations travel with each
    /// request.
    pub session_id: Option<String>,
    /// Answers the session has had before this one.
    pub answered: u64,
}

impl Question {
    /// A question on its own, outside any conversation, checked as `/api/chat` checks it.
    pub fn single(message: &str) -> Result<Question, ApiError> {
        Ok(Question {
            message: checked_message(message)?,
            history: Vec::new(),
            session_id: None,
            answered: 0,
        })
    }
}

/// The steps of an answer, in order: `Sources`, then `Delta`s, then `Done` or `Error`.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerEvent {
    Sources(Vec<Source>),
    Delta(String),
    Done(Done),
    Error { code: &'static str, message: String },
}

/// The `data` of a `done` event: how the answer was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Done {
    /// Pass it with the next question to continue the conversation (null for answers outside a
    /// session).
    pub session_id: Option<String>,
    /// Rate this answer with `POST /api/feedback`: `<session_id>-<n>`, for answers kept in a
    /// session.
    pub answer_id: Option<String>,
    /// True when the answer came from the response cache.
    pub cached: bool,
    /// `llm`, `extractive` (no model configured), `fallback` (every model failed) or `no_evidence`.
    #[cfg_attr(
        feature = "openapi",
        schemars(extend("enum" = ["llm", "extractive", "fallback", "no_evidence"]))
    )]
    pub mode: String,
    /// The page offers "Create a ticket" when the docs had no answer or a person was asked for.
    pub escalate: bool,
    pub usage: AnswerUsage,
}

/// `POST /api/chat`
pub async fn chat<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let chat: ChatRequest = parse_json(request)?;
    let message = checked_message(&chat.message)?;
    let session_id = match chat.session_id.clone() {
        Some(id) if is_session_id(&id) => id,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_session",
                "session_id must be the id returned by a previous answer",
            ))
        }
        None => {
            crate::ops::record(platform, |m| m.count(&SESSIONS, &[], 1.0));
            platform.clock().random_id(16)
        }
    };
    let session = match chat.session_id {
        None => Session::default(),
        Some(_) => match KvState::of(platform).load(&SessionKey { id: &session_id }).await {
            Ok(session) => session.unwrap_or_default(),
            Err(e) => return Err(ApiError::internal("session store", e)),
        },
    };
    let question = Question {
        message,
        history: session.turns,
        session_id: Some(session_id),
        answered: session.answers,
    };
    let events = answer_stream(platform.clone(), question, |event| vec![chat_event(&event)]);
    Ok(event_stream(events))
}

/// The `/api/chat` framing of an event.
fn chat_event(event: &AnswerEvent) -> String {
    fn data(value: impl Serialize) -> serde_json::Value {
        serde_json::to_value(value).unwrap_or_default()
    }
    match event {
        AnswerEvent::Sources(sources) => sse::event("sources", &data(SourcesEvent { sources })),
        AnswerEvent::Delta(text) => sse::event("delta", &data(DeltaEvent { text })),
        AnswerEvent::Done(done) => sse::event("done", &data(done)),
        AnswerEvent::Error { code, message } => {
            sse::event("error", &data(ErrorDetail { code, message }))
        }
    }
}

pub(crate) fn checked_message(message: &str) -> Result<String, ApiError> {
    let message = message.trim();
    if message.is_empty() {
        return Err(ApiError::bad_request("invalid_request", "message must not be empty"));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::bad_request(
            "message_too_long",
            format!("message is limited to {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    Ok(message.to_string())
}

/// The answer as a byte stream that runs the pipeline while it is read: each event is framed by
/// `frame` and sent as soon as it exists, so the first words reach the user while the model writes.
pub fn answer_stream<P: Platform>(
    platform: P, question: Question, mut frame: impl FnMut(AnswerEvent) -> Vec<String> + 'static,
) -> Pin<Box<dyn Stream<Item = Bytes>>> {
    let (sender, receiver) = futures_channel::mpsc::unbounded::<Bytes>();
    let driver = async move {
        run_answer(&platform, question, &mut |event| {
            for text in frame(event) {
                // Sending fails only once the client has gone and the body was dropped, which also
                // drops this driver: an abandoned answer stops (and is neither saved nor cached).
                let _ = sender.unbounded_send(Bytes::from(text));
            }
        })
        .await;
        // What the answer recorded (model calls, cache lookups) happened after the response's
        // head left, so after the shell's own flush.
        crate::ops::flush(&platform).await;
    };
    // The driver yields nothing itself; polling the merged stream runs it, and the stream ends when
    // both the driver is done and its sender (dropped with it) is closed.
    let driver = futures_util::stream::once(driver).filter_map(|_| async { None::<Bytes> });
    Box::pin(futures_util::stream::select(receiver, driver))
}

/// A whole answer, for callers that do not stream (MCP `ask`, non-streamed `/v1`).
pub async fn collect_answer<P: Platform>(platform: &P, question: Question) -> Vec<AnswerEvent> {
    let mut events = Vec::new();
    run_answer(platform, question, &mut |event| events.push(event)).await;
    events
}

/// A grounded answer with the sources it cites (the MCP `ask` tool).
pub struct Answer {
    pub sources: Vec<Source>,
    pub text: String,
    /// True when the indexed pages had nothing relevant, or the user asked for a person.
    pub escalate: bool,
    /// How it was answered, as the `done` event says (`llm`, `extractive`, `fallback`,
    /// `no_evidence`).
    pub mode: String,
}

/// Answers a single question without a conversation.
pub async fn answer<P: Platform>(platform: &P, question: &str) -> Result<Answer, ApiError> {
    let question = Question::single(question)?;
    let mut answer =
        Answer { sources: Vec::new(), text: String::new(), escalate: false, mode: String::new() };
    for event in collect_answer(platform, question).await {
        match event {
            AnswerEvent::Sources(sources) => answer.sources = sources,
            AnswerEvent::Delta(piece) => answer.text.push_str(&piece),
            AnswerEvent::Done(done) => {
                answer.escalate = done.escalate;
                answer.mode = done.mode;
            }
            AnswerEvent::Error { code, message } => {
                return Err(ApiError::new(::http::StatusCode::BAD_GATEWAY, code, message))
            }
        }
    }
    Ok(answer)
}

/// Runs one answer, handing its events to `out` in order.
pub async fn run_answer<P: Platform>(
    platform: &P, question: Question, out: &mut dyn FnMut(AnswerEvent),
) {
    let config = platform.config();
    let started = platform.clock().now_ms();
    let deadline = started + config.llm.total_timeout_ms;
    let has_models = !config.llm.providers.is_empty();
    let answer_id =
        question.session_id.as_ref().map(|id| format!("{id}-{}", question.answered + 1));

    let standalone = standalone_question(platform, &question, deadline).await;
    // Only a question without a conversation is cached: an answer shaped by earlier turns (which a
    // `/v1` client supplies itself) must never reach someone else.
    let cache_key = if config.llm.answer_cache_seconds > 0 && question.history.is_empty() {
        match platform.store().index_version().await {
            Ok(version) => Some(CachedAnswerKey {
                fingerprint: answer_fingerprint(&standalone, version, &config.llm.chain_id()),
            }),
            Err(_) => None,
        }
    } else {
        None
    };
    if let Some(key) = &cache_key {
        let cached = KvState::of(platform).load(key).await.ok().flatten();
        crate::ops::record(platform, |m| {
            let result = if cached.is_some() { "hit" } else { "miss" };
            m.count(&CACHE_LOOKUPS, &["answer", result], 1.0);
            if cached.is_some() {
                m.count(&QUESTIONS, &["cached"], 1.0);
            }
        });
        if let Some(cached) = cached {
            out(AnswerEvent::Sources(cached.sources));
            emit_pieces(&cached.text, out);
            finish(
                platform,
                &question,
                &cached.text,
                None,
                out,
                Done {
                    session_id: question.session_id.clone(),
                    answer_id: answer_id.clone(),
                    cached: true,
                    mode: cached.mode,
                    escalate: cached.escalate,
                    usage: AnswerUsage {
                        prompt_tokens: 0,
                        completion_tokens: 0,
                        cost_usd: 0.0,
                        ..cached.usage
                    },
                },
            )
            .await;
            platform.log(&serde_json::json!({"event": "answer", "cached": true, "ms": platform.clock().now_ms().saturating_sub(started)}));
            return;
        }
    }

    let hits = match retrieve(
        platform,
        &standalone,
        config.chat_passages,
        SearchOptions::of(config),
    )
    .await
    {
        Ok(hits) => hits,
        Err(e) => {
            out(AnswerEvent::Error {
                code: "backend_unavailable",
                message: format!("the index could not be searched: {e}"),
            });
            return;
        }
    };
    let wants_person = wants_human(&question.message);
    let sections = sections_of(platform, &hits).await;
    let terms = weighted_terms(platform, &standalone).await;
    let options = AnswerOptions {
        words: config.answer_words,
        sections: 2,
        min_evidence: config.llm.min_evidence,
    };
    let quotes = match choose_quotes(&terms, &sections, &options) {
        Choice::Quotes(quotes) => quotes,
        Choice::NotFound { .. } => Vec::new(),
    };
    // One or more sections per page, in the pages' order; the quotes renumbered to match.
    let (sections, quotes) = shown_sections(sections, quotes);

    let (text, sources, mode, usage) = if quotes.is_empty() {
        // Weak evidence: saying so, with the nearest pages, is better than quoting noise or a
        // fluent guess, and costs no model call.
        let text = render_not_found(&sections);
        out(AnswerEvent::Sources(Vec::new()));
        emit_pieces(&text, out);
        (
            text,
            Vec::new(),
            "no_evidence",
            AnswerUsage { model: "none".into(), ..AnswerUsage::default() },
        )
    } else if !has_models {
        let sources = sources_of(&standalone, &sections);
        let text = render_quotes(EXTRACTIVE_NOTICE, &sections, &quotes);
        out(AnswerEvent::Sources(sources.clone()));
        emit_pieces(&text, out);
        (
            text,
            sources,
            "extractive",
            AnswerUsage {
                model: "extractive".into(),
                passages: sections.len(),
                ..AnswerUsage::default()
            },
        )
    } else {
        let passages: Vec<SearchHit> = sections.iter().map(|s| s.as_hit(0.0)).collect();
        let prompt = prompt::grounded_prompt(
            &question.message,
            &question.history,
            &passages,
            &config.llm.context,
        );
        let used = &sections[..prompt.passages_used];
        let sources = sources_of(&standalone, used);
        out(AnswerEvent::Sources(sources.clone()));
        let mut emit = |piece: &str| out(AnswerEvent::Delta(piece.to_string()));
        match gateway::complete(
            platform,
            &prompt.messages,
            config.llm.context.answer_tokens,
            deadline,
            &mut emit,
        )
        .await
        {
            Ok(answer) => {
                let usage = AnswerUsage {
                    provider: Some(answer.provider),
                    model: answer.model,
                    prompt_tokens: answer.usage.prompt_tokens,
                    completion_tokens: answer.usage.completion_tokens,
                    estimated: answer.usage_estimated,
                    cost_usd: answer.cost_usd,
                    passages: used.len(),
                };
                (answer.text, sources, "llm", usage)
            }
            Err(GatewayError::Interrupted(reason)) => {
                platform.log(&serde_json::json!({"event": "answer_interrupted", "reason": reason}));
                crate::ops::record(platform, |m| m.count(&QUESTIONS, &["interrupted"], 1.0));
                out(AnswerEvent::Error {
                    code: "answer_interrupted",
                    message:
                        "The language model stopped in the middle of this answer. Please ask again."
                            .into(),
                });
                return;
            }
            Err(GatewayError::Unavailable(reasons)) => {
                platform.log(&serde_json::json!({"event": "llm_fallback", "reasons": reasons}));
                // Only quotes of the sections listed as sources.
                let quotes: Vec<Quote> =
                    quotes.iter().filter(|q| q.section < used.len()).cloned().collect();
                let text = if quotes.is_empty() {
                    render_not_found(used)
                } else {
                    render_quotes(FALLBACK_NOTICE, used, &quotes)
                };
                emit_pieces(&text, out);
                (
                    text,
                    sources,
                    "fallback",
                    AnswerUsage {
                        model: "extractive".into(),
                        passages: used.len(),
                        ..AnswerUsage::default()
                    },
                )
            }
        }
    };
    let escalate = wants_person || mode == "no_evidence";
    let done = Done {
        session_id: question.session_id.clone(),
        answer_id: answer_id.clone(),
        cached: false,
        mode: mode.into(),
        escalate,
        usage,
    };
    // A fallback is not cached: the model may be back for the next asker.
    let cacheable = mode != "fallback";
    let cache = cache_key.filter(|_| cacheable).map(|key| {
        (
            key,
            CachedAnswer {
                sources: sources.clone(),
                text: text.clone(),
                mode: mode.into(),
                escalate,
                usage: done.usage.clone(),
            },
        )
    });
    crate::ops::record(platform, |m| m.count(&QUESTIONS, &[mode], 1.0));
    if mode == "no_evidence" {
        // A content gap for the operators (GET /api/gaps); losing one costs the answer nothing.
        let _ =
            platform.store().record_declined(&question.message, platform.clock().now_ms()).await;
    }
    finish(platform, &question, &text, cache, out, done).await;
    platform.log(&serde_json::json!({"event": "answer", "cached": false, "mode": mode, "ms": platform.clock().now_ms().saturating_sub(started)}));
}

/// Saves the turn and the cache entry, then sends `Done`.
async fn finish<P: Platform>(
    platform: &P, question: &Question, text: &str, cache: Option<(CachedAnswerKey, CachedAnswer)>,
    out: &mut dyn FnMut(AnswerEvent), done: Done,
) {
    let config = platform.config();
    if let Some(session_id) = &question.session_id {
        let mut turns = question.history.clone();
        turns.push(Turn { user: question.message.clone(), assistant: text.to_string() });
        let keep = config.session_turns;
        if turns.len() > keep {
            turns.drain(..turns.len() - keep);
        }
        let session = Session { turns, answers: question.answered + 1 };
        if let Err(e) = KvState::of(platform).save(&SessionKey { id: session_id }, &session).await {
            out(AnswerEvent::Error {
                code: "backend_unavailable",
                message: format!("the conversation could not be saved: {e}"),
            });
            return;
        }
    }
    if let Some((key, cached)) = cache {
        let _ = KvState::of(platform).save(&key, &cached).await;
    }
    out(AnswerEvent::Done(done));
}

/// The question retrieval should see: a follow-up rewritten to stand on its own (by the first model
/// that answers in time; without one, by borrowing the previous question when it leans on it).
async fn standalone_question<P: Platform>(
    platform: &P, question: &Question, deadline: u64,
) -> String {
    if question.history.is_empty() {
        return question.message.clone();
    }
    let fallback = || prompt::follow_up_query(&question.history, &question.message);
    let llm_config = &platform.config().llm;
    if llm_config.providers.is_empty() {
        return fallback();
    }
    // Condensing may use at most a third of the answer's budget.
    let budget = (deadline.saturating_sub(platform.clock().now_ms())) / 3;
    let condense_deadline = platform.clock().now_ms()
        + budget.min(llm_config.connect_timeout_ms + llm_config.first_token_timeout_ms);
    let messages = prompt::condense_prompt(&question.history, &question.message);
    let mut ignore = |_: &str| {};
    match gateway::complete(platform, &messages, 100, condense_deadline, &mut ignore).await {
        Ok(answer) => prompt::parse_condensed(&answer.text).unwrap_or_else(fallback),
        Err(_) => fallback(),
    }
}

fn sources_of(question: &str, sections: &[Section]) -> Vec<Source> {
    let terms = query_terms(question);
    sections
        .iter()
        .enumerate()
        .map(|(i, section)| Source {
            number: i + 1,
            url: section.url.clone(),
            title: section.title.clone(),
            heading: section.heading.clone(),
            snippet: snippet(&section.text, &terms, 40),
        })
        .collect()
}

/// Chunks of a page read to find the section that answers (a long reference page has ~100).
const CHUNKS_PER_PAGE: u32 = 120;

/// The sections of the hits' pages, whole (each hit is its page's best chunk); a hit stands for its
/// section when the store cannot give its page (said in the log: quotes are then cut to one chunk).
async fn sections_of<P: Platform>(platform: &P, hits: &[SearchHit]) -> Vec<Section> {
    let ids: Vec<String> = hits.iter().map(|hit| hit.chunk_id.clone()).collect();
    let pages = match platform.store().page_chunks(&ids, CHUNKS_PER_PAGE).await {
        Ok(pages) => pages,
        Err(error) => {
            platform.log(
                &serde_json::json!({"event": "page_chunks_failed", "error": error.to_string()}),
            );
            Vec::new()
        }
    };
    hits.iter()
        .enumerate()
        .flat_map(|(i, hit)| {
            Section::of_page(pages.get(i).unwrap_or(&PageChunks::default()), hit, i)
        })
        .collect()
}

/// The question's terms weighed by their rarity in the index (all alike if it cannot be counted).
async fn weighted_terms<P: Platform>(platform: &P, question: &str) -> WeightedTerms {
    match platform.store().term_counts(&WeightedTerms::words(question)).await {
        Ok(counts) => WeightedTerms::new(question, &counts),
        Err(_) => WeightedTerms::uniform(question),
    }
}

fn emit_pieces(text: &str, out: &mut dyn FnMut(AnswerEvent)) {
    for piece in answer_pieces(text) {
        out(AnswerEvent::Delta(piece.to_string()));
    }
}

/// Splits an answer into small pieces (a few words each) for the `delta` events, keeping whitespace
/// so that the pieces concatenate to exactly the answer.
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
