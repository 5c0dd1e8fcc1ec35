//! Moderator accounts and the payloads of login and deletion.

use async_graphql::{ID, Object, SimpleObject};

use super::{DateTime, ModeratorRole};
use crate::domain::accounts::StoredModerator;

/// A moderator account, shown to moderators only.
pub struct Moderator(pub StoredModerator);

#[Object]
impl Moderator {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn role(&self) -> ModeratorRole {
        self.0.role.into()
    }

    async fn created_at(&self) -> DateTime {
        DateTime::from_micros(self.0.created_at)
    }
}

/// A token for the `Authorization: Bearer` header, and whose it is.
#[derive(SimpleObject)]
pub struct LoginPayload {
    pub token: String,
    pub expires_at: DateTime,
    pub moderator: Moderator,
}

impl From<crate::domain::sessions::Login> for LoginPayload {
    fn from(login: crate::domain::sessions::Login) -> Self {
        Self {
            token: login.token.token,
            expires_at: DateTime(login.token.expires_at),
            moderator: Moderator(login.moderator),
        }
    }
}

/// The id of a comment that is gone for good.
#[derive(SimpleObject)]
pub struct DeleteCommentPayload {
    pub deleted_id: ID,
}

/// A new moderator account.
#[derive(async_graphql::InputObject)]
pub struct AddModeratorInput {
    /// Their login; one account per address.
    pub email: String,
    pub name: String,
    pub role: ModeratorRole,
    /// At least 12 characters, not a common password.
    pub password: String,
}

impl From<AddModeratorInput> for crate::domain::accounts::NewModerator {
    fn from(input: AddModeratorInput) -> Self {
        Self {
            email: input.email,
            name: input.name,
            role: input.role.into(),
            password: input.password,
        }
    }
}
