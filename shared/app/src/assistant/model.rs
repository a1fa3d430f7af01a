//! The chat model behind the assistant: OpenAI or any OpenAI-compatible server, through
//! async-openai's chat completions with tool calls.
//!
//! Why this module owns retries: a turn runs inside a Lambda with a hard time budget, and the
//! customer gets a holding reply when the model fails, so every model call must end by a
//! deadline the caller chooses. async-openai's default transport retries 429 and 5xx on its own
//! (up to 3 times, sleeping up to 8 s or whatever Retry-After says), which no deadline bounds. We
//! install a plain transport instead ([`async_openai::Client::with_http_service`]) that does no
//! retry and turns every non-2xx answer into an error carrying its status and Retry-After, and
//! retry here: exponential backoff with full jitter, bounded by attempts and by the deadline.
//!
//! How HTTP outcomes map to [`ModelError`] (retried when [`ModelError::retryable`]):
//!
//! | outcome | error | retried |
//! |---|---|---|
//! | 429 | `RateLimited` (with Retry-After) | yes; Retry-After honoured when it fits before the deadline |
//! | 5xx | `Unavailable` | yes (Retry-After honoured too when present) |
//! | 408, our per-call timeout, reqwest timeout | `Timeout` | yes |
//! | connection refused/reset, body cut short | `Unavailable` | yes |
//! | other 4xx (400 bad request, 401/403 key, 404 model) | `Malformed` | no: the same request fails the same way; a configuration or request problem for staff |
//! | 2xx that is not a chat completion, no choices, empty text | `Malformed` | no |

use std::future::Future;
use std::time::Duration;

use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    middleware::HttpRequestFactory,
    types::chat::{
        ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessage,
        ChatCompletionRequestAssistantMessageContent, ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
        ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
        ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage,
        ChatCompletionRequestUserMessageContent, ChatCompletionTool, ChatCompletionToolChoiceOption,
        ChatCompletionTools, CreateChatCompletionRequest, CreateChatCompletionResponse, FinishReason, FunctionObject,
        ToolChoiceOptions,
    },
};
use tokio::time::Instant;

/// Tool rounds per completion; after them, one last call with `tool_choice: "none"` forces text.
pub const MAX_TOOL_ROUNDS: u32 = 3;
/// Exponential backoff: the first retry waits up to this (full jitter), doubling per retry.
pub const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// The longest a jittered backoff waits.
pub const BACKOFF_CAP: Duration = Duration::from_secs(2);
/// No attempt is started with less time than this left to the deadline: it could not succeed.
pub const MIN_ATTEMPT_BUDGET: Duration = Duration::from_millis(100);

const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
const DEFAULT_MODEL: &str = "gpt-4o-mini";
const DEFAULT_TIMEOUT_MS: u64 = 8000;
const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// Where the model is and how long we wait for it. Built from the environment at cold start.
#[derive(Clone, PartialEq, Eq)]
pub struct ModelSettings {
    /// An OpenAI-compatible base URL ending in the API version (`http://localhost:11434/v1`);
    /// `None` is OpenAI's.
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    pub model: String,
    /// One HTTP call; capped by the time left to the request's deadline.
    pub request_timeout: Duration,
    /// HTTP calls per model call (1 = no retry). Each tool round is a model call of its own.
    pub max_attempts: u32,
}

