//! Comments' formatting: a small Markdown subset (paragraphs, line breaks,
//! emphasis, inline code, block quotes, links, bare URLs) turned into HTML
//! that is safe to put in a page. The text is parsed as CommonMark with raw
//! HTML escaped, then the HTML is sanitised to an allow-list of tags: a
//! construct outside the subset (a heading, a list) keeps its text and
//! loses its markup, and an image is dropped. Links may only be `http`,
//! `https` or `mailto`, and carry `rel="nofollow ugc noopener"`.
//!
//! What one body may cost is bounded: a body with a line that opens more
//! than `MAX_NESTING` block quotes or list items, or whose HTML would pass
//! `MAX_HTML_CHARS`, is shown as plain text (paragraphs and line breaks
//! only), without being read as Markdown at all.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// A comment body as readers will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatted {
    /// Sanitised HTML.
    pub html: String,
    /// The links a reader will see in it.
    pub links: usize,
}

/// The longest HTML a body of the longest length can give (each character
/// escaped as an entity, with markup around): what a request is charged
/// for asking for it.
pub const MAX_HTML_CHARS: usize = super::CommentBody::MAX_CHARS * 6;

/// The tags a formatted comment may contain.
const TAGS: [&str; 7] = ["p", "br", "em", "strong", "code", "blockquote", "a"];

static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(HashSet::from(TAGS))
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::from([("a", HashSet::from(["href"]))]))
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("nofollow ugc noopener"))
        .clean_content_tags(HashSet::from(["script", "style"]));
    builder
});

fn markdown_options() -> comrak::Options<'static> {
    let mut options = comrak::Options::default();
    options.extension.autolink = true;
    options.render.hardbreaks = true;
    options.render.escape = true;
    options
}

/// The deepest nesting of block quotes and list items read as Markdown.
pub const MAX_NESTING: usize = 8;

/// Formats a comment body.
pub fn format(body: &str) -> Formatted {
    if nesting(body) > MAX_NESTING {
        return plain(body);
    }
    let html = comrak::markdown_to_html(body, &markdown_options());
    let html = SANITISER.clean(&html).to_string();
    if html.len() > MAX_HTML_CHARS {
        return plain(body);
    }
    // Text is escaped, so every `<a href` is a link the sanitiser kept (it
    // drops a dangerous target but keeps the anchor, which is then inert).
    let links = html.matches("<a href=").count();
    Formatted { html, links }
}

/// The most container markers (`>`, or a list item's `-`, `+`, `*`, `1.`,
/// `1)`) that open any one line: how deep its Markdown would nest.
fn nesting(body: &str) -> usize {
    // CommonMark ends a line at LF, CR or CRLF (`str::lines` misses a lone CR).
    body.split(['\n', '\r'])
        .map(|line| {
            let mut depth = 0;
            let mut rest = line.trim_start();
            loop {
                let after_marker = if let Some(after) = rest.strip_prefix('>') {
                    Some(after)
                } else if let Some(after) = rest.strip_prefix(['-', '+', '*']) {
                    after.starts_with([' ', '\t']).then_some(after)
                } else {
                    let digits =
                        rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                    rest[digits..]
                        .strip_prefix(['.', ')'])
                        .filter(|after| digits > 0 && after.starts_with([' ', '\t']))
                };
                match after_marker {
                    Some(after) => {
                        depth += 1;
                        rest = after.trim_start();
                    }
                    None => return depth,
                }
            }
        })
        .max()
        .unwrap_or(0)
}

