//! The HTTP boundary shared by every shell: `http` crate types, a body that can stream, JSON
//! errors.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;

/// A request as the shells hand it over: the body is already read, within the configured limit.
pub type Request = http::Request<Bytes>;
pub type Response = http::Response<Body>;

/// A response body: whole, or a stream of chunks (server-sent events).
pub enum Body {
    Full(Bytes),
    Stream(Pin<Box<dyn Stream<Item = Bytes>>>),
}

impl Body {
    pub fn empty() -> Self {
        Body::Full(Bytes::new())
    }

    /// The whole body, for tests and non-streaming shells (a stream is drained).
    pub async fn collect(self) -> Bytes {
        use futures_util::StreamExt;
        match self {
            Body::Full(bytes) => bytes,
            Body::Stream(mut stream) => {
                let mut out = Vec::new();
                while let Some(chunk) = stream.next().await {
                    out.extend_from_slice(&chunk);
                }
                out.into()
            }
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Full(bytes) => write!(f, "Body::Full({} bytes)", bytes.len()),
            Body::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

/// The body of every error response (API.md).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

/// What went wrong: also the `data` of an `error` event in a chat stream.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ErrorDetail<'a> {
    /// Stable and snake_case, for programs (`rate_limited`, `invalid_request`, ...).
    pub code: &'a str,
    /// For people: what is wrong and how to fix it.
    pub message: &'a str,
}

/// An error answered as `{"error": {"code", "message"}}` (API.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// A storage or network failure inside Docent: the client did nothing wrong.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "backend_unavailable",
            format!("{context}: {error}"),
        )
    }

    /// Adds `Retry-After` (seconds) to the response, for 429 and 503.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: &self.message } };
        let mut response = json_response(self.status, &body);
        let retry_after =
            self.retry_after.or((self.status == StatusCode::SERVICE_UNAVAILABLE).then_some(5));
        if let Some(value) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<docent_core::ports::PortError> for ApiError {
    fn from(error: docent_core::ports::PortError) -> Self {
        ApiError::internal("storage", error)
    }
}

pub fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = http::Response::new(Body::Full(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A `text/event-stream` response of framed events as they are produced, never cached.
pub fn event_stream(stream: Pin<Box<dyn Stream<Item = Bytes>>>) -> Response {
    let mut response = http::Response::new(Body::Stream(stream));
    let headers = response.headers_mut();
    headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Parses a JSON request body into `T`, with errors that name what is wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    // Required, not assumed: a form or a `no-cors` fetch from another site cannot send this type
    // without a CORS preflight, so a write cannot be forged from a visitor's browser.
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_media_type);
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body with Content-Type: application/json",
        ));
    }
    if request.body().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the request body is empty; expected a JSON object",
        ));
    }
    serde_json::from_slice(request.body()).map_err(|e| {
        let code = if e.is_data() { "invalid_request" } else { "invalid_json" };
        ApiError::bad_request(code, format!("request body: {e}"))
    })
}

/// Longest a client may take to send its request body: a `Content-Length` that promises more than
/// arrives must not hold an instance.
pub const BODY_READ_TIMEOUT_MS: u64 = 10_000;

/// Runs a shell's body `read` against [`BODY_READ_TIMEOUT_MS`] on the platform's clock: the read's
/// own result, or 408 `request_timeout` when the body is late.
pub async fn read_in_time<P: crate::Platform, T>(
    platform: &P, read: impl std::future::Future<Output = T>,
) -> Result<T, ApiError> {
    use docent_core::ports::Clock;
    let read = std::pin::pin!(read);
    let deadline = std::pin::pin!(platform.clock().sleep(BODY_READ_TIMEOUT_MS));
    match futures_util::future::select(read, deadline).await {
        futures_util::future::Either::Left((result, _)) => Ok(result),
        futures_util::future::Either::Right(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request body did not arrive within {BODY_READ_TIMEOUT_MS} ms"),
        )),
    }
}

/// `application/json` or a `+json` type, parameters (`; charset=utf-8`) aside.
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The decoded value of query parameter `name`.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    let query = request.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Checks `Authorization: Bearer <admin key>`.
pub fn require_admin(request: &Request, admin_key: Option<&str>) -> Result<(), ApiError> {
    let Some(expected) = admin_key else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "admin_disabled",
            "admin routes are disabled until DOCENT_ADMIN_KEY is set",
        ));
    };
    let presented = bearer_token(request);
    match presented {
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <admin key>",
        )),
        Some(key)
            if docent_core::escalation::signature::ct_eq(key.as_bytes(), expected.as_bytes()) =>
        {
            Ok(())
        }
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the admin key is not valid",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/api/tickets");
        if let Some(value) = content_type {
            builder = builder.header(header::CONTENT_TYPE, value);
        }
        builder.body(Bytes::from(body.to_string())).unwrap()
    }

    #[test]
    fn writes_must_say_they_are_json() {
        let status = |request: Request| {
            parse_json::<serde_json::Value>(&request).err().map(|e| e.status.as_u16())
        };
        assert_eq!(status(post(None, "{}")), Some(415), "no Content-Type");
        assert_eq!(status(post(Some("text/plain"), "{}")), Some(415));
        assert_eq!(status(post(Some("application/x-www-form-urlencoded"), "{}")), Some(415));
        assert_eq!(status(post(Some("text/plain; note=json"), "{}")), Some(415));
        assert_eq!(status(post(Some("application/json"), "{}")), None);
        assert_eq!(status(post(Some("Application/JSON; charset=utf-8"), "{}")), None);
        assert_eq!(status(post(Some("application/merge-patch+json"), "{}")), None);
        assert_eq!(status(post(Some("application/json"), "")), Some(400), "empty body");
    }
}
