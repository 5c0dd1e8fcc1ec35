//! `parley moderator add`: create a moderator account from the command line.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;

use crate::config::ModeratorAddArgs;
use crate::domain::accounts::{self, NewModerator};
use crate::store::Store;

pub async fn run(database_url: &str, args: ModeratorAddArgs) -> anyhow::Result<()> {
    let password = read_password(args.password_stdin)?;
    let input = NewModerator {
        email: args.email,
        name: args.name,
        role: args.role,
        password,
    };
    // Bad input is refused before the database is created or migrated.
    input
        .check()
        .map_err(|err| anyhow::anyhow!("{}", err.message()))?;
    let store = Store::connect(database_url).await?;
    store.migrate().await?;
    let created = accounts::add(&store, input)
        .await
        .map_err(|err| anyhow::anyhow!("{}", err.message()))?;
    store.close().await;
    println!(
        "Created {} {} ({}).",
        created.role.as_str().to_lowercase(),
        created.name,
        created.id
    );
    Ok(())
}

/// The password from standard input: one line when piped or with
/// `--password-stdin`, otherwise a prompt without echo, asked twice.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("could not read the password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']);
        anyhow::ensure!(
            !password.is_empty(),
            "no password was given: write it as the first line of standard input"
        );
        return Ok(password.to_owned());
    }
    let first = rpassword::prompt_password("Password (12-128 characters): ")?;
    anyhow::ensure!(!first.is_empty(), "no password was given");
    let again = rpassword::prompt_password("Password again: ")?;
    anyhow::ensure!(first == again, "the passwords do not match");
    Ok(first)
}
