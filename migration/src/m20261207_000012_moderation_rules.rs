//! Moderation a newsroom can run on:
//! - `moderation_settings`, one row of site-wide rules changed at run time;
//! - per-article overrides of the moderation mode and of when comments close;
//! - on each comment, the reasons the rules gave, its formatted body, and
//!   the keyed hash of its author's token (proof of authorship for the edit
//!   window and for trusted returning authors);
//! - `bans`, by a keyed hash of the author's email, never the email itself;
//! - audit rows without a moderator, for what authors do to their own
//!   comments (SQLite cannot drop a NOT NULL in place: the table is copied).

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ModerationSettings::Table)
                    .if_not_exists()
                    .col(integer(ModerationSettings::Id).primary_key())
                    .col(string_len(ModerationSettings::Mode, 8))
                    .col(integer(ModerationSettings::MaxLinks))
                    .col(text(ModerationSettings::HoldWords))
                    .col(text(ModerationSettings::BlockWords))
                    .col(text(ModerationSettings::BlockedEmailDomains))
                    .col(boolean(ModerationSettings::TrustReturningAuthors))
                    .col(integer_null(ModerationSettings::CloseAfterDays))
                    .col(integer(ModerationSettings::EditWindowMinutes))
                    .col(big_integer(ModerationSettings::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        // SQLite adds one column per statement.
        for column in [
            ColumnDef::new(Articles::ModerationMode)
                .string_len(8)
                .null()
                .to_owned(),
            ColumnDef::new(Articles::CloseAfterDays)
                .integer()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Articles::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            ColumnDef::new(Comments::ModerationReasons)
                .text()
                .not_null()
                .default("[]")
                .to_owned(),
            ColumnDef::new(Comments::BodyHtml).text().null().to_owned(),
            ColumnDef::new(Comments::AuthorKey)
                .string_len(64)
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Comments::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_comments_author_key")
                    .table(Comments::Table)
                    .col(Comments::AuthorKey)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Bans::Table)
                    .if_not_exists()
                    .col(pk_uuid(Bans::Id))
                    .col(string_len_uniq(Bans::EmailKey, 64))
                    .col(uuid(Bans::ModeratorId))
                    .col(text_null(Bans::Reason))
                    .col(uuid_null(Bans::ExampleCommentId))
                    .col(big_integer(Bans::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_bans_time")
                    .table(Bans::Table)
                    .col(Bans::CreatedAt)
                    .col(Bans::Id)
                    .to_owned(),
            )
            .await?;

        audit_moderator_column(manager, true).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_moderation_actions_article_time")
                    .table(ModerationActions::Table)
                    .col(ModerationActions::ArticleId)
                    .col(ModerationActions::CreatedAt)
                    .col(ModerationActions::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Authors' own edits and withdrawals have no moderator: the log
        // before this migration cannot hold them.
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM moderation_actions WHERE moderator_id IS NULL")
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_moderation_actions_article_time")
                    .table(ModerationActions::Table)
                    .to_owned(),
            )
            .await?;
        audit_moderator_column(manager, false).await?;
        manager
            .drop_table(Table::drop().table(Bans::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_comments_author_key")
                    .table(Comments::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Comments::ModerationReasons,
            Comments::BodyHtml,
            Comments::AuthorKey,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Comments::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [Articles::ModerationMode, Articles::CloseAfterDays] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Articles::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ModerationSettings::Table).to_owned())
            .await
    }
}

/// Lets `moderation_actions.moderator_id` be NULL (`nullable`), or not
/// again. PostgreSQL alters the constraint; SQLite copies the table into
/// one defined with or without it.
async fn audit_moderator_column(manager: &SchemaManager<'_>, nullable: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if db.get_database_backend() == DbBackend::Postgres {
        let change = if nullable { "DROP" } else { "SET" };
        db.execute_unprepared(&format!(
            "ALTER TABLE moderation_actions ALTER COLUMN moderator_id {change} NOT NULL"
        ))
        .await?;
        return Ok(());
    }
    let moderator_id = if nullable {
        uuid_null(ModerationActions::ModeratorId)
    } else {
        uuid(ModerationActions::ModeratorId)
    };
    manager
        .create_table(
            Table::create()
                .table(ModerationActionsCopy::Table)
                .col(pk_uuid(ModerationActions::Id))
                .col(moderator_id)
                .col(string_len(ModerationActions::Action, 32))
                .col(uuid_null(ModerationActions::CommentId))
                .col(uuid_null(ModerationActions::ArticleId))
                .col(text_null(ModerationActions::Reason))
                .col(big_integer(ModerationActions::CreatedAt))
                .col(uuid_null(ModerationActions::AccountId))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_moderation_actions_moderator")
                        .from(ModerationActionsCopy::Table, ModerationActions::ModeratorId)
                        .to(Moderators::Table, Moderators::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
    let columns =
        "id, moderator_id, action, comment_id, article_id, reason, created_at, account_id";
    db.execute_unprepared(&format!(
        "INSERT INTO moderation_actions_copy ({columns}) SELECT {columns} FROM moderation_actions"
    ))
    .await?;
    db.execute_unprepared("DROP TABLE moderation_actions")
        .await?;
    db.execute_unprepared("ALTER TABLE moderation_actions_copy RENAME TO moderation_actions")
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

#[derive(DeriveIden)]
enum ModerationSettings {
    Table,
    Id,
    Mode,
    MaxLinks,
    HoldWords,
    BlockWords,
    BlockedEmailDomains,
    TrustReturningAuthors,
    CloseAfterDays,
    EditWindowMinutes,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    ModerationMode,
    CloseAfterDays,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    ModerationReasons,
    BodyHtml,
    AuthorKey,
}

#[derive(DeriveIden)]
enum Bans {
    Table,
    Id,
    EmailKey,
    ModeratorId,
    Reason,
    ExampleCommentId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ModerationActions {
    Table,
    Id,
    ModeratorId,
    Action,
    CommentId,
    ArticleId,
    Reason,
    CreatedAt,
    AccountId,
}

#[derive(DeriveIden)]
enum ModerationActionsCopy {
    Table,
}

#[derive(DeriveIden)]
enum Moderators {
    Table,
    Id,
}