impl std::fmt::Debug for ModelSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("request_timeout", &self.request_timeout)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl ModelSettings {
    /// Reads LLM_BASE_URL, LLM_API_KEY (falls back to OPENAI_API_KEY), LLM_MODEL (default
    /// "gpt-4o-mini"), LLM_TIMEOUT_MS (default 8000), LLM_MAX_ATTEMPTS (default 3) through
    /// `lookup` (an environment getter). Empty values count as unset. The error names the
    /// variable and the value it could not use.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let base_url = match get("LLM_BASE_URL") {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            Some(url) => {
                return Err(format!(
                    "LLM_BASE_URL must be an http:// or https:// URL such as http://localhost:11434/v1, got {url:?}"
                ));
            }
            None => None,
        };
        let api_key = get("LLM_API_KEY").or_else(|| get("OPENAI_API_KEY"));
        let model = get("LLM_MODEL").unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        let timeout_ms = match get("LLM_TIMEOUT_MS") {
            None => DEFAULT_TIMEOUT_MS,
            Some(raw) => match raw.parse::<u64>() {
                Ok(ms) if ms > 0 => ms,
                _ => {
                    return Err(format!(
                        "LLM_TIMEOUT_MS must be a whole number of milliseconds greater than 0, got {raw:?}"
                    ));
                }
            },
        };
        let max_attempts = match get("LLM_MAX_ATTEMPTS") {
            None => DEFAULT_MAX_ATTEMPTS,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(format!(
                        "LLM_MAX_ATTEMPTS must be a whole number of attempts, 1 or more, got {raw:?}"
                    ));
                }
            },
        };
        Ok(Self {
            base_url,
            api_key,
            model,
            request_timeout: Duration::from_millis(timeout_ms),
            max_attempts,
        })
    }

    /// [`Self::from_lookup`] over the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// True when neither a key nor a base URL is set: the caller then uses its offline responder.
    pub fn is_offline(&self) -> bool {
        self.api_key.is_none() && self.base_url.is_none()
    }
}

/// One message of the conversation handed to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    System(String),
    User(String),
    Assistant(String),
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// The arguments' JSON Schema (an object schema).
    pub parameters: serde_json::Value,
}

/// One completion: the conversation so far, the sampling settings and the tools on offer.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub messages: Vec<Turn>,
    pub temperature: f32,
    pub max_tokens: u32,
    pub tools: Vec<ToolSpec>,
    /// The end of the whole completion: all attempts and tool rounds.
    pub deadline: Instant,
}

/// Runs the tools the model calls (the caller's database access); the Value is handed back to
/// the model as the tool message content. A tool that fails (unknown name, arguments that do not
/// parse) should say so in the Value, e.g. `{"error": "..."}`, so the model can recover.
pub trait ToolRunner {
    fn run(&mut self, name: &str, arguments: &str) -> impl Future<Output = serde_json::Value> + Send;
}

/// A tool call the model made, for the decision trace.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ToolCallRecord {
    pub name: String,
    /// The parsed JSON arguments, or the raw string as a JSON string when it does not parse.
    pub arguments: serde_json::Value,
}

/// The model's final answer and how it got there.
#[derive(Debug, Clone)]
pub struct Completion {
    pub text: String,
    /// The model the server says answered.
    pub model: String,
    /// "stop", "length", "content_filter", … of the final answer.
    pub finish_reason: String,
    /// Every tool call of every round, in order.
    pub tool_calls: Vec<ToolCallRecord>,
    /// HTTP calls made, retries included.
    pub attempts: u32,
    /// Tool rounds (answers with tool calls).
    pub rounds: u32,
}

/// Why the model gave no usable answer. See the module docs for the mapping from HTTP.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// HTTP 429 after the attempts the deadline allowed.
    #[error("the model server is rate limiting us{}", retry_hint(*retry_after))]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx or a connection failure after the attempts the deadline allowed.
    #[error("the model server is unavailable: {0}")]
    Unavailable(String),
    /// No answer within the request timeout or the deadline.
    #[error("the model did not answer in time")]
    Timeout,
    /// The server refused the request (4xx other than 408/429: bad request, bad key, unknown
    /// model) or answered with something that is not a usable chat completion.
    #[error("unusable model exchange: {0}")]
    Malformed(String),
}

fn retry_hint(retry_after: Option<Duration>) -> String {
    retry_after
        .map(|d| format!(" (retry after {} ms)", d.as_millis()))
        .unwrap_or_default()
}

impl ModelError {
    /// Whether a later attempt may succeed: rate limits, outages and timeouts pass; a refused
    /// or malformed exchange does not.
    pub fn retryable(&self) -> bool {
        !matches!(self, ModelError::Malformed(_))
    }

    /// A short machine code for traces: "rate_limited" | "unavailable" | "timeout" | "malformed".
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::RateLimited { .. } => "rate_limited",
            ModelError::Unavailable(_) => "unavailable",
            ModelError::Timeout => "timeout",
            ModelError::Malformed(_) => "malformed",
        }
    }
}

