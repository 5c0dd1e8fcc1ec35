//! Changes to moderator accounts (creation, role, removal) are recorded in
//! the audit log like every other moderation action: the account acted on
//! gets a column of its own.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ModerationActions::Table)
                    .add_column(ColumnDef::new(ModerationActions::AccountId).uuid().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ModerationActions::Table)
                    .drop_column(ModerationActions::AccountId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ModerationActions {
    Table,
    AccountId,
}
