//! One run: create and seed a database, start Parley, record its answers,
//! start the baselines and check that they answer the same, then measure
//! every scenario round by round and report.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, DATE};
use hyper::{Method, StatusCode};
use sea_orm::sqlx::{self, AssertSqlSafe, Connection, PgConnection};
use serde_json::{Value, json};

use crate::RunArgs;
use crate::baseline_memory::Recorded;
use crate::children::ChildServer;
use crate::load::{self, Plan, Target};
use crate::report::{self, Results, ScenarioResult, Server, ServerResult};
use crate::scenarios::{self, BodySource, Inputs, RequestSpec, Scenario};
use crate::seed;

pub async fn run(args: RunArgs, scenarios: Vec<Scenario>) -> anyhow::Result<()> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let context = RunContext {
        started_at,
        load_average: std::fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|text| text.trim().to_owned()),
        commit: parley_commit(),
    };
    let work = std::env::temp_dir().join(format!("parley-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)
        .with_context(|| format!("could not create {}", work.display()))?;
    let database = Database::create(args.postgres.as_deref(), &work).await?;
    println!("database: {}", database.describe());
    // On Ctrl-C the servers stop (dropping them kills them) and the
    // database is still dropped.
    let outcome = tokio::select! {
        outcome = measure(&args, &scenarios, &database, &work, started, context) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Err(err) = database.remove().await {
        eprintln!("could not drop the database: {err:#}");
    }
    match outcome {
        Ok(()) if args.keep => {
            println!("the run's files are in {}", work.display());
            Ok(())
        }
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&work);
            Ok(())
        }
        Err(err) => Err(err.context(format!("logs are kept in {}", work.display()))),
    }
}

