//! Resident memory per idle subscriber: Parley's memory before and after
//! `--subscribers` WebSockets each send `connection_init` and subscribe to
//! `commentApproved` on one article, and then sit idle.
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
    drop(subscribers);
    Ok(())
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
