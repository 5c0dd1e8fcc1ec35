//! Checks on a new comment no longer read the history of its email: exact
//! repeats are found by article and body, whoever wrote them, and flood
//! control keys on the client address only. The index on authors' emails
//! goes, an index on the body's first characters comes, and post marks
//! lose their email hashes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // Indexes on expressions: the same SQL on SQLite and PostgreSQL. A
        // prefix keeps every entry small (a body may hold 40 KB); the query
        // compares the full body among the few rows it finds.
        db.execute_unprepared("DROP INDEX IF EXISTS idx_comments_article_email")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_comments_article_body \
             ON comments (article_id, substr(body, 1, 64))",
        )
        .await?;
        // A column with an index cannot be dropped on SQLite.
        db.execute_unprepared("DROP INDEX IF EXISTS idx_post_marks_email")
            .await?;
        db.execute_unprepared("ALTER TABLE post_marks DROP COLUMN email_key")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "ALTER TABLE post_marks ADD COLUMN email_key VARCHAR(64) NOT NULL DEFAULT ''",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_post_marks_email ON post_marks (email_key, created_at)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_comments_article_body")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_comments_article_email \
             ON comments (article_id, lower(author_email))",
        )
        .await?;
        Ok(())
    }
}
