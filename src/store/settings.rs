//! The one row of site-wide moderation settings.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel};

use super::entities::moderation_settings::{self, Entity as ModerationSettings};

/// The id of the only row.
pub const ROW_ID: i32 = 1;

pub async fn get(db: &impl ConnectionTrait) -> Result<Option<moderation_settings::Model>, DbErr> {
    ModerationSettings::find_by_id(ROW_ID).one(db).await
}

/// Stores `initial` unless settings exist already (another instance, or an
/// earlier start, may have stored them).
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    initial: moderation_settings::Model,
) -> Result<(), DbErr> {
    ModerationSettings::insert(moderation_settings::ActiveModel::from(initial))
        .on_conflict_do_nothing_on([moderation_settings::Column::Id])
        .exec(db)
        .await?;
    Ok(())
}

/// Replaces the stored settings.
pub async fn replace(
    db: &impl ConnectionTrait,
    settings: moderation_settings::Model,
) -> Result<moderation_settings::Model, DbErr> {
    settings.into_active_model().reset_all().update(db).await
}
