//! The `moderators` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "moderators")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lower-cased.
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    /// `ADMIN` or `MODERATOR`.
    pub role: ModeratorRole,
    /// An argon2id PHC string.
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped to revoke every token issued before.
    pub token_version: i64,
    /// When an admin removed the account; removed accounts cannot log in.
    pub removed_at: Option<i64>,
}

/// What a moderator account may do: both roles moderate; admins also
/// manage accounts. Stored as its name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, EnumIter, DeriveActiveEnum, clap::ValueEnum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ModeratorRole {
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    #[default]
    #[sea_orm(string_value = "MODERATOR")]
    Moderator,
}

impl ModeratorRole {
    /// The stored name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Moderator => "MODERATOR",
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
