//! Moderator tokens: HS256 JWTs with `sub`, `iss`, `aud`, `iat`, `exp` and
//! `nbf` checked, the algorithm pinned, plus `jti` (so one token can be
//! revoked) and `ver` (the account's token version: changing the password
//! revokes every earlier token).

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::sealing::DataKeys;
use crate::store::{Store, secrets};

const ISSUER: &str = "parley";
const AUDIENCE: &str = "parley-moderation";
/// The shortest signing key accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
const GENERATED_SECRET_NAME: &str = "jwt_secret";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    jti: Uuid,
    ver: i64,
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenClaims {
    pub moderator_id: Uuid,
    /// This token's own id, for revoking it alone.
    pub token_id: Uuid,
    /// The account's token version when it was issued.
    pub version: i64,
    /// Seconds since the Unix epoch.
    pub expires_at: i64,
}

/// The keys and rules for issuing and checking tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: TimeDelta,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// An issued token and when it stops working.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl TokenKeys {
    /// Keys from a configured secret of at least [`MIN_SECRET_BYTES`].
    pub fn new(secret: &[u8], ttl: TimeDelta) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_BYTES,
            "PARLEY_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"
        );
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 0;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        })
    }

    /// Keys from the secret generated once and stored in the database
    /// beside the data (sealed under the data key), for when none is configured: restarts and other
    /// instances on the same database accept the same tokens.
    pub async fn stored(store: &Store, keys: &DataKeys, ttl: TimeDelta) -> anyhow::Result<Self> {
        let candidate = hex::encode(rand::random::<[u8; 32]>());
        let secret = secrets::get_or_insert(store.db(), keys, GENERATED_SECRET_NAME, candidate)
            .await
            .context("could not load the stored token-signing key")?;
        tracing::warn!(
            "PARLEY_JWT_SECRET is not set: using the signing key stored in the database. \
             Set PARLEY_JWT_SECRET to manage the key yourself."
        );
        Self::new(secret.as_bytes(), ttl)
    }

    /// Issues a token for a moderator.
    pub fn issue(&self, moderator_id: Uuid, version: i64) -> anyhow::Result<IssuedToken> {
        let now = Utc::now();
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: moderator_id.to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::now_v7(),
            ver: version,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("signing a token failed")?;
        Ok(IssuedToken { token, expires_at })
    }

    /// What a valid token says; `None` for any token that is malformed,
    /// forged, expired, not yet valid, or meant for someone else. Whether it
    /// was revoked is for the caller to check against the store.
    pub fn verify(&self, token: &str) -> Option<TokenClaims> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        Some(TokenClaims {
            moderator_id: Uuid::parse_str(&data.claims.sub).ok()?,
            token_id: data.claims.jti,
            version: data.claims.ver,
            expires_at: data.claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(secret.as_bytes(), TimeDelta::hours(12)).unwrap()
    }

    #[test]
    fn refuses_short_secrets() {
        assert!(TokenKeys::new(b"too short", TimeDelta::hours(1)).is_err());
    }

    #[test]
    fn a_token_verifies_with_its_own_key_only() {
        let id = Uuid::now_v7();
        let issued = keys(&"a".repeat(32)).issue(id, 3).unwrap();
        let claims = keys(&"a".repeat(32)).verify(&issued.token).unwrap();
        assert_eq!((claims.moderator_id, claims.version), (id, 3));
        assert_eq!(keys(&"b".repeat(32)).verify(&issued.token), None);
    }

    #[test]
    fn expired_tokens_are_refused() {
        let keys = TokenKeys::new(&[7; 32], TimeDelta::seconds(-10)).unwrap();
        let issued = keys.issue(Uuid::now_v7(), 0).unwrap();
        assert_eq!(keys.verify(&issued.token), None);
    }
}