/// The chat model client. Cheap to clone; build once per container.
#[derive(Debug, Clone)]
pub struct ChatModel {
    client: Client<OpenAIConfig>,
    settings: ModelSettings,
}

/// A non-2xx answer, raised by our transport before async-openai reads the body, so the status
/// and Retry-After survive (async-openai's own error keeps the status but drops the headers).
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status}: {message}")]
struct HttpStatusError {
    status: u16,
    retry_after: Option<Duration>,
    message: String,
}

impl ChatModel {
    pub fn new(settings: &ModelSettings) -> Self {
        // Everything explicit: OpenAIConfig::new() would read OPENAI_* variables behind our back.
        let config = OpenAIConfig::new()
            .with_api_base(settings.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))
            .with_api_key(settings.api_key.clone().unwrap_or_default())
            .with_org_id("")
            .with_project_id("");
        let http = reqwest::Client::builder()
            .build()
            .expect("the HTTP client builds (rustls with the platform's certificates)");
        let transport = http.clone();
        // The plain transport: no retry, no timeout (complete() bounds each call), non-2xx
        // answers become HttpStatusError.
        let service = tower::service_fn(move |factory: HttpRequestFactory| {
            let http = transport.clone();
            async move {
                let request = factory.build().await?;
                let response = http.execute(request).await.map_err(OpenAIError::Reqwest)?;
                if response.status().is_success() {
                    return Ok(response);
                }
                let status = response.status().as_u16();
                let retry_after = retry_after(response.headers(), chrono::Utc::now());
                let body = response.bytes().await.unwrap_or_default();
                let message = error_message(&body);
                Err(OpenAIError::Boxed(Box::new(HttpStatusError {
                    status,
                    retry_after,
                    message,
                })))
            }
        });
        // with_http_service last: build/with_http_client install the retrying executor.
        let client = Client::build(http, config).with_http_service(service);
        Self {
            client,
            settings: settings.clone(),
        }
    }

    pub fn settings(&self) -> &ModelSettings {
        &self.settings
    }

    /// Runs the conversation to a text answer: offers the tools (tool_choice auto), runs the
    /// calls the model makes through `tools` and hands back their results, for at most
    /// [`MAX_TOOL_ROUNDS`] rounds, then asks once more with tool_choice "none". Every HTTP call
    /// is bounded by the request timeout and the deadline, and retried per the module docs.
    pub async fn complete<R: ToolRunner + Send>(
        &self,
        request: ChatRequest,
        tools: &mut R,
    ) -> Result<Completion, ModelError> {
        let ChatRequest {
            messages,
            temperature,
            max_tokens,
            tools: specs,
            deadline,
        } = request;
        let mut messages: Vec<ChatCompletionRequestMessage> = messages.into_iter().map(to_message).collect();
        let offered: Vec<ChatCompletionTools> = specs.iter().map(to_tool).collect();
        let mut records = Vec::new();
        let mut attempts = 0;
        let mut rounds = 0;
        loop {
            let may_call_tools = rounds < MAX_TOOL_ROUNDS;
            #[allow(deprecated)] // max_tokens: what OpenAI-compatible servers read
            let body = CreateChatCompletionRequest {
                messages: messages.clone(),
                model: self.settings.model.clone(),
                temperature: Some(temperature),
                max_tokens: Some(max_tokens),
                tools: (!offered.is_empty()).then(|| offered.clone()),
                tool_choice: (!offered.is_empty()).then_some(ChatCompletionToolChoiceOption::Mode(if may_call_tools {
                    ToolChoiceOptions::Auto
                } else {
                    ToolChoiceOptions::None
                })),
                ..Default::default()
            };
            let response = self.call(body, deadline, &mut attempts).await?;
            let model = response.model;
            let choice = response
                .choices
                .into_iter()
                .next()
                .ok_or_else(|| ModelError::Malformed("the answer has no choices".into()))?;
            let finish_reason = finish_reason_name(choice.finish_reason);
            let text = choice.message.content.unwrap_or_default();
            let calls = choice.message.tool_calls.unwrap_or_default();

            if !calls.is_empty() && may_call_tools && !offered.is_empty() {
                rounds += 1;
                let mut results = Vec::with_capacity(calls.len());
                for call in &calls {
                    let ChatCompletionMessageToolCalls::Function(call) = call else {
                        return Err(ModelError::Malformed(
                            "the model called a custom tool, and only functions are offered".into(),
                        ));
                    };
                    let arguments = &call.function.arguments;
                    records.push(ToolCallRecord {
                        name: call.function.name.clone(),
                        arguments: serde_json::from_str(arguments)
                            .unwrap_or_else(|_| serde_json::Value::String(arguments.clone())),
                    });
                    let result = tools.run(&call.function.name, arguments).await;
                    results.push(ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
                        content: ChatCompletionRequestToolMessageContent::Text(result.to_string()),
                        tool_call_id: call.id.clone(),
                    }));
                }
                messages.push(ChatCompletionRequestMessage::Assistant(
                    ChatCompletionRequestAssistantMessage {
                        content: (!text.is_empty()).then_some(ChatCompletionRequestAssistantMessageContent::Text(text)),
                        tool_calls: Some(calls),
                        ..Default::default()
                    },
                ));
                messages.extend(results);
                continue;
            }

            if text.trim().is_empty() {
                let why = if calls.is_empty() {
                    format!("the answer has no text (finish_reason {finish_reason})")
                } else {
                    format!("the model still called tools after {rounds} tool rounds and wrote no text")
                };
                return Err(ModelError::Malformed(why));
            }
            return Ok(Completion {
                text,
                model,
                finish_reason,
                tool_calls: records,
                attempts,
                rounds,
            });
        }
    }

    /// One model call: up to `max_attempts` HTTP calls, each bounded by the request timeout and
    /// the deadline, with backoff between them that never runs past the deadline.
    async fn call(
        &self,
        body: CreateChatCompletionRequest,
        deadline: Instant,
        attempts: &mut u32,
    ) -> Result<CreateChatCompletionResponse, ModelError> {
        let max_attempts = self.settings.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ModelError::Timeout);
            }
            attempt += 1;
            *attempts += 1;
            let budget = self.settings.request_timeout.min(left);
            let outcome = tokio::time::timeout(budget, self.client.chat().create(body.clone())).await;
            let (error, retry_after) = match outcome {
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(error)) => classify(error),
                Err(_elapsed) => (ModelError::Timeout, None),
            };
            if !error.retryable() || attempt >= max_attempts {
                return Err(error);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(room) = left.checked_sub(MIN_ATTEMPT_BUDGET) else {
                return Err(error);
            };
            let delay = match retry_after {
                // The server's word, when it leaves time for the retry; otherwise give up now
                // rather than retry early into the same limit.
                Some(wait) if wait <= room => wait,
                Some(_) => return Err(error),
                None => backoff(attempt).min(room),
            };
            tracing::warn!(
                attempt,
                code = error.code(),
                %error,
                delay_ms = delay.as_millis() as u64,
                "model call failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

/// Full jitter: uniform in [0, min(cap, base · 2^(attempt-1))].
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16))
        .min(BACKOFF_CAP);
    let random = getrandom::u64().unwrap_or(u64::MAX / 2);
    let millis = ceiling.as_millis() as u64;
    Duration::from_millis(random % (millis + 1))
}

