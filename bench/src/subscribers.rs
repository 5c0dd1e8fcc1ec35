//! Many subscribers on one instance: Parley's resident memory before and
//! after `--subscribers` WebSockets each send `connection_init` and
//! subscribe to `commentApproved` on one article, and sit idle; the time to
//! subscribe them all; a reader's cached thread read while they are
//! connected, next to the same read before they came; and the delay from
//! each of `--events` publications (a post, approved at once under
//! post-moderation) to its delivery to every subscriber.
//!
//! The subscribers come from many loopback addresses (`127.1.x.y`, so many
//! to an address), as readers would, staying under Parley's caps per
//! address. Before measuring, one comment is posted (Parley runs with
//! post-moderation) and every subscriber must receive it: that proves each
//! subscription is live, and the memory measured is that of subscribers
//! that have delivered an event.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use futures_util::stream::FuturesUnordered;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::children::ChildServer;

const SLUG: &str = "bench/live";

#[derive(Debug, Clone, Args)]
pub struct SubscribersArgs {
    /// Subscribers to open.
    #[arg(long, default_value_t = 2_000)]
    pub subscribers: usize,
    /// Subscribers per client address (Parley allows 32 WebSockets to one
    /// address by default).
    #[arg(long, default_value_t = 16)]
    pub per_address: usize,
    /// Publications whose delivery to every subscriber is timed.
    #[arg(long, default_value_t = 20)]
    pub events: usize,
    /// Cached thread reads timed before the subscribers come and while
    /// they are connected.
    #[arg(long, default_value_t = 2_000)]
    pub reads: usize,
    /// Keep the run's folder (database, Parley's log).
    #[arg(long)]
    pub keep: bool,
}

type Socket = WebSocketStream<TcpStream>;

