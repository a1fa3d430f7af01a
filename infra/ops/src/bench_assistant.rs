//! `rylie-ops bench assistant`: the platform's own time per customer message — everything
//! but the model — in-process against PostgreSQL, and the database round trips of a turn.
//!
//! Two responders, each over the same lot of generated vehicles: the offline templates (one
//! inventory search a turn), and the OpenAI adapter against the local stub server
//! (rylie-testkit's, real wire format) answering at once with one `search_inventory` call
//! and then a text — so the figure includes building the prompt, the HTTP exchange with
//! async-openai, the tool round, the post-check and the writes.
//!
//! It runs on a current-thread runtime of its own, as the functions do, and prints beside the
//! percentiles where a turn's time went: its thread's CPU and the database backend's, read
//! from the kernel's scheduler statistics. The stub shares that thread: the time it spends
//! answering (parsing the request, writing the completion) is the model's, and is taken out
//! of each turn's time; the turns' times with it are printed too. A last line does the same
//! for the slowest 1 % against the median turn. On the development machine (a virtual
//! machine) those are mostly single turns whose thread CPU time jumped by 2-9 ms, with normal
//! turns on either side, no page fault and no context switch: the machine's pause, not the
//! turn's work (measured with /proc/thread-self/stat and status while writing this).
//!
//! The lot is vacuumed and the tables analysed first, as a running platform's are: the turn's
//! database functions plan once per connection from the statistics they find.

use std::time::{Duration, Instant};

use rylie_app::{
    BoxError, Config, State,
    assistant::{
        Responder,
        model::{ChatModel, ModelSettings},
        turn::{self, TurnInput},
    },
};
use rylie_domain::DealershipId;
use rylie_store::{ConnectSettings, Type};
use rylie_testkit::llm_stub::{LlmStub, StubReply};
use serde_json::json;

use crate::bench::summary;

const QUESTIONS: &[&str] = &[
    "Do you have a Honda Civic?",
    "Any SUVs with leather seats under $35,000?",
    "What Toyota trucks do you have?",
    "Is the blue Mazda still available?",
    "Do you have anything with a sunroof?",
];

pub async fn run(database_url: &str, turns: usize, vehicles: i64) -> Result<(), BoxError> {
    let settings = ConnectSettings::from_url(database_url)?;
    let owner = settings.connect().await?;
    owner
        .batch_execute("SELECT set_config('rylie.scope', 'platform', false)")
        .await?;
    let run_id = chrono::Utc::now().timestamp_micros();
    let subdomain = format!("bench-assistant-{run_id}");
    let dealership: i64 = owner
        .query_typed(
            "INSERT INTO dealerships (name, subdomain) VALUES ('Bench Assistant Motors', $1) RETURNING id",
            &[(&subdomain, Type::TEXT)],
        )
        .await?[0]
        .get(0);
    owner
        .query_typed(
            "INSERT INTO personas (dealership_id, name, prompt_template, is_default)
             VALUES ($1, 'Riley', 'You are {{persona_name}} of {{dealership_name}}.', true)",
            &[(&dealership, Type::INT8)],
        )
        .await?;
    owner
        .query_typed(
            "INSERT INTO vehicles (dealership_id, vin, stock_number, make, model, year, price, mileage,
                                   exterior_color, body_style, features)
             SELECT $1, 'BNCH' || lpad(n::text, 13, '0'), 'S' || n,
                    (ARRAY['Honda','Toyota','Mazda','Ford','Chevrolet','Subaru'])[1 + n % 6],
                    (ARRAY['Civic','Tacoma','CX-5','F-150','Tahoe','Outback'])[1 + n % 6],
                    2015 + n % 10, 15000 + (n * 37) % 40000, (n * 131) % 90000,
                    (ARRAY['Blue','Red','White','Black'])[1 + n % 4],
                    (ARRAY['Sedan','Truck','SUV','Truck','SUV','Wagon'])[1 + n % 6],
                    CASE WHEN n % 3 = 0 THEN '[\"Sunroof\", \"Leather Seats\"]'::jsonb ELSE '[\"Bluetooth\"]'::jsonb END
               FROM generate_series(1, $2::int8) n",
            &[(&dealership, Type::INT8), (&vehicles, Type::INT8)],
        )
        .await?;
    // A lot arrives by the daily import, and autovacuum follows it (inserts trigger it): the
    // visibility map is set and the search's candidates are read from the index alone.
    owner.batch_execute("VACUUM ANALYZE vehicles").await?;

    let config = Config::from_lookup("bench-assistant", |name| match name {
        "DATABASE_URL" => Some(database_url.to_owned()),
        _ => None,
    })?;
    let mut state = State::new(config, rylie_store::Db::new(settings))?;
    println!(
        "{turns} customer messages a responder, 5 per conversation, over {vehicles} vehicles; \
         PostgreSQL on loopback, the owner role bound by row-level security"
    );

    println!("{}", machine_reference(&owner).await?);
    let offline = measure(&state, &owner, dealership, turns, || Duration::ZERO).await?;
    offline.print("offline responder", false);

    let stub = LlmStub::start(|body| {
        let last = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .cloned()
            .unwrap_or_default();
        if last["role"] == "tool" {
            StubReply::Text("Here are a few vehicles from our lot that match. Would you like a test drive?".into())
        } else {
            StubReply::ToolCalls(vec![("search_inventory".to_owned(), json!({ "make": "Honda" }))])
        }
    })
    .await;
    let model_settings = ModelSettings::from_lookup(|name| match name {
        "LLM_BASE_URL" => Some(stub.base_url()),
        _ => None,
    })?;
    state.responder = Responder::Model(Box::new(ChatModel::new(&model_settings))).into();
    let model = measure(&state, &owner, dealership, turns, || stub.busy_time()).await?;
    model.print("model via stub", true);
    println!("    model requests: {}", stub.requests().len());
    Ok(())
}

