//! The command-line commands: `serve` (the default), `moderator add`,
//! `healthcheck`, `import`, `export`, `backup` and `keys`.

mod backup;
mod export;
mod healthcheck;
mod import;
mod keys;
mod moderator_add;

use crate::App;
use crate::config::{Cli, Command, KeysCommand, ModeratorCommand, Settings};

/// Runs the command the command line asks for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None | Some(Command::Serve) => {
            let settings = Settings::from_args(&cli.database, &cli.serve)?;
            App::build(settings).await?.run_until_stopped().await
        }
        Some(Command::Moderator(ModeratorCommand::Add(args))) => {
            moderator_add::run(&cli.database.url()?, args).await
        }
        Some(Command::Import(command)) => {
            import::run(&cli.database.url()?, &cli.database.data_key()?, command).await
        }
        Some(Command::Export) => export::run(&cli.database.url()?, &cli.database.data_key()?).await,
        Some(Command::Keys(KeysCommand::Generate)) => keys::generate(),
        Some(Command::Keys(KeysCommand::Rotate)) => {
            keys::rotate(&cli.database.url()?, &cli.database.data_key()?).await
        }
        Some(Command::Backup(args)) => backup::run(&cli.database.url()?, args).await,
        Some(Command::Healthcheck(args)) => healthcheck::run(cli.serve.listen, &args).await,
    }
}

/// An error as one line for the operator: each cause after the first,
/// unless an earlier one already says it (many errors repeat their source
/// in their own message).
pub fn describe(err: &anyhow::Error) -> String {
    let mut said = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || said.contains(text) {
            continue;
        }
        if !said.is_empty() {
            said.push_str(": ");
        }
        said.push_str(text);
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_said_is_not_repeated() {
        let err = anyhow::anyhow!("connection refused")
            .context("error communicating with database: connection refused")
            .context("could not connect to PostgreSQL at db:5432");
        assert_eq!(
            describe(&err),
            "could not connect to PostgreSQL at db:5432: error communicating with database: connection refused"
        );
    }
}
