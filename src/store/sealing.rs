//! Personal data at rest: readers' emails and the server's own secrets are
//! stored sealed with XChaCha20-Poly1305 under a data key that is never in
//! the database (a key file, `PARLEY_DATA_KEY` or `--data-key-file`).
//!
//! A sealed value reads `KEYID:BASE64`: the id of the key that sealed it
//! (16 hex digits, derived from the key and telling nothing about it), then
//! a random 24-byte nonce and the ciphertext with its tag. Each value is
//! bound to where it belongs (its [`Place`]), so a value copied into another
//! row does not open.
//!
//! Several keys may be configured while they are rotated: the first seals,
//! any of them opens.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// How a data key is written: this prefix, then 32 bytes in unpadded
/// URL-safe base64.
const KEY_PREFIX: &str = "pdk1_";
const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
const ID_HEX_DIGITS: usize = 16;
/// Plain text is padded with zero bytes to a multiple of this before
/// sealing, so a sealed address tells its length only to within 64 bytes.
const PAD_TO: usize = 64;

/// What the check value of a key seals: opening it proves the key is the
/// one that sealed the database's values, before any of them is read.
const CHECK_PLAINTEXT: &str = "parley data key check";

/// Where a sealed value belongs; its bytes are the value's associated data.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// The author's email of one comment.
    CommentEmail(Uuid),
    /// A server secret, by name.
    Secret(&'a str),
    /// The address of a mail recipient, by its blind index, or of a mail in
    /// the outbox, by its id.
    MailRecipient(&'a str),
    OutboxMail(Uuid),
    /// The check value of a key.
    Check,
}

impl Place<'_> {
    fn associated_data(&self) -> Vec<u8> {
        match self {
            Self::CommentEmail(id) => [b"comment-email:".as_slice(), id.as_bytes()].concat(),
            Self::Secret(name) => format!("secret:{name}").into_bytes(),
            Self::MailRecipient(index) => format!("mail-recipient:{index}").into_bytes(),
            Self::OutboxMail(id) => [b"outbox:".as_slice(), id.as_bytes()].concat(),
            Self::Check => b"check".to_vec(),
        }
    }
}

/// Why configured key text was refused. Never holds the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyTextError {
    Empty,
    /// The `n`th key (from 1) is not a Parley data key.
    Malformed(usize),
    /// The same key is listed twice.
    Repeated,
}

impl std::fmt::Display for KeyTextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("it holds no key"),
            Self::Malformed(n) => write!(
                f,
                "key {n} is not a Parley data key (`{KEY_PREFIX}` and 43 characters; `parley keys generate` makes one)"
            ),
            Self::Repeated => f.write_str("it lists the same key twice"),
        }
    }
}

impl std::error::Error for KeyTextError {}

/// Why a sealed value did not open. Never holds the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Not of the form `KEYID:BASE64`.
    Malformed,
    /// Sealed with a key that is not configured.
    UnknownKey(String),
    /// The key is right but the value was altered or belongs elsewhere.
    Forged,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed => f.write_str("a sealed value is malformed"),
            Self::UnknownKey(id) => write!(
                f,
                "a value is sealed with the data key {id}, which is not configured"
            ),
            Self::Forged => f.write_str("a sealed value does not open with its key"),
        }
    }
}

impl std::error::Error for OpenError {}

struct DataKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The configured data keys; the first seals.
pub struct DataKeys {
    keys: Vec<DataKey>,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeys")
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

impl DataKeys {
    /// A new random key, as text.
    pub fn generate() -> String {
        format!(
            "{KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; KEY_BYTES]>())
        )
    }

