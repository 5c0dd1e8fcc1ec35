//! Post marks: one row for each accepted comment, keyed by keyed hashes of
//! the client address and of the email, for flood control shared by every
//! instance. Raw addresses are never stored. Rows older than an hour are
//! pruned.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PostMarks::Table)
                    .if_not_exists()
                    .col(pk_uuid(PostMarks::Id))
                    .col(string_len(PostMarks::ClientKey, 64))
                    .col(string_len(PostMarks::EmailKey, 64))
                    .col(big_integer(PostMarks::CreatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_post_marks_client", PostMarks::ClientKey),
            ("idx_post_marks_email", PostMarks::EmailKey),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(PostMarks::Table)
                        .col(column)
                        .col(PostMarks::CreatedAt)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_post_marks_time")
                    .table(PostMarks::Table)
                    .col(PostMarks::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PostMarks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum PostMarks {
    Table,
    Id,
    ClientKey,
    EmailKey,
    CreatedAt,
}