pub async fn run(args: SubscribersArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.subscribers > 0, "--subscribers must be at least 1");
    anyhow::ensure!(
        (1..=32).contains(&args.per_address),
        "--per-address must be 1 to 32"
    );
    anyhow::ensure!(
        args.events > 0 && args.reads > 0,
        "--events and --reads must be at least 1"
    );
    // This process holds the client side of every socket.
    parley::http::connections::raise_descriptor_limit();
    let work = std::env::temp_dir().join(format!("parley-subscribers-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let database_url = format!("sqlite://{}", work.join("bench.db").display());
    crate::seed::one_article(&database_url, SLUG).await?;
    let parley = ChildServer::spawn(
        "Parley",
        vec![
            OsString::from("serve-parley"),
            OsString::from("--database-url"),
            OsString::from(&database_url),
            OsString::from("--post-moderation"),
            // Every subscriber, the warm-up's on their way out, a reader
            // and a poster: past the default cap of 10,000 for a large run.
            OsString::from("--max-connections"),
            OsString::from((args.subscribers + 1_000).max(10_000).to_string()),
        ],
        &work.join("parley.log"),
    )?;
    let outcome = measure(&args, &parley).await;
    drop(parley);
    match (&outcome, args.keep) {
        (Ok(()), false) => {
            let _ = std::fs::remove_dir_all(&work);
        }
        _ => println!("the run's files are in {}", work.display()),
    }
    outcome
}

async fn measure(args: &SubscribersArgs, parley: &ChildServer) -> anyhow::Result<()> {
    // Warm-up: the runtime, the schema and the allocator's first pages.
    let warm = open(parley.addr, 100.min(args.subscribers), args.per_address, 0).await?;
    deliver(parley.addr, warm, 0).await?;
    let quiet_reads = read_latencies(parley.addr, args.reads).await?;
    let before = settled_rss(parley).await?;

    let began = Instant::now();
    let first = 100.min(args.subscribers);
    let subscribers = open(parley.addr, args.subscribers, args.per_address, first).await?;
    let opened_in = began.elapsed();
    let subscribers = deliver(parley.addr, subscribers, 1).await?;
    let after = settled_rss(parley).await?;

    let grown = after.saturating_sub(before);
    let per_subscriber = grown as f64 / args.subscribers as f64;
    println!("subscribers: {}", args.subscribers);
    println!(
        "opened and subscribed in {:.1} s; each received the event",
        opened_in.as_secs_f64()
    );
    println!("Parley's VmRSS before: {before} KiB, after: {after} KiB");
    println!("resident memory per idle subscriber: {per_subscriber:.1} KiB (goal: under 20 KiB)");

    let busy_reads = read_latencies(parley.addr, args.reads).await?;
    let (quiet, busy) = (
        percentile(&quiet_reads, 50.0),
        percentile(&busy_reads, 50.0),
    );
    println!(
        "cached thread read, p50: {quiet:.3} ms alone, {busy:.3} ms with the subscribers connected ({:.2}x); p99: {:.3} ms and {:.3} ms",
        busy / quiet,
        percentile(&quiet_reads, 99.0),
        percentile(&busy_reads, 99.0),
    );

    let (delays, slowest) = delivery_delays(parley.addr, subscribers, args.events).await?;
    println!(
        "publication to delivery, over {} events x {} subscribers: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         last subscriber reached after {:.1} ms at the median event (goal: p99 under 1 s)",
        args.events,
        args.subscribers,
        percentile(&delays, 50.0),
        percentile(&delays, 99.0),
        percentile(&delays, 100.0),
        percentile(&slowest, 50.0),
    );
    Ok(())
}

/// The `p`th percentile of `values` (nearest rank), in their unit.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `count` anonymous reads of the thread, one after the other on one
/// connection (served from the read cache after the first): each one's
/// time in milliseconds.
async fn read_latencies(addr: SocketAddr, count: usize) -> anyhow::Result<Vec<f64>> {
    let body = serde_json::json!({
        "query": format!("{{ article(slug: \"{SLUG}\") {{ title comments(first: 20) {{ nodes {{ id authorName body }} }} }} }}"),
    })
    .to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut times = Vec::with_capacity(count);
    let mut buffer = vec![0_u8; 256 * 1024];
    for _ in 0..count {
        let began = Instant::now();
        stream.write_all(request.as_bytes()).await?;
        read_one_answer(&mut stream, &mut buffer).await?;
        times.push(began.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(times)
}

/// Reads one HTTP/1.1 answer with a `Content-Length` from `stream`.
async fn read_one_answer(stream: &mut TcpStream, buffer: &mut [u8]) -> anyhow::Result<()> {
    let mut filled = 0;
    loop {
        let read = stream.read(&mut buffer[filled..]).await?;
        anyhow::ensure!(read > 0, "the connection closed");
        filled += read;
        let text = String::from_utf8_lossy(&buffer[..filled]);
        if let Some(end) = text.find("\r\n\r\n") {
            anyhow::ensure!(text.starts_with("HTTP/1.1 200"), "the read failed: {text}");
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .context("no Content-Length")?;
            if filled >= end + 4 + length {
                return Ok(());
            }
        }
        anyhow::ensure!(filled < buffer.len(), "the answer is too large");
    }
}

/// Publishes `events` comments one after the other, each once every
/// subscriber received the one before: the delay from sending each
/// publication to its arrival at each subscriber, and the delay to the last
/// subscriber of each event, in milliseconds. Every socket is read by its
/// own task, as a browser's would be.
async fn delivery_delays(
    addr: SocketAddr,
    sockets: Vec<Socket>,
    events: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let subscribers = sockets.len();
    let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let arrived = arrived.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = socket.next().await {
                    if let Message::Text(text) = message
                        && text.contains("\"next\"")
                        && arrived.send(Instant::now()).is_err()
                    {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(arrived);
    let mut delays = Vec::with_capacity(events * subscribers);
    let mut slowest = Vec::with_capacity(events);
    for event in 0..events {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = Instant::now();
        post_comment(addr, &format!("Timed event {event} for the subscribers.")).await?;
        let mut last = 0.0_f64;
        for _ in 0..subscribers {
            let at = tokio::time::timeout(Duration::from_secs(30), arrivals.recv())
                .await
                .context("an event did not reach every subscriber within 30 s")?
                .context("the readers stopped")?;
            let delay = at.duration_since(sent).as_secs_f64() * 1000.0;
            last = last.max(delay);
            delays.push(delay);
        }
        slowest.push(last);
    }
    for reader in readers {
        reader.abort();
    }
    Ok((delays, slowest))
}

/// Opens `count` subscribers, `per_address` to an address, numbering the
/// addresses from `first` (so that warm-up sockets on their way out do not
/// count against a new one's address).
async fn open(
    addr: SocketAddr,
    count: usize,
    per_address: usize,
    first: usize,
) -> anyhow::Result<Vec<Socket>> {
    let mut sockets = Vec::with_capacity(count);
    let mut pending = FuturesUnordered::new();
    for n in 0..count {
        let slot = (first + n) / per_address + 1;
        let local = Ipv4Addr::new(127, 1, (slot / 250) as u8, (slot % 250) as u8 + 1);
        pending.push(subscribe(addr, local));
        // At most 64 handshakes at a time.
        if pending.len() >= 64
            && let Some(socket) = pending.next().await
        {
            sockets.push(socket?);
        }
    }
    while let Some(socket) = pending.next().await {
        sockets.push(socket?);
    }
    Ok(sockets)
}

async fn subscribe(addr: SocketAddr, local: Ipv4Addr) -> anyhow::Result<Socket> {
    let tcp = TcpSocket::new_v4()?;
    tcp.bind(SocketAddr::new(IpAddr::V4(local), 0))?;
    let stream = tcp.connect(addr).await.context("connect")?;
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("a header value"),
    );
    let (mut socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .context("WebSocket handshake")?;
    socket
        .send(Message::text(r#"{"type":"connection_init"}"#))
        .await?;
    let ack = next_text(&mut socket).await?;
    anyhow::ensure!(ack.contains("connection_ack"), "no ack: {ack}");
    let subscription = serde_json::json!({
        "id": "1",
        "type": "subscribe",
        "payload": { "query": format!(
            "subscription {{ commentApproved(articleSlug: \"{SLUG}\") {{ id authorName body createdAt }} }}"
        ) },
    });
    socket.send(Message::text(subscription.to_string())).await?;
    Ok(socket)
}

async fn next_text(socket: &mut Socket) -> anyhow::Result<String> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .context("no message within 30 s")?
            .context("the socket closed")??;
        if let Message::Text(text) = message {
            return Ok(text.to_string());
        }
    }
}

/// Posts comments until every subscriber has received one (a subscription
/// listens once its article is looked up), then hands the sockets back.
async fn deliver(
    addr: SocketAddr,
    sockets: Vec<Socket>,
    round: usize,
) -> anyhow::Result<Vec<Socket>> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut waiting: Vec<Socket> = sockets;
    let mut done = Vec::with_capacity(waiting.len());
    let mut attempt = 0;
    while !waiting.is_empty() {
        if Instant::now() > deadline {
            bail!("{} subscribers received nothing", waiting.len());
        }
        attempt += 1;
        post_comment(
            addr,
            &format!("Event {round}.{attempt} for the subscribers."),
        )
        .await?;
        let mut reading: FuturesUnordered<_> = waiting
            .into_iter()
            .map(|mut socket| async move {
                let got = tokio::time::timeout(Duration::from_secs(5), next_text(&mut socket))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .is_some_and(|text| text.contains("\"next\""));
                (socket, got)
            })
            .collect();
        waiting = Vec::new();
        while let Some((socket, got)) = reading.next().await {
            if got {
                done.push(socket);
            } else {
                waiting.push(socket);
            }
        }
    }
    Ok(done)
}

async fn post_comment(addr: SocketAddr, body: &str) -> anyhow::Result<()> {
    let request = serde_json::json!({
        "query": "mutation($i: PostCommentInput!) { postComment(input: $i) { id status } }",
        "variables": { "i": {
            "articleSlug": SLUG, "authorName": "Bench", "authorEmail": "bench@readers.example",
            "body": body,
        } },
    })
    .to_string();
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{request}",
                request.len()
            )
            .as_bytes(),
        )
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    anyhow::ensure!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("APPROVED"),
        "the comment was not posted: {answer}"
    );
    Ok(())
}

/// Parley's resident memory once it stops moving (two readings 250 ms
/// apart within 64 KiB of each other), in KiB.
async fn settled_rss(parley: &ChildServer) -> anyhow::Result<u64> {
    let mut last = parley.memory().context("no /proc status")?.rss_kib;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = parley.memory().context("no /proc status")?.rss_kib;
        if now.abs_diff(last) < 64 {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}
