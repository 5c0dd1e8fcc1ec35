//! Shared text hygiene: NFC normalisation, trimming, the characters no
//! single-line field may contain, and what counts as showing something.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

use crate::error::{AppError, AppResult, Field};

/// Bidirectional embeddings, overrides, isolates and marks: they let a name
/// display as something other than what it is, or reorder what follows it.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Characters a line may not hold: controls, line and paragraph
/// separators, and bidirectional controls and marks.
fn breaks_a_line(c: char) -> bool {
    c.is_control()
        || matches!(
            c.general_category(),
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
        )
        || is_bidi_control(c)
}

/// Whether `c` leaves a visible trace on its own. Letters that render as
/// blank space (the Hangul fillers, the blank Braille pattern) do not, nor
/// do spaces, format characters (zero-width joiners and spaces among them),
/// marks without a base, private-use and unassigned code points.
fn is_visible(c: char) -> bool {
    const BLANK_LOOKING: [char; 5] = ['\u{115F}', '\u{1160}', '\u{3164}', '\u{FFA0}', '\u{2800}'];
    if c.is_whitespace() || BLANK_LOOKING.contains(&c) {
        return false;
    }
    match c.general_category_group() {
        GeneralCategoryGroup::Letter
        | GeneralCategoryGroup::Number
        | GeneralCategoryGroup::Punctuation
        | GeneralCategoryGroup::Symbol => true,
        GeneralCategoryGroup::Mark
        | GeneralCategoryGroup::Separator
        | GeneralCategoryGroup::Other => false,
    }
}

/// NFC-normalises and trims `raw`, then checks its length in characters.
pub(crate) fn normalized(
    raw: &str,
    field: Field,
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

/// A single line of text that shows something: no control characters, no
/// line or paragraph separators, no bidirectional controls or marks, and at
/// least one visible character.
pub(crate) fn single_line(
    raw: &str,
    field: Field,
    label: &str,
    max_chars: usize,
) -> AppResult<String> {
    let text = normalized(raw, field, label, max_chars)?;
    if text.chars().any(breaks_a_line) {
        return Err(AppError::bad_input(
            field,
            format!(
                "{label} must be one line without control, separator or bidirectional characters"
            ),
        ));
    }
    if !text.chars().any(is_visible) {
        return Err(AppError::bad_input(
            field,
            format!("{label} must contain at least one visible character"),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(raw: &str) -> AppResult<String> {
        single_line(raw, Field::Name, "name", 100)
    }

    #[test]
    fn names_made_only_of_invisible_characters_are_refused() {
        for raw in [
            "\u{3164}",
            "\u{3164}\u{3164}",
            "\u{2800}",
            "\u{200D}",
            "\u{200B}\u{200C}",
            "\u{115F}\u{1160}",
            "\u{FFA0}",
            "\u{00A0}",
            "\u{FE0F}",
            "\u{0301}",
            "\u{E000}",
        ] {
            assert!(line(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn separators_and_bidi_marks_are_refused_anywhere() {
        for raw in [
            "Ann\u{2028}Bob",
            "Ann\u{2029}Bob",
            "Ann\u{200F}",
            "\u{200E}Ann",
            "Ann\u{061C}",
            "Ann\u{202E}",
        ] {
            assert!(line(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn visible_names_in_any_script_are_accepted() {
        for raw in [
            "Ann",
            "Zoë",
            "李雷",
            "مريم",
            "😀",
            "A\u{200D}B",
            "Ἀθηνᾶ",
            "...",
            "42",
        ] {
            assert!(line(raw).is_ok(), "{raw:?}");
        }
    }
}
