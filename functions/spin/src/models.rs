//! The `ModelRuntime` port on Spin's LLM interface (`fermyon:spin/llm@2.0.0`): inference and
//! embeddings by models the host serves, allowed per component by `ai_models` in spin.toml. The
//! interface answers whole, so an answer reaches the gateway as one piece (`core::instruct`); and
//! its calls are synchronous, so the gateway's deadlines are checked only once a call has returned.

use docent_core::llm::instruct::{instruct_prompt, whole_answer_events};
use docent_core::llm::prompt::Message;
use docent_core::llm::wire::Usage;
use docent_core::ports::{ByteStream, ModelRuntime, PortError, PortResult};
use spin_sdk::llm::{self, EmbeddingModel, InferencingModel, InferencingParams};

/// Below Workers AI's default of 0.6: answers grounded in passages, not creative writing.
const TEMPERATURE: f32 = 0.2;

pub struct SpinLlm;

/// A whole answer as its event stream, handed over in one piece.
pub struct WholeAnswer(Option<Vec<u8>>);

impl ByteStream for WholeAnswer {
    async fn next_chunk(&mut self) -> Option<PortResult<Vec<u8>>> {
        self.0.take().map(Ok)
    }
}

fn failure(what: &str, model: &str, error: llm::Error) -> PortError {
    match error {
        // Not listed in `ai_models`, or not served by this host: asking again will not help.
        llm::Error::ModelNotSupported => PortError::permanent(format!("Spin LLM {what}: model {model} is not supported here (is it in the component's ai_models?)")),
        llm::Error::InvalidInput(message) => PortError::permanent(format!("Spin LLM {what} with {model}: invalid input: {message}")),
        llm::Error::RuntimeError(message) => PortError::transient(format!("Spin LLM {what} with {model}: {message}")),
    }
}

impl ModelRuntime for SpinLlm {
    type Stream = WholeAnswer;

    async fn stream_chat(
        &self, model: &str, messages: &[Message], max_tokens: u32,
    ) -> PortResult<WholeAnswer> {
        let params = InferencingParams {
            max_tokens,
            temperature: TEMPERATURE,
            ..InferencingParams::default()
        };
        let result = llm::infer_with_options(
            InferencingModel::Other(model),
            &instruct_prompt(messages),
            params,
        )
        .map_err(|e| failure("inference", model, e))?;
        let usage = Usage {
            prompt_tokens: result.usage.prompt_token_count,
            completion_tokens: result.usage.generated_token_count,
        };
        Ok(WholeAnswer(Some(whole_answer_events(&result.text, usage))))
    }

    async fn embed(&self, model: &str, texts: &[String]) -> PortResult<Vec<Vec<f32>>> {
        let result = llm::generate_embeddings(EmbeddingModel::Other(model), texts)
            .map_err(|e| failure("embeddings", model, e))?;
        Ok(result.embeddings)
    }
}
