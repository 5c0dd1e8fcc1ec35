//! Configuration: the command line and the environment, flags first.
//!
//! Secrets (`PARLEY_JWT_SECRET`, `PARLEY_ADMIN_PASSWORD`) are read from the
//! environment only, never from arguments, which other users of the machine
//! can read; each may instead be read from a file (`…_FILE`), as Docker and
//! Compose secrets are mounted.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Context;
use chrono::TimeDelta;
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::flood::FloodPolicy;
use crate::domain::mail::MailSettings;
use crate::domain::origins::CorsOrigins;
use crate::domain::retention::RetentionPolicy;
use crate::domain::{ModerationMode, ModeratorRole};
use crate::graphql::QueryLimits;
use crate::http::connections::ConnectionLimits;
use crate::key_file::DataKeySource;

/// The SQLite file used when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://parley.db";

/// The defaults of the settings that have no type of their own to hold
/// them: the one table both the command line and [`Settings::for_database`]
/// read. (Query limits, flood control and connection limits keep theirs in
/// their types' `Default`.)
pub mod defaults {
    use crate::domain::ModerationMode;

    pub const LISTEN: &str = "127.0.0.1:8080";
    pub const MODERATION: ModerationMode = ModerationMode::Pre;
    pub const MAX_BODY_BYTES: usize = 64 * 1024;
    /// 12 hours.
    pub const TOKEN_TTL_SECS: u32 = 12 * 60 * 60;
    pub const REQUEST_TIMEOUT_SECS: u64 = 10;
    pub const SHUTDOWN_GRACE_SECS: u64 = 10;
    pub const RESPONSE_CACHE: bool = true;
    pub const HTTP_MAX_AGE_SECS: u32 = 5;
}

/// The settings read from the environment only, listed under `--help`.
const ENVIRONMENT_ONLY: &str = "\
Read from the environment only (never from arguments, which other users of the machine can read):
  PARLEY_ADMIN_PASSWORD       Password of the admin created from --admin-email on an empty database
  PARLEY_ADMIN_PASSWORD_FILE  A file holding it instead (e.g. a Docker secret)
  PARLEY_JWT_SECRET           Key that signs login tokens, at least 32 bytes (generated and stored if unset)
  PARLEY_JWT_SECRET_FILE      A file holding it instead
  PARLEY_DATA_KEY             Key that seals readers' emails (instead of --data-key-file; see `parley keys`)
  PARLEY_SMTP_URL             SMTP server for outgoing mail, e.g. smtp://user:password@host:587?tls=required
  PARLEY_SMTP_URL_FILE        A file holding it instead
  DATABASE_URL_FILE           A file holding the database URL (it may hold a password), instead of DATABASE_URL
  RUST_LOG                    Log filter, e.g. `debug` or `parley=debug,info` (default: info when serving)
  MIMALLOC_ALLOW_THP          `0` keeps the memory allocator off transparent huge pages";

/// Parley: a self-hosted comment service for news sites and blogs.
#[derive(Debug, Parser)]
#[command(name = "parley", version, about, after_help = ENVIRONMENT_ONLY)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// How log lines are written to standard error: `text` for people,
    /// `json` (one object per line) for log collectors. `RUST_LOG` picks
    /// what is logged (default `info`).
    #[arg(long, env = "PARLEY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, also accepted without the word `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    #[command(after_help = ENVIRONMENT_ONLY)]
    Serve,
    /// Manage moderator accounts.
    #[command(subcommand)]
    Moderator(ModeratorCommand),
    /// Ask a running server whether it is healthy (for container health checks).
    ///
    /// Requests `GET /healthz` of the server at `--listen` (`PARLEY_LISTEN`):
    /// exit status 0 when it answers 200, 1 otherwise. A server listening on
    /// every address (`0.0.0.0`, `::`) is asked on loopback.
    Healthcheck(HealthcheckArgs),
    /// Bring comments in from a WordPress, Disqus or Parley export.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Write everything to standard output as JSON Lines (personal data).
    ///
    /// Every article, comment (with its author's email), moderator account
    /// (without its password) and moderation log entry, one per line;
    /// `parley import parley FILE` reads it back.
    Export,
    /// Copy the SQLite database, while the server runs, to a new file.
    Backup(BackupArgs),
    /// Make and rotate the data key that seals readers' emails.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new data key on standard output.
    ///
    /// Keep it in a file readable by Parley only, name it with
    /// `--data-key-file` (or set `PARLEY_DATA_KEY`), and back it up apart
    /// from the database.
    Generate,
    /// Re-seal every value under the first configured key.
    ///
    /// Configure the new key first and the old one after it (one per line
    /// in the key file, or separated by commas), on every server and here;
    /// run this while they serve; then drop the old key. It works in
    /// batches and can be stopped and run again.
    Rotate,
}

