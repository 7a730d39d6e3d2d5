//! `fermyon:spin/llm@2.0.0` for tests: a small deterministic model in the host, the way the harness
//! keeps key-value in memory. A model must be in the component's `ai_models`, as on Spin. Inference
//! answers with a fixed sentence that names the model and cites the first passage; embeddings hash
//! words into a small vector, so texts sharing words are near. Tests can make every call fail, and
//! read the prompts the model was given.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::bindings::fermyon::spin::llm::{
    self, EmbeddingsResult, EmbeddingsUsage, Error, InferencingParams, InferencingResult,
    InferencingUsage,
};
use crate::Host;

/// Dimensions of the test embeddings.
pub const EMBEDDING_DIMENSIONS: usize = 64;

/// The test model's state, shared by the application's instances.
#[derive(Default)]
pub struct TestLlm {
    /// When set, every call fails with a runtime error (the model is down).
    pub failing: AtomicBool,
    /// (model, prompt, max tokens) of every inference asked for.
    pub prompts: Mutex<Vec<(String, String, Option<u32>)>>,
    /// Texts embedded so far.
    pub embedded: Mutex<usize>,
}

/// What the test model answers to any prompt with `model`.
pub fn answer_of(model: &str) -> String {
    format!("The test model {model} answers from the first passage [1].")
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// Bag-of-words hashed into [`EMBEDDING_DIMENSIONS`] buckets (FNV-1a), unnormalised.
pub fn embedding_of(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0; EMBEDDING_DIMENSIONS];
    for word in words(text) {
        let hash = word
            .bytes()
            .fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3));
        vector[(hash % EMBEDDING_DIMENSIONS as u64) as usize] += 1.0;
    }
    vector
}

impl Host {
    fn model_allowed(&self, model: &str) -> Result<(), Error> {
        if self.component.spec.ai_models.iter().any(|m| m == model) {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "component {} may not use model {model}: it is not in its ai_models",
                self.component.spec.id
            )))
        }
    }
}

impl llm::Host for Host {
    fn infer(
        &mut self, model: String, prompt: String, params: Option<InferencingParams>,
    ) -> wasmtime::Result<Result<InferencingResult, Error>> {
        if let Err(error) = self.model_allowed(&model) {
            return Ok(Err(error));
        }
        self.llm.prompts.lock().unwrap().push((
            model.clone(),
            prompt.clone(),
            params.map(|p| p.max_tokens),
        ));
        if self.llm.failing.load(Ordering::SeqCst) {
            return Ok(Err(Error::RuntimeError("the test model is down".into())));
        }
        let text = answer_of(&model);
        let usage = InferencingUsage {
            prompt_token_count: words(&prompt).count() as u32,
            generated_token_count: words(&text).count() as u32,
        };
        Ok(Ok(InferencingResult { text, usage }))
    }

    fn generate_embeddings(
        &mut self, model: String, text: Vec<String>,
    ) -> wasmtime::Result<Result<EmbeddingsResult, Error>> {
        if let Err(error) = self.model_allowed(&model) {
            return Ok(Err(error));
        }
        if self.llm.failing.load(Ordering::SeqCst) {
            return Ok(Err(Error::RuntimeError("the test model is down".into())));
        }
        *self.llm.embedded.lock().unwrap() += text.len();
        let prompt_token_count = text.iter().map(|t| words(t).count() as u32).sum();
        Ok(Ok(EmbeddingsResult {
            embeddings: text.iter().map(|t| embedding_of(t)).collect(),
            usage: EmbeddingsUsage { prompt_token_count },
        }))
    }
}
