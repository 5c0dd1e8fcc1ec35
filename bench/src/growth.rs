//! Steady under growth: the mixed load of a live site on `--articles`
//! articles (readers, posters, a moderator, subscribers), measured first on
//! a database that holds no comment, then, on a fresh Parley, after
//! `--comments` comments have been added over those articles. The load runs
//! in windows of `--window-secs`; the grown database's first and last
//! windows are compared with the empty one.
//!
//! - Readers (`--readers`, each pausing `--reader-pause-ms` between an
//!   answer and its next read): an article's count and its first 20
//!   approved comments with their reply counts, on an article picked at
//!   random, anonymously (Parley's read cache answers what it can).
//! - Posters (`--posters`, `--post-rate` comments a second between them): a
//!   new comment with a new body on an article picked at random, from one
//!   of 20,000 addresses; one in ten is a reply to a comment the moderator
//!   approved. Parley runs with its defaults (pre-moderation), so each
//!   waits in the queue.
//! - The moderator (`--moderator-rate` actions a second): takes the oldest
//!   comment a poster left and approves it (17 in 20), hides it (2 in 20)
//!   or deletes it (1 in 20).
//! - Subscribers (`--subscribers` WebSockets): `commentApproved` on an
//!   article each, counting what they receive.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::children::ChildServer;
use crate::load::{self, percentile};
use crate::run::Database;
use crate::seed;

#[derive(Debug, Clone, Args)]
pub struct GrowthArgs {
    /// Run on PostgreSQL instead of SQLite: a server URL where the user may
    /// create databases. A throwaway database is created there and dropped
    /// at the end.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Articles the load is spread over.
    #[arg(long, default_value_t = 1_000)]
    pub articles: usize,
    /// Comments added between the empty run and the grown one.
    #[arg(long, default_value_t = 100_000)]
    pub comments: usize,
    /// Readers, each reading again `--reader-pause-ms` after its last answer.
    #[arg(long, default_value_t = 30)]
    pub readers: usize,
    #[arg(long, default_value_t = 20)]
    pub reader_pause_ms: u64,
    /// Posters, posting `--post-rate` comments a second between them.
    #[arg(long, default_value_t = 4)]
    pub posters: usize,
    #[arg(long, default_value_t = 15)]
    pub post_rate: u32,
    /// Moderation actions a second.
    #[arg(long, default_value_t = 15)]
    pub moderator_rate: u32,
    #[arg(long, default_value_t = 50)]
    pub subscribers: usize,
    /// Seconds in a window: the empty database gets one, after a window of
    /// warm-up; the grown database gets `--windows`.
    #[arg(long, default_value_t = 60)]
    pub window_secs: u64,
    /// Windows run on the grown database; the first and the last are
    /// reported against the empty one.
    #[arg(long, default_value_t = 5)]
    pub windows: usize,
    /// Run Parley with its read cache off.
    #[arg(long)]
    pub no_cache: bool,
    /// Keep the run's folder (the SQLite database, Parley's logs).
    #[arg(long)]
    pub keep: bool,
}

/// A reader's request: the article's count and first page.
const READ: &str = "query Read($slug: String!) { article(slug: $slug) { title commentCount \
    comments(first: 20) { nodes { id authorName body bodyHtml createdAt replyCount } \
    pageInfo { endCursor hasNextPage } } } }";

const POST: &str =
    "mutation Post($input: PostCommentInput!) { postComment(input: $input) { id status } }";

/// Longest a request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const APPROVE: &str = "mutation($id: ID!) { approveComment(id: $id) { id } }";
const HIDE: &str = "mutation($id: ID!) { hideComment(id: $id, reason: \"spam\") { id } }";
const DELETE: &str = "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }";

