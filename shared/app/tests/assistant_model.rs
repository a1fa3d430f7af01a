//! The assistant's chat model against the local OpenAI-compatible stub: text answers, tool
//! rounds, bounded retries, timeouts and the deadline, and the settings it reads.

use std::time::Duration;

use rylie_app::assistant::model::{
    ChatModel, ChatRequest, Completion, MAX_TOOL_ROUNDS, ModelError, ModelSettings, ToolRunner, ToolSpec, Turn,
};
use rylie_testkit::llm_stub::{LlmStub, StubReply};
use serde_json::{Value, json};
use tokio::time::Instant;

/// Scheduling slack allowed past a deadline when measuring elapsed time.
const SLACK: Duration = Duration::from_millis(150);

fn settings(base_url: String) -> ModelSettings {
    ModelSettings {
        base_url: Some(base_url),
        api_key: Some("sk-test".into()),
        model: "gpt-test".into(),
        request_timeout: Duration::from_secs(5),
        max_attempts: 3,
    }
}

fn model(stub: &LlmStub) -> ChatModel {
    ChatModel::new(&settings(stub.base_url()))
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "search_inventory",
            description: "Search the dealership's vehicles in stock.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "make": { "type": "string" },
                    "model": { "type": "string" },
                    "max_price": { "type": "number" }
                },
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "get_vehicle",
            description: "One vehicle by stock number.",
            parameters: json!({
                "type": "object",
                "properties": { "stock_number": { "type": "string" } },
                "required": ["stock_number"]
            }),
        },
    ]
}

fn request(deadline_in: Duration) -> ChatRequest {
    ChatRequest {
        messages: vec![
            Turn::System("You are Rylie, the assistant of Main Street Motors.".into()),
            Turn::User("Do you have a Civic?".into()),
            Turn::Assistant("Let me check.".into()),
            Turn::User("Under $25,000 please.".into()),
        ],
        temperature: 0.4,
        max_tokens: 300,
        tools: tools(),
        deadline: Instant::now() + deadline_in,
    }
}

/// Answers like the database would, and remembers what it was asked.
#[derive(Default)]
struct Inventory {
    calls: Vec<(String, String)>,
}

impl ToolRunner for Inventory {
    fn run(&mut self, name: &str, arguments: &str) -> impl Future<Output = Value> + Send {
        self.calls.push((name.to_owned(), arguments.to_owned()));
        let result = match name {
            "search_inventory" => json!({ "vehicles": [{ "stock_number": "A1", "price": 23995 }] }),
            "get_vehicle" => json!({ "stock_number": "A1", "year": 2022, "make": "Honda", "model": "Civic" }),
            other => json!({ "error": format!("unknown tool {other}") }),
        };
        async move { result }
    }
}

async fn complete(model: &ChatModel, request: ChatRequest) -> (Result<Completion, ModelError>, Inventory) {
    let mut inventory = Inventory::default();
    let result = model.complete(request, &mut inventory).await;
    (result, inventory)
}

fn messages(body: &Value) -> &Vec<Value> {
    body["messages"].as_array().expect("messages")
}

#[tokio::test]
async fn a_plain_text_answer_comes_back_with_its_model_and_finish_reason() {
    let stub = LlmStub::scripted(vec![StubReply::Text("Yes, we have a 2022 Civic.".into())]).await;
    let (result, inventory) = complete(&model(&stub), request(Duration::from_secs(10))).await;
    let completion = result.unwrap();
    assert_eq!(completion.text, "Yes, we have a 2022 Civic.");
    assert_eq!(completion.model, "gpt-test");
    assert_eq!(completion.finish_reason, "stop");
    assert_eq!((completion.attempts, completion.rounds), (1, 0));
    assert!(completion.tool_calls.is_empty());
    assert!(inventory.calls.is_empty());
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn the_request_carries_model_sampling_settings_messages_and_tool_schemas() {
    let stub = LlmStub::scripted(vec![StubReply::Text("Hello.".into())]).await;
    complete(&model(&stub), request(Duration::from_secs(10)))
        .await
        .0
        .unwrap();
    let body = &stub.requests()[0];
    assert_eq!(body["model"], "gpt-test");
    assert!((body["temperature"].as_f64().unwrap() - 0.4).abs() < 1e-6);
    assert_eq!(body["max_tokens"], 300);
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body.get("stream"), None);
    let roles: Vec<&str> = messages(body).iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(messages(body)[3]["content"], "Under $25,000 please.");
    assert_eq!(
        body["tools"],
        json!([
            {
                "type": "function",
                "function": {
                    "name": "search_inventory",
                    "description": "Search the dealership's vehicles in stock.",
                    "parameters": tools()[0].parameters,
                }
            },
            {
                "type": "function",
                "function": {
                    "name": "get_vehicle",
                    "description": "One vehicle by stock number.",
                    "parameters": tools()[1].parameters,
                }
            }
        ])
    );
}

