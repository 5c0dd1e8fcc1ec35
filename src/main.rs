//! The `parley` binary: parse the command line, set up logging, run.

use std::io::IsTerminal;
use std::process::ExitCode;

use parley::config::LogFormat;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = parley::config::Cli::from_command_line();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(cli.default_log_filter()));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_span_list(true).init(),
    }
    match parley::commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", parley::commands::describe(&err));
            ExitCode::FAILURE
        }
    }
}