impl Cli {
    /// The command line of this process. Unknown or misplaced arguments end
    /// the process with clap's message and status 2.
    pub fn from_command_line() -> Self {
        Self::parse_from_args(std::env::args_os()).unwrap_or_else(|err| err.exit())
    }

    /// Parses `args` (the program's name first).
    ///
    /// The options of `serve` are global, so that they may come before or
    /// after the word `serve` (or without it); the other commands neither
    /// list them in their help nor accept them.
    pub fn parse_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command = Self::command_with_own_options();
        let matches = command.try_get_matches_from_mut(args)?;
        let mut cli = Self::from_arg_matches(&matches)?;
        cli.database.database_url_given =
            matches.value_source("database_url") != Some(ValueSource::DefaultValue);
        if let Some(own) = cli.command.as_ref().and_then(Command::own_global_options) {
            let stray = global_options()
                .into_iter()
                .filter(|id| !own.contains(&id.as_str()))
                .find(|id| matches.value_source(id) == Some(ValueSource::CommandLine));
            if let Some(id) = stray {
                let name = cli.command.as_ref().map_or("", Command::name);
                return Err(command.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "`--{}` is not an option of `parley {name}`",
                        id.replace('_', "-")
                    ),
                ));
            }
        }
        Ok(cli)
    }

    /// The command-line interface, with the server's options hidden from
    /// the help of the commands that do not take them.
    pub fn command_with_own_options() -> clap::Command {
        let mut command = Self::command();
        // Global options reach each command when it is built.
        command.build();
        let global = global_options();
        command.mut_subcommands(|sub| hide_global_options(sub, &global))
    }

    /// The default log filter: the server logs what it does, other
    /// commands only what goes wrong.
    pub fn default_log_filter(&self) -> &'static str {
        match self.command {
            None | Some(Command::Serve) => "info",
            Some(_) => "warn",
        }
    }
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Self::Serve => "serve",
            Self::Moderator(ModeratorCommand::Add(_)) => "moderator add",
            Self::Healthcheck(_) => "healthcheck",
            Self::Import(ImportCommand::Wordpress(_)) => "import wordpress",
            Self::Import(ImportCommand::Disqus(_)) => "import disqus",
            Self::Import(ImportCommand::Parley(_)) => "import parley",
            Self::Export => "export",
            Self::Backup(_) => "backup",
            Self::Keys(KeysCommand::Generate) => "keys generate",
            Self::Keys(KeysCommand::Rotate) => "keys rotate",
        }
    }

    /// The global options a command reads: `None` for `serve`, which reads
    /// them all.
    fn own_global_options(&self) -> Option<&'static [&'static str]> {
        own_global_options(self.name())
    }
}

/// The global options the command `name` reads (`None`: all of them).
fn own_global_options(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "serve" => None,
        "healthcheck" => Some(&["listen"]),
        // Its name as clap knows it, and as `Command::name` says it.
        "generate" | "keys generate" => Some(&[]),
        // `moderator add`, `import`, `export`, `backup`, `keys rotate`.
        _ => Some(&["database_url", "data_key_file"]),
    }
}

