//! Outgoing mail: the outbox every mail is written to in the transaction of
//! the event that causes it (its recipient sealed, and the comment it is
//! about), the addresses that asked for reply notifications (by blind index,
//! sealed), the consents they gave (one per address and author token), and
//! each comment's wish to be told of replies and whether its own approval
//! was already told.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(uuid(Outbox::Id).primary_key())
                    .col(uuid_null(Outbox::CommentId))
                    .col(text(Outbox::Recipient))
                    .col(text(Outbox::Subject))
                    .col(text(Outbox::Body))
                    .col(text(Outbox::Headers))
                    .col(big_integer(Outbox::CreatedAt))
                    .col(big_integer(Outbox::NextAttemptAt))
                    .col(integer(Outbox::Attempts).default(0))
                    .col(text_null(Outbox::LastError))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_due")
                    .table(Outbox::Table)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_comment")
                    .table(Outbox::Table)
                    .col(Outbox::CommentId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailRecipients::Table)
                    .col(string_len(MailRecipients::EmailIndex, 64).primary_key())
                    .col(text(MailRecipients::Email))
                    .col(big_integer_null(MailRecipients::ConfirmationSentAt))
                    .col(big_integer_null(MailRecipients::UnsubscribedAt))
                    .col(big_integer(MailRecipients::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailConsents::Table)
                    .col(string_len(MailConsents::EmailIndex, 64))
                    .col(string_len(MailConsents::AuthorKey, 64))
                    .col(big_integer(MailConsents::ConfirmedAt))
                    .primary_key(
                        Index::create()
                            .col(MailConsents::EmailIndex)
                            .col(MailConsents::AuthorKey),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .add_column(boolean(Comments::NotifyReplies).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .add_column(boolean(Comments::ReplyNotified).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .drop_column(Comments::ReplyNotified)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .drop_column(Comments::NotifyReplies)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(MailConsents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(MailRecipients::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    CommentId,
    Recipient,
    Subject,
    Body,
    Headers,
    CreatedAt,
    NextAttemptAt,
    Attempts,
    LastError,
}

#[derive(DeriveIden)]
enum MailRecipients {
    Table,
    EmailIndex,
    Email,
    ConfirmationSentAt,
    UnsubscribedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MailConsents {
    Table,
    EmailIndex,
    AuthorKey,
    ConfirmedAt,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    NotifyReplies,
    ReplyNotified,
}