/// An error and the wait the server asked for, if any.
fn classify(error: OpenAIError) -> (ModelError, Option<Duration>) {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpStatusError>() {
            Ok(http) => (
                from_status(http.status, http.message, http.retry_after),
                http.retry_after,
            ),
            Err(other) => (ModelError::Unavailable(with_sources(other.as_ref())), None),
        },
        // Not raised while our transport is installed; mapped the same way for safety.
        OpenAIError::ApiError(api) => (from_status(api.status_code.as_u16(), api.api_error.message, None), None),
        OpenAIError::Reqwest(error) => (from_reqwest(&error), None),
        OpenAIError::JSONDeserialize(error, _) => (
            ModelError::Malformed(format!("the answer is not a chat completion: {error}")),
            None,
        ),
        other => (ModelError::Malformed(other.to_string()), None),
    }
}

fn from_status(status: u16, message: String, retry_after: Option<Duration>) -> ModelError {
    match status {
        429 => ModelError::RateLimited { retry_after },
        408 => ModelError::Timeout,
        500..=599 => ModelError::Unavailable(format!("HTTP {status}: {message}")),
        _ => ModelError::Malformed(format!("HTTP {status}: {message}")),
    }
}

fn from_reqwest(error: &reqwest::Error) -> ModelError {
    if error.is_timeout() {
        ModelError::Timeout
    } else if error.is_builder() || error.is_decode() {
        ModelError::Malformed(with_sources(error))
    } else {
        // Connect, send, or a body cut short: the server or the network, worth another try.
        ModelError::Unavailable(with_sources(error))
    }
}