/// The ids of the global options: the database's and the server's.
fn global_options() -> Vec<String> {
    let command = DatabaseArgs::augment_args(clap::Command::new("parley"));
    ServeArgs::augment_args(command)
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect()
}

/// Hides from `command` (and the commands under it) the global options it
/// does not read.
fn hide_global_options(command: clap::Command, global: &[String]) -> clap::Command {
    let Some(own) = own_global_options(command.get_name()) else {
        return command;
    };
    command
        .mut_args(|arg| {
            let id = arg.get_id().as_str();
            if global.iter().any(|g| g == id) && !own.contains(&id) {
                arg.hide(true)
            } else if id == "listen" {
                // For `healthcheck`, the server's address rather than its own.
                arg.help("Address and port the server listens on")
            } else {
                arg
            }
        })
        .mut_subcommands(|sub| hide_global_options(sub, global))
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A WordPress export (WXR 1.0-1.2, from Tools > Export).
    Wordpress(WordpressImportArgs),
    /// A Disqus export (XML, from Moderation > Export).
    Disqus(ImportArgs),
    /// A file written by `parley export`.
    Parley(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export to read.
    pub file: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct WordpressImportArgs {
    /// The export to read.
    pub file: std::path::PathBuf,
    /// Import pingbacks and trackbacks too (left out by default).
    #[arg(long)]
    pub include_pingbacks: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy; it must not exist yet.
    pub file: std::path::PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ModeratorCommand {
    /// Create a moderator account. The password is read from standard input
    /// (a prompt without echo on a terminal), never from an argument.
    Add(ModeratorAddArgs),
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Database to use: `sqlite://FILE` or `postgres://…`. Migrations run at start-up.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// File holding the data key that seals readers' emails (see `parley
    /// keys generate`). Without it (or PARLEY_DATA_KEY), a SQLite database
    /// gets a key file beside it, `FILE.key`; PostgreSQL needs one.
    #[arg(long, env = "PARLEY_DATA_KEY_FILE", global = true)]
    pub data_key_file: Option<PathBuf>,
    /// Whether `database_url` was given (by flag or variable) rather than
    /// the default.
    #[arg(skip)]
    pub database_url_given: bool,
}

impl DatabaseArgs {
    /// The database to use: `--database-url` or `DATABASE_URL`, or the
    /// content of the file `DATABASE_URL_FILE` names (a PostgreSQL URL holds
    /// a password), or the default.
    pub fn url(&self) -> anyhow::Result<String> {
        match secret_from_file("DATABASE_URL_FILE")? {
            Some(_) if self.database_url_given => {
                anyhow::bail!("set DATABASE_URL (or --database-url) or DATABASE_URL_FILE, not both")
            }
            Some(url) => Ok(url.expose_secret().to_owned()),
            None => Ok(self.database_url.clone()),
        }
    }

    /// The data key: `PARLEY_DATA_KEY`, or the file `--data-key-file`
    /// names, or (neither given) the key file beside a SQLite database.
    pub fn data_key(&self) -> anyhow::Result<DataKeySource> {
        let direct = match std::env::var("PARLEY_DATA_KEY") {
            Ok(value) => Some(value).filter(|v| !v.trim().is_empty()),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                anyhow::bail!("PARLEY_DATA_KEY is not valid UTF-8")
            }
        };
        match (direct, &self.data_key_file) {
            (Some(_), Some(_)) => {
                anyhow::bail!(
                    "set PARLEY_DATA_KEY or --data-key-file (PARLEY_DATA_KEY_FILE), not both"
                )
            }
            (Some(text), None) => Ok(DataKeySource::Given {
                text: SecretString::from(text),
                from: "PARLEY_DATA_KEY".to_owned(),
            }),
            (None, Some(path)) => DataKeySource::from_file(path),
            (None, None) => Ok(DataKeySource::BesideDatabase),
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "PARLEY_LISTEN",
        default_value = defaults::LISTEN,
        global = true
    )]
    pub listen: SocketAddr,
    /// Address and port of a second listener serving `GET /metrics` for
    /// Prometheus; off unless given. Keep it off the public network.
    #[arg(long, env = "PARLEY_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,
    /// The site's moderation mode on a new database (`pre`: new comments
    /// wait for a moderator; `post`: they show at once). Afterwards it is a
    /// moderation setting, changed with `updateModerationSettings`.
    #[arg(long, env = "PARLEY_MODERATION", value_enum, default_value_t = defaults::MODERATION, global = true)]
    pub moderation: ModerationMode,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "PARLEY_MAX_BODY_BYTES", default_value_t = defaults::MAX_BODY_BYTES, global = true)]
    pub max_body_bytes: usize,
    /// How long a moderator token lasts, in seconds.
    #[arg(long, env = "PARLEY_TOKEN_TTL_SECS", default_value_t = defaults::TOKEN_TTL_SECS, global = true)]
    pub token_ttl_secs: u32,
    /// Deepest nesting of selections a request may make.
    #[arg(long, env = "PARLEY_MAX_QUERY_DEPTH", default_value_t = QueryLimits::default().max_depth, global = true)]
    pub max_query_depth: usize,
    /// Highest cost of a request; a connection costs its `first` times its items.
    #[arg(long, env = "PARLEY_MAX_QUERY_COMPLEXITY", default_value_t = QueryLimits::default().max_complexity, global = true)]
    pub max_query_complexity: usize,
    /// Largest answer a request or a subscription event may get, in bytes.
    #[arg(long, env = "PARLEY_MAX_ANSWER_BYTES", default_value_t = QueryLimits::default().max_answer_bytes, global = true)]
    pub max_answer_bytes: usize,
    /// Most aliased fields in one request.
    #[arg(long, env = "PARLEY_MAX_ALIASES", default_value_t = QueryLimits::default().max_aliases, global = true)]
    pub max_aliases: usize,
    /// Whether callers without a moderator token may introspect the schema.
    #[arg(long, env = "PARLEY_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,
    /// Longest a request may run before it is answered with an error, in seconds.
    #[arg(
        long,
        env = "PARLEY_REQUEST_TIMEOUT_SECS",
        default_value_t = defaults::REQUEST_TIMEOUT_SECS,
        global = true
    )]
    pub request_timeout_secs: u64,
    /// Most GraphQL requests executed at once (4 per core by default); the
    /// rest wait their turn within their time budget. Cached answers do not
    /// wait.
    #[arg(
        long,
        env = "PARLEY_MAX_CONCURRENT_REQUESTS",
        default_value_t = default_concurrent_requests(),
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
        global = true
    )]
    pub max_concurrent_requests: usize,
    /// How long in-flight requests may run after SIGTERM or Ctrl-C, in seconds.
    #[arg(
        long,
        env = "PARLEY_SHUTDOWN_GRACE_SECS",
        default_value_t = defaults::SHUTDOWN_GRACE_SECS,
        global = true
    )]
    pub shutdown_grace_secs: u64,
    /// Whether answers to anonymous queries are cached (and retired on
    /// every change readers could see).
    #[arg(long, env = "PARLEY_RESPONSE_CACHE", default_value_t = defaults::RESPONSE_CACHE, action = clap::ArgAction::Set, global = true)]
    pub response_cache: bool,
    /// `max-age` of anonymous answers to GET, in seconds, for browsers and
    /// CDNs; 0 sends none.
    #[arg(
        long,
        env = "PARLEY_HTTP_MAX_AGE_SECS",
        default_value_t = defaults::HTTP_MAX_AGE_SECS,
        global = true
    )]
    pub http_max_age_secs: u32,
    /// Shortest time between two comments from one client address, in
    /// seconds; 0 turns flood control off (interval and hourly cap).
    #[arg(
        long,
        env = "PARLEY_FLOOD_INTERVAL_SECS",
        default_value_t = FloodPolicy::default().interval.as_secs(),
        global = true
    )]
    pub flood_interval_secs: u64,
    /// Most comments from one client address in any hour.
    #[arg(
        long,
        env = "PARLEY_FLOOD_HOURLY_CAP",
        default_value_t = FloodPolicy::default().hourly_cap,
        global = true
    )]
    pub flood_hourly_cap: u32,
    /// Days a hidden comment is kept: after that its author's name, email
    /// and text are erased, as `deleteComment` erases them. `0` keeps them.
    #[arg(
        long,
        env = "PARLEY_RETENTION_DAYS",
        default_value_t = RetentionPolicy::default().hidden_days,
        global = true
    )]
    pub retention_days: u32,
    /// The `From` of outgoing mail (`Comments <comments@news.example>`).
    /// With PARLEY_SMTP_URL and --public-url, Parley sends mail: reply
    /// notifications. Without all three, no feature that needs mail is
    /// offered.
    #[arg(long, env = "PARLEY_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// Where readers reach Parley (`https://comments.news.example`): the
    /// links in mail lead to its pages there.
    #[arg(long, env = "PARLEY_PUBLIC_URL", global = true)]
    pub public_url: Option<url::Url>,
    /// Proxies whose `X-Forwarded-For` is believed: addresses or CIDR
    /// ranges, comma-separated.
    #[arg(
        long,
        env = "PARLEY_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = address_or_range,
        global = true
    )]
    pub trusted_proxies: Vec<IpNet>,
    /// Longest a client may take to send a request's headers, in seconds,
    /// counted from when the connection opens or the previous answer was sent.
    #[arg(long, env = "PARLEY_HEADER_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().header_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub header_timeout_secs: u64,
    /// Longest an HTTP connection may sit idle between requests, in seconds.
    #[arg(long, env = "PARLEY_KEEP_ALIVE_SECS", default_value_t = ConnectionLimits::default().keep_alive.as_secs(), value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub keep_alive_secs: u64,
    /// Most connections open at once (by default the file descriptors the
    /// process may open less 128, at most 10,000).
    #[arg(long, env = "PARLEY_MAX_CONNECTIONS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..), global = true)]
    pub max_connections: Option<usize>,
    /// Most connections open at once from one client address.
    #[arg(long, env = "PARLEY_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = ConnectionLimits::default().max_connections_per_address, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..), global = true)]
    pub max_connections_per_address: usize,
    /// Most WebSocket connections open at once from one client address.
    #[arg(long, env = "PARLEY_MAX_WEBSOCKETS_PER_ADDRESS", default_value_t = ConnectionLimits::default().max_websockets_per_address, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..), global = true)]
    pub max_websockets_per_address: usize,
    /// Most subscriptions running at once on one WebSocket connection.
    #[arg(long, env = "PARLEY_MAX_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = ConnectionLimits::default().max_subscriptions_per_connection, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..), global = true)]
    pub max_subscriptions_per_connection: usize,
    /// Longest a WebSocket may take to send `connection_init`, in seconds.
    #[arg(long, env = "PARLEY_WS_INIT_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().websocket_init_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub ws_init_timeout_secs: u64,
    /// How often a WebSocket is pinged, in seconds.
    #[arg(long, env = "PARLEY_WS_PING_INTERVAL_SECS", default_value_t = ConnectionLimits::default().websocket_ping_interval.as_secs(), value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub ws_ping_interval_secs: u64,
    /// Longest a WebSocket may send nothing, not even a pong, in seconds.
    #[arg(long, env = "PARLEY_WS_IDLE_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().websocket_idle_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub ws_idle_timeout_secs: u64,
    /// Email of the admin to create when there is no moderator yet (with `PARLEY_ADMIN_PASSWORD`).
    #[arg(long, env = "PARLEY_ADMIN_EMAIL", global = true)]
    pub admin_email: Option<String>,
    /// Origins whose pages may call the API (`https://news.example`),
    /// comma-separated; `*` for any. None by default: same origin only.
    #[arg(
        long,
        env = "PARLEY_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,
    /// Whether the first comment posted to an unknown slug creates its
    /// article, when the post's `articleUrl` is on a listed CORS origin.
    #[arg(long, env = "PARLEY_ARTICLE_AUTO_CREATE", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub article_auto_create: bool,
    /// Whether `/demo` shows a sample article with the thread embedded.
    #[arg(long, env = "PARLEY_DEMO", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub demo: bool,
    /// Whether `GET /graphql` from a browser serves the moderators' playground.
    #[arg(long, env = "PARLEY_PLAYGROUND", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub playground: bool,
}