    /// Keys as configured: one or more, separated by white space or commas,
    /// the one that seals first.
    pub fn parse(text: &str) -> Result<Self, KeyTextError> {
        let mut keys: Vec<DataKey> = Vec::new();
        for (n, word) in text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .enumerate()
        {
            let bytes = word
                .strip_prefix(KEY_PREFIX)
                .and_then(|encoded| URL_SAFE_NO_PAD.decode(encoded).ok())
                .and_then(|bytes| <[u8; KEY_BYTES]>::try_from(bytes).ok())
                .ok_or(KeyTextError::Malformed(n + 1))?;
            let key = DataKey::from_bytes(&bytes);
            if keys.iter().any(|k| k.id == key.id) {
                return Err(KeyTextError::Repeated);
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(KeyTextError::Empty);
        }
        Ok(Self { keys })
    }

    /// The id of the key that seals.
    pub fn sealing_id(&self) -> &str {
        self.primary().id.as_str()
    }

    /// The ids of every configured key, the sealing one first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    pub fn knows(&self, id: &str) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }

    fn primary(&self) -> &DataKey {
        // `parse` refuses an empty list.
        &self.keys[0]
    }

    /// `plain` sealed for `place` under the sealing key.
    pub fn seal(&self, plain: &str, place: Place<'_>) -> String {
        self.primary().seal(plain, place)
    }

    /// The plain text of a value sealed for `place` by any configured key.
    pub fn open(&self, sealed: &str, place: Place<'_>) -> Result<String, OpenError> {
        let (id, _) = sealed.split_once(':').ok_or(OpenError::Malformed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        key.open(sealed, place)
    }

    /// The check value of the key `id`, if configured: stored once, opened
    /// at every start.
    pub fn check_value(&self, id: &str) -> Option<String> {
        self.keys
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.seal(CHECK_PLAINTEXT, Place::Check))
    }

    /// Whether `check` is the check value of a configured key.
    pub fn verifies(&self, check: &str) -> bool {
        self.open(check, Place::Check)
            .is_ok_and(|plain| plain == CHECK_PLAINTEXT)
    }

    /// Whether a stored value is sealed (rather than stored before sealing
    /// existed).
    pub fn is_sealed(value: &str) -> bool {
        value.split_once(':').is_some_and(|(id, _)| {
            id.len() == ID_HEX_DIGITS && id.bytes().all(|b| b.is_ascii_hexdigit())
        })
    }

    /// The id of the key that sealed `value`, if it is sealed.
    pub fn sealed_by(value: &str) -> Option<&str> {
        Self::is_sealed(value)
            .then(|| value.split_once(':').map(|(id, _)| id))
            .flatten()
    }
}

impl DataKey {
    fn from_bytes(bytes: &[u8; KEY_BYTES]) -> Self {
        let derive = |label: &[u8]| {
            #[allow(clippy::expect_used, reason = "HMAC takes a key of any length")]
            let mut mac = Hmac::<Sha256>::new_from_slice(bytes).expect("HMAC takes any key length");
            mac.update(label);
            mac.finalize().into_bytes()
        };
        let id = hex::encode(&derive(b"parley data key id")[..ID_HEX_DIGITS / 2]);
        let sealing: [u8; KEY_BYTES] = derive(b"parley data key sealing").into();
        Self {
            id,
            cipher: XChaCha20Poly1305::new(&Key::from(sealing)),
        }
    }

    fn seal(&self, plain: &str, place: Place<'_>) -> String {
        let nonce = rand::random::<[u8; NONCE_BYTES]>();
        let aad = place.associated_data();
        let mut padded = plain.as_bytes().to_vec();
        padded.resize(plain.len().div_ceil(PAD_TO).max(1) * PAD_TO, 0);
        #[allow(
            clippy::expect_used,
            reason = "sealing fails only for a message over 256 GiB"
        )]
        let ciphertext = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &padded,
                    aad: &aad,
                },
            )
            .expect("a short value seals");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{}:{}", self.id, STANDARD.encode(sealed))
    }

    fn open(&self, sealed: &str, place: Place<'_>) -> Result<String, OpenError> {
        let (_, encoded) = sealed.split_once(':').ok_or(OpenError::Malformed)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| OpenError::Malformed)?;
        if bytes.len() < NONCE_BYTES {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce = <[u8; NONCE_BYTES]>::try_from(nonce).map_err(|_| OpenError::Malformed)?;
        let aad = place.associated_data();
        let plain = self
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Forged)?;
        // Text never holds a zero byte: those at the end are padding.
        let end = plain.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        String::from_utf8(plain[..end].to_vec()).map_err(|_| OpenError::Forged)
    }
}