pub async fn run(args: GrowthArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.articles > 0, "--articles must be at least 1");
    anyhow::ensure!(
        args.window_secs > 0 && args.windows > 0,
        "--window-secs and --windows must be at least 1"
    );
    let work = std::env::temp_dir().join(format!("parley-growth-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let database = Database::create(args.postgres.as_deref(), &work).await?;
    println!("database: {}", database.describe());
    let outcome = measure(&args, &database, &work).await;
    database.remove().await?;
    match (&outcome, args.keep) {
        (Ok(()), false) => {
            let _ = std::fs::remove_dir_all(&work);
        }
        _ => println!("the run's files are in {}", work.display()),
    }
    outcome
}

async fn measure(args: &GrowthArgs, database: &Database, work: &Path) -> anyhow::Result<()> {
    let slugs: Arc<Vec<String>> = Arc::new((0..args.articles).map(seed::growth_slug).collect());
    seed::growth_articles(&database.url, &slugs).await?;
    println!(
        "{} articles, no comments; the empty run: a window of warm-up, then one measured",
        args.articles
    );
    let empty = phase(args, database, work, "empty", &slugs, 2).await?;
    let empty_window = empty.windows.last().context("no window")?.clone();

    let began = Instant::now();
    let added = seed::growth_comments(&database.url, &slugs, args.comments).await?;
    println!(
        "added {added} comments in {:.1} s; the grown run: {} windows",
        began.elapsed().as_secs_f64(),
        args.windows
    );
    let grown = phase(args, database, work, "grown", &slugs, args.windows).await?;

    println!();
    println!(
        "{}, {} articles, {} readers (pausing {} ms), {} posters ({} posts/s), a moderator at {}/s, {} subscribers, windows of {} s{}",
        database.kind_title(),
        args.articles,
        args.readers,
        args.reader_pause_ms,
        args.posters,
        args.post_rate,
        args.moderator_rate,
        args.subscribers,
        args.window_secs,
        if args.no_cache {
            ", read cache off"
        } else {
            ""
        },
    );
    println!();
    println!(
        "| window | approved comments at the end | reads/s | read p50 ms | read p99 ms | posts/s | post p50 ms | post p99 ms | moderation p50 ms | cache hits | VmRSS MiB |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    println!("{}", empty_window.row("empty"));
    for (n, window) in grown.windows.iter().enumerate() {
        println!("{}", window.row(&format!("grown {}", n + 1)));
    }
    let first = grown.windows.first().context("no window")?;
    let last = grown.windows.last().context("no window")?;
    println!();
    println!(
        "| ratio to the empty database (goal: at most 1.5×) | read p50 | read p99 | post p50 | post p99 |"
    );
    println!("|---|--:|--:|--:|--:|");
    for (name, window) in [("grown, first window", first), ("grown, last window", last)] {
        println!(
            "| {name} | {:.2}× | {:.2}× | {:.2}× | {:.2}× |",
            ratio(window.read.p50, empty_window.read.p50),
            ratio(window.read.p99, empty_window.read.p99),
            ratio(window.post.p50, empty_window.post.p50),
            ratio(window.post.p99, empty_window.post.p99),
        );
    }
    println!();
    for (name, run) in [("empty", &empty), ("grown", &grown)] {
        println!(
            "{name}: {} comments approved, {} hidden, {} deleted; {} deliveries to subscribers; {} errors{}",
            run.approved,
            run.hidden,
            run.deleted,
            run.deliveries,
            run.errors,
            run.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default(),
        );
    }
    Ok(())
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// Latencies of one kind of request in one window.
#[derive(Debug, Clone, Default)]
struct Figures {
    count: usize,
    p50: f64,
    p99: f64,
}

impl Figures {
    fn of(mut micros: Vec<u32>) -> Self {
        micros.sort_unstable();
        Self {
            count: micros.len(),
            p50: f64::from(percentile(&micros, 50.0)) / 1000.0,
            p99: f64::from(percentile(&micros, 99.0)) / 1000.0,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Window {
    seconds: f64,
    comments_at_end: i64,
    read: Figures,
    post: Figures,
    moderation: Figures,
    /// Reads the read cache answered, of all its lookups.
    cache_hits: Option<f64>,
    rss_kib: u64,
}

impl Window {
    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.1} |",
            self.comments_at_end,
            self.read.count as f64 / self.seconds,
            self.read.p50,
            self.read.p99,
            self.post.count as f64 / self.seconds,
            self.post.p50,
            self.post.p99,
            self.moderation.p50,
            self.cache_hits
                .map(|s| format!("{:.0}%", s * 100.0))
                .unwrap_or_else(|| "–".to_owned()),
            self.rss_kib as f64 / 1024.0,
        )
    }
}

/// What one run of the load saw.
struct Phase {
    windows: Vec<Window>,
    approved: u64,
    hidden: u64,
    deleted: u64,
    deliveries: u64,
    errors: u64,
    first_error: Option<String>,
}

/// What the load's tasks share.
struct Shared {
    addr: SocketAddr,
    slugs: Arc<Vec<String>>,
    token: String,
    reader_pause: Duration,
    /// Time between two posts of one poster.
    poster_interval: Duration,
    /// The run's name, in every body it posts.
    name: String,
    started: Instant,
    window: Duration,
    until: Instant,
    /// Comments posters left for the moderator, oldest first: (article, id).
    pending: Mutex<VecDeque<(usize, String)>>,
    /// Comments the moderator approved, for replies: (article, id).
    approved: Mutex<VecDeque<(usize, String)>>,
    approvals: AtomicU64,
    hides: AtomicU64,
    deletions: AtomicU64,
    deliveries: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    posted: AtomicU64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Post,
    Moderation,
}

/// One timed request: its kind, its window, its latency in microseconds.
type Sample = (Kind, usize, u32);

impl Shared {
    fn window_of(&self, at: Instant) -> usize {
        (at.duration_since(self.started).as_secs_f64() / self.window.as_secs_f64()) as usize
    }

    fn failed(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().expect("not poisoned");
        first.get_or_insert(what);
    }
}

async fn phase(
    args: &GrowthArgs,
    database: &Database,
    work: &Path,
    name: &str,
    slugs: &Arc<Vec<String>>,
    windows: usize,
) -> anyhow::Result<Phase> {
    let mut child_args: Vec<OsString> = vec![
        "serve-parley".into(),
        "--database-url".into(),
        database.url.clone().into(),
    ];
    if args.no_cache {
        child_args.push("--no-cache".into());
    }
    // Every virtual user comes from 127.0.0.1.
    let users = args.readers + args.posters + args.subscribers + 16;
    child_args.extend(["--per-address".into(), users.to_string().into()]);
    let parley = ChildServer::spawn(
        "Parley",
        child_args,
        &work.join(format!("parley-{name}.log")),
    )?;
    let token = crate::run::login(&parley).await?;
    let window = Duration::from_secs(args.window_secs);
    let started = Instant::now();
    let shared = Arc::new(Shared {
        addr: parley.addr,
        slugs: slugs.clone(),
        token,
        reader_pause: Duration::from_millis(args.reader_pause_ms),
        poster_interval: Duration::from_secs(1) * args.posters.max(1) as u32
            / args.post_rate.max(1),
        name: name.to_owned(),
        started,
        window,
        until: started + window * windows as u32,
        pending: Mutex::new(VecDeque::new()),
        approved: Mutex::new(VecDeque::new()),
        approvals: AtomicU64::new(0),
        hides: AtomicU64::new(0),
        deletions: AtomicU64::new(0),
        deliveries: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        first_error: Mutex::new(None),
        posted: AtomicU64::new(0),
    });

    let mut subscribers = Vec::new();
    for n in 0..args.subscribers {
        subscribers.push(tokio::spawn(subscriber(shared.clone(), n)));
    }
    let mut workers = tokio::task::JoinSet::new();
    for n in 0..args.readers {
        workers.spawn(reader(shared.clone(), n as u64));
    }
    for n in 0..args.posters {
        workers.spawn(poster(shared.clone(), n as u64, args.posters as u64));
    }
    workers.spawn(moderator(shared.clone(), args.moderator_rate.max(1)));

    // At the end of each window: memory, cache lookups, comments stored.
    let mut marks = Vec::with_capacity(windows);
    let mut lookups_before = cache_lookups(&parley).await.ok();
    for n in 1..=windows {
        tokio::time::sleep_until((started + window * n as u32).into()).await;
        let lookups = tokio::time::timeout(REQUEST_TIMEOUT, cache_lookups(&parley))
            .await
            .ok()
            .and_then(Result::ok);
        let comments = tokio::time::timeout(REQUEST_TIMEOUT, comment_count(&parley, slugs))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(-1);
        let rss = parley.memory().map(|m| m.rss_kib).unwrap_or(0);
        marks.push((lookups_before, lookups, comments, rss));
        lookups_before = lookups;
    }
    let mut samples: Vec<Sample> = Vec::new();
    while let Some(done) = workers.join_next().await {
        samples.extend(done.context("a load task failed")?);
    }
    for subscriber in subscribers {
        subscriber.abort();
    }
    drop(parley);

    let mut result = Vec::with_capacity(windows);
    for (n, (before, after, comments, rss)) in marks.into_iter().enumerate() {
        let of = |kind: Kind| {
            samples
                .iter()
                .filter(|(k, w, _)| *k == kind && *w == n)
                .map(|(_, _, us)| *us)
                .collect::<Vec<_>>()
        };
        let read = Figures::of(of(Kind::Read));
        let post = Figures::of(of(Kind::Post));
        let moderation = Figures::of(of(Kind::Moderation));
        let cache_hits = match (before, after) {
            (Some((hits_before, misses_before)), Some((hits, misses)))
                if hits + misses > hits_before + misses_before =>
            {
                let window_hits = (hits - hits_before) as f64;
                Some(window_hits / (window_hits + (misses - misses_before) as f64))
            }
            _ => None,
        };
        result.push(Window {
            seconds: window.as_secs_f64(),
            comments_at_end: comments,
            read,
            post,
            moderation,
            cache_hits,
            rss_kib: rss,
        });
    }
    let first_error = shared.first_error.lock().expect("not poisoned").clone();
    Ok(Phase {
        windows: result,
        approved: shared.approvals.load(Ordering::Relaxed),
        hidden: shared.hides.load(Ordering::Relaxed),
        deleted: shared.deletions.load(Ordering::Relaxed),
        deliveries: shared.deliveries.load(Ordering::Relaxed),
        errors: shared.errors.load(Ordering::Relaxed),
        first_error,
    })
}

/// The read cache's hits and misses so far, from Parley's metrics.
async fn cache_lookups(parley: &ChildServer) -> anyhow::Result<(u64, u64)> {
    let metrics = parley.metrics.context("Parley serves no metrics")?;
    let spec = crate::scenarios::RequestSpec {
        method: Method::GET,
        query_string: String::new(),
        headers: Vec::new(),
        body: crate::scenarios::BodySource::Empty,
    };
    let target = load::Target {
        addr: metrics,
        uri: spec.uri("/metrics")?,
    };
    let (_, _, body) = load::once(&target, &spec).await?;
    let text = String::from_utf8_lossy(&body);
    let count = |result: &str| {
        let prefix = format!("parley_read_cache_lookups_total{{result=\"{result}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .map_or(0, |value| value as u64)
    };
    Ok((count("hit"), count("miss")))
}

/// Approved comments stored: the sum of the articles' counts.
async fn comment_count(parley: &ChildServer, slugs: &[String]) -> anyhow::Result<i64> {
    let mut total = 0_i64;
    for chunk in slugs.chunks(100) {
        let data = crate::run::graphql(
            parley,
            "query($slugs: [String!]!) { articles(slugs: $slugs) { commentCount } }",
            json!({ "slugs": chunk }),
        )
        .await?;
        for article in data["articles"].as_array().context("no articles")? {
            total += article["commentCount"].as_i64().unwrap_or(0);
        }
    }
    Ok(total)
}

/// xorshift64*, per task.
struct Dice(u64);

impl Dice {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A keep-alive connection that sends GraphQL and times each answer.
struct Client {
    shared: Arc<Shared>,
    host: HeaderValue,
    sender: Option<load::Sender>,
}

impl Client {
    fn new(shared: Arc<Shared>) -> Self {
        let host = HeaderValue::try_from(shared.addr.to_string()).expect("an address is a header");
        Self {
            shared,
            host,
            sender: None,
        }
    }

    /// Sends one request; its `data` and latency, or `None` after counting
    /// the failure.
    async fn send(
        &mut self,
        document: &str,
        variables: Value,
        token: bool,
    ) -> Option<(Value, Instant, u32)> {
        let body = serde_json::to_vec(&json!({ "query": document, "variables": variables }))
            .expect("JSON");
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/json");
        if token {
            request = request.header(AUTHORIZATION, format!("Bearer {}", self.shared.token));
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .expect("a request");
        let mut sender = match self.sender.take() {
            Some(open) if !open.is_closed() => open,
            _ => match tokio::time::timeout(REQUEST_TIMEOUT, load::connect(self.shared.addr))
                .await
                .unwrap_or_else(|_| Err("no connection within the timeout".to_owned()))
            {
                Ok(fresh) => fresh,
                Err(err) => {
                    self.shared.failed(err);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    return None;
                }
            },
        };
        let began = Instant::now();
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, load::exchange(&mut sender, request))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {REQUEST_TIMEOUT:?}")));
        let done = Instant::now();
        let micros = u32::try_from(done.duration_since(began).as_micros()).unwrap_or(u32::MAX);
        match answer {
            Ok((status, body)) => {
                self.sender = Some(sender);
                let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if !status.is_success() || value.get("errors").is_some() || value.is_null() {
                    let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
                    self.shared.failed(format!("{status}: {text}"));
                    return None;
                }
                Some((value["data"].clone(), done, micros))
            }
            Err(err) => {
                self.shared.failed(err);
                None
            }
        }
    }
}

async fn reader(shared: Arc<Shared>, n: u64) -> Vec<Sample> {
    let mut dice = Dice::new(1_000 + n);
    let mut client = Client::new(shared.clone());
    let mut samples = Vec::new();
    while Instant::now() < shared.until {
        let slug = &shared.slugs[dice.below(shared.slugs.len())];
        if let Some((_, done, micros)) = client.send(READ, json!({ "slug": slug }), false).await
            && done < shared.until
        {
            samples.push((Kind::Read, shared.window_of(done), micros));
        }
        tokio::time::sleep(shared.reader_pause).await;
    }
    samples
}

async fn poster(shared: Arc<Shared>, n: u64, posters: u64) -> Vec<Sample> {
    let mut dice = Dice::new(2_000 + n);
    let mut client = Client::new(shared.clone());
    let mut samples = Vec::new();
    let mut ticks = tokio::time::interval(shared.poster_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Posters start apart from each other.
    tokio::time::sleep(shared.poster_interval * n as u32 / posters.max(1) as u32).await;
    while Instant::now() < shared.until {
        ticks.tick().await;
        let number = shared.posted.fetch_add(1, Ordering::Relaxed);
        let reply_to = (dice.below(10) == 0)
            .then(|| {
                let approved = shared.approved.lock().expect("not poisoned");
                (!approved.is_empty()).then(|| approved[dice.below(approved.len())].clone())
            })
            .flatten();
        let article = reply_to
            .as_ref()
            .map_or_else(|| dice.below(shared.slugs.len()), |(a, _)| *a);
        let input = json!({
            "articleSlug": shared.slugs[article],
            "authorName": format!("Reader {}", dice.below(20_000)),
            "authorEmail": format!("reader{}@example.org", dice.below(20_000)),
            "body": seed::growth_body(&shared.name, number),
            "parentId": reply_to.map(|(_, id)| id),
        });
        if let Some((data, done, micros)) =
            client.send(POST, json!({ "input": input }), false).await
        {
            if let Some(id) = data["postComment"]["id"].as_str() {
                shared
                    .pending
                    .lock()
                    .expect("not poisoned")
                    .push_back((article, id.to_owned()));
            }
            if done < shared.until {
                samples.push((Kind::Post, shared.window_of(done), micros));
            }
        }
    }
    samples
}

async fn moderator(shared: Arc<Shared>, rate: u32) -> Vec<Sample> {
    let mut client = Client::new(shared.clone());
    let mut samples = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / rate);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut acted = 0_u64;
    while Instant::now() < shared.until {
        ticks.tick().await;
        let Some((article, id)) = shared.pending.lock().expect("not poisoned").pop_front() else {
            continue;
        };
        acted += 1;
        let (document, counter) = match acted % 20 {
            0 => (DELETE, &shared.deletions),
            1 | 11 => (HIDE, &shared.hides),
            _ => (APPROVE, &shared.approvals),
        };
        if let Some((_, done, micros)) = client.send(document, json!({ "id": id }), true).await {
            counter.fetch_add(1, Ordering::Relaxed);
            if document == APPROVE {
                let mut approved = shared.approved.lock().expect("not poisoned");
                approved.push_back((article, id));
                if approved.len() > 1_000 {
                    approved.pop_front();
                }
            }
            if done < shared.until {
                samples.push((Kind::Moderation, shared.window_of(done), micros));
            }
        }
    }
    samples
}

/// A WebSocket subscriber to one article, counting what it receives until
/// it is stopped.
async fn subscriber(shared: Arc<Shared>, n: usize) {
    let slug = &shared.slugs[n * 7919 % shared.slugs.len()];
    let connect = async {
        let mut request = format!("ws://{}/graphql/ws", shared.addr).into_client_request()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let stream = tokio::net::TcpStream::connect(shared.addr).await?;
        let (mut socket, _) = tokio_tungstenite::client_async(request, stream).await?;
        socket
            .send(Message::text(r#"{"type":"connection_init"}"#))
            .await?;
        let subscription = json!({
            "id": "1",
            "type": "subscribe",
            "payload": { "query": format!(
                "subscription {{ commentApproved(articleSlug: \"{slug}\") {{ id authorName body createdAt }} }}"
            ) },
        });
        socket.send(Message::text(subscription.to_string())).await?;
        anyhow::Ok(socket)
    };
    let mut socket = match connect.await {
        Ok(socket) => socket,
        Err(err) => {
            shared.failed(format!("subscriber: {err}"));
            return;
        }
    };
    while let Some(Ok(message)) = socket.next().await {
        if let Message::Text(text) = message
            && text.contains("\"next\"")
        {
            shared.deliveries.fetch_add(1, Ordering::Relaxed);
        }
    }
}
