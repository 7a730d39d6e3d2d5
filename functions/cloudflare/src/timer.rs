//! A timer future on the Workers runtime's `setTimeout`.
//!
//! `worker::Delay` keeps the waker of its first poll only. A timer raced against a stream read
//! inside a streamed response is polled again from later tasks (each pull of the response body is
//! its own task), so the first task's waker is stale and the timer never wakes anyone: a model
//! stream that stalled mid-answer was waited on for as long as it stalled. This timer wakes the
//! latest poller.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

#[derive(Default)]
struct Shared {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

pub struct Timer {
    ms: u64,
    shared: Rc<Shared>,
    callback: Option<Closure<dyn FnMut()>>,
    handle: Option<JsValue>,
}

impl Timer {
    pub fn after_ms(ms: u64) -> Timer {
        Timer { ms, shared: Rc::default(), callback: None, handle: None }
    }
}

fn global_function(name: &str) -> Option<js_sys::Function> {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into().ok())
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.fired.get() {
            return Poll::Ready(());
        }
        *self.shared.waker.borrow_mut() = Some(cx.waker().clone());
        if self.callback.is_none() {
            let shared = self.shared.clone();
            let callback = Closure::<dyn FnMut()>::new(move || {
                shared.fired.set(true);
                if let Some(waker) = shared.waker.borrow_mut().take() {
                    waker.wake();
                }
            });
            let delay = JsValue::from_f64(self.ms.min(i32::MAX as u64) as f64);
            // setTimeout always exists in a Workers isolate; without it the timer could never fire.
            let set_timeout = global_function("setTimeout").expect("setTimeout");
            self.handle =
                set_timeout.call2(&JsValue::NULL, callback.as_ref().unchecked_ref(), &delay).ok();
            self.callback = Some(callback);
        }
        Poll::Pending
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let (false, Some(handle)) = (self.shared.fired.get(), &self.handle) {
            if let Some(clear) = global_function("clearTimeout") {
                let _ = clear.call1(&JsValue::NULL, handle);
            }
        }
    }
}
