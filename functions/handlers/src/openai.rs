//! The OpenAI-compatible API: `GET /v1/models` and `POST /v1/chat/completions` (streaming and not), so
//! any OpenAI client library talks to Docent unmodified. Answers are grounded exactly like `/api/chat`
//! (the same retrieval and answerer); the conversation comes with each request, as the API defines.

use ::http::StatusCode;
use serde::Deserialize;

use docent_core::chunk::estimate_tokens;
use docent_core::domain::random_id;
use docent_core::ports::Clock;

use crate::chat::{answer, answer_pieces, Answer};
use crate::http::{event_stream_response, json_response, parse_json, ApiError, Request, Response};
use crate::Platform;

/// The one model Docent serves: answers grounded in the indexed pages.
pub const MODEL_ID: &str = "docent";
const MAX_MESSAGES: usize = 100;
const MAX_QUESTION_CHARS: usize = 4_000;

#[derive(Debug, Deserialize)]
struct CompletionRequest {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<Message>,
    #[serde(default)]
    stream: bool,
    // Other OpenAI parameters (temperature, max_tokens, ...) are accepted and have no effect on an
    // answer quoted from the docs.
}

#[derive(Debug, Deserialize)]
struct Message {
    role: String,
    #[serde(default)]
    content: Content,
}

/// A message's content: a string, or a list of parts of which the text parts count.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
    #[default]
    None,
}

#[derive(Debug, Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

impl Content {
    fn text(&self) -> String {
        match self {
            Content::Text(text) => text.clone(),
            Content::Parts(parts) => parts.iter().filter(|p| p.kind == "text").filter_map(|p| p.text.clone()).collect::<Vec<_>>().join("\n"),
            Content::None => String::new(),
        }
    }
}

/// `GET /v1/models`
pub fn models() -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::json!({"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "docent"}]}),
    )
}

/// `POST /v1/chat/completions`
pub async fn chat_completions<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let completion: CompletionRequest = parse_json(request)?;
    if let Some(model) = completion.model.as_deref().filter(|m| *m != MODEL_ID) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!("model `{model}` does not exist; GET /v1/models lists `{MODEL_ID}`"),
        ));
    }
    if completion.messages.is_empty() || completion.messages.len() > MAX_MESSAGES {
        return Err(ApiError::bad_request("invalid_request", format!("messages must hold 1 to {MAX_MESSAGES} messages")));
    }
    let question = completion.messages.iter().rev().find(|m| m.role == "user").map(|m| m.content.text()).unwrap_or_default();
    let question = question.trim();
    if question.is_empty() {
        return Err(ApiError::bad_request("invalid_request", "messages must end with a user message that has text"));
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(ApiError::bad_request("message_too_long", format!("the user message is limited to {MAX_QUESTION_CHARS} characters")));
    }
    let Answer { sources, text, .. } = answer(platform, question).await?;
    let prompt_tokens: usize = completion.messages.iter().map(|m| estimate_tokens(&m.content.text())).sum();
    let completion_tokens = estimate_tokens(&text);
    let usage = serde_json::json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    });
    let id = format!("chatcmpl-{}", random_id(platform.clock(), 12));
    let created = platform.clock().now_ms() / 1000;
    if !completion.stream {
        return Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({
                "id": id,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": usage,
                // Beyond the OpenAI schema (clients ignore unknown fields): the passages cited as [n].
                "sources": sources,
            }),
        ));
    }
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        let mut chunk = serde_json::json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        if finish.is_some() {
            chunk["usage"] = usage.clone();
            chunk["sources"] = serde_json::json!(sources);
        }
        // OpenAI streams are unnamed events: `data:` lines only, ended by `data: [DONE]`.
        format!("data: {chunk}\n\n")
    };
    let mut events = vec![chunk(serde_json::json!({"role": "assistant", "content": ""}), None)];
    events.extend(answer_pieces(&text).map(|piece| chunk(serde_json::json!({"content": piece}), None)));
    events.push(chunk(serde_json::json!({}), Some("stop")));
    events.push("data: [DONE]\n\n".to_string());
    Ok(event_stream_response(events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_content_as_text_or_parts() {
        let messages: Vec<Message> = serde_json::from_str(
            r#"[{"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "How do I"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "install?"}]},
                {"role": "assistant", "content": null}]"#,
        )
        .unwrap();
        assert_eq!(messages[0].content.text(), "Be brief.");
        assert_eq!(messages[1].content.text(), "How do I\ninstall?");
        assert_eq!(messages[2].content.text(), "");
    }
}