async fn measure(
    args: &RunArgs,
    scenarios: &[Scenario],
    database: &Database,
    work: &Path,
    started: Instant,
    context: RunContext,
) -> anyhow::Result<()> {
    println!("seeding…");
    let seeded = seed::seed(&database.url, args.analyze).await?;
    println!(
        "seeded {} articles, {} comments ({} pending) in {:.1} s{}",
        seeded.articles,
        seeded.comments,
        seeded.pending,
        seeded.seconds,
        if seeded.analyzed {
            ", then ANALYZE"
        } else {
            ""
        }
    );

    // Parley as configured and, for the anonymous reads its cache would
    // answer, Parley with its cache off beside it.
    let mut parleys: Vec<(Server, ChildServer)> = Vec::new();
    if !args.no_cache {
        parleys.push((Server::Parley, spawn_parley(database, work, false)?));
    }
    if args.no_cache || scenarios.iter().any(|s| s.is_anonymous_read()) {
        parleys.push((Server::ParleyNoCache, spawn_parley(database, work, true)?));
    }
    let primary = &parleys.first().context("no Parley")?.1;
    let parleys_for = |scenario: Scenario| -> Vec<(Server, &ChildServer)> {
        parleys
            .iter()
            .filter(|(server, _)| {
                *server == Server::Parley || args.no_cache || scenario.is_anonymous_read()
            })
            .map(|(server, child)| (*server, child))
            .collect()
    };

    let needs = |s: Scenario| scenarios.contains(&s);
    let token = if needs(Scenario::ModerationQueue) {
        Some(login(primary).await?)
    } else {
        None
    };
    let page_999_end = if needs(Scenario::DeepPage) {
        // Through the Parley without a cache when there is one, so that
        // the walk leaves no answers in the other's cache.
        let walker = &parleys.last().context("no Parley")?.1;
        let walked = Instant::now();
        let cursor = walk_to_page_1000(walker).await?;
        println!(
            "walked 999 pages of {} in {:.1} s",
            seed::LONG_SLUG,
            walked.elapsed().as_secs_f64()
        );
        Some(cursor)
    } else {
        None
    };
    let inputs = Inputs {
        token,
        page_999_end,
        run_tag: uuid::Uuid::now_v7().simple().to_string()[20..].to_owned(),
    };

    // Parley's answer to each scenario, and what it cost in statements.
    let mut prepared = Vec::new();
    let mut recorded = Vec::new();
    for &scenario in scenarios {
        let spec = Arc::new(RequestSpec::new(scenario, &inputs)?);
        let mut answer: Option<Bytes> = None;
        let mut statements_first = Vec::new();
        for (server, parley) in parleys_for(scenario) {
            let before = statements(parley).await?;
            let target = Target {
                addr: parley.addr,
                uri: spec.uri("/graphql")?,
            };
            let (status, headers, body) = load::once(&target, &spec).await?;
            let after = statements(parley).await?;
            statements_first.push((server, after.saturating_sub(before)));
            if status != StatusCode::OK || load::has_errors(&body) {
                bail!(
                    "{} answered scenario {} with {status}: {}",
                    server.label(),
                    scenario.number(),
                    String::from_utf8_lossy(&body)
                );
            }
            if let Some(first) = &answer {
                if scenario.is_read() && !same_json(first, &body) {
                    bail!(
                        "Parley answers scenario {} differently with its cache on and off:\n{}",
                        scenario.number(),
                        difference("cache on", first, "cache off", &body)
                    );
                }
                continue;
            }
            let body_file = work.join(format!("s{}.json", scenario.number()));
            std::fs::write(&body_file, &body)?;
            let replayed = headers
                .iter()
                .filter(|(name, _)| *name != CONTENT_LENGTH && *name != DATE)
                .filter_map(|(name, value)| {
                    Some((name.to_string(), value.to_str().ok()?.to_owned()))
                })
                .collect();
            recorded.push(Recorded {
                path: scenario.baseline_path(),
                headers: replayed,
                body_file,
            });
            answer = Some(body);
        }
        prepared.push(Prepared {
            scenario,
            spec,
            answer: answer.context("no answer from Parley")?,
            statements_first,
        });
    }
    let manifest = work.join("memory.json");
    std::fs::write(&manifest, serde_json::to_vec_pretty(&recorded)?)?;

    let memory = ChildServer::spawn(
        "in-memory",
        vec![
            "serve-memory".into(),
            "--manifest".into(),
            manifest.into_os_string(),
        ],
        &work.join("memory.log"),
    )?;
    let sqlx_server = ChildServer::spawn(
        "sqlx",
        vec![
            "serve-sqlx".into(),
            "--database-url".into(),
            database.url.clone().into(),
            "--moderator-id".into(),
            seeded.moderator_id.to_string().into(),
        ],
        &work.join("sqlx.log"),
    )?;
    for p in &prepared {
        for server in [&memory, &sqlx_server] {
            check_baseline(server, p).await?;
        }
    }
    println!("both baselines answer as Parley does");
    let setup_seconds = started.elapsed().as_secs_f64();

    let plan = Plan {
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
    };
    println!(
        "measuring: {} connections, {} s warm-up + {} s per server, {} rounds\n",
        plan.connections, args.warmup_secs, args.duration_secs, args.rounds
    );
    let mut results = Vec::new();
    for p in &prepared {
        let mut servers = parleys_for(p.scenario);
        servers.push((Server::Memory, &memory));
        servers.push((Server::Sqlx, &sqlx_server));
        let count = servers.len();
        let mut rounds: Vec<Vec<(u32, usize, load::Outcome)>> =
            (0..count).map(|_| Vec::new()).collect();
        // Statements run and requests answered, per server.
        let mut ran = vec![(0_u64, 0_u64); count];
        for round in 0..args.rounds {
            for position in 0..count {
                let which = (round as usize + position) % count;
                let (server, child) = servers[which];
                let path = if server.is_parley() {
                    "/graphql".to_owned()
                } else {
                    p.scenario.baseline_path()
                };
                let target = Target {
                    addr: child.addr,
                    uri: p.spec.uri(&path)?,
                };
                let before = match server.is_parley() {
                    true => Some(statements(child).await?),
                    false => None,
                };
                let outcome = load::drive(&target, p.spec.clone(), plan).await;
                if let Some(before) = before {
                    ran[which].0 += statements(child).await?.saturating_sub(before);
                    ran[which].1 += outcome.sent;
                }
                let mut sorted = outcome.latencies_us.clone();
                sorted.sort_unstable();
                println!(
                    "  s{} round {}/{} {:<18} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
                    p.scenario.number(),
                    round + 1,
                    args.rounds,
                    server.label(),
                    outcome.requests_per_sec(),
                    report::ms(load::percentile(&sorted, 50.0)),
                    report::ms(load::percentile(&sorted, 99.0)),
                    outcome.errors()
                );
                if let Some(err) = &outcome.first_error {
                    println!("    first error: {err}");
                }
                rounds[which].push((round + 1, position, outcome));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let measured = rounds
            .into_iter()
            .zip(&servers)
            .zip(&ran)
            .map(|((outcome, (server, child)), (statements, sent))| {
                let mut result = ServerResult::from_rounds(*server, outcome);
                if server.is_parley() {
                    result.statements_first_request = p
                        .statements_first
                        .iter()
                        .find(|(s, _)| s == server)
                        .map(|(_, n)| *n);
                    result.statements_per_request =
                        (*sent > 0).then(|| *statements as f64 / *sent as f64);
                    result.memory_after = child.memory();
                }
                result
            })
            .collect();
        let mut result = ScenarioResult {
            number: p.scenario.number(),
            scenario: p.scenario,
            title: p.scenario.title(),
            document: p.scenario.document(),
            response_bytes: p.answer.len(),
            servers: measured,
        };
        result.compare();
        for r in result.servers.iter().filter(|r| r.server.is_parley()) {
            println!(
                "s{} {}: {} {:.0} req/s, {:.2}× in-memory, {:.2}× sqlx",
                result.number,
                result.title,
                r.server.label(),
                r.requests_per_sec,
                r.vs_memory.map_or(f64::NAN, |v| v.requests_per_sec),
                r.vs_sqlx.map_or(f64::NAN, |v| v.requests_per_sec),
            );
        }
        println!();
        results.push(result);
    }

    let peaks: Vec<(Server, u64)> = parleys
        .iter()
        .filter_map(|(server, child)| Some((*server, child.memory()?.peak_rss_kib)))
        .collect();
    let logs: Vec<PathBuf> = parleys
        .iter()
        .map(|(_, child)| child.log_path().to_owned())
        .collect();
    drop(sqlx_server);
    drop(memory);
    drop(parleys);
    let log = LogCounts::read(&logs);

    let mut results = Results {
        parley_commit: context.commit,
        started_at: context.started_at,
        database: database.kind(),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        load_average_at_start: context.load_average,
        settings: report::Settings {
            duration_secs: args.duration_secs,
            warmup_secs: args.warmup_secs,
            rounds: args.rounds,
            connections: args.connections,
            load_threads: args.load_threads,
            no_cache: args.no_cache,
        },
        seeded,
        targets: Vec::new(),
        parley_peak_rss_kib: peaks,
        parley_log_busy: log.busy,
        parley_log_errors: log.errors,
        parley_log_warnings: log.warnings,
        scenarios: results,
        setup_seconds,
        total_seconds: 0.0,
    };
    results.targets = report::targets(&results.scenarios, &results.parley_peak_rss_kib, log.busy);
    results.total_seconds = started.elapsed().as_secs_f64();
    println!("{}", report::table(&results));
    report::write_json(&results, &args.out)?;
    println!(
        "results written to {}; the run took {:.0} s",
        args.out.display(),
        results.total_seconds
    );
    Ok(())
}

fn spawn_parley(database: &Database, work: &Path, no_cache: bool) -> anyhow::Result<ChildServer> {
    let mut args: Vec<OsString> = vec![
        "serve-parley".into(),
        "--database-url".into(),
        database.url.clone().into(),
    ];
    let (name, log) = if no_cache {
        args.push("--no-cache".into());
        ("Parley (cache off)", "parley-no-cache.log")
    } else {
        ("Parley", "parley.log")
    };
    let parley = ChildServer::spawn(name, args, &work.join(log))?;
    println!("{name} listens on {}", parley.addr);
    Ok(parley)
}

/// What a run notes as it begins.
struct RunContext {
    started_at: String,
    load_average: Option<String>,
    /// The checkout `cargo run` built Parley from.
    commit: Option<String>,
}

struct Prepared {
    scenario: Scenario,
    spec: Arc<RequestSpec>,
    /// Parley's answer.
    answer: Bytes,
    /// What the first request cost each Parley, in statements.
    statements_first: Vec<(Server, u64)>,
}

/// Sends a scenario's request to a baseline and compares its answer with
/// Parley's: byte for byte for reads, field for field for a post.
async fn check_baseline(server: &ChildServer, p: &Prepared) -> anyhow::Result<()> {
    let target = Target {
        addr: server.addr,
        uri: p.spec.uri(&p.scenario.baseline_path())?,
    };
    let (status, _, body) = load::once(&target, &p.spec).await?;
    let name = server.name();
    let number = p.scenario.number();
    if status != StatusCode::OK {
        bail!(
            "the {name} baseline answered scenario {number} with {status}: {}\n{}",
            String::from_utf8_lossy(&body),
            server.log_tail()
        );
    }
    if p.scenario.is_read() {
        if !same_json(&body, &p.answer) {
            bail!(
                "the {name} baseline's answer to scenario {number} differs from Parley's:\n{}",
                difference("Parley", &p.answer, "baseline", &body)
            );
        }
    } else {
        let shape = |bytes: &[u8]| -> anyhow::Result<Vec<String>> {
            let value: Value = serde_json::from_slice(bytes)?;
            let posted = &value["data"]["postComment"];
            let keys = posted
                .as_object()
                .context("no data.postComment")?
                .iter()
                .map(|(k, v)| match k.as_str() {
                    "status" => format!("{k}={v}"),
                    _ => k.clone(),
                })
                .collect();
            Ok(keys)
        };
        let (theirs, ours) = (shape(&body)?, shape(&p.answer)?);
        if theirs != ours {
            bail!("the {name} baseline posts {theirs:?}, Parley {ours:?}");
        }
    }
    Ok(())
}

/// Whether two answers hold the same JSON. Parley writes an object's
/// fields in the order its resolvers finish, so equal answers may differ
/// in bytes.
fn same_json(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_json::from_slice::<Value>(a),
        serde_json::from_slice::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Where two answers part, with some context from each.
fn difference(a_name: &str, a: &[u8], b_name: &str, b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let around = |bytes: &[u8]| {
        let from = at.saturating_sub(80);
        String::from_utf8_lossy(&bytes[from..(at + 80).min(bytes.len())]).into_owned()
    };
    format!(
        "at byte {at}:\n  {a_name}: …{}…\n  {b_name}: …{}…",
        around(a),
        around(b)
    )
}

/// The number of statements Parley has run.
pub(crate) async fn statements(parley: &ChildServer) -> anyhow::Result<u64> {
    let stats = parley.stats.context("Parley reports no statistics")?;
    let spec = RequestSpec {
        method: Method::GET,
        query_string: String::new(),
        headers: Vec::new(),
        body: BodySource::Empty,
    };
    let target = Target {
        addr: stats,
        uri: spec.uri("/statements")?,
    };
    let (_, _, body) = load::once(&target, &spec).await?;
    Ok(String::from_utf8_lossy(&body).trim().parse()?)
}

/// Sends one GraphQL POST to Parley and returns its `data`.
pub(crate) async fn graphql(
    parley: &ChildServer,
    document: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let body = serde_json::to_vec(&json!({ "query": document, "variables": variables }))?;
    let spec = RequestSpec {
        method: Method::POST,
        query_string: String::new(),
        headers: vec![(
            CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        )],
        body: BodySource::Fixed(body.into()),
    };
    let target = Target {
        addr: parley.addr,
        uri: spec.uri("/graphql")?,
    };
    let (status, _, body) = load::once(&target, &spec).await?;
    let mut value: Value = serde_json::from_slice(&body)?;
    if status != StatusCode::OK || value.get("errors").is_some() {
        bail!("Parley answered {status}: {value}");
    }
    Ok(value["data"].take())
}

pub(crate) async fn login(parley: &ChildServer) -> anyhow::Result<String> {
    let data = graphql(
        parley,
        scenarios::LOGIN,
        json!({ "email": seed::MODERATOR_EMAIL, "password": seed::MODERATOR_PASSWORD }),
    )
    .await?;
    data["login"]["token"]
        .as_str()
        .map(str::to_owned)
        .context("the login answer has no token")
}

/// Walks the long thread 100 comments at a time and returns the cursor
/// after page 999: the one that reaches page 1,000.
async fn walk_to_page_1000(parley: &ChildServer) -> anyhow::Result<String> {
    let mut after: Option<String> = None;
    for page in 1..=999 {
        let data = graphql(
            parley,
            scenarios::WALK,
            json!({ "slug": seed::LONG_SLUG, "after": after }),
        )
        .await?;
        let info = &data["article"]["comments"]["pageInfo"];
        if info["hasNextPage"] != Value::Bool(true) {
            bail!("page {page} of {} is the last one", seed::LONG_SLUG);
        }
        after = Some(
            info["endCursor"]
                .as_str()
                .context("a page without an end cursor")?
                .to_owned(),
        );
    }
    after.context("no pages")
}

/// What Parley's log says about errors and lock contention.
struct LogCounts {
    errors: usize,
    warnings: usize,
    busy: usize,
}

impl LogCounts {
    fn read(paths: &[PathBuf]) -> Self {
        let text: String = paths
            .iter()
            .map(|path| std::fs::read_to_string(path).unwrap_or_default())
            .collect();
        let count = |f: &dyn Fn(&str) -> bool| text.lines().filter(|l| f(l)).count();
        Self {
            errors: count(&|l| l.contains(" ERROR ")),
            warnings: count(&|l| l.contains(" WARN ")),
            busy: count(&|l| {
                l.contains("SQLITE_BUSY")
                    || l.contains("database is locked")
                    || l.contains("(code: 5)")
            }),
        }
    }
}

fn parley_commit() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The run's database: a SQLite file in the run's folder, or a throwaway
/// PostgreSQL database.
pub(crate) struct Database {
    pub(crate) url: String,
    postgres: Option<(String, String)>,
    file: Option<PathBuf>,
}

impl Database {
    pub(crate) async fn create(postgres: Option<&str>, work: &Path) -> anyhow::Result<Self> {
        let Some(admin_url) = postgres else {
            let file = work.join("bench.db");
            return Ok(Self {
                url: format!("sqlite://{}", file.display()),
                postgres: None,
                file: Some(file),
            });
        };
        let name = format!(
            "parley_bench_{}_{}",
            std::process::id(),
            &uuid::Uuid::now_v7().simple().to_string()[24..]
        );
        let mut admin = PgConnection::connect(admin_url)
            .await
            .context("could not connect to the PostgreSQL server given to --postgres")?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .context("could not create the bench database")?;
        admin.close().await?;
        let mut url = url::Url::parse(admin_url)?;
        url.set_path(&format!("/{name}"));
        Ok(Self {
            url: url.to_string(),
            postgres: Some((admin_url.to_owned(), name)),
            file: None,
        })
    }

    pub(crate) fn kind_title(&self) -> &'static str {
        if self.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    fn kind(&self) -> &'static str {
        if self.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    pub(crate) fn describe(&self) -> String {
        match (&self.postgres, &self.file) {
            (Some((_, name)), _) => format!("PostgreSQL, throwaway database {name}"),
            (None, Some(file)) => format!("SQLite, {}", file.display()),
            _ => self.url.clone(),
        }
    }

    pub(crate) async fn remove(&self) -> anyhow::Result<()> {
        let Some((admin_url, name)) = &self.postgres else {
            return Ok(());
        };
        let mut admin = PgConnection::connect(admin_url).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        Ok(())
    }
}
