//! The tokens in mail links: what the link acts on (the address's blind
//! index, and for a confirmation the author key of the comment that asked)
//! and a keyed hash of it for one purpose, so a link acts on that only, and
//! nobody can make one for anything else.

use crate::domain::flood::Fingerprints;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Unsubscribe,
}

impl Purpose {
    fn kind(self) -> &'static str {
        match self {
            Self::Confirm => "mail-confirm",
            Self::Unsubscribe => "mail-unsubscribe",
        }
    }
}

/// Hex digits of the keyed hash a token carries.
const SIGNATURE_DIGITS: usize = 32;

/// A token for `subject` (hex digits and dots).
pub fn make(fingerprints: &Fingerprints, purpose: Purpose, subject: &str) -> String {
    let signature = fingerprints.of(purpose.kind(), subject);
    format!("{subject}.{}", &signature[..SIGNATURE_DIGITS])
}

/// What a token was made for, if it is genuine.
pub fn check<'a>(fingerprints: &Fingerprints, purpose: Purpose, token: &'a str) -> Option<&'a str> {
    let (subject, signature) = token.rsplit_once('.')?;
    let expected = make(fingerprints, purpose, subject);
    let given = format!("{subject}.{signature}");
    // Compared in constant time: a guess learns nothing from the timing.
    let same = expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then_some(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_holds_for_its_subject_and_purpose_only() {
        let keys = Fingerprints::for_tests();
        let token = make(&keys, Purpose::Confirm, "abc.def");
        assert_eq!(check(&keys, Purpose::Confirm, &token), Some("abc.def"));
        assert_eq!(check(&keys, Purpose::Unsubscribe, &token), None);
        let other = token.replacen("abc", "abd", 1);
        assert_eq!(check(&keys, Purpose::Confirm, &other), None);
        assert_eq!(check(&keys, Purpose::Confirm, "abc.def"), None);
        assert_eq!(check(&keys, Purpose::Confirm, ""), None);
    }
}