/// The measured turns, in order, each with where its time went.
struct Measured(Vec<TurnCost>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TurnCost {
    /// The platform's time: the turn's without the model's.
    platform: Duration,
    /// The turn's time as the caller waited for it, the model's included.
    with_model: Duration,
    /// The model's time (the stub's busy time).
    model: Duration,
    this_thread: Duration,
    /// None where the backend's statistics are not readable.
    backend: Option<Duration>,
    round_trips: u32,
    /// A `SELECT 1` round trip right after the turn.
    probe: Duration,
}

impl Measured {
    /// The responder's figures: the platform's time, the caller's too when a model took part,
    /// round trips, and where the time went on average and in the slowest turns.
    fn print(&self, responder: &str, with_model: bool) {
        println!(
            "{}",
            summary(
                &format!("{responder}: platform time a message"),
                self.times(|t| t.platform)
            )
        );
        if with_model {
            println!(
                "{}",
                summary(
                    "    the same turns with the stub's own work",
                    self.times(|t| t.with_model)
                )
            );
        }
        println!("{}", self.round_trips());
        println!("{}", CpuShare(self));
        println!("{}", Tail(self));
    }

    fn times(&self, part: fn(&TurnCost) -> Duration) -> Vec<Duration> {
        self.0.iter().map(part).collect()
    }

    fn round_trips(&self) -> String {
        let round_trips: Vec<u32> = self.0.iter().map(|turn| turn.round_trips).collect();
        format!(
            "    round trips a turn: max {}, mean {:.2}",
            round_trips.iter().copied().max().unwrap_or(0),
            round_trips.iter().map(|r| f64::from(*r)).sum::<f64>() / round_trips.len().max(1) as f64
        )
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Where a turn's time went, on average: CPU of this thread (the platform's code, the stub
/// and the kernel's loopback work for both: the bench runs on one current-thread runtime),
/// the part of it the stub spent answering, and the database backend's CPU, read from the
/// kernel's scheduler statistics (`/proc/.../schedstat`, nanoseconds on CPU). The rest is
/// waiting: for the scheduler, and for the WAL flush of a turn that hands over.
struct CpuShare<'a>(&'a Measured);

impl std::fmt::Display for CpuShare<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let turns = &self.0.0;
        let per_turn =
            |part: fn(&TurnCost) -> Duration| ms(turns.iter().map(part).sum::<Duration>()) / turns.len().max(1) as f64;
        write!(
            f,
            "    a turn on average: {:.3} ms wall, of which {:.3} ms CPU of this process's thread",
            per_turn(|t| t.with_model),
            per_turn(|t| t.this_thread)
        )?;
        if turns.iter().any(|t| !t.model.is_zero()) {
            write!(f, " (the stub answering: {:.3} ms)", per_turn(|t| t.model))?;
        }
        if turns.iter().all(|t| t.backend.is_some()) {
            write!(
                f,
                " and {:.3} ms CPU of the database backend",
                per_turn(|t| t.backend.unwrap_or_default())
            )
        } else {
            write!(f, " (the database backend's CPU is not readable here)")
        }
    }
}

/// Where the slowest 1 % of turns' time went, against the median turn's: CPU of this thread
/// or of the backend (the same work done slower, or more work), or neither (waiting). Beside
/// it, a bare `SELECT 1` round trip timed right after each turn: when it is slow too around
/// those turns, the host was (the turn's work did not change).
struct Tail<'a>(&'a Measured);

