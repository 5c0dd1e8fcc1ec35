//! Readers' emails are stored sealed (`src/store/sealing.rs`): a sealed
//! value is longer than an address, so the column becomes text on
//! PostgreSQL (SQLite does not enforce lengths). Each comment also records
//! the id of the key that sealed its email, for rotation, and a keyed hash
//! of the address (a blind index) for the few lookups by email.
//!
//! The addresses already stored are sealed by the server at start-up, in
//! batches, since only it holds the key; this migration only makes room.
//!
//! Comments also record when they were hidden (`hidden_at`), from which the
//! retention period counts; for those hidden already, their last change is
//! the best guess.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            db.execute_unprepared("ALTER TABLE comments ALTER COLUMN author_email TYPE TEXT")
                .await?;
        }
        db.execute_unprepared("ALTER TABLE comments ADD COLUMN email_key_id VARCHAR(16)")
            .await?;
        db.execute_unprepared("ALTER TABLE comments ADD COLUMN email_index VARCHAR(64)")
            .await?;
        db.execute_unprepared("CREATE INDEX idx_comments_email_key_id ON comments (email_key_id)")
            .await?;
        db.execute_unprepared("ALTER TABLE comments ADD COLUMN hidden_at BIGINT")
            .await?;
        db.execute_unprepared("UPDATE comments SET hidden_at = updated_at WHERE status = 'HIDDEN'")
            .await?;
        db.execute_unprepared("CREATE INDEX idx_comments_hidden_at ON comments (hidden_at)")
            .await?;
        db.execute_unprepared("CREATE INDEX idx_comments_email_index ON comments (email_index)")
            .await?;
        Ok(())
    }

    /// Sealed addresses stay sealed: rolling back needs the same key to
    /// read them.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS idx_comments_hidden_at")
            .await?;
        db.execute_unprepared("ALTER TABLE comments DROP COLUMN hidden_at")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_comments_email_index")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_comments_email_key_id")
            .await?;
        db.execute_unprepared("ALTER TABLE comments DROP COLUMN email_index")
            .await?;
        db.execute_unprepared("ALTER TABLE comments DROP COLUMN email_key_id")
            .await?;
        Ok(())
    }
}
