//! A scripted fake of an OpenAI-compatible chat-completions server, for tests.
//!
//! Every `POST /v1/chat/completions` consumes the next [`Script`] entry, in order; once the script
//! runs out the default reply (`Answer("OK [1]")` unless [`FakeLlm::set_default_reply`] changed it)
//! answers. `GET /v1/models` lists one model; `POST /hooks/...` is taken with 204 (the fake then
//! stands for a webhook receiver, such as an alert relay); anything else is a 404 with a JSON error.
//! Every request (whatever its path and whatever the answer) is recorded with its arrival time, its
//! headers and JSON body.
//!
//! The server speaks HTTP/1.1 on 127.0.0.1, one thread per connection, and closes the connection
//! after each response (`Connection: close`). Streamed answers use chunked transfer encoding, one
//! server-sent event per HTTP chunk, written as soon as it is ready.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// What the server does with one chat-completions request.
#[derive(Clone, Debug, PartialEq)]
pub enum Script {
    /// Success. Honours the request's `"stream"` flag: server-sent chunks if true, one JSON
    /// completion if not. Usage is estimated in words.
    Answer(String),
    /// As [`Script::Answer`], reporting these `prompt_tokens` and `completion_tokens`.
    AnswerWithUsage(String, u32, u32),
    /// An error status (with `Retry-After` if given) and a JSON body
    /// `{"error":{"message": body, "type": …}}`.
    Status { status: u16, retry_after: Option<u32>, body: String },
    /// Reads the request, sleeps, then answers as `Answer("late")` would.
    StallBeforeHeaders(Duration),
    /// Streamed: sends the role chunk and `chunks_before_stall` content chunks, sleeps `stall`,
    /// then sends the rest of the stream. Not streamed: sends the headers and the first half of the
    /// JSON body, sleeps, then sends the second half.
    StallAfterChunks { text: String, chunks_before_stall: usize, stall: Duration },
    /// A 200 `text/event-stream` whose data lines are not valid JSON, and no `[DONE]`.
    Malformed,
    /// Reads the request, then closes the connection without answering.
    Disconnect,
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct LlmRequest {
    /// The request path, without any query string.
    pub path: String,
    /// When the request line arrived.
    pub at: Instant,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// Every header, names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body as sent.
    pub raw_body: Vec<u8>,
    /// The body parsed as JSON; `Null` when empty, a JSON string holding the text when it is not
    /// JSON.
    pub body: Value,
}

struct State {
    script: VecDeque<Script>,
    default_reply: Script,
    requests: Vec<LlmRequest>,
}

/// The fake server; its accepting thread stops when it is dropped.
pub struct FakeLlm {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

const MODEL: &str = "fake-model";
/// The pause between streamed chunks, so that streaming is observable.
const CHUNK_PAUSE: Duration = Duration::from_millis(5);

impl FakeLlm {
    pub fn start(script: Vec<Script>) -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake LLM");
        let port = listener.local_addr().expect("fake LLM address").port();
        let state = Arc::new(Mutex::new(State {
            script: script.into(),
            default_reply: Script::Answer("OK [1]".to_string()),
            requests: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let ids = Arc::new(AtomicU64::new(1));
        let (st, halt) = (state.clone(), stop.clone());
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (st, ids) = (st.clone(), ids.clone());
                std::thread::spawn(move || {
                    let _ = handle(stream, &st, &ids);
                });
            }
        });
        FakeLlm { port, state, stop, acceptor: Some(acceptor) }
    }

    /// `http://127.0.0.1:<port>/v1`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Appends to the script.
    pub fn push(&self, more: Vec<Script>) {
        self.state.lock().unwrap().script.extend(more);
    }

    /// The reply used once the script is empty.
    pub fn set_default_reply(&self, reply: Script) {
        self.state.lock().unwrap().default_reply = reply;
    }