/// An error with its causes: reqwest's own message alone ("error sending request") hides why.
fn with_sources(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The `error.message` of an OpenAI error body, else the body itself (shortened).
fn error_message(body: &[u8]) -> String {
    let parsed: Option<String> = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.pointer("/error/message")?.as_str().map(str::to_owned));
    parsed.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        match text.char_indices().nth(200) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None if text.is_empty() => "(empty body)".to_owned(),
            None => text.to_owned(),
        }
    })
}

/// `retry-after-ms` (OpenAI sends it), else `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let header = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

fn finish_reason_name(reason: Option<FinishReason>) -> String {
    match reason {
        Some(FinishReason::Stop) => "stop",
        Some(FinishReason::Length) => "length",
        Some(FinishReason::ToolCalls) => "tool_calls",
        Some(FinishReason::ContentFilter) => "content_filter",
        Some(FinishReason::FunctionCall) => "function_call",
        None => "unknown",
    }
    .to_owned()
}

fn to_message(turn: Turn) -> ChatCompletionRequestMessage {
    match turn {
        Turn::System(text) => ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
            content: ChatCompletionRequestSystemMessageContent::Text(text),
            name: None,
        }),
        Turn::User(text) => ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
            content: ChatCompletionRequestUserMessageContent::Text(text),
            name: None,
        }),
        Turn::Assistant(text) => ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
            content: Some(ChatCompletionRequestAssistantMessageContent::Text(text)),
            ..Default::default()
        }),
    }
}

fn to_tool(spec: &ToolSpec) -> ChatCompletionTools {
    ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObject {
            name: spec.name.to_owned(),
            description: Some(spec.description.to_owned()),
            parameters: Some(spec.parameters.clone()),
            strict: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn retry_after_reads_milliseconds_first_then_seconds_then_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:27:50Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "750"), ("retry-after", "1")]), now),
            Some(Duration::from_millis(750))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2")]), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]), now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&headers(&[]), now), None);
    }

    #[test]
    fn backoff_stays_within_the_doubling_ceiling_and_the_cap() {
        for _ in 0..200 {
            assert!(backoff(1) <= BACKOFF_BASE);
            assert!(backoff(2) <= BACKOFF_BASE * 2);
            assert!(backoff(3) <= BACKOFF_BASE * 4);
            assert!(backoff(30) <= BACKOFF_CAP);
        }
    }

    #[test]
    fn statuses_map_to_errors_and_only_refusals_are_final() {
        let rate = from_status(429, "slow down".into(), Some(Duration::from_secs(1)));
        assert!(matches!(rate, ModelError::RateLimited { retry_after: Some(_) }));
        assert!(rate.retryable());
        assert_eq!(from_status(503, "x".into(), None).code(), "unavailable");
        assert_eq!(from_status(408, "x".into(), None).code(), "timeout");
        for status in [400, 401, 403, 404, 422] {
            let error = from_status(status, "no".into(), None);
            assert_eq!(error.code(), "malformed", "{status}");
            assert!(!error.retryable());
            assert!(error.to_string().contains(&status.to_string()));
        }
    }

    #[test]
    fn error_messages_come_from_the_openai_error_body_or_the_text() {
        assert_eq!(
            error_message(
                br#"{"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"}}"#
            ),
            "Incorrect API key"
        );
        assert_eq!(error_message(b"Bad Gateway"), "Bad Gateway");
        assert_eq!(error_message(b""), "(empty body)");
    }

    #[test]
    fn settings_debug_never_shows_the_key() {
        let settings =
            ModelSettings::from_lookup(|name| (name == "LLM_API_KEY").then(|| "sk-secret-value".to_owned())).unwrap();
        assert!(!format!("{settings:?}").contains("sk-secret"));
    }
}
