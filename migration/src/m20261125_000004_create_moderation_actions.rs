//! The audit log: one row for every moderation action, written in the same
//! transaction as the change it records. Comment and article ids are kept
//! without foreign keys so the record outlives a deleted comment.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_create_moderators::Moderators;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ModerationActions::Table)
                    .if_not_exists()
                    .col(pk_uuid(ModerationActions::Id))
                    .col(uuid(ModerationActions::ModeratorId))
                    .col(string_len(ModerationActions::Action, 32))
                    .col(uuid_null(ModerationActions::CommentId))
                    .col(uuid_null(ModerationActions::ArticleId))
                    .col(text_null(ModerationActions::Reason))
                    .col(big_integer(ModerationActions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_moderation_actions_moderator")
                            .from(ModerationActions::Table, ModerationActions::ModeratorId)
                            .to(Moderators::Table, Moderators::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_moderation_actions_time")
                    .table(ModerationActions::Table)
                    .col(ModerationActions::CreatedAt)
                    .col(ModerationActions::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_moderation_actions_comment")
                    .table(ModerationActions::Table)
                    .col(ModerationActions::CommentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ModerationActions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum ModerationActions {
    Table,
    Id,
    ModeratorId,
    Action,
    CommentId,
    ArticleId,
    Reason,
    CreatedAt,
}
