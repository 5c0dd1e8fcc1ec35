//! Server secrets shared by every instance on one database, each sealed
//! under the data key (`sealing`), and the data keys' check values.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::entities::server_secret::{self, Entity as ServerSecret};
use super::now_micros;
use super::sealing::{DataKeys, Place};

/// Returns the secret called `name`, storing `candidate` (sealed) first if
/// there is none. When several instances start at once, all of them end up with the
/// value of whichever stored first.
pub async fn get_or_insert(
    db: &impl ConnectionTrait,
    keys: &DataKeys,
    name: &str,
    candidate: String,
) -> anyhow::Result<String> {
    let stored = insert_or_read(db, name, keys.seal(&candidate, Place::Secret(name))).await?;
    if DataKeys::is_sealed(&stored) {
        Ok(keys.open(&stored, Place::Secret(name))?)
    } else {
        // Stored before sealing existed; sealed at start-up.
        Ok(stored)
    }
}

/// Returns the raw value called `name`, storing `value` first if there is
/// none: for the data keys' check values.
pub async fn insert_or_read(
    db: &impl ConnectionTrait,
    name: &str,
    value: String,
) -> Result<String, DbErr> {
    let row = server_secret::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(value),
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

/// Every stored secret.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<server_secret::Model>, DbErr> {
    ServerSecret::find().all(db).await
}

/// Replaces the value of the secret `name`, unless it changed since it was
/// read (`was`); whether it was replaced.
pub async fn replace(
    db: &impl ConnectionTrait,
    name: &str,
    was: &str,
    value: String,
) -> Result<bool, DbErr> {
    let result = ServerSecret::update_many()
        .col_expr(server_secret::Column::Value, Expr::value(value))
        .filter(server_secret::Column::Name.eq(name))
        .filter(server_secret::Column::Value.eq(was))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Removes the secret `name`.
pub async fn remove(db: &impl ConnectionTrait, name: &str) -> Result<(), DbErr> {
    ServerSecret::delete_by_id(name.to_owned()).exec(db).await?;
    Ok(())
}
