//! What a run found: per scenario and server, requests per second and
//! latency percentiles over every round, Parley's figures as ratios to each
//! baseline's, Parley's peak memory, and the targets Parley aims at.
//! Printed as a Markdown table and written as JSON.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::children::Memory;
use crate::load::{Outcome, percentile};
use crate::scenarios::Scenario;
use crate::seed::Seeded;

/// The servers a scenario is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Server {
    /// Parley with its read cache on (its default).
    Parley,
    /// Parley with its read cache off: every request reaches the database.
    ParleyNoCache,
    Memory,
    Sqlx,
}

impl Server {
    pub fn label(self) -> &'static str {
        match self {
            Self::Parley => "Parley",
            Self::ParleyNoCache => "Parley, cache off",
            Self::Memory => "in-memory axum",
            Self::Sqlx => "axum + sqlx",
        }
    }

    pub fn is_parley(self) -> bool {
        matches!(self, Self::Parley | Self::ParleyNoCache)
    }
}

#[derive(Debug, Serialize)]
pub struct Results {
    /// `git describe --always --dirty` of the checkout when the run began.
    pub parley_commit: Option<String>,
    pub started_at: String,
    pub database: &'static str,
    pub cpus: usize,
    /// `/proc/loadavg` when the run began: other work on the machine skews
    /// every figure.
    pub load_average_at_start: Option<String>,
    pub settings: Settings,
    pub seeded: Seeded,
    pub scenarios: Vec<ScenarioResult>,
    /// `VmHWM` of each Parley process at the end of the run.
    pub parley_peak_rss_kib: Vec<(Server, u64)>,
    /// Lines of Parley's logs that mention `SQLITE_BUSY` or a locked database.
    pub parley_log_busy: usize,
    pub parley_log_errors: usize,
    pub parley_log_warnings: usize,
    pub targets: Vec<TargetCheck>,
    pub setup_seconds: f64,
    pub total_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    pub duration_secs: u64,
    pub warmup_secs: u64,
    pub rounds: u32,
    pub connections: usize,
    pub load_threads: usize,
    pub no_cache: bool,
}

#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub number: u8,
    pub scenario: Scenario,
    pub title: &'static str,
    pub document: &'static str,
    pub response_bytes: usize,
    pub servers: Vec<ServerResult>,
}

impl ScenarioResult {
    pub fn server(&self, server: Server) -> Option<&ServerResult> {
        self.servers.iter().find(|r| r.server == server)
    }

