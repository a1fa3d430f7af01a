//! `rylie-ops bench …`: measured figures for the README's performance section. Each bench
//! prints the way we do it beside the naive way, in the same run.

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use clap::Subcommand;
use rylie_store::{ConnectSettings, Type};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

use rylie_app::BoxError;

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// Time from process start to the first handled invocation of a function binary, against
    /// a local Lambda Runtime API that this command serves (the database connection is
    /// excluded: DATABASE_URL points at a closed port).
    ColdStart {
        /// The function binary (build it with `cargo build --release -p api-health`).
        #[arg(long, default_value = "target/release/api-health")]
        binary: PathBuf,
        /// The event to hand it.
        #[arg(long, default_value = "events/api-health-health.json")]
        event: PathBuf,
        #[arg(long, default_value = "30")]
        runs: usize,
    },
    /// The API platform's own costs: an authenticated list route end to end in-process
    /// against the real database, access-token verification, API-key verification (beside
    /// the naive way: a password hash for keys).
    Api {
        /// A migrated database; the bench adds a `bench` dealership with 50 personas.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        #[arg(long, default_value = "5000")]
        iterations: usize,
    },
    /// The daily-feed import (ours, the naive row-by-row way, a bare binary COPY) over a
    /// dealership of `--vehicles` vehicles, and the vehicle search over it.
    Inventory {
        /// A migrated database (the owner's URL); the bench adds `bench-*` dealerships.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        #[arg(long, default_value = "100000")]
        vehicles: u64,
        /// Rows for the naive way (it is slow); the same scenario, smaller when set lower.
        #[arg(long, default_value = "100000")]
        naive_rows: u64,
        #[arg(long, default_value = "1000")]
        search_iterations: usize,
        /// Only the search, over the `bench-inventory` dealership a previous run left.
        #[arg(long)]
        search_only: bool,
    },
    /// The job platform: job-email throughput per worker against SES (moto locally:
    /// AWS_ENDPOINT_URL) beside a bare SES send, the idempotency overhead per job, and a
    /// report over `--messages` messages.
    Jobs {
        /// A migrated database (the owner's URL); the bench adds a `bench-jobs-*` dealership.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        #[arg(long, default_value = "200")]
        emails: usize,
        #[arg(long, default_value = "100000")]
        messages: i64,
    },
    /// Writes a generated feed (the inventory bench's vehicles 0..rows) to FILE, for measuring
    /// `import-tsv` on large files (e.g. peak memory with `/usr/bin/time -v`).
    Feed {
        #[arg(long)]
        rows: u64,
        /// The bench's second day over those rows instead: half repriced, a tenth gone, a tenth new.
        #[arg(long)]
        next_day: bool,
        file: PathBuf,
    },
    /// ADF lead parsing, ours (streaming) beside the naive DOM-then-walk way, on typical
    /// provider leads, one thread. No database.
    Adf {
        #[arg(long, default_value = "50000")]
        iterations: usize,
    },
    /// Inbound mail end to end: an SES event → the raw mail read from S3 (AWS_ENDPOINT_URL:
    /// moto locally) → MIME and ADF parsed → the lead, customer and conversation committed.
    Mail {
        /// A migrated database (the owner's URL); the bench adds a `bench-mail` dealership.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        #[arg(long, default_value = "500")]
        mails: usize,
    },
    /// The assistant's own time per customer message (everything but the model) and its
    /// database round trips, with the offline responder and with the model adapter against
    /// the local stub server; the bench adds a `bench-assistant-<time>` dealership.
    Assistant {
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// Customer messages for each responder: the p99 of 5,000 is the 50th slowest turn,
        /// not the 5th, and a pause of the host's in one turn does not move it.
        #[arg(long, default_value = "5000")]
        turns: usize,
        #[arg(long, default_value = "5000")]
        vehicles: i64,
    },
    /// Round trip of a one-row query three ways: named statement prepared per query
    /// (`Client::query` with SQL text), a statement prepared once and reused, and the unnamed
    /// statement (`query_typed`). See rylie-store's docs for why this matters behind RDS Proxy.
    Statements {
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        #[arg(long, default_value = "5000")]
        iterations: usize,
    },
}

