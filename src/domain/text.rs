//! Shared text hygiene: NFC normalisation, trimming, and the characters no
//! single-line field may contain.

use unicode_normalization::UnicodeNormalization;

use crate::error::{AppError, AppResult};

/// Bidirectional embeddings, overrides and isolates: they let a name display
/// as something other than what it is.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// NFC-normalises and trims `raw`, then checks its length in characters.
pub(crate) fn normalized(
    raw: &str,
    field: &'static str,
    label: &str,
    max_chars: usize,
) -> AppResult<String> {
    let text: String = raw.nfc().collect();
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::bad_input(field, format!("{label} is required")));
    }
    if text.chars().count() > max_chars {
        return Err(AppError::bad_input(
            field,
            format!("{label} must be at most {max_chars} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// A single line of text: no control characters and no bidi overrides.
pub(crate) fn single_line(
    raw: &str,
    field: &'static str,
    label: &str,
    max_chars: usize,
) -> AppResult<String> {
    let text = normalized(raw, field, label, max_chars)?;
    if text.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(AppError::bad_input(
            field,
            format!("{label} must not contain control or bidirectional-override characters"),
        ));
    }
    Ok(text)
}
