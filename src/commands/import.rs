//! `parley import wordpress|disqus|parley FILE`: reads an export into the
//! database, showing progress on a terminal and ending with a summary.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::app::{Opened, open_store};
use crate::config::ImportCommand;
use crate::domain::import::{Summary, disqus, parley, wordpress};
use crate::key_file::DataKeySource;

/// How often the progress line is redrawn.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

pub async fn run(
    database_url: &str,
    data_key: &DataKeySource,
    command: ImportCommand,
) -> anyhow::Result<()> {
    let path = match &command {
        ImportCommand::Wordpress(args) => args.file.clone(),
        ImportCommand::Disqus(args) | ImportCommand::Parley(args) => args.file.clone(),
    };
    let file = File::open(&path).with_context(|| format!("could not open {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let read = Arc::new(AtomicU64::new(0));
    let source = BufReader::with_capacity(
        256 * 1024,
        Counting {
            inner: file,
            read: read.clone(),
        },
    );
    let mut progress = Progress::new(size, read);
    let mut report = |summary: &Summary| progress.show(summary);

    let Opened { store, sealing } = open_store(database_url, data_key, None).await?;
    let summary = match command {
        ImportCommand::Wordpress(args) => {
            let options = wordpress::Options {
                include_pingbacks: args.include_pingbacks,
            };
            wordpress::import(&store, &sealing, source, options, &mut report).await
        }
        ImportCommand::Disqus(_) => disqus::import(&store, &sealing, source, &mut report).await,
        ImportCommand::Parley(_) => parley::import(&store, &sealing, source, &mut report).await,
    };
    progress.done();
    store.close().await;
    let summary = summary.with_context(|| format!("could not import {}", path.display()))?;
    print!("{summary}");
    Ok(())
}

/// Refuses a SQLite database that does not exist, rather than creating an
/// empty one to read from.
pub(super) fn require_existing(database_url: &str) -> anyhow::Result<()> {
    let Some(rest) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    else {
        return Ok(());
    };
    let path = rest.split('?').next().unwrap_or_default();
    anyhow::ensure!(
        path.is_empty() || path == ":memory:" || Path::new(path).exists(),
        "there is no database at {path} (set DATABASE_URL or --database-url)"
    );
    Ok(())
}

/// A reader that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A line on standard error, redrawn in place, when it is a terminal.
struct Progress {
    size: u64,
    read: Arc<AtomicU64>,
    shown_at: Option<Instant>,
    on_terminal: bool,
}

impl Progress {
    fn new(size: u64, read: Arc<AtomicU64>) -> Self {
        Self {
            size,
            read,
            shown_at: None,
            on_terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, summary: &Summary) {
        if !self.on_terminal
            || self
                .shown_at
                .is_some_and(|at| at.elapsed() < PROGRESS_INTERVAL)
        {
            return;
        }
        self.shown_at = Some(Instant::now());
        let read = self.read.load(Ordering::Relaxed);
        let percent = (read * 100).checked_div(self.size).unwrap_or(100).min(100);
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r{percent:>3}% of {} MB read: {} comments imported, {} skipped ",
            self.size / 1_000_000,
            summary.comments_imported(),
            summary.skipped_total()
        );
        let _ = stderr.flush();
    }

    fn done(&self) {
        if self.on_terminal && self.shown_at.is_some() {
            eprintln!();
        }
    }
}
