//! An OpenAI-compatible chat completions server on loopback, for the assistant's tests.
//!
//! It is a real HTTP/1.1 server (persistent connections, as OpenAI's are: a client's pooled
//! connection carries one request after another) speaking the real wire format: chat
//! completions with text or tool calls and their finish reasons, OpenAI error bodies with their
//! status codes and `Retry-After`, and delays long enough to trip the client's timeout. Each
//! test starts its own stub; it stops when dropped.
//!
//! ```text
//! let stub = LlmStub::scripted(vec![
//!     StubReply::Status(429, Some(Duration::from_millis(300))),
//!     StubReply::Text("We have two Civics.".into()),
//! ]).await;
//! // point the client at stub.base_url(), then inspect stub.requests()
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// What the stub answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum StubReply {
    /// A completion with this content and `finish_reason: "stop"` (an empty string is an empty
    /// answer).
    Text(String),
    /// A completion with these function calls and `finish_reason: "tool_calls"`. The arguments
    /// are sent as the JSON text of the value, except a JSON string, which is sent as is: so
    /// `json!("{not json")` gives the model's malformed arguments.
    ToolCalls(Vec<(String, Value)>),
    /// An OpenAI error body with this status, and `Retry-After` / `retry-after-ms` when given.
    Status(u16, Option<Duration>),
    /// Waits, then answers (the client may have given up by then).
    Delay(Duration, Box<StubReply>),
    /// Any status and body, verbatim (as `application/json`): a server that answers nonsense.
    Raw(u16, String),
    /// Reads the request, then closes the connection without a word.
    Hangup,
}

type Handler = dyn Fn(&Value) -> StubReply + Send + Sync + 'static;

struct Shared {
    handler: Box<Handler>,
    /// The bodies as received (parsed when asked for: the stub answers at once).
    requests: Mutex<Vec<Vec<u8>>>,
    completions: Mutex<u64>,
    /// Time spent answering, waits excluded (see [`LlmStub::busy_time`]).
    busy: Mutex<Duration>,
}

/// A running stub; stopped (with every open connection) when dropped.
pub struct LlmStub {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for LlmStub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmStub")
            .field("address", &self.address)
            .field("requests", &self.shared.requests.lock().unwrap().len())
            .finish()
    }
}

impl LlmStub {
    /// Starts a stub on 127.0.0.1 with a free port; `handler` sees each request body (JSON).
    pub async fn start(handler: impl Fn(&Value) -> StubReply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("binding the LLM stub to loopback");
        let address = listener.local_addr().expect("the stub's address");
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            requests: Mutex::new(Vec::new()),
            completions: Mutex::new(0),
            busy: Mutex::new(Duration::ZERO),
        });
        let state = shared.clone();
        let server = tokio::spawn(async move {
            // Connections live in the set, so aborting the server drops (and aborts) them too.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            connections.spawn(serve(stream, state.clone()));
                        }
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Self {
            address,
            shared,
            server,
        }
    }

    /// Answers with `replies` in order; after the last, every request gets a 500.
    pub async fn scripted(replies: Vec<StubReply>) -> Self {
        let replies = Mutex::new(VecDeque::from(replies));
        Self::start(move |_| {
            replies
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(StubReply::Status(500, None))
        })
        .await
    }

    /// The base URL a client is configured with: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// How long the stub has spent answering so far: from holding a whole request to having
    /// written its response (parsing it, choosing the reply, writing it), its `Delay` waits
    /// excluded. This is the model's side of an exchange; the assistant bench, which runs the
    /// stub on the platform's own thread, takes it out of the platform's time.
    pub fn busy_time(&self) -> Duration {
        *self.shared.busy.lock().unwrap()
    }

    /// The JSON bodies of the chat completion requests received, in order.
    pub fn requests(&self) -> Vec<Value> {
        let bodies = self.shared.requests.lock().unwrap();
        bodies
            .iter()
            .map(|body| serde_json::from_slice(body).expect("a request body the stub answered is JSON"))
            .collect()
    }
}

impl Drop for LlmStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// Serves the requests of one connection, one after another, until the client closes it.
async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    loop {
        let request = match read_request(&mut stream).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(problem) => {
                let body = error_body(400, &problem);
                let _ = write_response(&mut stream, 400, None, &body).await;
                return;
            }
        };
        let started = Instant::now();
        let mut waited = Duration::ZERO;
        let answered = answer(&mut stream, &shared, request, &mut waited).await;
        *shared.busy.lock().unwrap() += started.elapsed().saturating_sub(waited);
        if answered.is_err() {
            return;
        }
    }
}

