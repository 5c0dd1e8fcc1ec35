//! An index for the check that refuses an exact repeat (the same article,
//! email in any case, and body): without it every post scans the comments
//! of its article, which on an article with 100,000 comments is most of the
//! cost of posting.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // An index on an expression: the same SQL on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_comments_article_email \
                 ON comments (article_id, lower(author_email))",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_comments_article_email")
                    .table(Alias::new("comments"))
                    .to_owned(),
            )
            .await
    }
}
