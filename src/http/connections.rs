//! Connections: the accept loop, the time limits of a connection, and the
//! caps on how many may be open, in total and per client address.
//!
//! A connection must send a request's headers within the header time limit
//! (counted from when it opens, or from the end of the previous answer) and
//! is closed after sitting idle between requests for the keep-alive limit.
//! A connection over a cap is answered `503` at once and closed, never left
//! waiting. Each open connection holds one file descriptor, so the total cap
//! stays below the process's limit on them, which Parley raises at start-up
//! as far as it may.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tower_service::Service;

use super::client_addr::client_ip;

/// The time limits and caps of connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Longest a client may take to send a request's headers, counted from
    /// when the connection opens or the previous answer was sent.
    pub header_timeout: Duration,
    /// Longest an HTTP connection may sit idle between requests.
    pub keep_alive: Duration,
    /// Most connections open at once; `None` for a share of the process's
    /// file descriptors (see [`default_max_connections`]).
    pub max_connections: Option<usize>,
    /// Most connections open at once from one client address.
    pub max_connections_per_address: usize,
    /// Most WebSocket connections open at once from one client address.
    pub max_websockets_per_address: usize,
    /// Most subscriptions running at once on one WebSocket connection.
    pub max_subscriptions_per_connection: usize,
    /// Longest a WebSocket may take to send `connection_init`.
    pub websocket_init_timeout: Duration,
    /// How often a WebSocket is pinged.
    pub websocket_ping_interval: Duration,
    /// Longest a WebSocket may send nothing at all (pongs included).
    pub websocket_idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            max_connections: None,
            max_connections_per_address: 64,
            max_websockets_per_address: 32,
            max_subscriptions_per_connection: 10,
            websocket_init_timeout: Duration::from_secs(10),
            websocket_ping_interval: Duration::from_secs(30),
            websocket_idle_timeout: Duration::from_secs(90),
        }
    }
}

/// Descriptors kept back from connections: the database pool (on SQLite
/// each connection holds the database, its journal and shared memory), the
/// listener, logs, and the change feed.
const RESERVED_DESCRIPTORS: u64 = 128;

/// The most connections allowed unless configured, however many
/// descriptors the process may open: about 20 KiB each when idle.
const DEFAULT_MAX_CONNECTIONS: u64 = 10_000;

/// Raises the soft limit on open files to the hard limit where the system
/// allows it, says so in the log, and returns the limit in force.
pub fn raise_descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
        // An unlimited hard limit cannot be the soft one on every system.
        let wanted = hard.min(1 << 20);
        if soft >= wanted {
            return Some(soft);
        }
        match setrlimit(Resource::RLIMIT_NOFILE, wanted, hard) {
            Ok(()) => {
                tracing::info!(from = soft, to = wanted, "raised the limit on open files");
                Some(wanted)
            }
            Err(err) => {
                tracing::warn!(limit = soft, %err, "could not raise the limit on open files");
                Some(soft)
            }
        }
    }
    #[cfg(not(unix))]
    None
}

/// Connections allowed at once when not configured: the descriptors the
/// process may open less those kept back, at most 10,000.
pub fn default_max_connections(descriptors: Option<u64>) -> usize {
    let Some(descriptors) = descriptors else {
        return DEFAULT_MAX_CONNECTIONS as usize;
    };
    fitting_connections(descriptors).min(DEFAULT_MAX_CONNECTIONS as usize)
}

/// The most connections `descriptors` open files leave room for, once
/// those kept back for the database and files are set aside: a configured
/// maximum above it is lowered to it.
pub fn fitting_connections(descriptors: u64) -> usize {
    let usable = descriptors
        .saturating_sub(RESERVED_DESCRIPTORS)
        .max(descriptors / 2);
    usize::try_from(usable).unwrap_or(usize::MAX)
}

/// Open things counted in total and per client address, under caps.
pub struct Slots {
    total: usize,
    per_address: usize,
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    open: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Slots {
    pub fn new(total: usize, per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            total: total.max(1),
            per_address: per_address.max(1),
            state: Mutex::default(),
        })
    }

    /// A slot for `address` (`None` counts in the total only), or `None`
    /// when a cap is reached.
    pub fn try_take(self: &Arc<Self>, address: Option<IpAddr>) -> Option<Slot> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.open >= self.total {
            return None;
        }
        if let Some(address) = address {
            let count = state.by_address.entry(address).or_default();
            if *count >= self.per_address {
                return None;
            }
            *count += 1;
        }
        state.open += 1;
        Some(Slot {
            slots: self.clone(),
            address,
        })
    }
}

/// A taken slot, given back when dropped.
pub struct Slot {
    slots: Arc<Slots>,
    address: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.slots.state.lock().unwrap_or_else(|e| e.into_inner());
        state.open -= 1;
        if let Some(address) = self.address
            && let Some(count) = state.by_address.get_mut(&address)
        {
            *count -= 1;
            if *count == 0 {
                state.by_address.remove(&address);
            }
        }
    }
}

