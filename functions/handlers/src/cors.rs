//! Cross-origin requests: which pages of other sites may call which routes.
//!
//! A page on another origin (the widget on a customer's docs site) may call the public routes when
//! its origin is in `DOCENT_ALLOWED_ORIGINS`; [`check_origin`] refuses the others before any
//! work is done. Routes that need a key or a signature (admin, tickets by token, MCP, webhooks) are
//! never CORS-enabled: their preflight is refused, so a browser never sends the request. No
//! credentials are involved (Docent sets no cookies), so the allowed origin is echoed and
//! `Access-Control-Allow-Credentials` is never sent.

use http::{header, HeaderValue, Method, StatusCode};

use crate::http::{ApiError, Body, Request, Response};
use crate::routes::{lookup, Access, Lookup, Route};

/// How long a browser may reuse a preflight answer.
const PREFLIGHT_MAX_AGE_SECONDS: u32 = 600;
/// The request headers a page may send: everything else the public routes read is safelisted.
const ALLOWED_REQUEST_HEADERS: &str = "content-type";
/// Response headers a page may read besides the safelisted ones.
const EXPOSED_HEADERS: &str = "retry-after, etag";

/// The request's `Origin` when it is a page of another origin, lower-cased.
pub fn foreign_origin(request: &Request) -> Option<String> {
    let origin = request.headers().get(header::ORIGIN)?;
    // An origin that is not text is foreign (and matches no allowed origin).
    let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
    let own =
        request.uri().authority().map(|a| a.as_str().to_ascii_lowercase()).or_else(|| {
            Some(request.headers().get(header::HOST)?.to_str().ok()?.to_ascii_lowercase())
        });
    let same = own.is_some_and(|own| {
        origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")) == Some(&own)
    });
    (!same).then_some(origin)
}

/// Refuses a browser request sent from a page of another origin, unless that origin is allowed
/// (`DOCENT_ALLOWED_ORIGINS`): checked before any work, so another site cannot spend its
/// visitors' budgets or reach the MCP server through their browsers. Requests without `Origin`
/// (servers, command-line clients, same-origin navigations) pass.
pub fn check_origin(request: &Request, allowed: &[String]) -> Result<(), ApiError> {
    let Some(origin) = foreign_origin(request) else { return Ok(()) };
    if allowed.iter().any(|a| a == "*" || *a == origin) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        format!("requests from pages on {origin} are not allowed; an operator can add the origin to DOCENT_ALLOWED_ORIGINS"),
    ))
}

/// Whether pages of other (allowed) origins may call the route.
pub fn enabled(route: &Route) -> bool {
    route.access == Access::Public
}

/// Marks a response of a CORS-enabled route: readable by `foreign`, the (allowed) page origin that
/// asked, if any; and varying by `Origin` either way, so caches in front of Docent keep one copy per
/// page origin.
pub fn mark(response: &mut Response, foreign: Option<&str>) {
    let headers = response.headers_mut();
    if let Some(value) = foreign.and_then(|origin| HeaderValue::from_str(origin).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The answer to `OPTIONS` on a path: a CORS preflight when the request is one (it names the
/// method it wants in `Access-Control-Request-Method`), else the methods the path allows.
pub fn options(request: &Request, path: &str, allowed: &[String]) -> Result<Response, ApiError> {
    let Some(wanted) = request.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD) else {
        // No route is served on OPTIONS, so the lookup lists every method the path has.
        return match lookup(&Method::OPTIONS, path) {
            Lookup::WrongMethod(methods) => Ok(allow_header(&methods)),
            _ => Err(no_route(path)),
        };
    };
    let wanted = Method::from_bytes(wanted.as_bytes()).map_err(|_| {
        ApiError::bad_request(
            "invalid_preflight",
            "Access-Control-Request-Method is not an HTTP method",
        )
    })?;
    let route = match lookup(&wanted, path) {
        Lookup::Found(route, _) => route,
        Lookup::NotFound => return Err(no_route(path)),
        Lookup::WrongMethod(methods) => {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{wanted} is not allowed on {path}; use {}", methods.join(", ")),
            ))
        }
    };
    if !enabled(route) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cors_not_offered",
            format!(
                "{wanted} {path} cannot be called from another site's page: routes that need a key or a signature are not CORS-enabled"
            ),
        ));
    }
    check_origin(request, allowed)?;
    let mut response = http::Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, wanted.as_str())
        .header(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_REQUEST_HEADERS)
        .header(header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE_SECONDS)
        .header(header::VARY, "Access-Control-Request-Method, Access-Control-Request-Headers")
        .body(Body::empty())
        .expect("static preflight headers are valid");
    mark(&mut response, foreign_origin(request).as_deref());
    Ok(response)
}

fn allow_header(methods: &[&str]) -> Response {
    let mut list: Vec<&str> = methods.to_vec();
    list.push("OPTIONS");
    http::Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ALLOW, list.join(", "))
        .body(Body::empty())
        .expect("method names are valid header text")
}

