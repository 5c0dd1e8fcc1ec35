//! The load generator: `connections` virtual users, each on its own
//! keep-alive HTTP/1.1 connection, each sending its next request as soon as
//! the last one is answered (a closed loop, like `wrk`). After a warm-up,
//! every request that completes inside the measuring window counts: its
//! latency is kept in microseconds, and its answer is checked (a status
//! other than 2xx, or a GraphQL `errors` entry, is an error).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::HeaderValue;
use hyper::{HeaderMap, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::scenarios::RequestSpec;

/// Where to send a scenario's requests.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub uri: Uri,
}

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one measurement saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Requests completed inside the window.
    pub requests: u64,
    /// Requests completed, warm-up included.
    pub sent: u64,
    pub seconds: f64,
    /// One per completed request, in microseconds.
    pub latencies_us: Vec<u32>,
    pub non_2xx: u64,
    pub graphql_errors: u64,
    /// Connections refused or dropped.
    pub transport_errors: u64,
    /// The first error seen, to show.
    pub first_error: Option<String>,
}

impl Outcome {
    pub fn requests_per_sec(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn errors(&self) -> u64 {
        self.non_2xx + self.graphql_errors + self.transport_errors
    }

    fn merge(&mut self, other: Outcome) {
        self.requests += other.requests;
        self.sent += other.sent;
        self.latencies_us.extend(other.latencies_us);
        self.non_2xx += other.non_2xx;
        self.graphql_errors += other.graphql_errors;
        self.transport_errors += other.transport_errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Drives `target` for `plan.warmup` plus `plan.duration`.
pub async fn drive(target: &Target, spec: Arc<RequestSpec>, plan: Plan) -> Outcome {
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + plan.warmup;
    let until = measure_from + plan.duration;
    let host = HeaderValue::try_from(target.addr.to_string()).expect("an address is a header");
    let mut users = JoinSet::new();
    for _ in 0..plan.connections {
        let user = VirtualUser {
            addr: target.addr,
            uri: target.uri.clone(),
            host: host.clone(),
            spec: spec.clone(),
            measure_from,
            until,
        };
        users.spawn(user.run(start));
    }
    let mut outcome = Outcome {
        seconds: plan.duration.as_secs_f64(),
        ..Outcome::default()
    };
    while let Some(done) = users.join_next().await {
        match done {
            Ok(seen) => outcome.merge(seen),
            Err(err) => {
                outcome.transport_errors += 1;
                outcome.first_error.get_or_insert_with(|| err.to_string());
            }
        }
    }
    outcome
}

struct VirtualUser {
    addr: SocketAddr,
    uri: Uri,
    host: HeaderValue,
    spec: Arc<RequestSpec>,
    measure_from: Instant,
    until: Instant,
}

impl VirtualUser {
    async fn run(self, start: Instant) -> Outcome {
        tokio::time::sleep_until(start.into()).await;
        let mut seen = Outcome::default();
        let mut sender: Option<SendRequest<Full<Bytes>>> = None;
        while Instant::now() < self.until {
            let connection = match sender.take() {
                Some(open) if !open.is_closed() => open,
                _ => match connect(self.addr).await {
                    Ok(fresh) => fresh,
                    Err(err) => {
                        seen.transport_errors += 1;
                        seen.first_error.get_or_insert(err);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let mut connection = connection;
            let request = self.spec.build(&self.uri, &self.host);
            let began = Instant::now();
            let answer = exchange(&mut connection, request).await;
            let done = Instant::now();
            let counted = done >= self.measure_from && done <= self.until;
            match answer {
                Ok((status, body)) => {
                    sender = Some(connection);
                    seen.sent += 1;
                    if !counted {
                        continue;
                    }
                    seen.requests += 1;
                    let micros = done.duration_since(began).as_micros();
                    seen.latencies_us
                        .push(u32::try_from(micros).unwrap_or(u32::MAX));
                    if !status.is_success() {
                        seen.non_2xx += 1;
                        seen.first_error
                            .get_or_insert_with(|| describe(status, &body));
                    } else if has_errors(&body) {
                        seen.graphql_errors += 1;
                        seen.first_error
                            .get_or_insert_with(|| describe(status, &body));
                    }
                }
                Err(err) => {
                    if counted {
                        seen.transport_errors += 1;
                        seen.first_error.get_or_insert(err);
                    }
                }
            }
        }
        seen
    }
}

/// Whether a GraphQL answer carries errors.
pub fn has_errors(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"\"errors\":").is_some()
}

fn describe(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(300).collect();
    format!("{status}: {text}")
}

/// A keep-alive HTTP/1.1 connection's sending half.
pub type Sender = SendRequest<Full<Bytes>>;

pub async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|err| format!("connect: {err}"))?;
    stream
        .set_nodelay(true)
        .map_err(|err| format!("nodelay: {err}"))?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| format!("handshake: {err}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

pub async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), String> {
    sender
        .ready()
        .await
        .map_err(|err| format!("ready: {err}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|err| format!("send: {err}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|err| format!("body: {err}"))?
        .to_bytes();
    Ok((status, body))
}

/// One request on a fresh connection, for setup: status, headers, body.
pub async fn once(
    target: &Target,
    spec: &RequestSpec,
) -> anyhow::Result<(StatusCode, HeaderMap, Bytes)> {
    let mut sender = connect(target.addr).await.map_err(anyhow::Error::msg)?;
    let host = HeaderValue::try_from(target.addr.to_string())?;
    sender.ready().await?;
    let response = sender.send_request(spec.build(&target.uri, &host)).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, headers, body))
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
