//! The OpenAI-compatible API: `GET /v1/models` and `POST /v1/chat/completions` (streaming and not),
//! so any OpenAI client library talks to Docent unmodified. Answers are grounded exactly like
//! `/api/chat` (the same retrieval and answerer); the conversation comes with each request, as the
//! API defines.

use ::http::StatusCode;
use serde::Deserialize;

use docent_core::llm::prompt::Turn;
use docent_core::ports::Clock;

use crate::chat::{answer_stream, checked_message, collect_answer, AnswerEvent, Done, Question};
use crate::http::{event_stream, json_response, parse_json, ApiError, Request, Response};
use crate::Platform;

/// The one model Docent serves: answers grounded in the indexed pages.
pub const MODEL_ID: &str = "docent";
const MAX_MESSAGES: usize = 100;

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
            Content::Parts(parts) => parts
                .iter()
                .filter(|p| p.kind == "text")
                .filter_map(|p| p.text.clone())
                .collect::<Vec<_>>()
                .join("\n"),
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
pub async fn chat_completions<P: Platform>(
    platform: &P,
    request: &Request,
) -> Result<Response, ApiError> {
    let completion: CompletionRequest = parse_json(request)?;
    if let Some(model) = completion.model.as_deref().filter(|m| *m != MODEL_ID) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!("model `{model}` does not exist; GET /v1/models lists `{MODEL_ID}`"),
        ));
    }
    if completion.messages.is_empty() || completion.messages.len() > MAX_MESSAGES {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!("messages must hold 1 to {MAX_MESSAGES} messages"),
        ));
    }
    let Some(last_user) = completion.messages.iter().rposition(|m| m.role == "user") else {
        return Err(ApiError::bad_request(
            "invalid_request",
            "messages must end with a user message that has text",
        ));
    };
    let message = checked_message(&completion.messages[last_user].content.text())?;
    let question = Question {
        message,
        history: turns(&completion.messages[..last_user]),
        session_id: None,
        answered: 0,
    };
    let id = format!("chatcmpl-{}", platform.clock().random_id(12));
    let created = platform.clock().now_ms() / 1000;
    if !completion.stream {
        let events = collect_answer(platform, question).await;
        let mut text = String::new();
        let mut sources = Vec::new();
        for event in events {
            match event {
                AnswerEvent::Sources(found) => sources = found,
                AnswerEvent::Delta(piece) => text.push_str(&piece),
                AnswerEvent::Error { code, message } => {
                    return Err(ApiError::new(StatusCode::BAD_GATEWAY, code, message))
                }
                AnswerEvent::Done(done) => {
                    return Ok(json_response(
                        StatusCode::OK,
                        &serde_json::json!({
                            "id": id,
                            "object": "chat.completion",
                            "created": created,
                            "model": MODEL_ID,
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                            "usage": usage(&done),
                            // Beyond the OpenAI schema (clients ignore unknown fields): the
                            // passages cited as [n].
                            "sources": sources,
                        }),
                    ));
                }
            }
        }
        return Err(ApiError::internal("answer", "the answer ended without a result"));
    }
    let mut sources = Vec::new();
    let chunk = move |delta: serde_json::Value, finish: Option<&str>| {
        serde_json::json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    };
    // OpenAI streams are unnamed events: `data:` lines only, ended by `data: [DONE]`.
    let data = |value: serde_json::Value| format!("data: {value}\n\n");
    let stream = answer_stream(platform.clone(), question, move |event| match event {
        AnswerEvent::Sources(found) => {
            sources = found;
            vec![data(chunk(serde_json::json!({"role": "assistant", "content": ""}), None))]
        }
        AnswerEvent::Delta(piece) => vec![data(chunk(serde_json::json!({"content": piece}), None))],
        AnswerEvent::Done(done) => {
            let mut last = chunk(serde_json::json!({}), Some("stop"));
            last["usage"] = usage(&done);
            last["sources"] = serde_json::json!(sources);
            vec![data(last), "data: [DONE]\n\n".to_string()]
        }
        // The OpenAI wire format for an error in the middle of a stream.
        AnswerEvent::Error { code, message } => vec![data(
            serde_json::json!({"error": {"code": code, "message": message, "type": "server_error"}}),
        )],
    });
    Ok(event_stream(stream))
}

fn usage(done: &Done) -> serde_json::Value {
    serde_json::json!({
        "prompt_tokens": done.usage.prompt_tokens,
        "completion_tokens": done.usage.completion_tokens,
        "total_tokens": done.usage.prompt_tokens + done.usage.completion_tokens,
    })
}

/// The conversation before the question, as (user, assistant) turns; system messages and unanswered
/// user messages are left out.
fn turns(messages: &[Message]) -> Vec<Turn> {
    let mut turns = Vec::new();
    let mut pending_user: Option<String> = None;
    for message in messages {
        match message.role.as_str() {
            "user" => pending_user = Some(message.content.text()),
            "assistant" => {
                if let Some(user) = pending_user.take() {
                    turns.push(Turn { user, assistant: message.content.text() });
                }
            }
            _ => {}
        }
    }
    turns
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
        let history = turns(&messages);
        assert_eq!(history, vec![Turn { user: "How do I\ninstall?".into(), assistant: "".into() }]);
    }
}