pub async fn run(bench: Bench) -> Result<(), BoxError> {
    match bench {
        Bench::ColdStart { binary, event, runs } => cold_start(binary, event, runs).await,
        Bench::Statements {
            database_url,
            iterations,
        } => statements(&database_url, iterations).await,
        Bench::Api {
            database_url,
            iterations,
        } => api(&database_url, iterations).await,
        Bench::Adf { iterations } => crate::bench_adf::run(iterations).map_err(Into::into),
        Bench::Mail { database_url, mails } => crate::bench_mail::run(&database_url, mails).await,
        Bench::Assistant {
            database_url,
            turns,
            vehicles,
        } => {
            // On the runtime the functions run on (`rylie_app::http_function!`: current thread),
            // in a thread of its own: this command's runtime is a multi-threaded one, whose
            // hand-offs between worker threads cost the turn more than it costs in Lambda.
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(crate::bench_assistant::run(&database_url, turns, vehicles))
            })
            .join()
            .map_err(|_| "the assistant bench panicked")?
        }
        Bench::Jobs {
            database_url,
            emails,
            messages,
        } => crate::bench_jobs::run(&database_url, emails, messages).await,
        Bench::Feed { rows, next_day, file } => {
            let bytes = if next_day {
                crate::bench_inventory::write_feed(&file, crate::bench_inventory::next_day(rows))?
            } else {
                crate::bench_inventory::write_feed(&file, (0..rows).map(|i| (i, 0)))?
            };
            println!("{rows} rows, {bytes} bytes: {}", file.display());
            Ok(())
        }
        Bench::Inventory {
            database_url,
            vehicles,
            naive_rows,
            search_iterations,
            search_only,
        } => {
            if search_only {
                crate::bench_inventory::search_only(&database_url, search_iterations).await
            } else {
                crate::bench_inventory::run(&database_url, vehicles, naive_rows, search_iterations).await
            }
        }
    }
}

/// Percentiles of a sample, in milliseconds.
pub(crate) fn summary(label: &str, mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    format!(
        "{label:<44} n={:<6} min {:>8.3} ms  p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
        samples.len(),
        at(0.0),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

async fn cold_start(binary: PathBuf, event: PathBuf, runs: usize) -> Result<(), BoxError> {
    let event = std::fs::read_to_string(&event).map_err(|e| format!("reading {}: {e}", event.display()))?;
    if !binary.exists() {
        return Err(format!("{} does not exist: build it first", binary.display()).into());
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let mut samples = Vec::with_capacity(runs);
    for run in 0..runs {
        let started = Instant::now();
        let mut child = tokio::process::Command::new(&binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench-cold-start")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
            .env("DATABASE_URL", "postgres://rylie@127.0.0.1:9/rylie?sslmode=disable")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let handled = tokio::time::timeout(Duration::from_secs(10), serve_one(&listener, &event, run)).await;
        let elapsed = started.elapsed();
        child.kill().await.ok();
        match handled {
            Ok(Ok(())) => samples.push(elapsed),
            Ok(Err(error)) => return Err(format!("run {run}: {error}").into()),
            Err(_) => return Err(format!("run {run}: no response within 10 s").into()),
        }
    }
    println!("{}", summary("process start → first response (api-health)", samples));
    Ok(())
}

/// Serves the Runtime API until the function posts its first response.
async fn serve_one(listener: &TcpListener, event: &str, run: usize) -> Result<(), BoxError> {
    let request_id = format!("bench-{run}");
    loop {
        let (stream, _) = listener.accept().await?;
        if handle_connection(stream, event, &request_id).await? {
            return Ok(());
        }
    }
}

/// Answers requests on one keep-alive connection; true once the response was posted.
async fn handle_connection(stream: TcpStream, event: &str, request_id: &str) -> Result<bool, BoxError> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(false);
        }
        let mut content_length = 0usize;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse()?;
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).await?;
        let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        if path.ends_with("/invocation/next") {
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis()
                + 10_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 lambda-runtime-aws-request-id: {request_id}\r\nlambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:bench\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\r\n",
                event.len()
            );
            reader.get_mut().write_all(head.as_bytes()).await?;
            reader.get_mut().write_all(event.as_bytes()).await?;
        } else if path.ends_with("/response") {
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                .await?;
            let response = String::from_utf8_lossy(&body);
            if !response.contains("\"statusCode\":200") {
                return Err(format!("unexpected response: {response}").into());
            }
            return Ok(true);
        } else if path.ends_with("/error") {
            return Err(format!("the function reported an error: {}", String::from_utf8_lossy(&body)).into());
        } else {
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .await?;
        }
    }
}

async fn statements(database_url: &str, iterations: usize) -> Result<(), BoxError> {
    let client = ConnectSettings::from_url(database_url)?.connect().await?;
    let sql = "SELECT oid, datname FROM pg_database WHERE oid = $1";
    let oid: u32 = client
        .query_one("SELECT oid FROM pg_database WHERE datname = current_database()", &[])
        .await?
        .get(0);
    // Warm the server's caches so the first strategy is not penalised.
    for _ in 0..200 {
        client.query_typed(sql, &[(&oid, Type::OID)]).await?;
    }

    let mut named = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let rows = client.query(sql, &[&oid]).await?;
        named.push(started.elapsed());
        assert_eq!(rows.len(), 1);
    }
    let prepared = client.prepare(sql).await?;
    let mut reused = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let rows = client.query(&prepared, &[&oid]).await?;
        reused.push(started.elapsed());
        assert_eq!(rows.len(), 1);
    }
    let mut unnamed = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let rows = client.query_typed(sql, &[(&oid, Type::OID)]).await?;
        unnamed.push(started.elapsed());
        assert_eq!(rows.len(), 1);
    }
    println!("{}", summary("query(sql): named statement per query", named));
    println!("{}", summary("prepare once + query(&stmt): pins a proxy", reused));
    println!("{}", summary("query_typed(sql): unnamed statement", unnamed));
    Ok(())
}

