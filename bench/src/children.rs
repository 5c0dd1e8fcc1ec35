//! The servers of a run are child processes of this binary, each started
//! with a hidden subcommand. A child writes `listening ADDR` (and, for
//! Parley, `stats ADDR` and `metrics ADDR`) then `ready` on its standard output; its logs go to
//! a file. A child exits when its standard input closes, so none outlives
//! the run, even one that is killed.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How long a server may take to start (Parley migrates its database first).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A server running as a child process.
pub struct ChildServer {
    name: String,
    child: Child,
    log: PathBuf,
    /// Where it answers HTTP.
    pub addr: SocketAddr,
    /// Where Parley's child reports its statement count.
    pub stats: Option<SocketAddr>,
    /// Where Parley's child serves its Prometheus metrics.
    pub metrics: Option<SocketAddr>,
}

/// Memory of a process, from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Memory {
    /// `VmHWM`: the most resident memory the process ever had.
    pub peak_rss_kib: u64,
    /// `VmRSS`: resident memory now.
    pub rss_kib: u64,
}

impl ChildServer {
    /// Starts this binary with `args` and waits until it says it is ready.
    pub fn spawn(name: &str, args: Vec<OsString>, log: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("could not find this program's path")?;
        let log_file =
            File::create(log).with_context(|| format!("could not create {}", log.display()))?;
        let mut child = Command::new(exe)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("could not start the {name} server"))?;
        let stdout = child.stdout.take().context("no standard output")?;
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
            addr: crate::any_loopback_port(),
            stats: None,
            metrics: None,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match received.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => bail!(
                    "the {name} server did not start; its log is {}:\n{}",
                    log.display(),
                    server.log_tail()
                ),
            };
            let mut words = line.splitn(2, ' ');
            match (words.next(), words.next()) {
                (Some("listening"), Some(addr)) => server.addr = addr.trim().parse()?,
                (Some("stats"), Some(addr)) => server.stats = Some(addr.trim().parse()?),
                (Some("metrics"), Some(addr)) => server.metrics = Some(addr.trim().parse()?),
                (Some("ready"), None) => break,
                _ => {}
            }
        }
        Ok(server)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Its memory now, and the most it ever held.
    pub fn memory(&self) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(Memory {
            peak_rss_kib: field("VmHWM:")?,
            rss_kib: field("VmRSS:")?,
        })
    }

    /// The last lines of its log, for an error message.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In a child: exits as soon as the parent closes our standard input.
pub fn exit_when_parent_goes() {
    std::thread::spawn(|| {
        let mut sink = [0_u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
}

/// In a child: tells the parent where it listens.
pub fn announce(addr: SocketAddr, stats: Option<SocketAddr>) {
    say(&format!("listening {addr}"));
    if let Some(stats) = stats {
        say(&format!("stats {stats}"));
    }
}

/// In a child: tells the parent where Parley's metrics are.
pub fn announce_metrics(addr: SocketAddr) {
    say(&format!("metrics {addr}"));
}

/// In a child: tells the parent that it is ready, after [`announce`].
pub fn ready() {
    say("ready");
}

fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