#[derive(Debug, Args)]
pub struct ModeratorAddArgs {
    /// Login email of the new moderator.
    #[arg(long)]
    pub email: String,
    /// Display name of the new moderator.
    #[arg(long)]
    pub name: String,
    /// What the account may do.
    #[arg(long, value_enum, default_value_t = ModeratorRole::Moderator)]
    pub role: ModeratorRole,
    /// Read the password from standard input without prompting.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// Longest to wait for the answer, in seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_secs: u64,
}

pub use crate::machine::cores;

/// GraphQL requests executed at once unless configured: 4 per core. Beyond
/// that they only wait for a database connection while holding memory.
pub fn default_concurrent_requests() -> usize {
    4 * cores()
}

/// Everything the server needs, resolved from flags and environment.
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: SocketAddr,
    /// Where `GET /metrics` is served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    pub moderation: ModerationMode,
    pub max_body_bytes: usize,
    pub token_ttl: TimeDelta,
    pub limits: QueryLimits,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub shutdown_grace: Duration,
    pub response_cache: bool,
    pub http_max_age_secs: u32,
    pub flood: FloodPolicy,
    pub retention: RetentionPolicy,
    /// How mail is sent, when it is.
    pub mail: Option<MailConfig>,
    pub trusted_proxies: Vec<IpNet>,
    /// Time limits and caps of connections and WebSockets.
    pub connections: ConnectionLimits,
    /// Counts the SQL statements the server runs, when set: for tests and
    /// benchmarks.
    pub statement_counter: Option<Arc<AtomicU64>>,
    /// Signs login tokens; never printed (see `secrecy`).
    pub jwt_secret: Option<SecretString>,
    /// Seals readers' emails and the server's secrets.
    pub data_key: DataKeySource,
    pub admin: Option<AdminBootstrap>,
    /// Origins whose pages may call the API.
    pub cors_origins: CorsOrigins,
    pub article_auto_create: bool,
    pub demo: bool,
    pub playground: bool,
}

