//! The command-line commands: `serve` (the default), `moderator add`,
//! `import`, `export` and `backup`.

mod backup;
mod export;
mod import;
mod moderator_add;

use crate::App;
use crate::config::{Cli, Command, ModeratorCommand, Settings};

/// Runs the command the command line asks for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None | Some(Command::Serve) => {
            let settings = Settings::from_args(&cli.database, &cli.serve)?;
            App::build(settings).await?.run_until_stopped().await
        }
        Some(Command::Moderator(ModeratorCommand::Add(args))) => {
            moderator_add::run(&cli.database.database_url, args).await
        }
        Some(Command::Import(command)) => import::run(&cli.database.database_url, command).await,
        Some(Command::Export) => export::run(&cli.database.database_url).await,
        Some(Command::Backup(args)) => backup::run(&cli.database.database_url, args).await,
    }
}
