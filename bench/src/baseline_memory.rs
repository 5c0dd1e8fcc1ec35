//! Baseline (a), the HTTP limit: a minimal axum server answering each
//! scenario's request with the exact bytes and headers Parley answered it
//! with, from memory. It reads the request body and does nothing else.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};
use clap::Args;
use serde::{Deserialize, Serialize};

#[derive(Debug, Args)]
pub struct ServeMemoryArgs {
    /// A JSON list of the answers to serve, as [`Recorded`] entries.
    #[arg(long)]
    manifest: PathBuf,
    #[arg(long, default_value_t = crate::any_loopback_port())]
    listen: SocketAddr,
}

/// One recorded answer, served at `path` for GET and POST.
#[derive(Debug, Serialize, Deserialize)]
pub struct Recorded {
    pub path: String,
    /// Parley's headers, but those hyper writes itself (`content-length`,
    /// `date`).
    pub headers: Vec<(String, String)>,
    pub body_file: PathBuf,
}

pub async fn run(args: ServeMemoryArgs) -> anyhow::Result<()> {
    let manifest = std::fs::read(&args.manifest)
        .with_context(|| format!("could not read {}", args.manifest.display()))?;
    let recorded: Vec<Recorded> = serde_json::from_slice(&manifest)?;
    let mut router = Router::new();
    for entry in recorded {
        let body = Bytes::from(
            std::fs::read(&entry.body_file)
                .with_context(|| format!("could not read {}", entry.body_file.display()))?,
        );
        let mut headers = HeaderMap::new();
        for (name, value) in entry.headers {
            headers.append(HeaderName::try_from(name)?, HeaderValue::try_from(value)?);
        }
        let answer = move |_request: Bytes| {
            let body = body.clone();
            let headers = headers.clone();
            async move {
                let mut response = body.into_response();
                *response.headers_mut() = headers;
                response
            }
        };
        let route: MethodRouter = get(answer.clone()).post(answer);
        router = router.route(&entry.path, route);
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    crate::children::announce(listener.local_addr()?, None);
    crate::children::ready();
    axum::serve(listener, router).await?;
    Ok(())
}