#[tokio::test]
async fn without_tools_neither_tools_nor_tool_choice_are_sent() {
    let stub = LlmStub::scripted(vec![StubReply::Text("Hello.".into())]).await;
    let mut request = request(Duration::from_secs(10));
    request.tools.clear();
    complete(&model(&stub), request).await.0.unwrap();
    let body = &stub.requests()[0];
    assert_eq!(body.get("tools"), None);
    assert_eq!(body.get("tool_choice"), None);
}

#[tokio::test]
async fn tool_rounds_run_the_calls_and_hand_their_results_back_to_the_model() {
    let stub = LlmStub::scripted(vec![
        StubReply::ToolCalls(vec![(
            "search_inventory".into(),
            json!({ "make": "Honda", "model": "Civic", "max_price": 25000 }),
        )]),
        StubReply::ToolCalls(vec![("get_vehicle".into(), json!({ "stock_number": "A1" }))]),
        StubReply::Text("The 2022 Civic (A1) is listed at $23,995.".into()),
    ])
    .await;
    let (result, inventory) = complete(&model(&stub), request(Duration::from_secs(10))).await;
    let completion = result.unwrap();
    assert_eq!(completion.text, "The 2022 Civic (A1) is listed at $23,995.");
    assert_eq!((completion.attempts, completion.rounds), (3, 2));
    assert_eq!(completion.finish_reason, "stop");

    // The runner got the model's arguments verbatim; the trace has them parsed.
    assert_eq!(inventory.calls.len(), 2);
    assert_eq!(inventory.calls[0].0, "search_inventory");
    assert_eq!(
        serde_json::from_str::<Value>(&inventory.calls[0].1).unwrap(),
        json!({ "make": "Honda", "model": "Civic", "max_price": 25000 })
    );
    assert_eq!(
        inventory.calls[1],
        ("get_vehicle".into(), r#"{"stock_number":"A1"}"#.into())
    );
    let trace: Vec<(&str, &Value)> = completion
        .tool_calls
        .iter()
        .map(|c| (c.name.as_str(), &c.arguments))
        .collect();
    assert_eq!(
        trace,
        [
            (
                "search_inventory",
                &json!({ "make": "Honda", "model": "Civic", "max_price": 25000 })
            ),
            ("get_vehicle", &json!({ "stock_number": "A1" })),
        ]
    );

    let requests = stub.requests();
    assert_eq!(requests.len(), 3);
    // Second request: the conversation, the assistant's tool call, the tool's answer.
    let second = messages(&requests[1]);
    assert_eq!(second.len(), 6);
    let call = &second[4];
    assert_eq!(call["role"], "assistant");
    assert_eq!(call["tool_calls"][0]["type"], "function");
    assert_eq!(call["tool_calls"][0]["function"]["name"], "search_inventory");
    let call_id = call["tool_calls"][0]["id"].as_str().unwrap();
    let answer = &second[5];
    assert_eq!(answer["role"], "tool");
    assert_eq!(answer["tool_call_id"], call_id);
    assert_eq!(
        serde_json::from_str::<Value>(answer["content"].as_str().unwrap()).unwrap(),
        json!({ "vehicles": [{ "stock_number": "A1", "price": 23995 }] })
    );
    // Third request: both rounds, in order, with tools still offered.
    let third = messages(&requests[2]);
    assert_eq!(third.len(), 8);
    assert_eq!(third[6]["tool_calls"][0]["function"]["name"], "get_vehicle");
    assert_eq!(third[7]["role"], "tool");
    assert_eq!(third[7]["tool_call_id"], third[6]["tool_calls"][0]["id"]);
    assert_eq!(
        serde_json::from_str::<Value>(third[7]["content"].as_str().unwrap()).unwrap()["make"],
        "Honda"
    );
    assert_eq!(requests[2]["tool_choice"], "auto");
}

#[tokio::test]
async fn several_calls_in_one_answer_are_one_round_and_each_gets_its_result() {
    let stub = LlmStub::scripted(vec![
        StubReply::ToolCalls(vec![
            ("search_inventory".into(), json!({ "make": "Honda" })),
            ("get_vehicle".into(), json!({ "stock_number": "A1" })),
        ]),
        StubReply::Text("Here you go.".into()),
    ])
    .await;
    let (result, inventory) = complete(&model(&stub), request(Duration::from_secs(10))).await;
    let completion = result.unwrap();
    assert_eq!((completion.rounds, completion.tool_calls.len()), (1, 2));
    assert_eq!(inventory.calls.len(), 2);
    let second = messages(&stub.requests()[1]).clone();
    let ids: Vec<&Value> = second[4]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(&second[5]["tool_call_id"], ids[0]);
    assert_eq!(&second[6]["tool_call_id"], ids[1]);
}

#[tokio::test]
async fn malformed_tool_arguments_reach_the_runner_raw_and_the_trace_as_a_string() {
    let stub = LlmStub::scripted(vec![
        StubReply::ToolCalls(vec![("search_inventory".into(), json!("{\"make\": \"Hon"))]),
        StubReply::Text("Sorry, which make?".into()),
    ])
    .await;
    let (result, inventory) = complete(&model(&stub), request(Duration::from_secs(10))).await;
    let completion = result.unwrap();
    assert_eq!(
        inventory.calls,
        [("search_inventory".to_owned(), "{\"make\": \"Hon".to_owned())]
    );
    assert_eq!(completion.tool_calls[0].arguments, json!("{\"make\": \"Hon"));
    assert_eq!(completion.text, "Sorry, which make?");
    // The runner's answer still went back to the model.
    assert_eq!(messages(&stub.requests()[1])[5]["role"], "tool");
}

#[tokio::test]
async fn after_three_tool_rounds_a_last_call_without_tools_forces_text() {
    // A model that calls a tool whenever it may.
    let stub = LlmStub::start(|body| {
        if body["tool_choice"] == "none" {
            StubReply::Text("Here is what I found.".into())
        } else {
            StubReply::ToolCalls(vec![("search_inventory".into(), json!({ "make": "Honda" }))])
        }
    })
    .await;
    let (result, inventory) = complete(&model(&stub), request(Duration::from_secs(10))).await;
    let completion = result.unwrap();
    assert_eq!(completion.text, "Here is what I found.");
    assert_eq!(completion.rounds, MAX_TOOL_ROUNDS);
    assert_eq!(completion.attempts, MAX_TOOL_ROUNDS + 1);
    assert_eq!(inventory.calls.len(), MAX_TOOL_ROUNDS as usize);
    let requests = stub.requests();
    assert_eq!(requests.len(), 4);
    let choices: Vec<&Value> = requests.iter().map(|r| &r["tool_choice"]).collect();
    assert_eq!(
        choices,
        [&json!("auto"), &json!("auto"), &json!("auto"), &json!("none")]
    );
}

#[tokio::test]
async fn a_model_that_calls_tools_even_when_told_not_to_is_malformed() {
    let stub = LlmStub::start(|_| StubReply::ToolCalls(vec![("get_vehicle".into(), json!({}))])).await;
    let (result, inventory) = complete(&model(&stub), request(Duration::from_secs(10))).await;
    let error = result.unwrap_err();
    assert!(matches!(error, ModelError::Malformed(_)), "{error:?}");
    assert!(error.to_string().contains("tool rounds"), "{error}");
    assert_eq!(inventory.calls.len(), MAX_TOOL_ROUNDS as usize);
    assert_eq!(stub.requests().len(), 4);
}

#[tokio::test]
async fn an_empty_answer_with_finish_reason_stop_is_malformed_and_not_retried() {
    let stub = LlmStub::scripted(vec![StubReply::Text(String::new()), StubReply::Text("late".into())]).await;
    let error = complete(&model(&stub), request(Duration::from_secs(10)))
        .await
        .0
        .unwrap_err();
    assert!(matches!(error, ModelError::Malformed(_)), "{error:?}");
    assert!(error.to_string().contains("stop"), "{error}");
    assert_eq!(error.code(), "malformed");
    assert!(!error.retryable());
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn a_success_status_with_a_body_that_is_not_a_completion_is_malformed() {
    let stub = LlmStub::scripted(vec![StubReply::Raw(200, "<html>proxy login</html>".into())]).await;
    let error = complete(&model(&stub), request(Duration::from_secs(10)))
        .await
        .0
        .unwrap_err();
    assert!(matches!(error, ModelError::Malformed(_)), "{error:?}");
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn a_rate_limit_is_retried_and_counted_as_an_attempt() {
    let stub = LlmStub::scripted(vec![StubReply::Status(429, None), StubReply::Text("ok".into())]).await;
    let completion = complete(&model(&stub), request(Duration::from_secs(10)))
        .await
        .0
        .unwrap();
    assert_eq!(completion.text, "ok");
    assert_eq!(completion.attempts, 2);
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_when_it_fits_before_the_deadline() {
    let wait = Duration::from_millis(700);
    let stub = LlmStub::scripted(vec![StubReply::Status(429, Some(wait)), StubReply::Text("ok".into())]).await;
    let started = Instant::now();
    let completion = complete(&model(&stub), request(Duration::from_secs(10)))
        .await
        .0
        .unwrap();
    // Backoff alone would wait at most 200 ms before the second attempt.
    assert!(started.elapsed() >= wait, "retried after {:?}", started.elapsed());
    assert_eq!(completion.attempts, 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_ends_the_call_at_once() {
    let stub = LlmStub::scripted(vec![
        StubReply::Status(429, Some(Duration::from_secs(5))),
        StubReply::Text("too late".into()),
    ])
    .await;
    let started = Instant::now();
    let error = complete(&model(&stub), request(Duration::from_secs(2)))
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(error, ModelError::RateLimited { retry_after: Some(wait) } if wait == Duration::from_secs(5)),
        "{error:?}"
    );
    assert_eq!(error.code(), "rate_limited");
    assert!(error.retryable());
    assert_eq!(stub.requests().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test]
async fn server_errors_are_retried_up_to_max_attempts_then_unavailable() {
    let stub = LlmStub::start(|_| StubReply::Status(500, None)).await;
    let error = complete(&model(&stub), request(Duration::from_secs(10)))
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(&error, ModelError::Unavailable(message) if message.contains("500")),
        "{error:?}"
    );
    assert_eq!(error.code(), "unavailable");
    // Our three attempts and no more: async-openai's own retry layer is not in the path.
    assert_eq!(stub.requests().len(), 3);
}

#[tokio::test]
async fn one_attempt_means_no_retry() {
    let stub = LlmStub::start(|_| StubReply::Status(503, Some(Duration::from_millis(10)))).await;
    let mut settings = settings(stub.base_url());
    settings.max_attempts = 1;
    let error = complete(&ChatModel::new(&settings), request(Duration::from_secs(10)))
        .await
        .0
        .unwrap_err();
    assert!(matches!(error, ModelError::Unavailable(_)), "{error:?}");
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_request_is_not_retried() {
    for status in [400, 401, 404] {
        let stub = LlmStub::start(move |_| StubReply::Status(status, None)).await;
        let error = complete(&model(&stub), request(Duration::from_secs(10)))
            .await
            .0
            .unwrap_err();
        assert!(
            matches!(&error, ModelError::Malformed(message) if message.contains(&status.to_string())),
            "{error:?}"
        );
        assert_eq!(stub.requests().len(), 1, "status {status}");
    }
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let stub = LlmStub::scripted(vec![StubReply::Hangup, StubReply::Text("ok".into())]).await;
    let completion = complete(&model(&stub), request(Duration::from_secs(10)))
        .await
        .0
        .unwrap();
    assert_eq!(completion.text, "ok");
    assert_eq!(completion.attempts, 2);
}

#[tokio::test]
async fn a_server_that_is_not_there_is_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut settings = settings(format!("http://127.0.0.1:{port}/v1"));
    settings.max_attempts = 2;
    let error = complete(&ChatModel::new(&settings), request(Duration::from_secs(10)))
        .await
        .0
        .unwrap_err();
    assert!(matches!(error, ModelError::Unavailable(_)), "{error:?}");
    assert!(error.retryable());
}

#[tokio::test]
async fn a_slow_answer_times_out_each_attempt_and_the_call_ends_by_the_deadline() {
    let stub =
        LlmStub::start(|_| StubReply::Delay(Duration::from_secs(5), Box::new(StubReply::Text("late".into())))).await;
    let mut settings = settings(stub.base_url());
    settings.request_timeout = Duration::from_millis(300);
    let deadline_in = Duration::from_secs(3);
    let started = Instant::now();
    let error = complete(&ChatModel::new(&settings), request(deadline_in))
        .await
        .0
        .unwrap_err();
    assert!(matches!(error, ModelError::Timeout), "{error:?}");
    assert_eq!(error.code(), "timeout");
    // Three attempts of 300 ms and two backoffs of at most 200 and 400 ms fit in 3 s.
    assert_eq!(stub.requests().len(), 3);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed <= deadline_in + SLACK, "{elapsed:?}");
}

#[tokio::test]
async fn retries_stop_at_the_deadline_even_with_attempts_left() {
    let stub =
        LlmStub::start(|_| StubReply::Delay(Duration::from_secs(5), Box::new(StubReply::Text("late".into())))).await;
    let mut settings = settings(stub.base_url());
    settings.request_timeout = Duration::from_millis(300);
    settings.max_attempts = 10;
    let deadline_in = Duration::from_millis(800);
    let started = Instant::now();
    let error = complete(&ChatModel::new(&settings), request(deadline_in))
        .await
        .0
        .unwrap_err();
    assert!(matches!(error, ModelError::Timeout), "{error:?}");
    let attempts = stub.requests().len();
    assert!((2..=3).contains(&attempts), "{attempts} attempts");
    assert!(started.elapsed() <= deadline_in + SLACK, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_deadline_shorter_than_the_request_timeout_cuts_the_only_attempt() {
    let stub =
        LlmStub::start(|_| StubReply::Delay(Duration::from_secs(5), Box::new(StubReply::Text("late".into())))).await;
    let deadline_in = Duration::from_millis(250);
    let started = Instant::now();
    let error = complete(&model(&stub), request(deadline_in)).await.0.unwrap_err();
    assert!(matches!(error, ModelError::Timeout), "{error:?}");
    assert_eq!(stub.requests().len(), 1);
    let elapsed = started.elapsed();
    assert!(elapsed >= deadline_in && elapsed <= deadline_in + SLACK, "{elapsed:?}");
}

#[tokio::test]
async fn a_deadline_already_past_makes_no_call() {
    let stub = LlmStub::scripted(vec![StubReply::Text("never".into())]).await;
    let mut request = request(Duration::ZERO);
    request.deadline = Instant::now() - Duration::from_millis(1);
    let error = complete(&model(&stub), request).await.0.unwrap_err();
    assert!(matches!(error, ModelError::Timeout), "{error:?}");
    assert!(stub.requests().is_empty());
}

#[tokio::test]
async fn the_deadline_covers_the_tool_rounds_too() {
    // Each answer takes 200 ms; a 500 ms deadline cannot hold three rounds and a final call.
    let stub = LlmStub::start(|_| {
        StubReply::Delay(
            Duration::from_millis(200),
            Box::new(StubReply::ToolCalls(vec![("search_inventory".into(), json!({}))])),
        )
    })
    .await;
    let deadline_in = Duration::from_millis(500);
    let started = Instant::now();
    let error = complete(&model(&stub), request(deadline_in)).await.0.unwrap_err();
    assert!(matches!(error, ModelError::Timeout), "{error:?}");
    assert!(stub.requests().len() <= 3);
    assert!(started.elapsed() <= deadline_in + SLACK, "{:?}", started.elapsed());
}

#[test]
fn the_completion_future_can_run_on_a_multithreaded_runtime() {
    fn assert_send<T: Send>(_: T) {}
    let model = ChatModel::new(&settings("http://127.0.0.1:9/v1".into()));
    let mut inventory = Inventory::default();
    assert_send(model.complete(request(Duration::from_secs(1)), &mut inventory));
}

fn lookup(pairs: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    let pairs = pairs.to_vec();
    move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
}

#[test]
fn settings_default_to_openai_gpt_4o_mini_8_seconds_and_3_attempts() {
    let settings = ModelSettings::from_lookup(lookup(&[])).unwrap();
    assert_eq!(
        settings,
        ModelSettings {
            base_url: None,
            api_key: None,
            model: "gpt-4o-mini".into(),
            request_timeout: Duration::from_millis(8000),
            max_attempts: 3,
        }
    );
    assert!(settings.is_offline());
}

#[test]
fn settings_read_every_variable() {
    let settings = ModelSettings::from_lookup(lookup(&[
        ("LLM_BASE_URL", "http://localhost:11434/v1/"),
        ("LLM_API_KEY", "sk-llm"),
        ("OPENAI_API_KEY", "sk-openai"),
        ("LLM_MODEL", "llama3.1"),
        ("LLM_TIMEOUT_MS", "2500"),
        ("LLM_MAX_ATTEMPTS", "5"),
    ]))
    .unwrap();
    assert_eq!(settings.base_url.as_deref(), Some("http://localhost:11434/v1"));
    assert_eq!(settings.api_key.as_deref(), Some("sk-llm"));
    assert_eq!(settings.model, "llama3.1");
    assert_eq!(settings.request_timeout, Duration::from_millis(2500));
    assert_eq!(settings.max_attempts, 5);
    assert!(!settings.is_offline());
}

#[test]
fn the_api_key_falls_back_to_openai_api_key_and_empty_values_count_as_unset() {
    let settings = ModelSettings::from_lookup(lookup(&[
        ("LLM_API_KEY", ""),
        ("OPENAI_API_KEY", "sk-openai"),
        ("LLM_MODEL", " "),
    ]))
    .unwrap();
    assert_eq!(settings.api_key.as_deref(), Some("sk-openai"));
    assert_eq!(settings.model, "gpt-4o-mini");
    assert!(!settings.is_offline());
}

#[test]
fn a_base_url_alone_is_online() {
    let settings = ModelSettings::from_lookup(lookup(&[("LLM_BASE_URL", "http://127.0.0.1:8080/v1")])).unwrap();
    assert_eq!(settings.api_key, None);
    assert!(!settings.is_offline());
}

#[test]
fn unusable_values_are_refused_with_the_variable_and_the_value() {
    for (name, value) in [
        ("LLM_TIMEOUT_MS", "8s"),
        ("LLM_TIMEOUT_MS", "0"),
        ("LLM_TIMEOUT_MS", "-5"),
        ("LLM_MAX_ATTEMPTS", "three"),
        ("LLM_MAX_ATTEMPTS", "0"),
        ("LLM_BASE_URL", "localhost:11434/v1"),
    ] {
        let error = ModelSettings::from_lookup(lookup(&[(name, value)])).unwrap_err();
        assert!(error.contains(name), "{error}");
        assert!(error.contains(&format!("{value:?}")), "{error}");
    }
}

#[tokio::test]
async fn a_model_without_a_key_still_talks_to_a_local_server() {
    let stub = LlmStub::scripted(vec![StubReply::Text("Hi.".into())]).await;
    let mut settings = settings(stub.base_url());
    settings.api_key = None;
    let completion = complete(&ChatModel::new(&settings), request(Duration::from_secs(10)))
        .await
        .0
        .unwrap();
    assert_eq!(completion.text, "Hi.");
}
