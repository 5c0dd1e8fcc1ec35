//! Trusting a returning author looks their comments up by author key and
//! status together. With the key alone indexed, SQLite (which plans
//! without statistics) chose the index on status and read every approved
//! comment on each post; with both in one index it reads the author's own.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX idx_comments_author_key_status ON comments (author_key, status)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_comments_author_key")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX idx_comments_author_key ON comments (author_key)")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_comments_author_key_status")
            .await?;
        Ok(())
    }
}
