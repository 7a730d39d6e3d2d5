//! The `Fetcher` port on wasi:http (spin-sdk's client): outbound hosts are limited by spin.toml's
//! `allowed_outbound_hosts`, redirects are never followed by the host, and the whole exchange of
//! `fetch` has one deadline, as on Workers.

use bytes::Bytes;
use docent_core::ports::{
    append_capped, ByteStream, Clock, FetchRequest, FetchResponse, Fetcher, PortError, PortResult,
    StreamingResponse,
};
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use spin_sdk::http::body::IncomingBodyExt;

use crate::SpinClock;

pub struct SpinFetch {
    timeout_ms: u64,
}

impl SpinFetch {
    pub fn new(timeout_ms: u64) -> Self {
        SpinFetch { timeout_ms }
    }
}

type IncomingStream =
    http_body_util::BodyDataStream<spin_sdk::wasip3::http_compat::IncomingResponseBody>;

/// A response body as wasi:http delivers it.
pub struct SpinStream(IncomingStream);

impl ByteStream for SpinStream {
    async fn next_chunk(&mut self) -> Option<PortResult<Vec<u8>>> {
        self.0.next().await.map(|chunk| {
            chunk
                .map(|bytes| bytes.to_vec())
                .map_err(|e| PortError::transient(format!("response body: {e:?}")))
        })
    }
}

fn headers_of(response: &spin_sdk::http::Response) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            value.to_str().ok().map(|v| (name.as_str().to_string(), v.to_string()))
        })
        .collect()
}

/// Sends `request` as it describes it (method, headers, body). A 3xx answer is returned as it is:
/// the crawl follows redirects itself, each hop through its outbound policy.
async fn send(request: &FetchRequest) -> PortResult<spin_sdk::http::Response> {
    let url = &request.url;
    let mut builder =
        http::Request::builder().method(request.method.to_ascii_uppercase().as_str()).uri(url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let outbound = builder
        .body(http_body_util::Full::new(Bytes::from(request.body.clone().unwrap_or_default())))
        .map_err(|e| PortError::permanent(format!("request {url}: {e}")))?;
    spin_sdk::http::send(outbound)
        .await
        .map_err(|e| PortError::transient(format!("fetch {url}: {e:?}")))
}

impl SpinFetch {
    async fn exchange(&self, request: FetchRequest) -> PortResult<FetchResponse> {
        let response = send(&request).await?;
        let url = request.url.clone();
        let status = response.status().as_u16();
        let headers = headers_of(&response);
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut truncated = declared.is_some_and(|n| n > request.max_body_bytes);
        let mut body = Vec::new();
        if !truncated {
            // At most max_body_bytes + 1 are read, so an oversized body is detected without
            // buffering it.
            let mut stream = response.into_body().stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk
                    .map_err(|e| PortError::transient(format!("response body of {url}: {e:?}")))?;
                if append_capped(&mut body, &chunk, request.max_body_bytes) {
                    truncated = true;
                    break;
                }
            }
        }
        Ok(FetchResponse { status, url, headers, body, truncated })
    }
}

impl Fetcher for SpinFetch {
    type Stream = SpinStream;

    async fn fetch(&self, request: FetchRequest) -> PortResult<FetchResponse> {
        let url = request.url.clone();
        let exchange = std::pin::pin!(self.exchange(request));
        let deadline = std::pin::pin!(SpinClock.sleep(self.timeout_ms));
        match select(exchange, deadline).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => Err(PortError::transient(format!(
                "fetch {url}: no complete answer within {} ms",
                self.timeout_ms
            ))),
        }
    }

    async fn open(&self, request: FetchRequest) -> PortResult<StreamingResponse<SpinStream>> {
        let response = send(&request).await?;
        let status = response.status().as_u16();
        let headers = headers_of(&response);
        Ok(StreamingResponse { status, headers, body: SpinStream(response.into_body().stream()) })
    }
}