    /// Every request received (any path), in the order the script was consumed.
    pub fn requests(&self) -> Vec<LlmRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// How many requests were received (any path).
    pub fn request_count(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// A request head and body, read whole.
struct Incoming {
    method: String,
    path: String,
    at: Instant,
    authorization: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(
    reader: &mut BufReader<TcpStream>, out: &mut TcpStream,
) -> std::io::Result<Option<Incoming>> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(None);
    }
    let at = Instant::now();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/").to_string();
    let (mut content_length, mut chunked, mut expect_continue, mut authorization) =
        (None, false, false, None);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        headers.push((name.trim().to_ascii_lowercase(), value.to_string()));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => content_length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
            "authorization" => authorization = Some(value.to_string()),
            _ => {}
        }
    }
    if expect_continue {
        out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let mut body = vec![0; content_length.unwrap_or(0)];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(Some(Incoming { method, path, at, authorization, headers, body }))
}

/// A chunked request body, its trailers skipped.
fn read_chunked(reader: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line)? == 0 {
            return Ok(body);
        }
        let size = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("bad chunk size {size_line:?}"),
            )
        })?;
        if size == 0 {
            loop {
                let mut trailer = String::new();
                if reader.read_line(&mut trailer)? == 0 || trailer.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = String::new();
        reader.read_line(&mut crlf)?;
    }
}

fn handle(stream: TcpStream, state: &Mutex<State>, ids: &AtomicU64) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let Some(incoming) = read_request(&mut reader, &mut out)? else { return Ok(()) };
    let body = if incoming.body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&incoming.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&incoming.body).into_owned()))
    };
    let is_chat = incoming.method == "POST" && incoming.path == "/v1/chat/completions";
    // The script entry is taken under the same lock as the request is recorded, so the n-th
    // recorded chat request is the one that consumed the n-th entry.
    let script = {
        let mut state = state.lock().unwrap();
        state.requests.push(LlmRequest {
            path: incoming.path.clone(),
            at: incoming.at,
            authorization: incoming.authorization.clone(),
            headers: incoming.headers.clone(),
            raw_body: incoming.body.clone(),
            body: body.clone(),
        });
        if is_chat {
            Some(state.script.pop_front().unwrap_or_else(|| state.default_reply.clone()))
        } else {
            None
        }
    };
    match script {
        Some(script) => {
            let request = ChatRequest::new(&body, ids.fetch_add(1, Ordering::SeqCst));
            answer(&mut out, &request, script)
        }
        None if incoming.method == "POST" && incoming.path.starts_with("/hooks/") => {
            out.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        }
        None if incoming.method == "GET" && incoming.path == "/v1/models" => {
            let models = json!({
                "object": "list",
                "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "docent-tests"}],
            });
            write_json(&mut out, 200, &[], &models)
        }
        None => {
            let message = format!("no route for {} {}", incoming.method, incoming.path);
            write_json(
                &mut out,
                404,
                &[],
                &json!({"error": {"message": message, "type": "invalid_request_error"}}),
            )
        }
    }
}

/// What an answer needs from the request.
struct ChatRequest {
    id: String,
    created: u64,
    model: String,
    stream: bool,
    include_usage: bool,
    prompt_words: u32,
}

impl ChatRequest {
    fn new(body: &Value, n: u64) -> ChatRequest {
        let created =
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let prompt_words = body["messages"]
            .as_array()
            .map(|messages| messages.iter().map(|m| words(&content_text(&m["content"]))).sum())
            .unwrap_or(0);
        ChatRequest {
            id: format!("chatcmpl-fake{n}"),
            created,
            model: body["model"].as_str().unwrap_or(MODEL).to_string(),
            stream: body["stream"].as_bool().unwrap_or(false),
            include_usage: body["stream_options"]["include_usage"].as_bool().unwrap_or(false),
            prompt_words,
        }
    }

    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        })
    }

    fn completion(&self, text: &str, usage: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": usage,
        })
    }
}

/// A message's content as text: a string, or the text parts of an array of parts.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(" ")
        }
        _ => String::new(),
    }
}