/// A TCP stream that holds its connection's slot for as long as it is
/// open, through a WebSocket upgrade too.
struct Counted {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Pause after an accept error that is not the client's (out of file
/// descriptors, out of memory), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What a refused connection is told before it is closed.
static REFUSAL: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    let body = r#"{"errors":[{"message":"too many open connections; try again later"}]}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// The accept loop's settings.
pub struct Server {
    pub listener: TcpListener,
    pub router: Router,
    pub connections: Arc<Slots>,
    pub header_timeout: Duration,
    pub keep_alive: Duration,
    pub trusted_proxies: Vec<IpNet>,
}

impl Server {
    /// Accepts connections until `shutdown` completes, then asks each open
    /// HTTP connection to close once its request in flight is answered, and
    /// returns when all have. Upgraded connections (WebSockets) are not
    /// waited for.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let mut http1 = hyper::server::conn::http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .keep_alive(true);
        let http1 = Arc::new(http1);
        // Dropped to tell every connection to stop; each holds a receiver of
        // `closed`, whose sender learns when the last one is gone.
        let (stop, stopping) = watch::channel(());
        let (closed, closed_rx) = watch::channel(());
        drop(closed_rx);
        let mut shutdown = std::pin::pin!(shutdown);
        let mut failing = false;
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => {
                        failing = false;
                        accepted
                    }
                    Err(err) if is_connection_error(&err) => continue,
                    Err(err) => {
                        // Typically EMFILE: wait for descriptors to come back.
                        if !failing {
                            tracing::error!(%err, "could not accept a connection; backing off");
                        }
                        failing = true;
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            // A trusted proxy carries many clients: it counts in the total
            // only. Anyone else is grouped as client addresses are.
            let address = (!self.trusted_proxies.iter().any(|n| n.contains(&peer.ip())))
                .then(|| client_ip(peer.ip(), &HeaderMap::new(), &self.trusted_proxies));
            let Some(slot) = self.connections.try_take(address) else {
                tracing::debug!(%peer, "refused a connection over the caps");
                // Best effort: the answer fits the socket's buffer, or is lost.
                let _ = stream.try_write(&REFUSAL);
                drop(stream);
                continue;
            };
            let io = TokioIo::new(Counted {
                stream,
                _slot: slot,
            });
            let task = Connection {
                http1: http1.clone(),
                router: self.router.clone(),
                peer,
                keep_alive: self.keep_alive,
                stopping: stopping.clone(),
                closed: closed.subscribe(),
            };
            tokio::spawn(task.run(io));
        }
        drop(self.listener);
        drop(stop);
        closed.closed().await;
    }
}

/// Errors of one incoming connection, not of the listener: accept the next.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One HTTP connection being served.
struct Connection {
    http1: Arc<hyper::server::conn::http1::Builder>,
    router: Router,
    peer: SocketAddr,
    keep_alive: Duration,
    stopping: watch::Receiver<()>,
    closed: watch::Receiver<()>,
}

/// When the connection was last busy, and whether it is now: the basis of
/// the keep-alive limit.
struct Activity {
    began: Instant,
    /// Milliseconds from `began` to the last request's start or end.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.began.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// When the connection goes over the keep-alive limit if nothing
    /// happens; `None` while a request runs.
    fn idle_deadline(&self, keep_alive: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        Some(self.began + last + keep_alive)
    }
}

impl Connection {
    async fn run(mut self, io: TokioIo<Counted>) {
        let activity = Arc::new(Activity {
            began: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        });
        let peer = self.peer;
        let router = self.router.clone();
        let busy = activity.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // What `into_make_service_with_connect_info` gives handlers.
            request.extensions_mut().insert(ConnectInfo(peer));
            busy.in_flight.fetch_add(1, Ordering::Relaxed);
            busy.touch();
            let answer = router.clone().call(request);
            let busy = busy.clone();
            async move {
                let answer = answer.await;
                busy.touch();
                busy.in_flight.fetch_sub(1, Ordering::Relaxed);
                answer
            }
        });
        let connection = self.http1.serve_connection(io, service).with_upgrades();
        let mut connection = std::pin::pin!(connection);
        let mut closing = false;
        loop {
            let idle = activity.idle_deadline(self.keep_alive);
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(err) = served {
                        tracing::debug!(%err, "connection ended with an error");
                    }
                    break;
                }
                _ = self.stopping.changed(), if !closing => {
                    // Nothing to finish (idle, or headers still coming): close now.
                    if activity.in_flight.load(Ordering::Relaxed) == 0 {
                        break;
                    }
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
                () = sleep_until(idle), if !closing => {
                    // Still idle once the deadline is reached: close. A
                    // request that came in since moved the deadline.
                    if activity
                        .idle_deadline(self.keep_alive)
                        .is_some_and(|deadline| deadline <= Instant::now())
                    {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
        drop(self.closed);
    }
}

/// Sleeps until `deadline`, or checks again in a while when there is none
/// (a request is running).
async fn sleep_until(deadline: Option<Instant>) {
    let deadline = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
    tokio::time::sleep_until(deadline).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_whole_http_answer() {
        let text = std::str::from_utf8(&REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let _: serde_json::Value = serde_json::from_str(body).unwrap();
    }

    #[test]
    fn slots_are_capped_in_total_and_per_address_and_given_back() {
        let slots = Slots::new(3, 2);
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let b: IpAddr = "198.51.100.2".parse().unwrap();
        let first = slots.try_take(Some(a)).unwrap();
        let _second = slots.try_take(Some(a)).unwrap();
        assert!(
            slots.try_take(Some(a)).is_none(),
            "over the cap per address"
        );
        let _third = slots.try_take(Some(b)).unwrap();
        assert!(slots.try_take(None).is_none(), "over the total");
        drop(first);
        assert!(slots.try_take(Some(a)).is_some());
    }

    #[test]
    fn the_default_cap_leaves_descriptors_spare() {
        assert_eq!(default_max_connections(Some(256)), 128);
        assert_eq!(default_max_connections(Some(1024)), 896);
        assert_eq!(default_max_connections(Some(1 << 20)), 10_000);
        assert_eq!(default_max_connections(Some(100)), 50);
    }
}
