//! Moderators: the accounts that log in to work the moderation queue.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Moderators::Table)
                    .if_not_exists()
                    .col(pk_uuid(Moderators::Id))
                    // Stored lower-cased, so the unique index is case-insensitive.
                    .col(string_len_uniq(Moderators::Email, 254))
                    .col(string_len(Moderators::Name, 100))
                    .col(string_len(Moderators::Role, 16))
                    .col(text(Moderators::PasswordHash))
                    .col(big_integer(Moderators::CreatedAt))
                    .col(big_integer(Moderators::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Moderators::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Moderators {
    Table,
    Id,
    Email,
    Name,
    Role,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
}
