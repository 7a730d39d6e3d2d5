//! The Vectorize binding as a [`VectorizeIndex`]. `worker` 0.8.7 has no wrapper for it, so the
//! binding is declared here and taken from `env` by name. Inputs are built as JSON by
//! `docent_store::vectorize` and turned into plain JS objects with `JSON.parse` (serde_wasm_bindgen
//! would make maps into JS `Map`s, which Vectorize does not read); answers go back through
//! `JSON.stringify` to the core's parsers.
//!
//! Vectorize has no local simulator: under `wrangler dev --local` every call fails ("needs to be
//! run remotely"), so nothing here has run against a real index; the logic it carries is tested
//! natively.

use std::cell::Cell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

use docent_core::ports::{PortError, PortResult};
use docent_store::vectorize::store::VectorizeIndex;
use docent_store::vectorize::{self, IndexedVector, QueryPlan};

/// The `[[vectorize]]` binding in wrangler.toml.
pub const VECTORIZE_BINDING: &str = "VECTORIZE";

#[wasm_bindgen]
extern "C" {
    /// A Vectorize index binding of the Workers runtime.
    #[wasm_bindgen(extends = js_sys::Object)]
    pub type VectorizeBinding;

    #[wasm_bindgen(method, catch)]
    fn upsert(this: &VectorizeBinding, vectors: &JsValue) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn query(
        this: &VectorizeBinding, vector: &JsValue, options: &JsValue,
    ) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = getByIds)]
    fn get_by_ids(this: &VectorizeBinding, ids: &JsValue) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = deleteByIds)]
    fn delete_by_ids(this: &VectorizeBinding, ids: &JsValue) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn describe(this: &VectorizeBinding) -> Result<js_sys::Promise, JsValue>;
}

thread_local! {
    /// The index's dimensions, asked once per isolate (an index's dimensions never change).
    static DIMENSIONS: Cell<Option<u32>> = const { Cell::new(None) };
}

pub struct WorkersVectorize(VectorizeBinding);

impl WorkersVectorize {
    /// The binding named [`VECTORIZE_BINDING`], if wrangler.toml declares it.
    pub fn from_env(env: &Env) -> Option<WorkersVectorize> {
        let binding = js_sys::Reflect::get(env, &JsValue::from_str(VECTORIZE_BINDING)).ok()?;
        (binding.is_object()).then(|| WorkersVectorize(binding.unchecked_into()))
    }
}

/// A JS error's message. Calls fail transiently as far as Docent can tell (the binding does not say
/// which failures are permanent): the queue retries writes and hybrid search falls back to lexical.
fn failed(operation: &str, error: JsValue) -> PortError {
    let message = error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"));
    PortError::transient(format!("Vectorize {operation}: {message}"))
}

fn parse(operation: &str, json: &str) -> PortResult<JsValue> {
    js_sys::JSON::parse(json).map_err(|e| failed(operation, e))
}

async fn settle(operation: &str, call: Result<js_sys::Promise, JsValue>) -> PortResult<JsValue> {
    let promise = call.map_err(|e| failed(operation, e))?;
    JsFuture::from(promise).await.map_err(|e| failed(operation, e))
}

fn stringify(operation: &str, value: &JsValue) -> PortResult<String> {
    js_sys::JSON::stringify(value).map(String::from).map_err(|e| failed(operation, e))
}

impl VectorizeIndex for WorkersVectorize {
    async fn upsert(&self, vectors: &[IndexedVector]) -> PortResult<()> {
        let input = parse("upsert", &vectorize::upsert_json(vectors))?;
        // The answer is a mutation id; the ledger, not the answer, records what was written.
        settle("upsert", self.0.upsert(&input)).await.map(|_| ())
    }

    async fn query(&self, vector: &[f32], plan: &QueryPlan) -> PortResult<Vec<(String, f32)>> {
        let vector = parse("query", &vectorize::vector_json(vector))?;
        let options = parse("query", &plan.options_json())?;
        let answer = settle("query", self.0.query(&vector, &options)).await?;
        vectorize::parse_query_response(&stringify("query", &answer)?).map_err(PortError::transient)
    }

    async fn get_by_ids(&self, ids: &[String]) -> PortResult<Vec<(String, Vec<f32>)>> {
        let input = parse("getByIds", &vectorize::ids_json(ids))?;
        let answer = settle("getByIds", self.0.get_by_ids(&input)).await?;
        vectorize::parse_vectors_response(&stringify("getByIds", &answer)?)
            .map_err(PortError::transient)
    }

    async fn delete_by_ids(&self, ids: &[String]) -> PortResult<()> {
        let input = parse("deleteByIds", &vectorize::ids_json(ids))?;
        settle("deleteByIds", self.0.delete_by_ids(&input)).await.map(|_| ())
    }

    async fn dimensions(&self) -> PortResult<u32> {
        if let Some(dimensions) = DIMENSIONS.get() {
            return Ok(dimensions);
        }
        let answer = settle("describe", self.0.describe()).await?;
        let dimensions = vectorize::parse_dimensions(&stringify("describe", &answer)?)
            .map_err(PortError::transient)?;
        DIMENSIONS.set(Some(dimensions));
        Ok(dimensions)
    }
}