fn no_route(path: &str) -> ApiError {
    ApiError::not_found(format!("no route for {path}; see /openapi.json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn preflight(path: &str, origin: &str, method: &str) -> Request {
        http::Request::builder()
            .method("OPTIONS")
            .uri(path)
            .header(header::HOST, "docent.example.net")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, method)
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Bytes::new())
            .unwrap()
    }

    fn header(response: &Response, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).map(|v| v.to_str().unwrap())
    }

    const DOCS: &str = "https://docs.example.com";

    #[test]
    fn an_allowed_page_may_post_questions_feedback_and_tickets() {
        let allowed = [DOCS.to_string()];
        for path in ["/api/chat", "/api/feedback", "/api/tickets"] {
            let response = options(&preflight(path, DOCS, "POST"), path, &allowed).unwrap();
            assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
            assert_eq!(header(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN), Some(DOCS));
            assert_eq!(header(&response, header::ACCESS_CONTROL_ALLOW_METHODS), Some("POST"));
            assert_eq!(
                header(&response, header::ACCESS_CONTROL_ALLOW_HEADERS),
                Some("content-type")
            );
            assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
        }
        let search = options(&preflight("/api/search", DOCS, "GET"), "/api/search", &allowed);
        assert_eq!(search.unwrap().status(), StatusCode::NO_CONTENT);
    }

    #[test]
    fn other_pages_and_keyed_routes_are_refused() {
        let allowed = [DOCS.to_string()];
        let status = |path: &str, origin: &str, method: &str| {
            options(&preflight(path, origin, method), path, &allowed).map_err(|e| e.status).err()
        };
        assert_eq!(
            status("/api/chat", "https://evil.example", "POST"),
            Some(StatusCode::FORBIDDEN)
        );
        for (path, method) in [
            ("/api/crawls", "POST"),
            ("/api/feedback", "GET"),
            ("/api/tickets/t1", "GET"),
            ("/mcp", "POST"),
            ("/hooks/docs", "POST"),
        ] {
            assert_eq!(status(path, DOCS, method), Some(StatusCode::FORBIDDEN), "{method} {path}");
        }
        assert_eq!(status("/api/chat", DOCS, "PUT"), Some(StatusCode::METHOD_NOT_ALLOWED));
        assert_eq!(status("/nowhere", DOCS, "GET"), Some(StatusCode::NOT_FOUND));
        let any = ["*".to_string()];
        let response =
            options(&preflight("/api/chat", "https://evil.example", "POST"), "/api/chat", &any);
        assert_eq!(
            header(&response.unwrap(), header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some("https://evil.example"),
            "`*` admits every page, named one by one"
        );
    }

    #[test]
    fn options_without_a_preflight_lists_the_methods() {
        let request = http::Request::builder()
            .method("OPTIONS")
            .uri("/api/crawls/x")
            .body(Bytes::new())
            .unwrap();
        let response = options(&request, "/api/crawls/x", &[]).unwrap();
        assert_eq!(header(&response, header::ALLOW), Some("GET, DELETE, OPTIONS"));
    }

    #[test]
    fn same_origin_pages_are_not_foreign() {
        let from = |origin: &str| {
            http::Request::builder()
                .uri("/api/chat")
                .header(header::HOST, "127.0.0.1:8787")
                .header(header::ORIGIN, origin)
                .body(Bytes::new())
                .unwrap()
        };
        assert_eq!(foreign_origin(&from("http://127.0.0.1:8787")), None);
        assert_eq!(
            foreign_origin(&from("http://127.0.0.1:9000")).as_deref(),
            Some("http://127.0.0.1:9000")
        );
    }

    #[test]
    fn browser_requests_from_other_origins_are_refused_unless_allowed() {
        let from = |origin: Option<&str>, host: &str| {
            let mut builder =
                http::Request::builder().method("POST").uri("/api/chat").header(header::HOST, host);
            if let Some(origin) = origin {
                builder = builder.header(header::ORIGIN, origin);
            }
            builder.body(Bytes::new()).unwrap()
        };
        let allowed = ["https://docs.example.com".to_string()];
        let check =
            |origin, host| check_origin(&from(origin, host), &allowed).map_err(|e| e.status);
        assert_eq!(check(None, "docent.example.net"), Ok(()), "no Origin: not a cross-site page");
        assert_eq!(check(Some("https://docent.example.net"), "docent.example.net"), Ok(()));
        assert_eq!(check(Some("http://127.0.0.1:8787"), "127.0.0.1:8787"), Ok(()));
        assert_eq!(check(Some("https://docs.example.com"), "docent.example.net"), Ok(()));
        for foreign in ["https://evil.example", "null", "https://docs.example.com.evil.example"] {
            assert_eq!(
                check(Some(foreign), "docent.example.net"),
                Err(StatusCode::FORBIDDEN),
                "{foreign}"
            );
        }
        let any = ["*".to_string()];
        assert!(check_origin(&from(Some("https://evil.example"), "d.example"), &any).is_ok());
    }
}
