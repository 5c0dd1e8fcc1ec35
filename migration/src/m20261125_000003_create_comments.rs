//! Comments, threaded by `parent_id`, with the indexes of the two hot reads:
//! the approved comments of one article by parent and time, and the
//! moderation queue by status and time.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_articles::Articles;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Comments::Table)
                    .if_not_exists()
                    .col(pk_uuid(Comments::Id))
                    .col(uuid(Comments::ArticleId))
                    .col(uuid_null(Comments::ParentId))
                    .col(string_len(Comments::AuthorName, 100))
                    .col(string_len(Comments::AuthorEmail, 254))
                    .col(text(Comments::Body))
                    .col(string_len(Comments::Status, 16))
                    .col(big_integer(Comments::CreatedAt))
                    .col(big_integer(Comments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_comments_article")
                            .from(Comments::Table, Comments::ArticleId)
                            .to(Articles::Table, Articles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    // Replies are moved up before a comment is deleted; the
                    // restriction makes any path that forgets it fail loudly.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_comments_parent")
                            .from(Comments::Table, Comments::ParentId)
                            .to(Comments::Table, Comments::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_comments_thread")
                    .table(Comments::Table)
                    .col(Comments::ArticleId)
                    .col(Comments::ParentId)
                    .col(Comments::Status)
                    .col(Comments::CreatedAt)
                    .col(Comments::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_comments_queue")
                    .table(Comments::Table)
                    .col(Comments::Status)
                    .col(Comments::CreatedAt)
                    .col(Comments::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_comments_article_queue")
                    .table(Comments::Table)
                    .col(Comments::ArticleId)
                    .col(Comments::Status)
                    .col(Comments::CreatedAt)
                    .col(Comments::Id)
                    .to_owned(),
            )
            .await?;
        // Serves the parent foreign key when replies are moved up on delete.
        manager
            .create_index(
                Index::create()
                    .name("idx_comments_parent")
                    .table(Comments::Table)
                    .col(Comments::ParentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Comments::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Comments {
    Table,
    Id,
    ArticleId,
    ParentId,
    AuthorName,
    AuthorEmail,
    Body,
    Status,
    CreatedAt,
    UpdatedAt,
}