/// Answers one request, adding the time it waited (`Delay`) to `waited`; an error: the
/// connection is done (hung up on, or gone).
async fn answer(
    stream: &mut TcpStream,
    shared: &Shared,
    request: Request,
    waited: &mut Duration,
) -> std::io::Result<()> {
    if request.method != "POST" || request.path.trim_end_matches('/') != "/v1/chat/completions" {
        let message = format!(
            "the stub serves POST /v1/chat/completions, not {} {}",
            request.method, request.path
        );
        return write_response(stream, 404, None, &error_body(404, &message)).await;
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(error) => {
            let message = format!("the request body is not JSON: {error}");
            return write_response(stream, 400, None, &error_body(400, &message)).await;
        }
    };
    let request_bytes = request.body.len();
    shared.requests.lock().unwrap().push(request.body);
    let mut reply = (shared.handler)(&body);
    while let StubReply::Delay(wait, next) = reply {
        let slept = Instant::now();
        tokio::time::sleep(wait).await;
        *waited += slept.elapsed();
        reply = *next;
    }
    let number = {
        let mut count = shared.completions.lock().unwrap();
        *count += 1;
        *count
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("stub-model")
        .to_owned();
    let (status, retry_after, text) = match reply {
        StubReply::Text(content) => (
            200,
            None,
            completion(number, &model, request_bytes, Some(content), None),
        ),
        StubReply::ToolCalls(calls) => (200, None, completion(number, &model, request_bytes, None, Some(calls))),
        StubReply::Status(status, retry_after) => (status, retry_after, error_body(status, reason_message(status))),
        StubReply::Raw(status, text) => (status, None, text),
        StubReply::Hangup => {
            let _ = stream.shutdown().await;
            return Err(std::io::ErrorKind::ConnectionAborted.into());
        }
        StubReply::Delay(..) => unreachable!("delays were waited out above"),
    };
    write_response(stream, status, retry_after, &text).await
}

/// Request line, headers, and a Content-Length body (the client sends JSON with a length).
/// None: the client closed the connection between requests.
async fn read_request(stream: &mut TcpStream) -> Result<Option<Request>, String> {
    let mut buffer = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at;
        }
        if buffer.len() > 64 * 1024 {
            return Err("request head over 64 KiB".into());
        }
        let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if read == 0 && buffer.is_empty() {
            return Ok(None);
        }
        if read == 0 {
            return Err("connection closed before the request head ended".into());
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name == "content-length" {
            length = value.parse().map_err(|_| format!("bad Content-Length {value:?}"))?;
        } else if name == "transfer-encoding" && !value.eq_ignore_ascii_case("identity") {
            return Err("the stub reads Content-Length bodies only".into());
        }
    }
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("connection closed before the body ended".into());
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(length);
    Ok(Some(Request { method, path, body }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        reason_phrase(status),
        body.len()
    );
    if let Some(wait) = retry_after {
        // What OpenAI sends: whole seconds, and the precise wait in milliseconds.
        head.push_str(&format!(
            "Retry-After: {}\r\nretry-after-ms: {}\r\n",
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            wait.as_millis()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.write_all(head.as_bytes()).await?;
    stream.flush().await
}

fn completion(
    number: u64,
    model: &str,
    request_bytes: usize,
    content: Option<String>,
    calls: Option<Vec<(String, Value)>>,
) -> String {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (message, finish_reason) = match calls {
        Some(calls) => {
            let calls: Vec<Value> = calls
                .into_iter()
                .enumerate()
                .map(|(index, (name, arguments))| {
                    let arguments = match arguments {
                        Value::String(raw) => raw,
                        other => other.to_string(),
                    };
                    json!({
                        "id": format!("call_{number}_{index}"),
                        "type": "function",
                        "function": { "name": name, "arguments": arguments },
                    })
                })
                .collect();
            (
                json!({ "role": "assistant", "content": null, "refusal": null, "tool_calls": calls }),
                "tool_calls",
            )
        }
        None => (
            json!({ "role": "assistant", "content": content, "refusal": null }),
            "stop",
        ),
    };
    // Rough token counts (four bytes a token): enough for code that reads usage.
    let prompt_tokens = request_bytes / 4;
    let completion_tokens = message.to_string().len() / 4;
    json!({
        "id": format!("chatcmpl-stub{number}"),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    })
    .to_string()
}

/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`.
fn error_body(status: u16, message: &str) -> String {
    let (kind, code) = match status {
        401 => ("invalid_request_error", json!("invalid_api_key")),
        404 => ("invalid_request_error", json!("model_not_found")),
        429 => ("requests", json!("rate_limit_exceeded")),
        400..=499 => ("invalid_request_error", Value::Null),
        _ => ("server_error", Value::Null),
    };
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } }).to_string()
}

fn reason_message(status: u16) -> &'static str {
    match status {
        400 => "Invalid request (stub).",
        401 => "Incorrect API key provided (stub).",
        404 => "The model does not exist (stub).",
        429 => "Rate limit reached for requests (stub).",
        500 => "The server had an error while processing your request. Sorry about that! (stub)",
        502 => "Bad gateway (stub).",
        503 => "The engine is currently overloaded, please try again later (stub).",
        _ => "Stub error.",
    }
}

fn reason_phrase(status: u16) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One chat completion request on a fresh connection; the response's status line.
    async fn post(stub: &LlmStub) -> String {
        let mut stream = TcpStream::connect(stub.address).await.unwrap();
        let body = r#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#;
        let request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: stub\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // The stub keeps connections open until the client closes its side.
        stream.shutdown().await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response.lines().next().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn busy_time_counts_answering_and_not_the_waits() {
        let stub = LlmStub::scripted(vec![
            StubReply::Delay(Duration::from_millis(300), Box::new(StubReply::Text("late".into()))),
            StubReply::Text("Hello".into()),
        ])
        .await;
        assert_eq!(stub.busy_time(), Duration::ZERO);
        assert_eq!(post(&stub).await, "HTTP/1.1 200 OK");
        assert_eq!(post(&stub).await, "HTTP/1.1 200 OK");
        let busy = stub.busy_time();
        assert!(busy > Duration::ZERO, "two answers took no time: {busy:?}");
        assert!(
            busy < Duration::from_millis(300),
            "the 300 ms wait was counted: {busy:?}"
        );
    }
}
