//! rylie-ops: the operator's command line. Every command prints what it did; machine-readable
//! output is JSON on stdout, progress and problems go to stderr.

mod bench;
mod bench_adf;
mod bench_assistant;
mod bench_inventory;
mod bench_jobs;
mod bench_mail;
mod chat_cli;
mod dlq_cli;
mod import_cli;
mod inbound_cli;
mod seed;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use rylie_store::{
    ConnectSettings,
    migrate::{self, MigrationSet, Mode},
};

#[derive(Debug, Parser)]
#[command(
    name = "rylie-ops",
    version,
    about = "Operate a Rylie installation: migrations, demo data, benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending database migrations (the same runner as the db-migrate function).
    Migrate {
        /// Connection URL of the schema owner.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// Validate, then print what would be applied; change nothing.
        #[arg(long, conflicts_with = "validate_only")]
        dry_run: bool,
        /// Check migration files and the checksums of applied migrations; change nothing.
        #[arg(long)]
        validate_only: bool,
        /// Read migrations from this folder instead of those built into the binary.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// How long to wait for another runner holding the migration lock.
        #[arg(long, default_value = "120")]
        lock_wait_secs: u64,
    },
    /// Create (or refresh) the demo dealership with a persona and a small inventory.
    SeedDemo {
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
    },
    /// Import an inventory feed for a dealership and print the import's statistics as JSON.
    /// With --dry-run, read and map the file without writing anything and print the mapping,
    /// every rejected row and warning, and the first normalised vehicles.
    ImportTsv {
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// The dealership's id.
        #[arg(long)]
        dealership: i64,
        /// The feed (tab, comma, pipe or semicolon separated).
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
        /// A partial feed: add and update, deactivate nothing.
        #[arg(long)]
        partial: bool,
        /// Apply even when the feed would deactivate more than the dealership's limit.
        #[arg(long)]
        confirm: bool,
        /// Vehicles shown by --dry-run.
        #[arg(long, default_value = "5")]
        show: usize,
    },
    /// Parse a raw mail (.eml) or a bare ADF document (`-`: stdin) and print its leads as a
    /// JSON array, one object per prospect. Exits non-zero, with the reason on stderr, when
    /// there is no usable lead.
    ParseAdf {
        /// The file, or `-` for stdin.
        file: String,
    },
    /// Classify one customer message and print its JSON: intents, sentiment (-1..1), opt_out
    /// (null, "stop", "help" or "start") and the handover the message alone calls for.
    Classify {
        /// The message; several arguments are joined with spaces.
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Talk to a dealership's assistant in the terminal, with each reply's decision trace
    /// (DATABASE_URL; LLM_* for a model, else the offline responder).
    Chat {
        #[arg(long)]
        dealership: i64,
        /// Continue this conversation instead of starting one.
        #[arg(long)]
        conversation: Option<i64>,
        #[arg(long, default_value = "web", value_parser = ["web", "sms", "email", "phone"])]
        channel: String,
    },
    /// Inbound mail.
    #[command(subcommand)]
    Inbound(Inbound),
    /// A job's dead-letter queue: list its messages, or redrive them to the job.
    #[command(subcommand)]
    Dlq(dlq_cli::Dlq),
    /// Measure the platform's speed; prints figures.
    #[command(subcommand)]
    Bench(bench::Bench),
}

#[derive(Debug, Subcommand)]
enum Inbound {
    /// Process a recorded mail again (after a fix, or after it failed), with this
    /// environment's configuration (DATABASE_URL or DATABASE_SECRET_ARN, FILES_BUCKET, the
    /// queue URLs). Idempotent: leads and imports already created are not created again.
    Reprocess {
        /// The mail's id (`inbound_emails.id`, as listed by GET .../inbound-emails).
        id: i64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    rylie_app::telemetry::init(rylie_app::config::LogFormat::Text);
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), rylie_app::BoxError> {
    match cli.command {
        Command::Migrate {
            database_url,
            dry_run,
            validate_only,
            dir,
            lock_wait_secs,
        } => {
            let mode = match (dry_run, validate_only) {
                (true, _) => Mode::DryRun,
                (_, true) => Mode::ValidateOnly,
                _ => Mode::Apply,
            };
            let set = match dir {
                Some(dir) => MigrationSet::from_dir(&dir)?,
                None => MigrationSet::embedded()?,
            };
            let mut client = ConnectSettings::from_url(&database_url)?.connect().await?;
            let report = migrate::run(&mut client, &set, mode, Duration::from_secs(lock_wait_secs)).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::SeedDemo { database_url } => {
            let client = ConnectSettings::from_url(&database_url)?.connect().await?;
            let summary = seed::demo(&client).await?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(())
        }
        Command::ImportTsv {
            database_url,
            dealership,
            file,
            dry_run,
            partial,
            confirm,
            show,
        } => {
            let open = || std::fs::File::open(&file).map_err(|e| format!("reading {}: {e}", file.display()));
            if dry_run {
                let preview = rylie_app::inventory::import::preview_feed(std::io::BufReader::new(open()?), show)?;
                println!("{}", serde_json::to_string_pretty(&preview)?);
                return Ok(());
            }
            let import = import_cli::run(&database_url, dealership, &file, !partial, confirm).await?;
            println!("{}", serde_json::to_string_pretty(&import)?);
            Ok(())
        }
        Command::ParseAdf { file } => {
            let leads = inbound_cli::parse_adf(&file)?;
            println!("{}", serde_json::to_string_pretty(&leads)?);
            Ok(())
        }
        Command::Classify { text } => {
            let classification = rylie_domain::assistant::classify(&text.join(" "));
            println!("{}", serde_json::to_string_pretty(&classification)?);
            Ok(())
        }
        Command::Chat {
            dealership,
            conversation,
            channel,
        } => chat_cli::run(dealership, conversation, &channel).await,
        Command::Inbound(Inbound::Reprocess { id }) => {
            let email = inbound_cli::reprocess(id).await?;
            println!("{}", serde_json::to_string_pretty(&email)?);
            Ok(())
        }
        Command::Dlq(dlq) => dlq_cli::run(dlq).await,
        Command::Bench(bench) => bench::run(bench).await,
    }
}
