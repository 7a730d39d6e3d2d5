//! Metric deltas gathered per isolate and written once a second: an isolate serves many requests,
//! so instead of one upsert per request, each request hands its deltas to the isolate's buffer and
//! one flusher, running in some request's `waitUntil`, writes them together.
//!
//! Nothing is left behind: the flusher stops after [`FLUSHER_TICKS`] writes (a `waitUntil` may not
//! run for ever), marking itself stopped *before* its last write, so a request that hands over
//! deltas after that write finds no flusher running and starts one.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use docent_core::ops::metrics::MetricsBuffer;
use docent_core::ports::Clock;
use docent_functions::{ops, Platform};
use worker::Context;

use crate::Cloudflare;

/// How long deltas wait in the isolate before they are written.
const FLUSH_INTERVAL_MS: u64 = 1_000;
/// Writes one flusher makes before it stops (its `waitUntil` ends).
const FLUSHER_TICKS: u32 = 10;

thread_local! {
    static PENDING: RefCell<MetricsBuffer> = RefCell::new(MetricsBuffer::default());
    static FLUSHER_RUNNING: Cell<bool> = const { Cell::new(false) };
}

/// Moves the invocation's deltas into the isolate's buffer and makes sure a flusher will write
/// them.
pub fn gather(platform: &Cloudflare, context: &Rc<Context>) {
    let deltas = platform.recorder().take();
    if deltas.is_empty() {
        return;
    }
    PENDING.with(|pending| pending.borrow_mut().restore(deltas));
    if !FLUSHER_RUNNING.get() {
        FLUSHER_RUNNING.set(true);
        let platform = platform.clone();
        context.wait_until(async move { run_flusher(platform).await });
    }
}

async fn run_flusher(platform: Cloudflare) {
    for _ in 0..FLUSHER_TICKS {
        platform.clock().sleep(FLUSH_INTERVAL_MS).await;
        if PENDING.with(|pending| pending.borrow().is_empty()) {
            break;
        }
        write_pending(&platform).await;
    }
    FLUSHER_RUNNING.set(false);
    write_pending(&platform).await;
}

async fn write_pending(platform: &Cloudflare) {
    let deltas = PENDING.with(|pending| pending.borrow_mut().take());
    if let Err(deltas) = ops::write_deltas(platform, deltas).await {
        PENDING.with(|pending| pending.borrow_mut().restore(deltas));
    }
}
