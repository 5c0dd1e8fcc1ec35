//! Property tests of the input parsers: whatever a client sends, they never
//! panic, what they accept keeps its promises, and their errors never echo
//! the input.

use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use super::{AuthorName, CommentBody, Cursor, Email};
use crate::error::Field;

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,300}",
        "[\\PC\\s\\u{202E}\\u{0301}]{0,120}",
    ]
}

proptest! {
    #[test]
    fn author_names_are_trimmed_nfc_single_lines(raw in arbitrary_text()) {
        if let Ok(name) = AuthorName::parse(&raw) {
            let name = name.as_str();
            prop_assert!(!name.is_empty() && name.chars().count() <= AuthorName::MAX_CHARS);
            prop_assert_eq!(name, name.trim());
            prop_assert_eq!(name.nfc().collect::<String>(), name);
            prop_assert!(!name.chars().any(char::is_control));
        }
    }

    #[test]
    fn bodies_keep_their_bounds(raw in arbitrary_text()) {
        if let Ok(body) = CommentBody::parse(&raw) {
            let len = body.as_str().chars().count();
            prop_assert!((1..=CommentBody::MAX_CHARS).contains(&len));
            prop_assert!(!body.as_str().contains(char::from(0)));
        }
    }

    #[test]
    fn email_errors_never_echo_the_input(local in "[a-z]{3,20}", domain in "[a-z@.]{0,20}") {
        // A marker no message holds: a short local part alone ("add",
        // "not") may be a word of the message without being echoed.
        let local = format!("zq{local}");
        let raw = format!("{local}@{domain}");
        match Email::parse(&raw) {
            Ok(email) => prop_assert!(email.as_str().len() <= Email::MAX_CHARS),
            Err(err) => prop_assert!(!err.message().contains(&local)),
        }
    }

    #[test]
    fn any_text_is_safe_to_decode_as_a_cursor(raw in arbitrary_text()) {
        let _ = Cursor::decode(&raw, Field::After);
    }

    #[test]
    fn cursors_round_trip(created_at in any::<i64>(), id in any::<u128>()) {
        let cursor = Cursor { created_at, id: Uuid::from_u128(id) };
        prop_assert_eq!(Cursor::decode(&cursor.encode(), Field::After).unwrap(), cursor);
    }
}
