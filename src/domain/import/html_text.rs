//! Comment bodies written as HTML (WordPress's and Disqus's) turned into
//! the plain text Parley stores, as a reader would have typed it: links as
//! Markdown links, emphasis as `*`, quotes as `>`, paragraphs as blank
//! lines; every other tag dropped with its markup, its text kept (a
//! script's or style's dropped with it); entities decoded.

/// How line breaks in the HTML's own text count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Newlines {
    /// As line breaks (WordPress stores comments as typed, with breaks).
    Keep,
    /// As spaces, as in a browser (Disqus stores rendered HTML).
    Collapse,
}

/// An element whose text is being collected, to be rewritten at its end.
struct Open {
    tag: String,
    start: usize,
    href: Option<String>,
}

pub(super) fn to_text(html: &str, newlines: Newlines) -> String {
    let mut out = String::with_capacity(html.len());
    let mut open: Vec<Open> = Vec::new();
    let mut skipping: Option<String> = None;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && rest[1..]
                .chars()
                .next()
                .is_some_and(|next| next.is_ascii_alphabetic() || next == '/' || next == '!')
            && let Some(end) = rest.find('>')
        {
            let tag = Tag::parse(&rest[1..end]);
            rest = &rest[end + 1..];
            if let Some(skipped) = &skipping {
                if tag.closing && &tag.name == skipped {
                    skipping = None;
                }
                continue;
            }
            apply(&tag, &mut out, &mut open, &mut skipping);
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if skipping.is_some() {
            continue;
        }
        match c {
            '&' => {
                let (decoded, used) = entity(rest);
                out.push_str(&decoded);
                rest = &rest[used..];
            }
            '\r' => {}
            '\n' | '\t' | ' ' if newlines == Newlines::Collapse || c != '\n' => {
                if !out.ends_with([' ', '\n']) && !out.is_empty() {
                    out.push(' ');
                }
            }
            _ => out.push(c),
        }
    }
    tidy(&out)
}

struct Tag {
    name: String,
    closing: bool,
    href: Option<String>,
}

impl Tag {
    fn parse(inside: &str) -> Self {
        let inside = inside.trim();
        let (closing, inside) = match inside.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, inside),
        };
        let name: String = inside
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let href = (name == "a")
            .then(|| attribute(inside, "href"))
            .flatten()
            .map(|value| decode_entities(&value));
        Self {
            name,
            closing,
            href,
        }
    }
}

/// The value of `name="…"` (or `'…'`) in a tag's inside.
fn attribute(inside: &str, name: &str) -> Option<String> {
    let lower = inside.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let value = &inside[at..];
    let quote = value.chars().next()?;
    if quote == '"' || quote == '\'' {
        let value = &value[1..];
        Some(value[..value.find(quote)?].to_owned())
    } else {
        Some(
            value
                .split(|c: char| c.is_whitespace())
                .next()?
                .trim_end_matches('/')
                .to_owned(),
        )
    }
}

fn apply(tag: &Tag, out: &mut String, open: &mut Vec<Open>, skipping: &mut Option<String>) {
    match (tag.name.as_str(), tag.closing) {
        ("script" | "style", false) => *skipping = Some(tag.name.clone()),
        ("br", _) => out.push('\n'),
        ("p" | "div" | "ul" | "ol" | "li" | "pre" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6", _) => {
            paragraph(out)
        }
        ("a" | "blockquote" | "strong" | "b" | "em" | "i", false) => {
            if tag.name == "blockquote" {
                paragraph(out);
            }
            open.push(Open {
                tag: tag.name.clone(),
                start: out.len(),
                href: tag.href.clone(),
            });
        }
        (name @ ("a" | "blockquote" | "strong" | "b" | "em" | "i"), true) => {
            let Some(at) = open.iter().rposition(|o| o.tag == name) else {
                return;
            };
            let element = open.remove(at);
            // Elements left open inside it end with it.
            open.truncate(at);
            let inner = out.split_off(element.start);
            out.push_str(&rewrite(&element, inner.trim()));
            if name == "blockquote" {
                paragraph(out);
            }
        }
        _ => {}
    }
}