/// Outgoing mail: the SMTP server (its URL may hold a password), the
/// `From`, and Parley's public address for links.
#[derive(Clone)]
pub struct MailConfig {
    pub smtp_url: SecretString,
    pub settings: MailSettings,
}

impl MailConfig {
    /// Mail through `smtp_url` from `from`, with links to `public_url`.
    pub fn new(smtp_url: &str, from: &str, public_url: url::Url) -> Self {
        Self {
            smtp_url: SecretString::from(smtp_url.to_owned()),
            settings: MailSettings {
                from: from.to_owned(),
                public_url,
            },
        }
    }
}

/// The first admin, from `PARLEY_ADMIN_EMAIL` and `PARLEY_ADMIN_PASSWORD`.
#[derive(Clone)]
pub struct AdminBootstrap {
    pub email: String,
    pub password: SecretString,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("moderation", &self.moderation)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("token_ttl", &self.token_ttl)
            .field("limits", &self.limits)
            .field("request_timeout", &self.request_timeout)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("flood", &self.flood)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Settings from parsed arguments plus the secrets in the environment.
    pub fn from_args(database: &DatabaseArgs, serve: &ServeArgs) -> anyhow::Result<Self> {
        let database_url = database.url()?;
        let admin = match (
            serve.admin_email.clone(),
            secret_from_env("PARLEY_ADMIN_PASSWORD")?,
        ) {
            (Some(email), Some(password)) => Some(AdminBootstrap { email, password }),
            (None, None) => None,
            _ => anyhow::bail!("set both PARLEY_ADMIN_EMAIL and PARLEY_ADMIN_PASSWORD, or neither"),
        };
        Ok(Self {
            database_url,
            listen: serve.listen,
            metrics_listen: serve.metrics_listen,
            moderation: serve.moderation,
            max_body_bytes: serve.max_body_bytes,
            token_ttl: TimeDelta::seconds(i64::from(serve.token_ttl_secs)),
            limits: QueryLimits {
                max_depth: serve.max_query_depth,
                max_complexity: serve.max_query_complexity,
                max_aliases: serve.max_aliases,
                max_answer_bytes: serve.max_answer_bytes,
                anonymous_introspection: serve.introspection,
            },
            request_timeout: Duration::from_secs(serve.request_timeout_secs.max(1)),
            max_concurrent_requests: serve.max_concurrent_requests,
            shutdown_grace: Duration::from_secs(serve.shutdown_grace_secs),
            response_cache: serve.response_cache,
            http_max_age_secs: serve.http_max_age_secs,
            flood: FloodPolicy {
                interval: Duration::from_secs(serve.flood_interval_secs),
                hourly_cap: serve.flood_hourly_cap,
            },
            retention: RetentionPolicy {
                hidden_days: serve.retention_days,
            },
            mail: mail_config(serve)?,
            trusted_proxies: serve.trusted_proxies.clone(),
            connections: ConnectionLimits {
                header_timeout: Duration::from_secs(serve.header_timeout_secs),
                keep_alive: Duration::from_secs(serve.keep_alive_secs),
                max_connections: serve.max_connections,
                max_connections_per_address: serve.max_connections_per_address,
                max_websockets_per_address: serve.max_websockets_per_address,
                max_subscriptions_per_connection: serve.max_subscriptions_per_connection,
                websocket_init_timeout: Duration::from_secs(serve.ws_init_timeout_secs),
                websocket_ping_interval: Duration::from_secs(serve.ws_ping_interval_secs),
                websocket_idle_timeout: Duration::from_secs(serve.ws_idle_timeout_secs),
            },
            statement_counter: None,
            jwt_secret: secret_from_env("PARLEY_JWT_SECRET")?,
            data_key: database.data_key()?,
            admin,
            cors_origins: CorsOrigins::parse(&serve.cors_origins)?,
            article_auto_create: serve.article_auto_create,
            demo: serve.demo,
            playground: serve.playground,
        })
    }

