//! Models behind a prompt-in, text-out interface that answers whole (Spin's LLM interface): the
//! chat rendered as one instruct prompt, and the whole answer turned into the server-sent events
//! every platform runtime's stream carries (the Workers AI format,
//! [`crate::llm::wire::WireFormat::WorkersAi`]), so the gateway reads it like any streamed answer, as a
//! single piece.

use crate::llm::prompt::Message;
use crate::llm::wire::Usage;

/// The conversation as a Llama 2 chat prompt (the format of Spin's `llama2-chat` and
/// `codellama-instruct`): the system message folded into the first instruction, each past answer
/// closing its turn, and the last user message left open for the model to answer.
pub fn instruct_prompt(messages: &[Message]) -> String {
    let system: Vec<&str> =
        messages.iter().filter(|m| m.role == "system").map(|m| m.content.as_str()).collect();
    let mut system = if system.is_empty() {
        String::new()
    } else {
        format!("<<SYS>>\n{}\n<</SYS>>\n\n", system.join("\n\n"))
    };
    let mut prompt = String::new();
    let mut open = false;
    for message in messages.iter().filter(|m| m.role != "system") {
        match message.role.as_str() {
            "assistant" if open => {
                prompt.push_str(&format!(" {} </s>", message.content.trim()));
                open = false;
            }
            // An answer with no question before it has no turn to close; the model need not see it.
            "assistant" => {}
            _ => {
                if open {
                    // Two questions in a row: the earlier one is part of the same instruction.
                    prompt.truncate(prompt.len() - " [/INST]".len());
                    prompt.push_str(&format!("\n\n{} [/INST]", message.content.trim()));
                } else {
                    prompt.push_str(&format!(
                        "<s>[INST] {}{} [/INST]",
                        std::mem::take(&mut system),
                        message.content.trim()
                    ));
                    open = true;
                }
            }
        }
    }
    prompt
}

/// A whole answer as a complete event stream: one event with all the text and the usage, then the
/// end.
pub fn whole_answer_events(text: &str, usage: Usage) -> Vec<u8> {
    let event = serde_json::json!({
        "response": text,
        "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens},
    });
    format!("data: {event}\n\ndata: [DONE]\n\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::sse::EventParser;
    use crate::llm::wire::{parse_stream_data, Piece, WireFormat};

    #[test]
    fn the_conversation_becomes_one_llama_prompt() {
        let messages = [
            Message::new("system", "Answer from the passages."),
            Message::new("user", "How do I install it?"),
            Message::new("assistant", "Run the installer [1]."),
            Message::new("user", "And on Linux?"),
        ];
        assert_eq!(
            instruct_prompt(&messages),
            "<s>[INST] <<SYS>>\nAnswer from the passages.\n<</SYS>>\n\nHow do I install it? [/INST] Run the installer [1]. </s>\
             <s>[INST] And on Linux? [/INST]"
        );
        // Two questions in a row share one instruction; a leading answer is dropped.
        let messages = [
            Message::new("assistant", "Hello."),
            Message::new("user", "One."),
            Message::new("user", "Two."),
        ];
        assert_eq!(instruct_prompt(&messages), "<s>[INST] One.\n\nTwo. [/INST]");
    }

    #[test]
    fn a_whole_answer_reads_back_as_one_piece_then_the_end() {
        let bytes = whole_answer_events(
            "Line one\nand \"two\" [1].",
            Usage { prompt_tokens: 120, completion_tokens: 9 },
        );
        let events = EventParser::default().feed(std::str::from_utf8(&bytes).unwrap());
        let pieces: Vec<Piece> = events
            .iter()
            .flat_map(|e| parse_stream_data(WireFormat::WorkersAi, &e.data).unwrap())
            .collect();
        assert_eq!(
            pieces,
            vec![
                Piece::Text("Line one\nand \"two\" [1].".into()),
                Piece::Usage(Usage { prompt_tokens: 120, completion_tokens: 9 }),
                Piece::Done
            ]
        );
    }
}
