//! Parley's own export: everything a site holds (articles, comments with
//! their authors' emails, moderator accounts without their password
//! hashes, the moderation log) as JSON Lines, one object per line with a
//! `"type"`. The first line says what the file is. Reading it back into a
//! database keeps every id, so a second import adds nothing.
//!
//! Times are RFC 3339 in UTC, to the microsecond (exactly as stored).
//! Derived values are left out and rebuilt on import: the counts, the
//! comments' HTML. Accounts come back unable to log in (they carry no
//! password) until an admin sets them a new password.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};

use chrono::{DateTime, SecondsFormat};
use sea_orm::ActiveEnum;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Importer, Origin, Skip, SourceArticle, SourceComment, Summary};
use crate::domain::email_privacy::Sealing;
use crate::domain::{AuthorName, Email, Store};
use crate::error::Field;
use crate::store::entities::moderation_settings::ModerationMode;
use crate::store::entities::moderator::ModeratorRole;
use crate::store::entities::{article, comment, moderation_action, moderator};
use crate::store::page::{self, Cursor};
use crate::store::{audit, moderators};

/// What the first line names the format.
const FORMAT: &str = "parley";
const VERSION: u32 = 1;

/// Rows read per query while exporting.
const PAGE: u64 = 500;

/// The longest line an import reads.
const MAX_LINE_BYTES: u64 = 1024 * 1024;

/// The password hash of an imported account: not a hash at all, so no
/// password matches it.
const NO_PASSWORD: &str = "!imported";

/// One line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Record {
    Export {
        format: String,
        version: u32,
        exported_at: String,
    },
    Article {
        id: Uuid,
        slug: String,
        title: String,
        url: Option<String>,
        comments_open: bool,
        created_at: String,
        updated_at: String,
        moderation_mode: Option<String>,
        close_after_days: Option<i32>,
    },
    Moderator {
        id: Uuid,
        email: String,
        name: String,
        role: String,
        created_at: String,
        updated_at: String,
        removed_at: Option<String>,
    },
    Comment {
        id: Uuid,
        article_id: Uuid,
        parent_id: Option<Uuid>,
        author_name: String,
        author_email: String,
        body: String,
        status: String,
        created_at: String,
        updated_at: String,
        moderation_reasons: serde_json::Value,
    },
    Audit {
        id: Uuid,
        moderator_id: Option<Uuid>,
        action: String,
        comment_id: Option<Uuid>,
        article_id: Option<Uuid>,
        account_id: Option<Uuid>,
        reason: Option<String>,
        created_at: String,
    },
}

/// How many rows of each kind an export wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exported {
    pub articles: u64,
    pub comments: u64,
    pub moderators: u64,
    pub audit_entries: u64,
}

fn time(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn micros(raw: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|time| time.timestamp_micros())
}

fn write_line(out: &mut impl Write, record: &Record) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Writes everything, as one consistent moment of the database, to `out`.
pub async fn export(
    store: &Store,
    sealing: &Sealing,
    out: &mut impl Write,
) -> anyhow::Result<Exported> {
    let txn = store.begin_snapshot().await?;
    let mut counts = Exported::default();
    write_line(
        out,
        &Record::Export {
            format: FORMAT.to_owned(),
            version: VERSION,
            exported_at: time(crate::store::now_micros()),
        },
    )?;
    let mut after = None;
    loop {
        use article::{Column, Entity};
        let rows = page::oldest_first::<Entity>(&txn, (Column::CreatedAt, Column::Id), after, PAGE)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(Cursor {
            created_at: last.created_at,
            id: last.id,
        });
        for row in rows {
            counts.articles += 1;
            write_line(
                out,
                &Record::Article {
                    id: row.id,
                    slug: row.slug,
                    title: row.title,
                    url: row.url,
                    comments_open: row.comments_open,
                    created_at: time(row.created_at),
                    updated_at: time(row.updated_at),
                    moderation_mode: row.moderation_mode.map(|mode| mode.to_value()),
                    close_after_days: row.close_after_days,
                },
            )?;
        }
    }
    let mut after = None;
    loop {
        use moderator::{Column, Entity};
        let rows = page::oldest_first::<Entity>(&txn, (Column::CreatedAt, Column::Id), after, PAGE)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(Cursor {
            created_at: last.created_at,
            id: last.id,
        });
        for row in rows {
            counts.moderators += 1;
            write_line(
                out,
                &Record::Moderator {
                    id: row.id,
                    email: row.email,
                    name: row.name,
                    role: row.role.to_value(),
                    created_at: time(row.created_at),
                    updated_at: time(row.updated_at),
                    removed_at: row.removed_at.map(time),
                },
            )?;
        }
    }
    let mut after = None;
    loop {
        use comment::{Column, Entity};
        let rows = page::oldest_first::<Entity>(&txn, (Column::CreatedAt, Column::Id), after, PAGE)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(Cursor {
            created_at: last.created_at,
            id: last.id,
        });
        for row in rows {
            counts.comments += 1;
            write_line(
                out,
                &Record::Comment {
                    id: row.id,
                    article_id: row.article_id,
                    parent_id: row.parent_id,
                    author_name: row.author_name,
                    author_email: sealing
                        .open(row.id, &row.author_email)
                        .map_err(|err| match err {
                            crate::error::AppError::Internal(source) => source,
                            other => anyhow::anyhow!(other.message()),
                        })?
                        .unwrap_or_default(),
                    body: row.body,
                    status: row.status.to_value(),
                    created_at: time(row.created_at),
                    updated_at: time(row.updated_at),
                    moderation_reasons: serde_json::from_str(&row.moderation_reasons)
                        .unwrap_or_else(|_| serde_json::Value::Array(Vec::new())),
                },
            )?;
        }
    }
    let mut after = None;
    loop {
        use moderation_action::{Column, Entity};
        let rows = page::oldest_first::<Entity>(&txn, (Column::CreatedAt, Column::Id), after, PAGE)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(Cursor {
            created_at: last.created_at,
            id: last.id,
        });
        for row in rows {
            counts.audit_entries += 1;
            write_line(
                out,
                &Record::Audit {
                    id: row.id,
                    moderator_id: row.moderator_id,
                    action: row.action,
                    comment_id: row.comment_id,
                    article_id: row.article_id,
                    account_id: row.account_id,
                    reason: row.reason,
                    created_at: time(row.created_at),
                },
            )?;
        }
    }
    txn.commit().await?;
    out.flush()?;
    Ok(counts)
}

