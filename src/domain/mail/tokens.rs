//! The tokens in mail links: the address's blind index and a keyed hash of
//! it for one purpose, so a link confirms or unsubscribes that address only,
//! and nobody can make one for another address.

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

pub fn make(fingerprints: &Fingerprints, purpose: Purpose, email_index: &str) -> String {
    let signature = fingerprints.of(purpose.kind(), email_index);
    format!("{email_index}.{}", &signature[..SIGNATURE_DIGITS])
}

/// The blind index a token was made for, if it is genuine.
pub fn check<'a>(fingerprints: &Fingerprints, purpose: Purpose, token: &'a str) -> Option<&'a str> {
    let (email_index, signature) = token.split_once('.')?;
    let expected = make(fingerprints, purpose, email_index);
    let given = format!("{email_index}.{signature}");
    // Compared in constant time: a guess learns nothing from the timing.
    let same = expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then_some(email_index)
}
