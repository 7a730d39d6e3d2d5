//! The wire formats of OpenAI-compatible endpoints and Workers AI: request bodies, streamed and
//! whole answers, usage and provider errors.

use serde::{Deserialize, Serialize};

use crate::llm::prompt::Message;

/// The body of an OpenAI-compatible `POST /chat/completions`.
pub fn openai_chat_body(
    model: &str, messages: &[Message], max_tokens: u32, stream: bool,
) -> serde_json::Value {
    let mut body = serde_json::json!({
        "model": model,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0.2,
        "stream": stream,
    });
    if stream {
        body["stream_options"] = serde_json::json!({"include_usage": true});
    }
    body
}

/// The input of a Workers AI text-generation model.
pub fn workers_ai_input(messages: &[Message], max_tokens: u32, stream: bool) -> serde_json::Value {
    serde_json::json!({"messages": messages, "max_tokens": max_tokens, "temperature": 0.2, "stream": stream})
}

/// Tokens a provider reports for one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// What one streamed event of an answer carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Usage(Usage),
    /// The provider said the answer is complete.
    Done,
}

/// The answer formats Docent speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    OpenAi,
    WorkersAi,
}

fn usage_of(value: &serde_json::Value) -> Option<Usage> {
    let usage = value.get("usage").filter(|u| u.is_object())?;
    let count = |name: &str| {
        usage
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .map(|n| n.min(u64::from(u32::MAX)) as u32)
    };
    Some(Usage {
        prompt_tokens: count("prompt_tokens")?,
        completion_tokens: count("completion_tokens").unwrap_or(0),
    })
}

/// Parses the `data` of one server-sent event of a streamed answer. An `Err` means the provider
/// sent something that is not its protocol: the answer cannot be trusted and the next provider is
/// asked.
pub fn parse_stream_data(format: WireFormat, data: &str) -> Result<Vec<Piece>, String> {
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(vec![Piece::Done]);
    }
    let value: serde_json::Value = serde_json::from_str(data)
        .map_err(|e| format!("malformed stream event ({e}): {}", clip(data)))?;
    if let Some(error) = value.get("error") {
        return Err(format!(
            "the provider reported an error mid-answer: {}",
            clip(&error.to_string())
        ));
    }
    let mut pieces = Vec::new();
    match format {
        WireFormat::OpenAi => {
            let choices = value
                .get("choices")
                .and_then(|c| c.as_array())
                .ok_or_else(|| format!("stream event without choices: {}", clip(data)))?;
            for choice in choices {
                if let Some(text) = choice
                    .pointer("/delta/content")
                    .and_then(|t| t.as_str())
                    .filter(|t| !t.is_empty())
                {
                    pieces.push(Piece::Text(text.to_string()));
                }
            }
        }
        WireFormat::WorkersAi => {
            if let Some(text) =
                value.get("response").and_then(|t| t.as_str()).filter(|t| !t.is_empty())
            {
                pieces.push(Piece::Text(text.to_string()));
            }
        }
    }
    if let Some(usage) = usage_of(&value) {
        pieces.push(Piece::Usage(usage));
    }
    Ok(pieces)
}

/// Parses a whole (non-streamed) answer: its text and the usage the provider reported.
pub fn parse_completion(
    format: WireFormat, body: &[u8],
) -> Result<(String, Option<Usage>), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("malformed answer ({e})"))?;
    let text = match format {
        WireFormat::OpenAi => value.pointer("/choices/0/message/content").and_then(|t| t.as_str()),
        WireFormat::WorkersAi => value
            .get("response")
            .or_else(|| value.pointer("/result/response"))
            .and_then(|t| t.as_str()),
    };
    let text = text.ok_or_else(|| format!("answer without text: {}", clip(&value.to_string())))?;
    Ok((text.to_string(), usage_of(&value)))
}

/// An error body's message, for logs and the user-facing `error` event.
pub fn provider_error_message(body: &[u8]) -> String {
    let value: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = value.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
    });
    clip(&message.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()))
}

fn clip(text: &str) -> String {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

// ---- Quotas, prices, caching ----

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_streams_parse_and_garbage_is_an_error() {
        let chunk = r#"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}"#;
        assert_eq!(
            parse_stream_data(WireFormat::OpenAi, chunk).unwrap(),
            vec![Piece::Text("Hello".into())]
        );
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#;
        assert_eq!(
            parse_stream_data(WireFormat::OpenAi, usage).unwrap(),
            vec![Piece::Usage(Usage { prompt_tokens: 12, completion_tokens: 3 })]
        );
        assert_eq!(parse_stream_data(WireFormat::OpenAi, "[DONE]").unwrap(), vec![Piece::Done]);
        assert!(parse_stream_data(WireFormat::OpenAi, "{not json").is_err());
        assert!(parse_stream_data(WireFormat::OpenAi, r#"{"error":{"message":"overloaded"}}"#)
            .unwrap_err()
            .contains("overloaded"));
        assert!(
            parse_stream_data(WireFormat::OpenAi, r#"{"id":"x"}"#).is_err(),
            "no choices is not the protocol"
        );
        let workers = r#"{"response":"Hi","p":"abc"}"#;
        assert_eq!(
            parse_stream_data(WireFormat::WorkersAi, workers).unwrap(),
            vec![Piece::Text("Hi".into())]
        );
        let whole = br#"{"choices":[{"message":{"role":"assistant","content":"Yes [1]"}}],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#;
        assert_eq!(
            parse_completion(WireFormat::OpenAi, whole).unwrap(),
            ("Yes [1]".into(), Some(Usage { prompt_tokens: 5, completion_tokens: 2 }))
        );
        assert_eq!(
            provider_error_message(br#"{"error":{"message":"Rate limit reached"}}"#),
            "Rate limit reached"
        );
        let body = openai_chat_body("m", &[Message::new("user", "hi")], 100, true);
        assert_eq!(body["stream_options"]["include_usage"], true);
    }
}