fn words(text: &str) -> u32 {
    text.split_whitespace().count() as u32
}

fn usage(prompt_tokens: u32, completion_tokens: u32) -> Value {
    json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens})
}

/// The text cut into stream chunks: each word with the whitespace after it.
fn pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_space = true;
        } else if in_space {
            pieces.push(&text[start..i]);
            start = i;
            in_space = false;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

fn answer(out: &mut TcpStream, request: &ChatRequest, script: Script) -> std::io::Result<()> {
    match script {
        Script::Answer(text) => {
            let usage = usage(request.prompt_words, words(&text));
            success(out, request, &text, usage, None)
        }
        Script::AnswerWithUsage(text, prompt, completion) => {
            success(out, request, &text, usage(prompt, completion), None)
        }
        Script::StallBeforeHeaders(pause) => {
            std::thread::sleep(pause);
            let text = "late";
            success(out, request, text, usage(request.prompt_words, words(text)), None)
        }
        Script::StallAfterChunks { text, chunks_before_stall, stall } => {
            let usage = usage(request.prompt_words, words(&text));
            success(out, request, &text, usage, Some((chunks_before_stall, stall)))
        }
        Script::Status { status, retry_after, body } => {
            let kind = match status {
                400 => "invalid_request_error",
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                429 => "rate_limit_error",
                500..=599 => "server_error",
                _ => "api_error",
            };
            let message = if body.is_empty() { reason(status).to_string() } else { body };
            let retry = retry_after.map(|s| format!("Retry-After: {s}"));
            write_json(
                out,
                status,
                retry.as_slice(),
                &json!({"error": {"message": message, "type": kind}}),
            )
        }
        Script::Malformed => {
            start_stream(out)?;
            send_chunk(out, b"data: {\"id\":\"chatcmpl-broken\",\"choices\":[{\"delta\":{\"content\":\"half\n\n")?;
            std::thread::sleep(CHUNK_PAUSE);
            send_chunk(out, b"data: this is not json\n\n")?;
            end_stream(out)
        }
        Script::Disconnect => {
            let _ = out.shutdown(std::net::Shutdown::Both);
            Ok(())
        }
    }
}

/// A successful answer, streamed or not, optionally stalling after some chunks.
fn success(
    out: &mut TcpStream, request: &ChatRequest, text: &str, usage: Value,
    stall: Option<(usize, Duration)>,
) -> std::io::Result<()> {
    if !request.stream {
        let body = serde_json::to_vec(&request.completion(text, usage))?;
        let Some((_, pause)) = stall else {
            return write_body(out, 200, "application/json", &[], &body);
        };
        let half = body.len() / 2;
        write_head(out, 200, "application/json", &[], Some(body.len()))?;
        out.write_all(&body[..half])?;
        out.flush()?;
        std::thread::sleep(pause);
        out.write_all(&body[half..])?;
        return out.flush();
    }
    start_stream(out)?;
    send_event(out, &request.chunk(json!({"role": "assistant", "content": ""}), None))?;
    for (i, piece) in pieces(text).into_iter().enumerate() {
        if let Some((before, pause)) = stall {
            if i == before {
                std::thread::sleep(pause);
            }
        }
        std::thread::sleep(CHUNK_PAUSE);
        send_event(out, &request.chunk(json!({"content": piece}), None))?;
    }
    if let Some((before, pause)) = stall {
        if before >= pieces(text).len() {
            std::thread::sleep(pause);
        }
    }
    std::thread::sleep(CHUNK_PAUSE);
    send_event(out, &request.chunk(json!({}), Some("stop")))?;
    if request.include_usage {
        let chunk = json!({
            "id": request.id,
            "object": "chat.completion.chunk",
            "created": request.created,
            "model": request.model,
            "choices": [],
            "usage": usage,
        });
        send_event(out, &chunk)?;
    }
    send_chunk(out, b"data: [DONE]\n\n")?;
    end_stream(out)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_head(
    out: &mut TcpStream, status: u16, content_type: &str, extra: &[String], length: Option<usize>,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nConnection: close\r\n",
        reason(status)
    );
    match length {
        Some(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
        None => head.push_str("Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n"),
    }
    for header in extra {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.flush()
}

fn write_body(
    out: &mut TcpStream, status: u16, content_type: &str, extra: &[String], body: &[u8],
) -> std::io::Result<()> {
    write_head(out, status, content_type, extra, Some(body.len()))?;
    out.write_all(body)?;
    out.flush()
}

fn write_json(
    out: &mut TcpStream, status: u16, extra: &[String], value: &Value,
) -> std::io::Result<()> {
    write_body(out, status, "application/json", extra, &serde_json::to_vec(value)?)
}

fn start_stream(out: &mut TcpStream) -> std::io::Result<()> {
    write_head(out, 200, "text/event-stream", &[], None)
}

/// One HTTP chunk, flushed.
fn send_chunk(out: &mut TcpStream, data: &[u8]) -> std::io::Result<()> {
    let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(b"\r\n");
    out.write_all(&chunk)?;
    out.flush()
}

fn send_event(out: &mut TcpStream, value: &Value) -> std::io::Result<()> {
    send_chunk(out, format!("data: {value}\n\n").as_bytes())
}

fn end_stream(out: &mut TcpStream) -> std::io::Result<()> {
    out.write_all(b"0\r\n\r\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{request, Reply};

    fn chat(llm: &FakeLlm, body: Value) -> Reply {
        let url = format!("{}/chat/completions", llm.base_url());
        let headers = [("Content-Type", "application/json"), ("Authorization", "Bearer sk-test")];
        request("POST", &url, &headers, Some(&body.to_string()))
    }

    fn question(stream: bool) -> Value {
        json!({"model": "m-1", "stream": stream, "messages": [{"role": "user", "content": "what is up"}]})
    }

    /// The data lines of a server-sent event stream.
    fn data_lines(body: &str) -> Vec<String> {
        body.split("\n\n")
            .filter(|block| !block.trim().is_empty())
            .map(|block| block.lines().filter_map(|l| l.strip_prefix("data: ")).collect::<String>())
            .collect()
    }

    #[test]
    fn a_streamed_answer_reassembles_to_the_text_and_ends_with_done() {
        let llm = FakeLlm::start(vec![Script::Answer("The answer is here [1].".into())]);
        let mut body = question(true);
        body["stream_options"] = json!({"include_usage": true});
        let reply = chat(&llm, body);
        assert_eq!(reply.status, 200);
        assert!(
            reply.headers["content-type"].starts_with("text/event-stream"),
            "{:?}",
            reply.headers
        );
        let data = data_lines(&reply.body);
        assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{}", reply.body);
        let chunks: Vec<Value> =
            data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).unwrap()).collect();
        assert!(chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "m-1"));
        assert_eq!(chunks[0]["choices"][0]["delta"], json!({"role": "assistant", "content": ""}));
        let text: String =
            chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
        assert_eq!(text, "The answer is here [1].");
        let content_chunks = chunks.iter().filter(|c| {
            c["choices"][0]["delta"]["content"].as_str().is_some_and(|s| !s.is_empty())
        });
        assert_eq!(content_chunks.count(), 5, "one chunk per word");
        let n = chunks.len();
        assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(chunks[n - 1]["choices"], json!([]));
        assert_eq!(
            chunks[n - 1]["usage"],
            json!({"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8})
        );
    }

    #[test]
    fn a_stream_without_include_usage_has_no_usage_chunk() {
        let llm = FakeLlm::start(vec![Script::Answer("two words".into())]);
        let data = data_lines(&chat(&llm, question(true)).body);
        assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
        assert!(data.iter().all(|d| !d.contains("usage")), "{data:?}");
    }

    #[test]
    fn a_non_streamed_answer_is_one_json_completion() {
        let llm = FakeLlm::start(vec![
            Script::Answer("Plain reply".into()),
            Script::AnswerWithUsage("Counted".into(), 40, 7),
        ]);
        let reply = chat(&llm, question(false));
        assert_eq!(reply.status, 200);
        assert!(reply.headers["content-type"].starts_with("application/json"));
        let completion = reply.json();
        assert_eq!(completion["object"], "chat.completion");
        assert_eq!(completion["model"], "m-1");
        assert!(completion["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert!(completion["created"].as_u64().unwrap() > 0);
        assert_eq!(
            completion["choices"][0]["message"],
            json!({"role": "assistant", "content": "Plain reply"})
        );
        assert_eq!(completion["choices"][0]["finish_reason"], "stop");
        assert_eq!(
            completion["usage"],
            json!({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
        );

        let counted = chat(&llm, question(false)).json();
        assert_eq!(counted["choices"][0]["message"]["content"], "Counted");
        assert_eq!(
            counted["usage"],
            json!({"prompt_tokens": 40, "completion_tokens": 7, "total_tokens": 47})
        );
    }

    #[test]
    fn error_statuses_carry_retry_after_and_a_json_error() {
        let llm = FakeLlm::start(vec![
            Script::Status { status: 429, retry_after: Some(2), body: "slow down".into() },
            Script::Status { status: 500, retry_after: None, body: String::new() },
        ]);
        let limited = chat(&llm, question(true));
        assert_eq!(limited.status, 429);
        assert_eq!(limited.headers.get("retry-after").map(String::as_str), Some("2"));
        assert_eq!(
            limited.json()["error"],
            json!({"message": "slow down", "type": "rate_limit_error"})
        );
        let failed = chat(&llm, question(true));
        assert_eq!(failed.status, 500);
        assert!(!failed.headers.contains_key("retry-after"));
        assert_eq!(failed.json()["error"]["type"], "server_error");
    }

    #[test]
    fn the_script_is_consumed_in_order_then_the_default_reply() {
        let llm = FakeLlm::start(vec![
            Script::Answer("first".into()),
            Script::Status { status: 503, retry_after: None, body: "down".into() },
        ]);
        llm.push(vec![Script::Answer("third".into())]);
        let content = |reply: Reply| {
            reply.json()["choices"][0]["message"]["content"].as_str().unwrap_or("").to_string()
        };
        assert_eq!(content(chat(&llm, question(false))), "first");
        assert_eq!(chat(&llm, question(false)).status, 503);
        assert_eq!(content(chat(&llm, question(false))), "third");
        assert_eq!(content(chat(&llm, question(false))), "OK [1]");
        assert_eq!(content(chat(&llm, question(false))), "OK [1]");
        llm.set_default_reply(Script::Answer("changed".into()));
        assert_eq!(content(chat(&llm, question(false))), "changed");
        llm.push(vec![Script::Answer("pushed later".into())]);
        assert_eq!(content(chat(&llm, question(false))), "pushed later");
        assert_eq!(content(chat(&llm, question(false))), "changed");
    }

    #[test]
    fn requests_are_recorded_with_their_bodies_and_authorization() {
        let llm = FakeLlm::start(vec![Script::Status {
            status: 429,
            retry_after: Some(1),
            body: "busy".into(),
        }]);
        let before = Instant::now();
        chat(&llm, question(true));
        chat(&llm, json!({"model": "m-2", "messages": []}));
        let models = request("GET", &format!("{}/models", llm.base_url()), &[], None);
        assert_eq!(models.status, 200);
        assert_eq!(models.json()["data"][0]["id"], MODEL);
        let missing = request("GET", &format!("{}/nothing?x=1", llm.base_url()), &[], None);
        assert_eq!(missing.status, 404);
        assert!(missing.json()["error"]["message"].is_string());

        assert_eq!(llm.request_count(), 4);
        let seen = llm.requests();
        let paths: Vec<&str> = seen.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/v1/chat/completions", "/v1/chat/completions", "/v1/models", "/v1/nothing"]
        );
        assert_eq!(seen[0].body, question(true));
        assert_eq!(seen[0].authorization.as_deref(), Some("Bearer sk-test"));
        assert_eq!(seen[1].body["model"], "m-2");
        assert_eq!(seen[2].body, Value::Null);
        assert_eq!(seen[3].authorization, None);
        assert!(seen[0].at >= before && seen.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn a_chunked_request_body_is_read_whole() {
        let llm = FakeLlm::start(vec![]);
        let body = question(false).to_string();
        let (a, b) = body.split_at(body.len() / 2);
        let mut stream = TcpStream::connect(("127.0.0.1", llm.port)).unwrap();
        let request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.contains("\"content\":\"OK [1]\""), "{response}");
        assert_eq!(llm.requests()[0].body, question(false));
    }

    #[test]
    fn stalls_hold_the_answer_back() {
        let llm = FakeLlm::start(vec![
            Script::StallBeforeHeaders(Duration::from_millis(300)),
            Script::StallAfterChunks {
                text: "one two three four".into(),
                chunks_before_stall: 2,
                stall: Duration::from_millis(500),
            },
        ]);
        let started = Instant::now();
        let late = chat(&llm, question(false));
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(late.json()["choices"][0]["message"]["content"], "late");

        // The first chunks arrive before the stall; the rest after it.
        let url = format!("{}/chat/completions", llm.base_url());
        let started = Instant::now();
        let mut response = crate::client().post(&url).send(question(true).to_string()).unwrap();
        let mut reader = response.body_mut().as_reader();
        let mut seen = String::new();
        let mut buf = [0u8; 256];
        while !seen.contains("\"two \"") {
            let n = reader.read(&mut buf).unwrap();
            assert!(n > 0, "stream ended early: {seen}");
            seen.push_str(std::str::from_utf8(&buf[..n]).unwrap());
        }
        assert!(
            started.elapsed() < Duration::from_millis(400),
            "chunks before the stall came late"
        );
        assert!(!seen.contains("three"));
        reader.read_to_string(&mut seen).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(500));
        let text: String = data_lines(&seen)
            .iter()
            .filter(|d| *d != "[DONE]")
            .filter_map(|d| {
                serde_json::from_str::<Value>(d).unwrap()["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(String::from)
            })
            .collect();
        assert_eq!(text, "one two three four");
        assert!(seen.trim_end().ends_with("data: [DONE]"));

        // Not streamed: half the JSON body, the stall, then the rest.
        llm.push(vec![Script::StallAfterChunks {
            text: "whole".into(),
            chunks_before_stall: 0,
            stall: Duration::from_millis(300),
        }]);
        let started = Instant::now();
        let whole = chat(&llm, question(false));
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(whole.json()["choices"][0]["message"]["content"], "whole");
    }

    #[test]
    fn malformed_streams_and_disconnects() {
        let llm = FakeLlm::start(vec![Script::Malformed, Script::Disconnect]);
        let broken = chat(&llm, question(true));
        assert_eq!(broken.status, 200);
        assert!(broken.headers["content-type"].starts_with("text/event-stream"));
        let data = data_lines(&broken.body);
        assert!(
            !data.is_empty() && data.iter().all(|d| serde_json::from_str::<Value>(d).is_err()),
            "{data:?}"
        );
        assert!(!broken.body.contains("[DONE]"));

        let url = format!("{}/chat/completions", llm.base_url());
        assert!(
            crate::client().post(&url).send(question(true).to_string()).is_err(),
            "a dropped connection is an error"
        );
        assert_eq!(llm.request_count(), 2);
        assert_eq!(llm.requests()[1].body, question(true));
    }

    #[test]
    fn dropping_stops_the_server() {
        let llm = FakeLlm::start(vec![]);
        let port = llm.port;
        drop(llm);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
