//! The command-line commands: `serve` (the default) and `moderator add`.

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
    }
}
