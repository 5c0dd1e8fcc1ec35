//! Articles: the pages comment threads hang on, keyed by the publisher's slug.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Articles::Table)
                    .if_not_exists()
                    .col(pk_uuid(Articles::Id))
                    .col(string_len_uniq(Articles::Slug, 255))
                    .col(string_len(Articles::Title, 300))
                    .col(text_null(Articles::Url))
                    .col(boolean(Articles::CommentsOpen).default(true))
                    .col(big_integer(Articles::CreatedAt))
                    .col(big_integer(Articles::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Articles::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Articles {
    Table,
    Id,
    Slug,
    Title,
    Url,
    CommentsOpen,
    CreatedAt,
    UpdatedAt,
}