impl std::fmt::Display for Tail<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.0.is_empty() {
            return Ok(());
        }
        let mut turns = self.0.0.clone();
        turns.sort();
        let slowest = &turns[turns.len() - turns.len().div_ceil(100)..];
        let mean =
            |part: fn(&TurnCost) -> Duration| ms(slowest.iter().map(part).sum::<Duration>()) / slowest.len() as f64;
        let backend = |t: &TurnCost| t.backend.unwrap_or_default();
        let median = turns[turns.len() / 2];
        let mut probes = self.0.times(|t| t.probe);
        probes.sort();
        write!(
            f,
            "    the slowest 1 % of turns: {:.3} ms, of which {:.3} ms CPU of this thread and {:.3} ms of the backend \
             (the median turn: {:.3}, {:.3} and {:.3} ms); a SELECT 1 right after them: {:.3} ms (after any turn, p50: {:.3} ms)",
            mean(|t| t.platform),
            mean(|t| t.this_thread),
            mean(backend),
            ms(median.platform),
            ms(median.this_thread),
            ms(backend(&median)),
            mean(|t| t.probe),
            ms(probes[probes.len() / 2]),
        )
    }
}

/// How fast this host is right now, to read the figures by: on the development machine the
/// same binary's turns, the database's CPU included, take from 1× to 2× as long from one
/// quarter of an hour to the next (other tenants of the host; a loop of integer arithmetic
/// does not slow down with them). The reference involves none of the platform's code: a
/// `SELECT 1` round trip to the database on loopback, ~0.047 ms in the fast periods.
async fn machine_reference(owner: &tokio_postgres::Client) -> Result<String, BoxError> {
    let mut round_trips = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let started = Instant::now();
        owner.query_typed("SELECT 1", &[]).await?;
        round_trips.push(started.elapsed());
    }
    Ok(summary("machine reference: a SELECT 1 round trip", round_trips))
}

/// Nanoseconds on CPU of a thread or process, from its `schedstat`.
fn cpu_time(schedstat: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(schedstat).ok()?;
    text.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

/// The backend's CPU time: the database on this host (loopback) and /proc readable.
fn backend_cpu(pid: i32) -> Option<Duration> {
    cpu_time(&format!("/proc/{pid}/schedstat"))
}

/// `turns` customer messages, five to a new conversation, each timed; `model_time` is the
/// model's time so far (the stub's busy time), taken out of each turn's.
async fn measure(
    state: &State,
    owner: &tokio_postgres::Client,
    dealership: i64,
    turns: usize,
    model_time: impl Fn() -> Duration,
) -> Result<Measured, BoxError> {
    let mut measured = Vec::with_capacity(turns);
    let conversations: Vec<i64> = owner
        .query_typed(
            "INSERT INTO conversations (dealership_id, channel)
             SELECT $1, 'web' FROM generate_series(1, $2::int8) RETURNING id",
            &[(&dealership, Type::INT8), (&((turns as i64 + 10) / 5 + 1), Type::INT8)],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    // A running platform's tables have statistics, and the turn's functions plan their
    // statements once per database connection from them (migration 0012).
    owner.batch_execute("ANALYZE conversations, messages").await?;
    let backend = state.db.backend_pid().await?;
    // Warm-up: the first statements of a session are planned cold.
    for n in 0..turns + 10 {
        let input = TurnInput {
            dealership: DealershipId(dealership),
            conversation_id: conversations[n / 5],
            text: QUESTIONS[n % QUESTIONS.len()],
            idempotency_key: None,
            ask_assistant: false,
            deadline: turn::deadline_within(Duration::from_secs(20)),
        };
        let (thread_before, backend_before) = (cpu_time("/proc/thread-self/schedstat"), backend_cpu(backend));
        let model_before = model_time();
        let started = Instant::now();
        let outcome = turn::take_turn(state, &input).await?;
        let elapsed = started.elapsed();
        let model_spent = model_time() - model_before;
        let (thread_after, backend_after) = (cpu_time("/proc/thread-self/schedstat"), backend_cpu(backend));
        if outcome.reply.is_none() || outcome.model_failure.is_some() {
            return Err(format!("turn {n} gave no answer: {:?}", outcome.trace).into());
        }
        if n >= 10 {
            let probe_started = Instant::now();
            owner.query_typed("SELECT 1", &[]).await?;
            measured.push(TurnCost {
                platform: elapsed.saturating_sub(model_spent),
                with_model: elapsed,
                model: model_spent,
                this_thread: thread_after.zip(thread_before).map_or(Duration::ZERO, |(a, b)| a - b),
                backend: backend_after.zip(backend_before).map(|(after, before)| after - before),
                round_trips: outcome.round_trips,
                probe: probe_started.elapsed(),
            });
        }
    }
    Ok(Measured(measured))
}