    /// Sets each Parley figure as a ratio to each baseline's.
    pub fn compare(&mut self) {
        let baseline = |server| {
            self.server(server)
                .map(|b| (b.requests_per_sec, f64::from(b.p50_us), f64::from(b.p99_us)))
        };
        let (memory, sqlx) = (baseline(Server::Memory), baseline(Server::Sqlx));
        for r in self.servers.iter_mut().filter(|r| r.server.is_parley()) {
            let against = |(rps, p50, p99): (f64, f64, f64)| Ratios {
                requests_per_sec: ratio(r.requests_per_sec, rps),
                p50: ratio(f64::from(r.p50_us), p50),
                p99: ratio(f64::from(r.p99_us), p99),
            };
            r.vs_memory = memory.map(against);
            r.vs_sqlx = sqlx.map(against);
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ServerResult {
    pub server: Server,
    pub requests: u64,
    pub seconds: f64,
    pub requests_per_sec: f64,
    pub p50_us: u32,
    pub p90_us: u32,
    pub p99_us: u32,
    pub max_us: u32,
    pub non_2xx: u64,
    pub graphql_errors: u64,
    pub transport_errors: u64,
    pub first_error: Option<String>,
    pub rounds: Vec<RoundResult>,
    /// Parley only: SQL statements run for the first request of the run.
    pub statements_first_request: Option<u64>,
    /// Parley only: SQL statements per request under load, warm-up included.
    pub statements_per_request: Option<f64>,
    /// Parley only: this server's figures over the in-memory baseline's.
    pub vs_memory: Option<Ratios>,
    /// Parley only: this server's figures over the sqlx baseline's.
    pub vs_sqlx: Option<Ratios>,
    /// Parley only: its memory once this scenario was done.
    pub memory_after: Option<Memory>,
}

/// Parley's figure divided by a baseline's: above 1 is more requests per
/// second, or a longer latency.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ratios {
    pub requests_per_sec: f64,
    pub p50: f64,
    pub p99: f64,
}

#[derive(Debug, Serialize)]
pub struct RoundResult {
    pub round: u32,
    /// 0 when this server went first in its round.
    pub position: usize,
    pub requests_per_sec: f64,
    pub p50_us: u32,
    pub p99_us: u32,
}

impl ServerResult {
    /// Sums the rounds: requests over total measured time, percentiles over
    /// every latency of every round.
    pub fn from_rounds(server: Server, rounds: Vec<(u32, usize, Outcome)>) -> Self {
        let mut all = Outcome::default();
        let mut seconds = 0.0;
        let mut per_round = Vec::new();
        for (round, position, mut outcome) in rounds {
            outcome.latencies_us.sort_unstable();
            per_round.push(RoundResult {
                round,
                position,
                requests_per_sec: outcome.requests_per_sec(),
                p50_us: percentile(&outcome.latencies_us, 50.0),
                p99_us: percentile(&outcome.latencies_us, 99.0),
            });
            seconds += outcome.seconds;
            all.requests += outcome.requests;
            all.sent += outcome.sent;
            all.latencies_us.extend_from_slice(&outcome.latencies_us);
            all.non_2xx += outcome.non_2xx;
            all.graphql_errors += outcome.graphql_errors;
            all.transport_errors += outcome.transport_errors;
            if all.first_error.is_none() {
                all.first_error = outcome.first_error;
            }
        }
        all.latencies_us.sort_unstable();
        let lat = &all.latencies_us;
        Self {
            server,
            requests: all.requests,
            seconds,
            requests_per_sec: if seconds > 0.0 {
                all.requests as f64 / seconds
            } else {
                0.0
            },
            p50_us: percentile(lat, 50.0),
            p90_us: percentile(lat, 90.0),
            p99_us: percentile(lat, 99.0),
            max_us: lat.last().copied().unwrap_or(0),
            non_2xx: all.non_2xx,
            graphql_errors: all.graphql_errors,
            transport_errors: all.transport_errors,
            first_error: all.first_error,
            rounds: per_round,
            statements_first_request: None,
            statements_per_request: None,
            vs_memory: None,
            vs_sqlx: None,
            memory_after: None,
        }
    }

    pub fn errors(&self) -> u64 {
        self.non_2xx + self.graphql_errors + self.transport_errors
    }
}

pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// One of the targets, measured.
#[derive(Debug, Serialize)]
pub struct TargetCheck {
    pub target: &'static str,
    pub wanted: String,
    pub measured: String,
    pub met: bool,
}

/// The targets whose scenarios ran. The read targets hold for Parley with
/// its cache off.
pub fn targets(
    scenarios: &[ScenarioResult],
    peak_rss_kib: &[(Server, u64)],
    busy: usize,
) -> Vec<TargetCheck> {
    let find = |s: Scenario, server: Server| {
        scenarios
            .iter()
            .find(|r| r.scenario == s)
            .and_then(|r| r.server(server))
    };
    let mut checks = Vec::new();
    // Against the HTTP limit: Parley as it runs by default, cache on (or
    // the cache-off Parley of a `--no-cache` run).
    let served = find(Scenario::ReadPost, Server::Parley)
        .map(|r| ("scenario 1: Parley req/s ÷ in-memory baseline", r))
        .or_else(|| {
            find(Scenario::ReadPost, Server::ParleyNoCache).map(|r| {
                (
                    "scenario 1, cache off: Parley req/s ÷ in-memory baseline",
                    r,
                )
            })
        });
    if let Some((target, vs)) = served.and_then(|(t, r)| Some((t, r.vs_memory?))) {
        checks.push(TargetCheck {
            target,
            wanted: "≥ 0.5".into(),
            measured: format!("{:.3}", vs.requests_per_sec),
            met: vs.requests_per_sec >= 0.5,
        });
    }
    if let Some(s1) = find(Scenario::ReadPost, Server::ParleyNoCache) {
        if let Some(vs) = s1.vs_sqlx {
            checks.push(TargetCheck {
                target: "scenario 1, cache off: Parley req/s ÷ sqlx baseline",
                wanted: "≥ 1.0".into(),
                measured: format!("{:.3}", vs.requests_per_sec),
                met: vs.requests_per_sec >= 1.0,
            });
        }
        if let Some(s4) = find(Scenario::DeepPage, Server::ParleyNoCache) {
            let times = ratio(f64::from(s4.p50_us), f64::from(s1.p50_us));
            checks.push(TargetCheck {
                target: "scenario 4, cache off: Parley p50 ÷ scenario 1's",
                wanted: "≤ 2.0".into(),
                measured: format!(
                    "{times:.2} ({:.2} ms ÷ {:.2} ms)",
                    ms(s4.p50_us),
                    ms(s1.p50_us)
                ),
                met: times <= 2.0,
            });
        }
    }
    let posting = scenarios
        .iter()
        .find(|r| r.scenario == Scenario::PostComment)
        .and_then(|r| r.servers.iter().find(|s| s.server.is_parley()));
    if let Some(s5) = posting {
        if let Some(vs) = s5.vs_sqlx {
            checks.push(TargetCheck {
                target: "scenario 5: Parley req/s ÷ sqlx baseline",
                wanted: "≥ 0.5".into(),
                measured: format!("{:.3}", vs.requests_per_sec),
                met: vs.requests_per_sec >= 0.5,
            });
        }
        let failed = s5.errors();
        checks.push(TargetCheck {
            target: "scenario 5: failed posts; SQLITE_BUSY in Parley's log",
            wanted: "0; 0".into(),
            measured: format!("{failed}; {busy}"),
            met: failed == 0 && busy == 0,
        });
    }
    for (server, kib) in peak_rss_kib {
        checks.push(TargetCheck {
            target: match server {
                Server::ParleyNoCache => "peak RSS, Parley with cache off",
                _ => "peak RSS, Parley",
            },
            wanted: "≤ 64 MiB".into(),
            measured: format!("{:.1} MiB", *kib as f64 / 1024.0),
            met: *kib <= 64 * 1024,
        });
    }
    checks
}

pub fn ms(us: u32) -> f64 {
    f64::from(us) / 1000.0
}

fn thousands(n: f64) -> String {
    let whole = n.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The results as Markdown.
pub fn table(results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| # | scenario | server | req/s | p50 ms | p99 ms | ÷ in-memory: req/s, p50, p99 | ÷ sqlx: req/s, p50, p99 | SQL/req | errors |"
    );
    let _ = writeln!(out, "|--:|---|---|--:|--:|--:|--:|--:|--:|--:|");
    for s in &results.scenarios {
        for (i, r) in s.servers.iter().enumerate() {
            let (number, title) = if i == 0 {
                (s.number.to_string(), s.title)
            } else {
                (String::new(), "")
            };
            let label = if r.server.is_parley() {
                format!("**{}**", r.server.label())
            } else {
                r.server.label().to_owned()
            };
            let ratios = |v: Option<Ratios>| {
                v.map(|v| format!("{:.2}× · {:.2}× · {:.2}×", v.requests_per_sec, v.p50, v.p99))
                    .unwrap_or_default()
            };
            let statements = r
                .statements_per_request
                .map(|n| format!("{n:.2}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {number} | {title} | {label} | {} | {:.2} | {:.2} | {} | {} | {statements} | {} |",
                thousands(r.requests_per_sec),
                ms(r.p50_us),
                ms(r.p99_us),
                ratios(r.vs_memory),
                ratios(r.vs_sqlx),
                r.errors()
            );
        }
    }
    let _ = writeln!(out);
    for (server, kib) in &results.parley_peak_rss_kib {
        let _ = writeln!(
            out,
            "Peak RSS (VmHWM), {}: {:.1} MiB.",
            server.label(),
            *kib as f64 / 1024.0
        );
    }
    let _ = writeln!(
        out,
        "Parley's logs: {} errors, {} warnings, {} mentions of SQLITE_BUSY or a locked database.",
        results.parley_log_errors, results.parley_log_warnings, results.parley_log_busy
    );
    if !results.targets.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "| target | wanted | measured | met |");
        let _ = writeln!(out, "|---|---|---|---|");
        for t in &results.targets {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                t.target,
                t.wanted,
                t.measured,
                if t.met { "yes" } else { "**no**" }
            );
        }
    }
    out
}

pub fn write_json(results: &Results, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
    }
    let mut text = serde_json::to_string_pretty(results)?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("could not write {}", path.display()))
}
