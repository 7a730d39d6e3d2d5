//! The platform services Docent pays for by the call, counted as the functions call them:
//! `docent_platform_operations_total{service, operation}` beside the store's own SQL counters.
//! With them an operator (and `infra/scripts/bench-cost.sh`) can turn a crawl, a search or an
//! answer into dollars at the platform's prices.
//!
//! - `kv`: `read`, `write`, `delete` (every KV record goes through `KvState`, which meters itself).
//! - `queue`: `sent` (messages written, each a queue operation on Cloudflare) and `received` (each
//!   delivery a consumer handled: a read and, once acknowledged, a delete).
//! - `gate`: `acquire`, `release` (one Durable Object request each on Cloudflare; two SQL
//!   statements on Spin).
//! - `fetch`: `request` (outbound HTTP: pages, robots.txt, sitemaps, model providers, webhooks).

use docent_core::crawl::politeness::{Admission, HostLimits};
use docent_core::domain::CrawlMessage;
use docent_core::ops::metrics::PLATFORM_OPERATIONS;
use docent_core::ports::{
    CrawlQueue, FetchGate, FetchRequest, FetchResponse, Fetcher, KeyValue, PortResult,
    StreamingResponse,
};

use crate::Platform;

/// Where counted calls are recorded: the invocation's recorder, or nowhere (metrics off, tests).
#[derive(Clone, Copy, Default)]
pub struct Meter<'a> {
    recorder: Option<&'a crate::ops::Recorder>,
}

impl<'a> Meter<'a> {
    pub fn of<P: Platform>(platform: &'a P) -> Self {
        Meter { recorder: platform.config().ops.metrics.then(|| platform.recorder()) }
    }

    pub fn count(&self, service: &str, operation: &str, calls: usize) {
        if let Some(recorder) = self.recorder {
            recorder.count(&PLATFORM_OPERATIONS, &[service, operation], calls as f64);
        }
    }
}

/// A port whose calls are counted.
pub struct Metered<'a, T> {
    port: &'a T,
    meter: Meter<'a>,
}

impl<'a, T> Metered<'a, T> {
    pub fn new(port: &'a T, meter: Meter<'a>) -> Self {
        Metered { port, meter }
    }
}

pub fn queue<P: Platform>(platform: &P) -> Metered<'_, P::Queue> {
    Metered { port: platform.queue(), meter: Meter::of(platform) }
}

pub fn gate<P: Platform>(platform: &P) -> Metered<'_, P::Gate> {
    Metered { port: platform.gate(), meter: Meter::of(platform) }
}

pub fn fetcher<P: Platform>(platform: &P) -> Metered<'_, P::Fetch> {
    Metered { port: platform.fetcher(), meter: Meter::of(platform) }
}

impl<K: KeyValue> KeyValue for Metered<'_, K> {
    async fn get(&self, key: &str) -> PortResult<Option<String>> {
        self.meter.count("kv", "read", 1);
        self.port.get(key).await
    }
    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> PortResult<()> {
        self.meter.count("kv", "write", 1);
        self.port.put(key, value, ttl_seconds).await
    }
    async fn delete(&self, key: &str) -> PortResult<()> {
        self.meter.count("kv", "delete", 1);
        self.port.delete(key).await
    }
}

impl<Q: CrawlQueue> CrawlQueue for Metered<'_, Q> {
    async fn send_batch(&self, messages: &[CrawlMessage]) -> PortResult<()> {
        self.meter.count("queue", "sent", messages.len());
        self.port.send_batch(messages).await
    }
    async fn send_later(&self, messages: &[CrawlMessage], delay_seconds: u32) -> PortResult<()> {
        self.meter.count("queue", "sent", messages.len());
        self.port.send_later(messages, delay_seconds).await
    }
}

impl<G: FetchGate> FetchGate for Metered<'_, G> {
    async fn acquire_units(
        &self, key: &str, limits: &HostLimits, units: u32,
    ) -> PortResult<Admission> {
        self.meter.count("gate", "acquire", 1);
        self.port.acquire_units(key, limits, units).await
    }
    async fn release(&self, key: &str, lease: u64) -> PortResult<()> {
        self.meter.count("gate", "release", 1);
        self.port.release(key, lease).await
    }
}

impl<F: Fetcher> Fetcher for Metered<'_, F> {
    type Stream = F::Stream;
    async fn fetch(&self, request: FetchRequest) -> PortResult<FetchResponse> {
        self.meter.count("fetch", "request", 1);
        self.port.fetch(request).await
    }
    async fn open(&self, request: FetchRequest) -> PortResult<StreamingResponse<Self::Stream>> {
        self.meter.count("fetch", "request", 1);
        self.port.open(request).await
    }
}
