//! Files served from the binary: the embeddable thread (`/embed.js`,
//! `/embed.css`) and the stylesheet of Parley's own pages. Each carries a
//! weak `ETag` (it holds whatever encoding the body is sent in), answers
//! `304` to a matching `If-None-Match`, and may be kept for a short while.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// A file compiled into the binary.
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// `Cache-Control` of the answer.
    pub cache_control: &'static str,
    etag: OnceLock<String>,
}

/// How long browsers and CDNs keep the widget before asking again (with
/// its `ETag`): a new version reaches readers within five minutes.
pub const WIDGET_CACHE_CONTROL: &str = "public, max-age=300";

impl Asset {
    pub const fn new(
        bytes: &'static [u8],
        content_type: &'static str,
        cache_control: &'static str,
    ) -> Self {
        Self {
            bytes,
            content_type,
            cache_control,
            etag: OnceLock::new(),
        }
    }

    /// The strong tag of the bytes, `"…"`.
    pub fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let digest = Sha256::digest(self.bytes);
            let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            format!("\"{hex}\"")
        })
    }

    /// The file, or `304` when the client holds it already.
    pub fn serve(&self, headers: &HeaderMap) -> Response {
        let etag = self.etag();
        let fresh = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| etag_matches(tags, etag));
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            ([(header::CONTENT_TYPE, self.content_type)], self.bytes).into_response()
        };
        let out = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&weak(etag)) {
            out.insert(header::ETAG, value);
        }
        out.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(self.cache_control),
        );
        out.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

/// The weak form `W/"…"` of a strong tag. The body may go out gzipped,
/// brotli-compressed or as is: the same content in each, which is what a
/// weak tag promises (a strong one would promise the same bytes).
pub fn weak(etag: &str) -> String {
    if etag.starts_with("W/") {
        etag.to_owned()
    } else {
        format!("W/{etag}")
    }
}

/// Whether an `If-None-Match` list names `etag`, by weak comparison (as
/// RFC 9110 asks for `If-None-Match`), or is `*`.
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let wanted = bare(etag);
    if_none_match
        .split(',')
        .any(|tag| tag.trim() == "*" || bare(tag) == wanted)
}

pub static EMBED_JS: Asset = Asset::new(
    include_bytes!("../../web/embed.js"),
    "text/javascript; charset=utf-8",
    WIDGET_CACHE_CONTROL,
);

pub static EMBED_CSS: Asset = Asset::new(
    include_bytes!("../../web/embed.css"),
    "text/css; charset=utf-8",
    WIDGET_CACHE_CONTROL,
);

pub static SITE_CSS: Asset = Asset::new(
    include_bytes!("../../web/site.css"),
    "text/css; charset=utf-8",
    WIDGET_CACHE_CONTROL,
);

pub async fn embed_js(headers: HeaderMap) -> Response {
    EMBED_JS.serve(&headers)
}

pub async fn embed_css(headers: HeaderMap) -> Response {
    EMBED_CSS.serve(&headers)
}

pub async fn site_css(headers: HeaderMap) -> Response {
    SITE_CSS.serve(&headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(etag_matches("W/\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", \"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("W/\"abd\"", "\"abc\""));
    }
}