/// An element's text in Markdown.
fn rewrite(element: &Open, inner: &str) -> String {
    if inner.is_empty() {
        return String::new();
    }
    match element.tag.as_str() {
        "a" => match &element.href {
            Some(href)
                if (href.starts_with("http://") || href.starts_with("https://"))
                    && href != inner =>
            {
                format!("[{inner}]({href})")
            }
            _ => inner.to_owned(),
        },
        "blockquote" => inner
            .lines()
            .map(|line| format!("> {line}").trim_end().to_owned())
            .collect::<Vec<_>>()
            .join("\n"),
        "strong" | "b" => format!("**{inner}**"),
        _ => format!("*{inner}*"),
    }
}

fn paragraph(out: &mut String) {
    let trimmed = out.trim_end_matches([' ', '\n']).len();
    out.truncate(trimmed);
    if !out.is_empty() {
        out.push_str("\n\n");
    }
}

/// The character an entity at the start of `rest` (just after its `&`)
/// stands for, and how many bytes it took; a lone `&` stays as it is.
fn entity(rest: &str) -> (String, usize) {
    let Some(end) = rest.find(';').filter(|end| *end <= 32) else {
        return ("&".to_owned(), 0);
    };
    let name = &rest[..end];
    let number = name
        .strip_prefix("#x")
        .or_else(|| name.strip_prefix("#X"))
        .map(|hex| u32::from_str_radix(hex, 16))
        .or_else(|| name.strip_prefix('#').map(str::parse::<u32>));
    let decoded = match number {
        Some(Ok(code)) => char::from_u32(code).map(String::from),
        Some(Err(_)) => None,
        None => quick_xml::escape::resolve_html5_entity(name).map(str::to_owned),
    };
    match decoded {
        Some(text) => (text, end + 1),
        None => ("&".to_owned(), 0),
    }
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let (decoded, used) = entity(&rest[at + 1..]);
        out.push_str(&decoded);
        rest = &rest[at + 1 + used..];
    }
    out.push_str(rest);
    out
}

/// Trailing spaces off every line, at most one blank line in a row, none
/// at either end.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line.trim_start_matches(' '));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_breaks_become_lines() {
        assert_eq!(
            to_text("<p>One</p><p>Two<br/>three</p>", Newlines::Collapse),
            "One\n\nTwo\nthree"
        );
    }

    #[test]
    fn wordpress_line_breaks_are_kept() {
        assert_eq!(
            to_text("First line\nsecond\n\nNew paragraph", Newlines::Keep),
            "First line\nsecond\n\nNew paragraph"
        );
    }

    #[test]
    fn rendered_html_whitespace_collapses() {
        assert_eq!(to_text("<p>a\n   b</p>", Newlines::Collapse), "a b");
    }

    #[test]
    fn links_emphasis_and_quotes_become_markdown() {
        assert_eq!(
            to_text(
                r#"See <a href="https://x.example/a?b=1&amp;c=2" rel="nofollow">this</a>, <strong>really</strong> <em>now</em>"#,
                Newlines::Keep
            ),
            "See [this](https://x.example/a?b=1&c=2), **really** *now*"
        );
        assert_eq!(
            to_text("<blockquote>quoted\nline</blockquote>reply", Newlines::Keep),
            "> quoted\n> line\n\nreply"
        );
    }

    #[test]
    fn scripts_go_and_other_tags_keep_their_text() {
        assert_eq!(
            to_text("<script>alert(1)</script><span>kept</span>", Newlines::Keep),
            "kept"
        );
    }

    #[test]
    fn entities_are_decoded_and_a_lone_ampersand_stays() {
        assert_eq!(
            to_text(
                "caf&eacute; &#8217;s &#x2014; fish &amp; chips & more",
                Newlines::Keep
            ),
            "café ’s — fish & chips & more"
        );
    }

    #[test]
    fn a_lone_angle_bracket_stays() {
        assert_eq!(to_text("1 < 2 > 0", Newlines::Keep), "1 < 2 > 0");
    }
}