/// Ids in the export and the ids they have here, where they differ (an
/// article whose slug, or an account whose email, is already here).
#[derive(Default)]
struct Ids {
    articles: HashMap<Uuid, Uuid>,
    moderators: HashMap<Uuid, Uuid>,
}

/// Imports a Parley export read from `source`, calling `progress` now and
/// then.
pub async fn import<R: BufRead>(
    store: &Store,
    sealing: &Sealing,
    mut source: R,
    progress: &mut dyn FnMut(&Summary),
) -> anyhow::Result<Summary> {
    let mut importer = Importer::new(store, sealing, Origin::Kept);
    let mut ids = Ids::default();
    let mut line = String::new();
    let mut number = 0_u64;
    loop {
        line.clear();
        let read = (&mut source)
            .take(MAX_LINE_BYTES)
            .read_line(&mut line)
            .map_err(|err| anyhow::anyhow!("could not read line {}: {err}", number + 1))?;
        if read == 0 {
            break;
        }
        number += 1;
        anyhow::ensure!(
            line.ends_with('\n') || (read as u64) < MAX_LINE_BYTES,
            "line {number} is longer than {MAX_LINE_BYTES} bytes"
        );
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str::<Record>(&line);
        if number == 1 {
            match &record {
                Ok(Record::Export {
                    format, version, ..
                }) if format == FORMAT => {
                    anyhow::ensure!(
                        *version <= VERSION,
                        "this export is of a newer version ({version}) than this Parley reads ({VERSION})"
                    );
                    continue;
                }
                _ => anyhow::bail!(
                    "this is not a Parley export: its first line is not {{\"type\":\"export\",\"format\":\"parley\",…}}"
                ),
            }
        }
        match record {
            Ok(record) => take(&mut importer, &mut ids, record).await?,
            Err(err) => importer.skip(
                "lines",
                Skip::Invalid {
                    what: "line",
                    why: format!("not a record Parley reads ({})", json_error_kind(&err)),
                },
            ),
        }
        if number.is_multiple_of(1000) {
            progress(importer.summary());
        }
    }
    anyhow::ensure!(number > 0, "the file is empty");
    let summary = importer.finish().await?;
    progress(&summary);
    Ok(summary)
}

/// What is wrong with a line, without quoting it (it may hold an email).
fn json_error_kind(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "a field is missing or of the wrong kind",
        serde_json::error::Category::Eof => "cut short",
    }
}

fn invalid(what: &'static str, why: &str) -> Skip {
    Skip::Invalid {
        what,
        why: why.to_owned(),
    }
}

