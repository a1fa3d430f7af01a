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
    }
}

/// Percentiles of a sample, in milliseconds.
fn summary(label: &str, mut samples: Vec<Duration>) -> String {
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
