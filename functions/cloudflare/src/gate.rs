//! Per-host politeness on Cloudflare: one Durable Object per host (and one for the global cap).
//!
//! A Durable Object is a single-threaded instance with a globally unique name, so every queue
//! consumer of every isolate that asks about `docs.example.com` talks to the same object, which
//! decides in memory with no await between reading and updating the state. KV could not do this: it
//! is eventually consistent, so two consumers would both see a free slot. The state is not
//! persisted: an object is only evicted after it has been idle, and an idle host's bucket is full
//! again anyway.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response,
    State,
};

use docent_core::crawl::politeness::{Admission, HostGate, HostLimits};
use docent_core::ports::{FetchGate, PortError, PortResult};

/// The binding of the `CrawlGate` class in wrangler.toml.
pub const GATE_BINDING: &str = "CRAWL_GATE";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum GateRequest {
    Acquire {
        limits: HostLimits,
        #[serde(default = "one")]
        units: u32,
    },
    Release {
        lease: u64,
    },
}

fn one() -> u32 {
    1
}

#[durable_object]
pub struct CrawlGate {
    gate: RefCell<HostGate>,
}

impl DurableObject for CrawlGate {
    fn new(_state: State, _env: Env) -> Self {
        let started = js_sys::Date::now() as u64;
        CrawlGate { gate: RefCell::new(HostGate::starting_after(started.saturating_mul(1000))) }
    }

    async fn fetch(&self, mut request: Request) -> worker::Result<Response> {
        let now = js_sys::Date::now() as u64;
        match request.json::<GateRequest>().await? {
            GateRequest::Acquire { limits, units } => {
                let admission = self.gate.borrow_mut().acquire_units(&limits, units, now);
                Response::from_json(&admission)
            }
            GateRequest::Release { lease } => {
                self.gate.borrow_mut().release(lease);
                Response::empty()
            }
        }
    }
}

/// The [`FetchGate`] port on the `CrawlGate` namespace.
pub struct WorkersGate(pub ObjectNamespace);

impl WorkersGate {
    async fn call(&self, key: &str, request: &GateRequest) -> PortResult<Response> {
        let failed =
            |e: worker::Error| PortError::transient(format!("politeness gate for {key}: {e}"));
        let stub = self.0.id_from_name(key).and_then(|id| id.get_stub()).map_err(failed)?;
        let body =
            serde_json::to_string(request).map_err(|e| PortError::permanent(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let request = Request::new_with_init("https://crawl-gate/", &init).map_err(failed)?;
        let response = stub.fetch_with_request(request).await.map_err(failed)?;
        if response.status_code() >= 400 {
            return Err(PortError::transient(format!(
                "politeness gate for {key} answered HTTP {}",
                response.status_code()
            )));
        }
        Ok(response)
    }
}

impl FetchGate for WorkersGate {
    async fn acquire_units(
        &self, key: &str, limits: &HostLimits, units: u32,
    ) -> PortResult<Admission> {
        let mut response = self.call(key, &GateRequest::Acquire { limits: *limits, units }).await?;
        response
            .json()
            .await
            .map_err(|e| PortError::transient(format!("politeness gate for {key}: {e}")))
    }

    async fn release(&self, key: &str, lease: u64) -> PortResult<()> {
        self.call(key, &GateRequest::Release { lease }).await.map(|_| ())
    }
}