async fn take(importer: &mut Importer<'_>, ids: &mut Ids, record: Record) -> anyhow::Result<()> {
    match record {
        Record::Export { .. } => importer.skip("lines", invalid("line", "a second header")),
        Record::Article {
            id,
            slug,
            title,
            url,
            comments_open,
            created_at,
            updated_at,
            moderation_mode,
            close_after_days,
        } => {
            let (Some(created_at), Some(updated_at)) = (micros(&created_at), micros(&updated_at))
            else {
                importer.skip("articles", invalid("date", "not an RFC 3339 time"));
                return Ok(());
            };
            let moderation_mode =
                match moderation_mode.map(|mode| ModerationMode::try_from_value(&mode)) {
                    None => None,
                    Some(Ok(mode)) => Some(mode),
                    Some(Err(_)) => {
                        importer.skip("articles", invalid("moderation mode", "unknown"));
                        return Ok(());
                    }
                };
            let kept = article::Model {
                id,
                slug: slug.clone(),
                title: title.clone(),
                url: url.clone(),
                comments_open,
                created_at,
                updated_at,
                approved_comment_count: 0,
                moderation_mode,
                close_after_days,
            };
            let made = importer
                .article(SourceArticle {
                    id: Some(id),
                    slug,
                    title,
                    url,
                    comments_open,
                    created_at: Some(created_at),
                    kept: Some(kept),
                })
                .await?;
            match made {
                Ok(here) => {
                    ids.articles.insert(id, here);
                }
                Err(reason) => importer.skip("articles", reason),
            }
        }
        Record::Moderator {
            id,
            email,
            name,
            role,
            created_at,
            updated_at,
            removed_at,
        } => {
            let email = match Email::parse_field(&email, Field::Email) {
                Ok(email) => email.to_login_key(),
                Err(err) => {
                    importer.skip("moderators", invalid("email", &err.message()));
                    return Ok(());
                }
            };
            let name = match AuthorName::parse_field(&name, Field::Name) {
                Ok(name) => name.into_inner(),
                Err(err) => {
                    importer.skip("moderators", invalid("name", &err.message()));
                    return Ok(());
                }
            };
            let (Ok(role), Some(created_at), Some(updated_at)) = (
                ModeratorRole::try_from_value(&role),
                micros(&created_at),
                micros(&updated_at),
            ) else {
                importer.skip("moderators", invalid("role or date", "unknown"));
                return Ok(());
            };
            let txn = importer.write_txn().await?;
            if let Some(existing) = moderators::find_any_by_email(txn, &email).await? {
                ids.moderators.insert(id, existing.id);
                let reason = if existing.id == id {
                    Skip::AlreadyImported
                } else {
                    Skip::EmailTaken
                };
                importer.skip("moderators", reason);
                return importer.wrote().await;
            }
            let inserted = moderators::insert_if_absent(
                txn,
                moderator::Model {
                    id,
                    email,
                    name,
                    role,
                    password_hash: NO_PASSWORD.to_owned(),
                    created_at,
                    updated_at,
                    token_version: 0,
                    removed_at: removed_at.as_deref().and_then(micros),
                },
            )
            .await?;
            ids.moderators.insert(id, id);
            if inserted {
                importer.summary_mut().moderators += 1;
            } else {
                importer.skip("moderators", Skip::AlreadyImported);
            }
            importer.wrote().await?;
        }
        Record::Comment {
            id,
            article_id,
            parent_id,
            author_name,
            author_email,
            body,
            status,
            created_at,
            updated_at,
            moderation_reasons,
        } => {
            let Some(article) = ids.articles.get(&article_id).copied() else {
                importer.skip("comments", Skip::UnknownThread);
                return Ok(());
            };
            let Ok(status) = crate::domain::CommentStatus::try_from_value(&status) else {
                importer.skip("comments", invalid("status", "unknown"));
                return Ok(());
            };
            importer
                .comment(
                    article,
                    SourceComment {
                        source_id: id.to_string(),
                        parent_source_id: parent_id.map(|parent| parent.to_string()),
                        author_name,
                        author_email,
                        body,
                        created_at: micros(&created_at),
                        updated_at: micros(&updated_at),
                        status,
                        moderation_reasons: Some(moderation_reasons.to_string()),
                    },
                )
                .await?;
        }
        Record::Audit {
            id,
            moderator_id,
            action,
            comment_id,
            article_id,
            account_id,
            reason,
            created_at,
        } => {
            let moderator_id = match moderator_id {
                None => None,
                Some(id) => match ids.moderators.get(&id) {
                    Some(here) => Some(*here),
                    None => {
                        importer.skip(
                            "audit entries",
                            invalid("moderator", "not among the export's accounts"),
                        );
                        return Ok(());
                    }
                },
            };
            let Some(created_at) = micros(&created_at) else {
                importer.skip("audit entries", invalid("date", "not an RFC 3339 time"));
                return Ok(());
            };
            if crate::domain::audit::Action::from_stored(&action).is_none() {
                importer.skip("audit entries", invalid("action", "unknown"));
                return Ok(());
            }
            let row = moderation_action::Model {
                id,
                moderator_id,
                action,
                comment_id,
                article_id: article_id.map(|a| ids.articles.get(&a).copied().unwrap_or(a)),
                account_id: account_id.map(|a| ids.moderators.get(&a).copied().unwrap_or(a)),
                reason,
                created_at,
            };
            let txn = importer.write_txn().await?;
            if audit::insert_if_absent(txn, row).await? {
                importer.summary_mut().audit_entries += 1;
            } else {
                importer.skip("audit entries", Skip::AlreadyImported);
            }
            importer.wrote().await?;
        }
    }
    Ok(())
}