/// The ids of the keys that sealed the values of `column` in the table of
/// `E` (each value starts with its key's id).
pub async fn key_ids_in<E, C>(
    db: &impl sea_orm::ConnectionTrait,
    column: C,
) -> Result<Vec<String>, sea_orm::DbErr>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ColumnTrait,
{
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, Func};
    E::find()
        .select_only()
        .column_as(
            Expr::expr(
                Func::cust("substr")
                    .arg(Expr::col(column))
                    .arg(1)
                    .arg(i32::try_from(ID_HEX_DIGITS).unwrap_or(16)),
            ),
            "key_id",
        )
        .distinct()
        .into_tuple::<String>()
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> DataKeys {
        DataKeys::parse(text).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn a_value_opens_only_with_its_key_and_in_its_place() {
        let first = DataKeys::generate();
        let other = DataKeys::generate();
        let keyring = keys(&first);
        let id = Uuid::now_v7();
        let sealed = keyring.seal("ann@readers.example", Place::CommentEmail(id));
        assert!(!sealed.contains("ann"));
        assert!(DataKeys::is_sealed(&sealed));
        assert_eq!(DataKeys::sealed_by(&sealed), Some(keyring.sealing_id()));
        assert_eq!(
            keyring.open(&sealed, Place::CommentEmail(id)).as_deref(),
            Ok("ann@readers.example")
        );
        assert_eq!(
            keyring.open(&sealed, Place::CommentEmail(Uuid::now_v7())),
            Err(OpenError::Forged)
        );
        assert!(matches!(
            keys(&other).open(&sealed, Place::CommentEmail(id)),
            Err(OpenError::UnknownKey(_))
        ));
        // Lengths show only to within 64 bytes.
        let short = keyring.seal("a@b.example", Place::CommentEmail(id));
        let long = keyring.seal(&"x".repeat(50), Place::CommentEmail(id));
        assert_eq!(short.len(), long.len());
        assert_eq!(
            keyring.open(&short, Place::CommentEmail(id)).as_deref(),
            Ok("a@b.example")
        );
        // Two seals of one value differ (a fresh nonce each).
        assert_ne!(
            sealed,
            keyring.seal("ann@readers.example", Place::CommentEmail(id))
        );
    }

    #[test]
    fn while_rotating_the_first_key_seals_and_every_key_opens() {
        let old = DataKeys::generate();
        let new = DataKeys::generate();
        let before = keys(&old);
        let during = keys(&format!("{new}, {old}"));
        let sealed_before = before.seal("x", Place::Secret("s"));
        assert_eq!(
            during.open(&sealed_before, Place::Secret("s")).as_deref(),
            Ok("x")
        );
        let sealed_during = during.seal("y", Place::Secret("s"));
        assert_eq!(
            DataKeys::sealed_by(&sealed_during),
            Some(keys(&new).sealing_id())
        );
        assert_ne!(before.sealing_id(), during.sealing_id());
    }

    #[test]
    fn a_check_value_verifies_its_own_key_only() {
        let keyring = keys(&DataKeys::generate());
        let check = keyring
            .check_value(keyring.sealing_id())
            .unwrap_or_default();
        assert!(keyring.verifies(&check));
        assert!(!keys(&DataKeys::generate()).verifies(&check));
    }

    #[test]
    fn key_text_is_refused_without_echoing_it() {
        let key = DataKeys::generate();
        assert_eq!(DataKeys::parse("  ").err(), Some(KeyTextError::Empty));
        assert_eq!(
            DataKeys::parse(&key[..key.len() - 1]).err(),
            Some(KeyTextError::Malformed(1))
        );
        assert_eq!(
            DataKeys::parse(&format!("{key}\n{key}")).err(),
            Some(KeyTextError::Repeated)
        );
        let refusal = DataKeys::parse(&format!("{key} hunter2")).err();
        assert_eq!(refusal, Some(KeyTextError::Malformed(2)));
        assert!(!format!("{refusal:?}").contains("hunter2"));
        // Plain values stored before sealing are told apart.
        assert!(!DataKeys::is_sealed("ann@readers.example"));
        assert!(!DataKeys::is_sealed(&"ab".repeat(32)));
    }
}
