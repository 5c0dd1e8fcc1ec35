//! The web origins a site's pages come from: who may call the API from a
//! browser (CORS), open a WebSocket, and create articles by commenting.

use anyhow::bail;

/// The origins listed with `--cors-origins`, normalised to
/// `scheme://host[:port]`, or any origin (`*`, an explicit choice).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins {
    listed: Vec<String>,
    any: bool,
}

impl CorsOrigins {
    /// Parses the configured list; an entry that is not an `http` or
    /// `https` origin (a path, a query, a bare host name) is refused.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> anyhow::Result<Self> {
        let mut origins = Self::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                origins.any = true;
                continue;
            }
            let Some(origin) = normalise(entry) else {
                bail!(
                    "`{entry}` in PARLEY_CORS_ORIGINS is not an origin: write scheme://host[:port], such as https://news.example"
                );
            };
            if !origins.listed.contains(&origin) {
                origins.listed.push(origin);
            }
        }
        Ok(origins)
    }

    /// Whether any origin may call the API (`*`).
    pub fn any(&self) -> bool {
        self.any
    }

    /// Whether none is listed: same origin only.
    pub fn is_empty(&self) -> bool {
        !self.any && self.listed.is_empty()
    }

    /// Whether a browser's `Origin` header names a listed origin, or any
    /// origin is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        self.any || self.lists(origin)
    }

    /// Whether this exact origin is listed (`*` lists none).
    pub fn lists(&self, origin: &str) -> bool {
        normalise(origin).is_some_and(|origin| self.listed.contains(&origin))
    }

    /// Whether a page at `url` is on a listed origin (`*` lists none): what
    /// creating an article by commenting on it requires.
    pub fn lists_page(&self, url: &str) -> bool {
        url::Url::parse(url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .is_some_and(|url| self.listed.contains(&url.origin().ascii_serialization()))
    }
}

/// `scheme://host[:port]` of an origin without path, query or credentials.
fn normalise(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let bare = matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !bare || !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_and_normalised() {
        let origins =
            CorsOrigins::parse(&["https://News.example/", " http://127.0.0.1:8081"]).unwrap();
        assert!(origins.allows("https://news.example"));
        assert!(origins.allows("http://127.0.0.1:8081"));
        assert!(!origins.allows("https://news.example.evil"));
        assert!(!origins.allows("http://news.example"));
        assert!(!origins.allows("null"));
        assert!(origins.lists_page("https://news.example/2026/11/budget-vote"));
        assert!(!origins.lists_page("https://elsewhere.example/a"));
    }

    #[test]
    fn a_wildcard_allows_browsers_but_lists_no_page() {
        let origins = CorsOrigins::parse(&["*"]).unwrap();
        assert!(origins.allows("https://anything.example"));
        assert!(!origins.lists_page("https://anything.example/a"));
    }

    #[test]
    fn paths_and_bare_hosts_are_refused() {
        for bad in [
            "news.example",
            "https://news.example/path",
            "ftp://x.example",
        ] {
            assert!(CorsOrigins::parse(&[bad]).is_err(), "{bad}");
        }
    }
}
