//! Comments' formatting: a small Markdown subset (paragraphs, line breaks,
//! emphasis, inline code, block quotes, links, bare URLs) turned into HTML
//! that is safe to put in a page. The text is parsed as CommonMark with raw
//! HTML escaped, then the HTML is sanitised to an allow-list of tags: a
//! construct outside the subset (a heading, a list, an image) keeps its
//! text and loses its markup. Links may only be `http`, `https` or
//! `mailto`, and carry `rel="nofollow ugc noopener"`.

use std::collections::HashSet;
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
        .add_tag_attributes("a", ["href"])
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

/// Formats a comment body.
pub fn format(body: &str) -> Formatted {
    let html = comrak::markdown_to_html(body, &markdown_options());
    let html = SANITISER.clean(&html).to_string();
    // Text is escaped, so every `<a href` is a link the sanitiser kept (it
    // drops a dangerous target but keeps the anchor, which is then inert).
    let links = html.matches("<a href=").count();
    Formatted { html, links }
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
