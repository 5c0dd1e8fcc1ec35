//! The XML both export formats share, read as a stream of events: an
//! element's opening (with the one attribute the formats use as an id),
//! its closing, and the text of the one element being read. Only that text
//! is kept, up to a cap, so a file of any size is read in bounded memory.

use std::io::BufRead;

use anyhow::Context;
use quick_xml::Reader;
use quick_xml::events::Event;

/// The most text kept of one element: far more than the longest comment
/// body allowed, so a longer one is still refused as too long.
const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// Elements nested deeper than this are refused: no export needs them.
const MAX_DEPTH: usize = 64;

/// One step through the document.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// An element opened: its qualified name (`wp:comment`) and the value
    /// of its `dsq:id` attribute, if any.
    Open {
        name: String,
        id: Option<String>,
    },
    /// An element closed; `text` is what was kept of its text, if it was
    /// being kept ([`XmlStream::keep_text`]).
    Close {
        name: String,
        text: Option<String>,
    },
    End,
}

pub(super) struct XmlStream<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    depth: usize,
    /// The text of the element being kept, and the depth it opened at.
    kept: Option<(String, usize)>,
}

impl<R: BufRead> XmlStream<R> {
    pub(super) fn new(source: R) -> Self {
        let mut reader = Reader::from_reader(source);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        Self {
            reader,
            buf: Vec::new(),
            depth: 0,
            kept: None,
        }
    }

    /// How deep the last element opened sits (the root is 1).
    pub(super) fn depth(&self) -> usize {
        self.depth
    }

    /// Keeps the text of the element just opened, given back when it closes.
    pub(super) fn keep_text(&mut self) {
        self.kept = Some((String::new(), self.depth));
    }

    pub(super) fn next(&mut self) -> anyhow::Result<Step> {
        loop {
            self.buf.clear();
            let event = self
                .reader
                .read_event_into(&mut self.buf)
                .with_context(|| {
                    format!(
                        "the file is not well-formed XML (near byte {})",
                        self.reader.error_position()
                    )
                })?;
            match event {
                Event::Start(start) => {
                    self.depth += 1;
                    anyhow::ensure!(
                        self.depth <= MAX_DEPTH,
                        "the file nests elements more than {MAX_DEPTH} deep (near byte {})",
                        self.reader.buffer_position()
                    );
                    let name = start.name().as_ref().to_owned();
                    let id = start
                        .try_get_attribute("dsq:id")
                        .ok()
                        .flatten()
                        .map(|attr| attr.value.into_owned());
                    // Text inside a kept element's children is not its own.
                    self.kept = None;
                    return Ok(Step::Open { name, id });
                }
                Event::End(end) => {
                    let text = match self.kept.take() {
                        Some((text, depth)) if depth == self.depth => Some(text),
                        other => {
                            self.kept = other;
                            None
                        }
                    };
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Step::Close {
                        name: end.name().as_ref().to_owned(),
                        text,
                    });
                }
                Event::Text(text) => keep(&mut self.kept, &text.xml10_content()),
                Event::CData(data) => {
                    let data = data.into_inner();
                    keep(&mut self.kept, &data);
                }
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        _ => quick_xml::escape::resolve_xml_entity(&reference.into_inner())
                            .map(str::to_owned),
                    };
                    if let Some(resolved) = resolved {
                        keep(&mut self.kept, &resolved);
                    }
                }
                Event::Eof => {
                    anyhow::ensure!(self.depth == 0, "the file ends in the middle of an element");
                    return Ok(Step::End);
                }
                Event::Empty(_)
                | Event::Comment(_)
                | Event::Decl(_)
                | Event::PI(_)
                | Event::DocType(_) => {}
            }
        }
    }
}

/// Adds `text` to the element being kept, if any, up to the cap.
fn keep(kept: &mut Option<(String, usize)>, text: &str) {
    if let Some((kept, _)) = kept {
        let room = MAX_TEXT_BYTES.saturating_sub(kept.len());
        if room >= text.len() {
            kept.push_str(text);
        } else {
            let mut end = room;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            kept.push_str(&text[..end]);
        }
    }
}

/// Reads a yes/no value as the formats write it.
pub(super) fn is_true(text: &str) -> bool {
    matches!(text.trim(), "true" | "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(xml: &str) -> anyhow::Result<Vec<Step>> {
        let mut stream = XmlStream::new(xml.as_bytes());
        let mut steps = Vec::new();
        loop {
            let step = stream.next()?;
            if let Step::Open { name, .. } = &step
                && name == "keep"
            {
                stream.keep_text();
            }
            if step == Step::End {
                return Ok(steps);
            }
            steps.push(step);
        }
    }

    #[test]
    fn keeps_text_cdata_and_entities_of_the_kept_element_only() {
        let found = steps("<a><keep>x &amp; <![CDATA[<b>]]>&#233;</keep><b>lost</b></a>").unwrap();
        assert!(found.contains(&Step::Close {
            name: "keep".into(),
            text: Some("x & <b>é".into())
        }));
        assert!(found.contains(&Step::Close {
            name: "b".into(),
            text: None
        }));
    }

    #[test]
    fn reads_ids_of_empty_elements() {
        let found = steps(r#"<a><thread dsq:id="42"/></a>"#).unwrap();
        assert_eq!(
            found[1],
            Step::Open {
                name: "thread".into(),
                id: Some("42".into())
            }
        );
    }

    #[test]
    fn refuses_malformed_and_truncated_documents() {
        assert!(steps("<a><b></a>").is_err());
        assert!(steps("<a><b>").is_err());
    }
}
