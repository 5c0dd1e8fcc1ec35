//! `parley-bench`: measures Parley's hot paths under load, next to two
//! baselines built in the same run from the same data.
//!
//! - [`seed`]: the database, filled through Parley's own storage layer.
//! - [`scenarios`]: the six requests and how each is sent.
//! - [`serve_parley`], [`baseline_memory`], [`baseline_sqlx`]: the three
//!   servers, each run as a child process of this binary.
//! - [`children`]: starting, watching and stopping those processes.
//! - [`load`]: the load generator (hyper, one connection per virtual user).
//! - [`run`]: one whole run: seed, start, check, measure, report.
//! - [`report`]: the table and the JSON result file.
//! - [`subscribers`]: resident memory per idle WebSocket subscriber.
//! - [`growth`]: a live site's mixed load, on an empty database and on one
//!   grown by 100,000 comments.

mod baseline_memory;
mod baseline_sqlx;
mod children;
mod growth;
mod load;
mod report;
mod run;
mod scenarios;
mod seed;
mod serve_parley;
mod shapes;
mod subscribers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Load tests of Parley's hot paths, each next to an in-memory baseline (the
/// HTTP limit) and a hand-written SQL baseline (the storage limit).
#[derive(Debug, Parser)]
#[command(name = "parley-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every scenario.
    All(RunArgs),
    /// Run one scenario (1 to 6).
    Scenario {
        #[arg(value_parser = clap::value_parser!(u8).range(1..=6))]
        number: u8,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Measure Parley's resident memory per idle subscriber.
    Subscribers(subscribers::SubscribersArgs),
    /// Run a live site's mixed load on an empty database, then on one grown
    /// by `--comments` comments.
    Growth(growth::GrowthArgs),
    /// Serve Parley on a database (a child process of a run).
    #[command(hide = true)]
    ServeParley(serve_parley::ServeParleyArgs),
    /// Serve recorded answers from memory (a child process of a run).
    #[command(hide = true)]
    ServeMemory(baseline_memory::ServeMemoryArgs),
    /// Serve the hand-written SQL baseline (a child process of a run).
    #[command(hide = true)]
    ServeSqlx(baseline_sqlx::ServeSqlxArgs),
}

/// How a run measures.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Seconds measured per server, per scenario, per round.
    #[arg(long, default_value_t = 5)]
    pub duration_secs: u64,
    /// Seconds of load before each measurement, not counted.
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
    /// Rounds per scenario; each round measures Parley and both baselines,
    /// in an order that rotates from round to round.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Concurrent connections (virtual users), each sending its next
    /// request as soon as the last one is answered.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Threads of the load generator.
    #[arg(long, default_value_t = 1)]
    pub load_threads: usize,
    /// Run on PostgreSQL instead of SQLite: a server URL where the user may
    /// create databases. A throwaway database is created there and dropped
    /// at the end.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Run Parley with its read cache off only. Without it, the anonymous
    /// reads (scenarios 1 to 4) are measured on two Parleys: one with the
    /// cache on (the default setting), one with it off.
    #[arg(long)]
    pub no_cache: bool,
    /// Run `ANALYZE` on the SQLite database after seeding, so that SQLite
    /// plans with statistics. Parley never runs it; PostgreSQL gets it
    /// always, as autovacuum would give it.
    #[arg(long)]
    pub analyze: bool,
    /// Keep the run's folder (SQLite database, server logs, recorded
    /// answers) instead of deleting it at the end.
    #[arg(long)]
    pub keep: bool,
    /// Where to write the JSON results.
    #[arg(long, default_value_os_t = default_results_path())]
    pub out: PathBuf,
}

fn default_results_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join("latest.json")
}

/// The `--listen` of every server: the loopback, on a port the system picks.
pub fn any_loopback_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::All(args) => run_orchestrator(args, scenarios::Scenario::ALL.to_vec()),
        Command::Scenario { number, run } => {
            run_orchestrator(run, vec![scenarios::Scenario::from_number(number)])
        }
        Command::Subscribers(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(subscribers::run(args))),
        Command::Growth(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(growth::run(args))),
        Command::ServeParley(args) => server_runtime().and_then(|rt| {
            children::exit_when_parent_goes();
            rt.block_on(serve_parley::run(args))
        }),
        Command::ServeMemory(args) => server_runtime().and_then(|rt| {
            children::exit_when_parent_goes();
            rt.block_on(baseline_memory::run(args))
        }),
        Command::ServeSqlx(args) => server_runtime().and_then(|rt| {
            children::exit_when_parent_goes();
            rt.block_on(baseline_sqlx::run(args))
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("parley-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The runtime of every server: what `#[tokio::main]` gives Parley's own
/// binary, one worker per core.
fn server_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run_orchestrator(args: RunArgs, scenarios: Vec<scenarios::Scenario>) -> anyhow::Result<()> {
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    anyhow::ensure!(args.duration_secs > 0, "--duration-secs must be at least 1");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.load_threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(run::run(args, scenarios))
}
