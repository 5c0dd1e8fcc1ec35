//! Stored counts of approved comments: per article (`commentCount`) and per
//! comment, of its direct replies (`replyCount`). Readers ask for both on
//! every page view; counting rows each time costs a scan of the article's
//! thread, which on a long article is most of the request. The writes that
//! change what readers see keep them right (`store::comments`); this
//! migration fills them in from the rows already stored.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Articles::Table)
                    .add_column(big_integer(Articles::ApprovedCommentCount).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .add_column(big_integer(Comments::ApprovedReplyCount).default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE articles SET approved_comment_count = \
             (SELECT COUNT(*) FROM comments \
              WHERE comments.article_id = articles.id AND comments.status = 'APPROVED')",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE comments SET approved_reply_count = \
             (SELECT COUNT(*) FROM comments AS replies \
              WHERE replies.parent_id = comments.id AND replies.status = 'APPROVED')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .drop_column(Comments::ApprovedReplyCount)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Articles::Table)
                    .drop_column(Articles::ApprovedCommentCount)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    ApprovedCommentCount,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    ApprovedReplyCount,
}