/// A body as plain text: escaped, blank lines between paragraphs, line
/// breaks kept. At most five bytes for each byte of `body`, and no links.
fn plain(body: &str) -> Formatted {
    let mut html = String::with_capacity(body.len() + 16);
    for paragraph in body.split("\n\n").filter(|p| !p.trim().is_empty()) {
        html.push_str("<p>");
        for (i, line) in paragraph.trim_matches('\n').lines().enumerate() {
            if i > 0 {
                html.push_str("<br>\n");
            }
            for c in line.chars() {
                match c {
                    '&' => html.push_str("&amp;"),
                    '<' => html.push_str("&lt;"),
                    '>' => html.push_str("&gt;"),
                    '"' => html.push_str("&#34;"),
                    '\'' => html.push_str("&#39;"),
                    c => html.push(c),
                }
            }
        }
        html.push_str("</p>\n");
    }
    Formatted { html, links: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_is_kept() {
        let out = format(
            "Hello *world* and **more**, `code`.\nNext line\n\n> quoted\n\n[site](https://example.com)",
        );
        assert!(out.html.contains("<em>world</em>"), "{}", out.html);
        assert!(out.html.contains("<strong>more</strong>"));
        assert!(out.html.contains("<code>code</code>"));
        assert!(out.html.contains("<br>"));
        assert!(out.html.contains("<blockquote>"));
        assert!(
            out.html
                .contains(r#"<a href="https://example.com" rel="nofollow ugc noopener">site</a>"#),
            "{}",
            out.html
        );
        assert_eq!(out.links, 1);
    }

    #[test]
    fn bare_urls_are_links_and_count() {
        let out = format("see https://a.example and www.b.example and https://c.example/x");
        assert_eq!(out.links, 3, "{}", out.html);
    }

    #[test]
    fn raw_html_and_scripts_come_out_as_text() {
        for payload in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<svg onload=alert(1)>",
        ] {
            let out = format(payload);
            for needle in ["<script", "<img", "<iframe", "<svg", "<a"] {
                assert!(!out.html.contains(needle), "{payload} gave {}", out.html);
            }
            assert_eq!(out.links, 0, "{payload} gave {}", out.html);
        }
    }

    #[test]
    fn deep_nesting_is_shown_as_plain_text() {
        let deep = format!("{} quoted https://a.example", ">".repeat(MAX_NESTING + 1));
        let out = format(&deep);
        assert_eq!(out.links, 0);
        assert!(!out.html.contains("<blockquote>"), "{}", out.html);
        assert!(out.html.starts_with("<p>&gt;&gt;"), "{}", out.html);
        let lists = format(&"- ".repeat(MAX_NESTING + 1));
        assert!(!lists.html.contains("<li>"), "{}", lists.html);
        let shallow = format(&format!("{} quoted", ">".repeat(MAX_NESTING)));
        assert!(shallow.html.contains("<blockquote>"), "{}", shallow.html);
    }

    #[test]
    fn a_carriage_return_starts_a_line_too() {
        let out = format(&format!("a\r{}", ">".repeat(MAX_NESTING + 1)));
        assert!(!out.html.contains("<blockquote>"), "{}", out.html);
    }

    #[test]
    fn html_stays_within_its_bound() {
        let worst = "\"".repeat(super::super::CommentBody::MAX_CHARS);
        assert!(format(&worst).html.len() <= MAX_HTML_CHARS);
        let nested = format!("{}x", ">".repeat(super::super::CommentBody::MAX_CHARS - 1));
        assert!(format(&nested).html.len() <= MAX_HTML_CHARS);
    }

    #[test]
    fn link_titles_are_dropped() {
        let out = format("[x](https://a.example \"title\")");
        assert!(!out.html.contains("title"), "{}", out.html);
        assert_eq!(out.links, 1);
    }

    #[test]
    fn dangerous_link_targets_are_dropped() {
        for payload in [
            "[x](javascript:alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "[x](vbscript:msgbox)",
            "[x](/relative)",
            "![x](https://tracker.example/pixel.png)",
        ] {
            let out = format(payload);
            assert!(!out.html.contains("javascript:"), "{}", out.html);
            assert!(!out.html.contains("data:"), "{}", out.html);
            assert!(!out.html.contains("<img"), "{}", out.html);
            assert_eq!(out.links, 0, "{payload} gave {}", out.html);
        }
    }
}