async fn api(database_url: &str, iterations: usize) -> Result<(), BoxError> {
    use rylie_app::{
        Config, State,
        config::LOCAL_DEVELOPMENT_KEYS,
        http::{self, Access},
        routes::personas,
    };
    use rylie_domain::{Action, ApiKey, DealershipId, Role};

    let settings = ConnectSettings::from_url(database_url)?;
    let owner = settings.connect().await?;
    owner
        .batch_execute("SELECT set_config('rylie.scope', 'platform', false)")
        .await?;
    let dealership: i64 = owner
        .query_typed(
            "INSERT INTO dealerships (name, subdomain) VALUES ('Bench Motors', 'bench')
             ON CONFLICT (subdomain) DO UPDATE SET active = true RETURNING id",
            &[],
        )
        .await?[0]
        .get(0);
    owner
        .query_typed(
            "INSERT INTO personas (dealership_id, name, prompt_template)
             SELECT $1, 'Persona ' || n, 'You are {{persona_name}}.' FROM generate_series(1, 50) n
             ON CONFLICT (dealership_id, name) DO NOTHING",
            &[(&dealership, Type::INT8)],
        )
        .await?;
    let config = Config::from_lookup("bench-api", |name| match name {
        "DATABASE_URL" => Some(database_url.to_owned()),
        "JWT_KEYS" => Some(LOCAL_DEVELOPMENT_KEYS.to_owned()),
        _ => None,
    })?;
    let state = State::new(config, rylie_store::Db::new(settings))?;
    let keys = state.tokens.as_ref().expect("inline keys");
    let token = keys.issue(
        1,
        Role::DealershipAdmin,
        Some(DealershipId(dealership)),
        chrono::Utc::now().timestamp(),
    );
    // The user tier allows 1,000 requests an hour: each token's user makes at most 900 here.
    let event_for = |token: &str| {
        serde_json::json!({
            "version": "2.0", "routeKey": "GET /v1/dealerships/{dealership_id}/personas",
            "rawPath": format!("/v1/dealerships/{dealership}/personas"), "rawQueryString": "limit=20&sort=name",
            "queryStringParameters": {"limit": "20", "sort": "name"},
            "headers": {"authorization": format!("Bearer {token}")},
            "pathParameters": {"dealership_id": dealership.to_string()},
            "requestContext": {"http": {"method": "GET", "path": format!("/v1/dealerships/{dealership}/personas"),
                "sourceIp": "127.0.0.1", "protocol": "HTTP/1.1", "userAgent": "bench"}, "requestId": "bench",
                "routeKey": "GET /v1/dealerships/{dealership_id}/personas", "stage": "$default", "accountId": "0",
                "apiId": "bench", "domainName": "localhost", "domainPrefix": "localhost", "time": "", "timeEpoch": 0},
            "isBase64Encoded": false
        })
        .to_string()
    };
    const READ: Access = Access::Caller {
        resource: "personas",
        action: Action::Read,
    };
    let mut list = Vec::with_capacity(iterations);
    let mut event = String::new();
    for i in 0..iterations + 200 {
        if i % 900 == 0 {
            let user = 1 + (i / 900) as i64;
            let now = chrono::Utc::now().timestamp();
            event = event_for(&keys.issue(user, Role::DealershipAdmin, Some(DealershipId(dealership)), now));
        }
        let request = http::request_from_event(&event)?;
        let started = Instant::now();
        let response = http::handle(&state, READ, &personas::list, request).await;
        let elapsed = started.elapsed();
        if response.status() != 200 {
            return Err(format!("list answered {}", response.status()).into());
        }
        if i >= 200 {
            list.push(elapsed);
        }
    }
    println!("{}", summary("GET personas (auth, tenant, 20 of 50 rows)", list));

    let mut verify = Vec::with_capacity(100_000);
    for _ in 0..100_000 {
        let started = Instant::now();
        let claims = keys.verify(&token)?;
        verify.push(started.elapsed());
        std::hint::black_box(claims);
    }
    println!("{}", summary("access token verify (HS256, kid, claims)", verify));

    let key = ApiKey::generate(&rylie_app::auth::random_bytes::<44>());
    let stored = key.hash();
    let mut fast = Vec::with_capacity(100_000);
    for _ in 0..100_000 {
        let started = Instant::now();
        let ok = ApiKey::parse(key.reveal()).map(|k| k.matches(&stored)).unwrap_or(false);
        fast.push(started.elapsed());
        assert!(ok);
    }
    println!("{}", summary("API key parse + SHA-256 compare", fast));
    let naive_hash = rylie_app::auth::passwords::hash(key.reveal());
    let mut naive = Vec::with_capacity(20);
    for _ in 0..20 {
        let started = Instant::now();
        assert!(rylie_app::auth::passwords::verify(key.reveal(), &naive_hash));
        naive.push(started.elapsed());
    }
    println!(
        "{}",
        summary("naive: API key checked like a password (Argon2id)", naive)
    );
    Ok(())
}
