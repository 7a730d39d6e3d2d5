//! The OpenAI-compatible API: `GET /v1/models` and `POST /v1/chat/completions` (streaming and not),
//! so any OpenAI client library talks to Docent unmodified. Answers are grounded exactly like
//! `/api/chat` (the same retrieval and answerer); the conversation comes with each request, as the
//! API defines.

use ::http::StatusCode;
use serde::{Deserialize, Serialize};

use docent_core::llm::prompt::Turn;
use docent_core::ports::Clock;
use docent_core::retrieval::answer::Source;

use crate::chat::{answer_stream, checked_message, collect_answer, AnswerEvent, Done, Question};
use crate::http::{event_stream, json_response, parse_json, ApiError, Request, Response};
use crate::Platform;

/// The one model Docent serves: answers grounded in the indexed pages.
pub const MODEL_ID: &str = "docent";
/// The most messages one request may carry.
pub const MAX_MESSAGES: usize = 100;

/// The body of `POST /v1/chat/completions` (the OpenAI request; only these fields matter).
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CompletionRequest {
    /// `docent`, the one model, if given.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = [MODEL_ID, null])))]
    model: Option<String>,
    /// The conversation, oldest first; the last user message is the question.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = MAX_MESSAGES)))]
    messages: Vec<Message>,
    /// Send the answer as server-sent `chat.completion.chunk`s.
    #[serde(default)]
    stream: bool,
    // Other OpenAI parameters (temperature, max_tokens, ...) are accepted and have no effect on an
    // answer quoted from the docs.
}

/// One message of the conversation.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Message {
    /// `user` or `assistant`; other roles (`system`, ...) are ignored.
    role: String,
    #[serde(default)]
    content: Content,
}

/// A message's content: a string, or a list of parts of which the text parts count.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
    #[default]
    None,
}

/// A part of a message's content; only `text` parts are read.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

/// The answer of `GET /v1/models`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ModelList {
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "list")))]
    pub object: &'static str,
    pub data: Vec<Model>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Model {
    pub id: &'static str,
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "model")))]
    pub object: &'static str,
    pub created: u64,
    pub owned_by: &'static str,
}

/// A whole answer (`stream` false): an OpenAI `chat.completion`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ChatCompletion {
    pub id: String,
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "chat.completion")))]
    pub object: &'static str,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub model: &'static str,
    pub choices: Vec<CompletionChoice>,
    pub usage: CompletionUsage,
    /// Beyond the OpenAI schema (clients ignore unknown fields): the passages cited as [n].
    pub sources: Vec<Source>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CompletionChoice {
    pub index: u32,
    pub message: AssistantMessage,
    pub finish_reason: &'static str,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct AssistantMessage {
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "assistant")))]
    pub role: &'static str,
    /// The answer (markdown, citations [n]).
    pub content: String,
}

/// The tokens an answer used.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CompletionUsage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

/// One server-sent piece of a streamed answer: an OpenAI `chat.completion.chunk`. The last one
/// carries `finish_reason`, `usage` and `sources`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ChatCompletionChunk {
    pub id: String,
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "chat.completion.chunk")))]
    pub object: &'static str,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub model: &'static str,
    pub choices: Vec<ChunkChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(with = "CompletionUsage"))]
    pub usage: Option<CompletionUsage>,
    /// Beyond the OpenAI schema: the passages cited as [n].
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(with = "Vec<Source>"))]
    pub sources: Option<Vec<Source>>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: ChunkDelta,
    /// `stop` on the last chunk, else null.
    pub finish_reason: Option<&'static str>,
}

/// What a chunk adds to the message: the role first, then pieces of the content.
#[derive(Debug, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ChunkDelta {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(with = "String", extend("const" = "assistant")))]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(with = "String"))]
    pub content: Option<String>,
}

/// An error in the middle of a stream, as OpenAI sends it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct StreamError<'a> {
    pub error: StreamErrorDetail<'a>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct StreamErrorDetail<'a> {
    pub code: &'a str,
    pub message: &'a str,
    /// Always `server_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
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
    let model = Model { id: MODEL_ID, object: "model", created: 0, owned_by: "docent" };
    json_response(StatusCode::OK, &ModelList { object: "list", data: vec![model] })
}

/// `POST /v1/chat/completions`
pub async fn chat_completions<P: Platform>(
    platform: &P, request: &Request,
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
                    let completion = ChatCompletion {
                        id,
                        object: "chat.completion",
                        created,
                        model: MODEL_ID,
                        choices: vec![CompletionChoice {
                            index: 0,
                            message: AssistantMessage { role: "assistant", content: text },
                            finish_reason: "stop",
                        }],
                        usage: usage(&done),
                        sources,
                    };
                    return Ok(json_response(StatusCode::OK, &completion));
                }
            }
        }
        return Err(ApiError::internal("answer", "the answer ended without a result"));
    }
    let mut sources = Vec::new();
    let chunk = move |delta: ChunkDelta, finish_reason: Option<&'static str>| ChatCompletionChunk {
        id: id.clone(),
        object: "chat.completion.chunk",
        created,
        model: MODEL_ID,
        choices: vec![ChunkChoice { index: 0, delta, finish_reason }],
        usage: None,
        sources: None,
    };
    // OpenAI streams are unnamed events: `data:` lines only, ended by `data: [DONE]`.
    fn data(value: impl Serialize) -> String {
        format!("data: {}\n\n", serde_json::to_value(value).unwrap_or_default())
    }
    let stream = answer_stream(platform.clone(), question, move |event| match event {
        AnswerEvent::Sources(found) => {
            sources = found;
            let role = ChunkDelta { role: Some("assistant"), content: Some(String::new()) };
            vec![data(chunk(role, None))]
        }
        AnswerEvent::Delta(piece) => {
            vec![data(chunk(ChunkDelta { role: None, content: Some(piece) }, None))]
        }
        AnswerEvent::Done(done) => {
            let last = ChatCompletionChunk {
                usage: Some(usage(&done)),
                sources: Some(std::mem::take(&mut sources)),
                ..chunk(ChunkDelta::default(), Some("stop"))
            };
            vec![data(last), "data: [DONE]\n\n".to_string()]
        }
        // The OpenAI wire format for an error in the middle of a stream.
        AnswerEvent::Error { code, message } => {
            let detail = StreamErrorDetail { code, message: &message, kind: "server_error" };
            vec![data(StreamError { error: detail })]
        }
    });
    Ok(event_stream(stream))
}

fn usage(done: &Done) -> CompletionUsage {
    CompletionUsage {
        prompt_tokens: done.usage.prompt_tokens,
        completion_tokens: done.usage.completion_tokens,
        total_tokens: done.usage.prompt_tokens + done.usage.completion_tokens,
    }
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