    /// Settings for tests and embedding: a database, any free port on
    /// loopback, the defaults otherwise.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_listen: None,
            moderation: defaults::MODERATION,
            max_body_bytes: defaults::MAX_BODY_BYTES,
            token_ttl: TimeDelta::seconds(i64::from(defaults::TOKEN_TTL_SECS)),
            limits: QueryLimits::default(),
            request_timeout: Duration::from_secs(defaults::REQUEST_TIMEOUT_SECS),
            max_concurrent_requests: default_concurrent_requests(),
            shutdown_grace: Duration::from_secs(defaults::SHUTDOWN_GRACE_SECS),
            response_cache: defaults::RESPONSE_CACHE,
            http_max_age_secs: defaults::HTTP_MAX_AGE_SECS,
            flood: FloodPolicy::default(),
            retention: RetentionPolicy::default(),
            mail: None,
            trusted_proxies: Vec::new(),
            connections: ConnectionLimits::default(),
            statement_counter: None,
            jwt_secret: None,
            data_key: DataKeySource::BesideDatabase,
            admin: None,
            cors_origins: CorsOrigins::default(),
            article_auto_create: false,
            demo: true,
            playground: true,
        }
    }
}

/// Outgoing mail, when `PARLEY_SMTP_URL`, `--mail-from` and `--public-url`
/// are all set; an error names what is missing when only some are.
fn mail_config(serve: &ServeArgs) -> anyhow::Result<Option<MailConfig>> {
    let smtp_url = secret_from_env("PARLEY_SMTP_URL")?;
    match (smtp_url, &serve.mail_from, &serve.public_url) {
        (None, None, _) => Ok(None),
        (Some(url), Some(from), Some(public_url)) => Ok(Some(MailConfig {
            smtp_url: url,
            settings: MailSettings {
                from: from.clone(),
                public_url: public_url.clone(),
            },
        })),
        (url, from, public_url) => {
            let missing: Vec<&str> = [
                url.is_none().then_some("PARLEY_SMTP_URL"),
                from.is_none().then_some("PARLEY_MAIL_FROM (--mail-from)"),
                public_url
                    .is_none()
                    .then_some("PARLEY_PUBLIC_URL (--public-url)"),
            ]
            .into_iter()
            .flatten()
            .collect();
            anyhow::bail!(
                "outgoing mail needs PARLEY_SMTP_URL, PARLEY_MAIL_FROM and PARLEY_PUBLIC_URL together; missing: {}",
                missing.join(", ")
            )
        }
    }
}

