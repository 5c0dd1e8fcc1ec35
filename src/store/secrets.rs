//! Server secrets shared by every instance on one database.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};

use super::entities::server_secret::{self, Entity as ServerSecret};
use super::now_micros;

/// Returns the secret called `name`, storing `candidate` first if there is
/// none. When several instances start at once, all of them end up with the
/// value of whichever stored first.
pub async fn get_or_insert(
    db: &impl ConnectionTrait,
    name: &str,
    candidate: String,
) -> Result<String, DbErr> {
    let row = server_secret::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(candidate),
        created_at: Set(now_micros()),
    };
    ServerSecret::insert(row)
        .on_conflict_do_nothing_on([server_secret::Column::Name])
        .exec(db)
        .await?;
    let stored = ServerSecret::find_by_id(name.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("server secret {name}")))?;
    Ok(stored.value)
}
