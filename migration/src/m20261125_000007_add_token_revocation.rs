//! Revocation and throttling for moderator logins: a token version and a
//! removal mark on each account, revoked token ids until they expire, and
//! recent login failures by keyed hash of account and of client address.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_create_moderators::Moderators;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Moderators::Table)
                    .add_column(big_integer(ModeratorsAdded::TokenVersion).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Moderators::Table)
                    .add_column(big_integer_null(ModeratorsAdded::RemovedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RevokedTokens::Table)
                    .if_not_exists()
                    .col(pk_uuid(RevokedTokens::TokenId))
                    .col(big_integer(RevokedTokens::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .if_not_exists()
                    .col(pk_uuid(LoginFailures::Id))
                    .col(string_len(LoginFailures::Key, 64))
                    .col(big_integer(LoginFailures::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_login_failures_key")
                    .table(LoginFailures::Table)
                    .col(LoginFailures::Key)
                    .col(LoginFailures::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RevokedTokens::Table).to_owned())
            .await?;
        for column in [ModeratorsAdded::RemovedAt, ModeratorsAdded::TokenVersion] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Moderators::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ModeratorsAdded {
    TokenVersion,
    RemovedAt,
}

#[derive(DeriveIden)]
enum RevokedTokens {
    Table,
    TokenId,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    Key,
    CreatedAt,
}