/// The secret in the environment variable `name`, or in the file named by
/// `name_FILE` (its content, less one line ending). Setting both is an error,
/// and so is a file that cannot be read or is empty; an empty variable counts
/// as unset.
fn secret_from_env(name: &str) -> anyhow::Result<Option<SecretString>> {
    let file_variable = format!("{name}_FILE");
    let direct = match std::env::var(name) {
        Ok(value) => Some(value).filter(|v| !v.is_empty()),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => anyhow::bail!("{name} is not valid UTF-8"),
    };
    match (direct, secret_from_file(&file_variable)?) {
        (Some(_), Some(_)) => anyhow::bail!("set {name} or {file_variable}, not both"),
        (Some(value), None) => Ok(Some(SecretString::from(value))),
        (None, from_file) => Ok(from_file),
    }
}

/// The content of the file the environment variable `variable` names, less
/// one line ending; `None` when the variable is unset or empty. A file that
/// cannot be read, or is empty, is an error that names the variable and the
/// path, never the content.
fn secret_from_file(variable: &str) -> anyhow::Result<Option<SecretString>> {
    let Some(path) = std::env::var_os(variable)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
    else {
        return Ok(None);
    };
    let content = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read {variable} ({})", path.display()))?;
    let value = content.strip_suffix('\n').map_or(content.as_str(), |line| {
        line.strip_suffix('\r').unwrap_or(line)
    });
    anyhow::ensure!(
        !value.is_empty(),
        "{variable} ({}) is empty",
        path.display()
    );
    Ok(Some(SecretString::from(value)))
}

/// A trusted proxy: a CIDR range, or a single address (`10.0.0.5`).
fn address_or_range(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{raw:?} is neither an IP address nor a CIDR range (10.0.0.0/8)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        assert_eq!(
            address_or_range("127.0.0.1").unwrap(),
            "127.0.0.1/32".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            address_or_range("::1").unwrap(),
            "::1/128".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            address_or_range("10.0.0.0/8").unwrap(),
            "10.0.0.0/8".parse::<IpNet>().unwrap()
        );
        assert!(address_or_range("proxy.example").is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn bare_invocation_serves_on_the_default_address() {
        let cli = Cli::parse_from_args(["parley"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn moderator_add_takes_no_password_argument() {
        let parsed = Cli::parse_from_args([
            "parley",
            "moderator",
            "add",
            "--email",
            "a@b.co",
            "--name",
            "A",
            "--password",
            "x",
        ]);
        assert!(parsed.is_err());
    }
}
