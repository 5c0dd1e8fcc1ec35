//! `commentCount` and `replyCount` are stored and kept by the writes that
//! change them: after every kind of change they must equal what the rows
//! say, read back through the API (the approved comments a moderator sees
//! in the queue, the replies a reader sees under each comment).

use parley::domain::ModerationMode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(counts_follow_approval_hiding_and_deletion);
on_both_databases!(counts_follow_comments_approved_as_they_are_posted);
on_both_databases!(concurrent_replies_approved_at_once_are_all_counted);
on_both_databases!(an_upgraded_database_counts_the_comments_it_holds);

const SLUG: &str = "counted";

/// The article's `commentCount`, and its approved comments as the
/// moderation queue lists them.
async fn article_counts(app: &TestApp, token: &str) -> (i64, usize) {
    let answer = app
        .gql(
            "query($slug: String!) { article(slug: $slug) { commentCount } }",
            json!({ "slug": SLUG }),
        )
        .await;
    assert_no_errors(&answer);
    let count = answer["data"]["article"]["commentCount"].as_i64().unwrap();
    let queue = app
        .gql_as(
            token,
            "query($slug: String!) { moderationQueue(status: APPROVED, articleSlug: $slug, first: 100) { nodes { id } } }",
            json!({ "slug": SLUG }),
        )
        .await;
    assert_no_errors(&queue);
    (count, node_ids(&queue["data"]["moderationQueue"]).len())
}

/// Every comment a reader can reach, with its `replyCount` and the number
/// of replies listed under it, three levels deep.
async fn reply_counts(app: &TestApp) -> Vec<(String, i64, usize)> {
    let answer = app
        .gql(
            r#"query($slug: String!) { article(slug: $slug) { comments(first: 30) { nodes {
                 id replyCount replies(first: 30) { nodes {
                   id replyCount replies(first: 10) { nodes {
                     id replyCount replies(first: 10) { nodes { id } } } } } } } } } }"#,
            json!({ "slug": SLUG }),
        )
        .await;
    assert_no_errors(&answer);
    let mut found = Vec::new();
    collect(&answer["data"]["article"]["comments"], &mut found);
    found
}

fn collect(connection: &Value, found: &mut Vec<(String, i64, usize)>) {
    for node in connection["nodes"].as_array().into_iter().flatten() {
        if node.get("replyCount").is_none() {
            continue;
        }
        let listed = node["replies"]["nodes"].as_array().map_or(0, Vec::len);
        found.push((
            node["id"].as_str().unwrap().to_owned(),
            node["replyCount"].as_i64().unwrap(),
            listed,
        ));
        collect(&node["replies"], found);
    }
}

/// Asserts that both counts agree with the rows, and returns `commentCount`.
async fn assert_counts_agree(app: &TestApp, token: &str, step: &str) -> i64 {
    let (count, approved) = article_counts(app, token).await;
    assert_eq!(
        count, approved as i64,
        "after {step}: commentCount is {count} but {approved} comments are approved"
    );
    for (id, count, listed) in reply_counts(app).await {
        assert_eq!(
            count, listed as i64,
            "after {step}: comment {id} has replyCount {count} but {listed} replies are listed"
        );
    }
    count
}

async fn moderate(app: &TestApp, token: &str, mutation: &str, id: &str) {
    let answer = app
        .gql_as(
            token,
            &format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ __typename }} }}"),
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&answer);
}

async fn counts_follow_approval_hiding_and_deletion(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;

    let top = app.post_approved(&token, SLUG, "Ann", "Top", None).await;
    let middle = app
        .post_approved(&token, SLUG, "Bo", "Middle", Some(&top))
        .await;
    let mut leaves = Vec::new();
    for (name, body) in [("Cy", "Leaf one"), ("Di", "Leaf two"), ("Ed", "Leaf three")] {
        leaves.push(
            app.post_approved(&token, SLUG, name, body, Some(&middle))
                .await,
        );
    }
    let pending = app.post(SLUG, "Fay", "Still waiting", Some(&middle)).await;
    assert_eq!(assert_counts_agree(&app, &token, "posting").await, 5);

    // Approving twice counts once.
    app.approve(&token, &leaves[0]).await;
    assert_eq!(
        assert_counts_agree(&app, &token, "a second approval").await,
        5
    );

    moderate(&app, &token, "hideComment", &leaves[1]).await;
    assert_eq!(assert_counts_agree(&app, &token, "hiding a reply").await, 4);
    moderate(&app, &token, "hideComment", &leaves[1]).await;
    assert_eq!(
        assert_counts_agree(&app, &token, "hiding it again").await,
        4
    );

    // A hidden comment's approved replies still count for the article.
    moderate(&app, &token, "hideComment", &middle).await;
    assert_eq!(
        assert_counts_agree(&app, &token, "hiding a parent").await,
        3
    );
    app.approve(&token, &middle).await;
    assert_eq!(
        assert_counts_agree(&app, &token, "approving it again").await,
        4
    );

    // Deleting the middle comment moves its replies (approved, hidden and
    // pending) up to the top comment.
    moderate(&app, &token, "hideComment", &middle).await;
    moderate(&app, &token, "deleteComment", &middle).await;
    assert_eq!(
        assert_counts_agree(&app, &token, "deleting a hidden parent").await,
        3
    );
    let top_replies = reply_counts(&app)
        .await
        .into_iter()
        .find(|(id, _, _)| *id == top)
        .map(|(_, count, _)| count);
    assert_eq!(
        top_replies,
        Some(2),
        "the approved leaves moved up to the top"
    );

    app.approve(&token, &pending).await;
    app.approve(&token, &leaves[1]).await;
    assert_eq!(
        assert_counts_agree(&app, &token, "approving moved replies").await,
        5
    );

    // Deleting an approved comment with replies: they become top-level.
    moderate(&app, &token, "deleteComment", &top).await;
    assert_eq!(
        assert_counts_agree(&app, &token, "deleting an approved parent").await,
        4
    );
    for leaf in &leaves {
        moderate(&app, &token, "deleteComment", leaf).await;
    }
    assert_eq!(
        assert_counts_agree(&app, &token, "deleting the rest").await,
        1
    );
}

async fn counts_follow_comments_approved_as_they_are_posted(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.moderation = ModerationMode::Post).await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    let top = app.post(SLUG, "Ann", "Top", None).await;
    let reply = app.post(SLUG, "Bo", "Reply", Some(&top)).await;
    app.post(SLUG, "Cy", "Nested", Some(&reply)).await;
    assert_eq!(assert_counts_agree(&app, &token, "posting").await, 3);
    // Editing the article keeps its count.
    app.create_article(&token, SLUG).await;
    assert_eq!(
        assert_counts_agree(&app, &token, "an article edit").await,
        3
    );
}

/// Replies approved as they are posted all write the article's and the
/// parent's counts; concurrent posters wait for each other rather than
/// deadlock or lose an update.
async fn concurrent_replies_approved_at_once_are_all_counted(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.moderation = ModerationMode::Post).await;
    let token = app.admin_token().await;
    app.create_article(&token, SLUG).await;
    let top = app.post(SLUG, "Ann", "Top", None).await;
    let posts = (0..24).map(|n| {
        let (app, top) = (&app, &top);
        async move {
            app.post(
                SLUG,
                &format!("Reader {n}"),
                &format!("Reply {n}"),
                Some(top),
            )
            .await
        }
    });
    futures_util::future::join_all(posts).await;
    assert_eq!(
        assert_counts_agree(&app, &token, "concurrent posts").await,
        25
    );
}

/// A database made before the counts were stored gets them from its rows
/// when Parley upgrades it.
async fn an_upgraded_database_counts_the_comments_it_holds(backend: Backend) {
    use migration::MigratorTrait;
    use sea_orm::{ConnectionTrait, DbBackend, Statement, Value as SqlValue};
    use uuid::Uuid;

    let db = TestDb::create(backend).await;
    let store = parley::store::Store::connect(&db.url).await.unwrap();
    let conn = store.db();
    // The schema as it was before the counts (the first seven migrations).
    migration::Migrator::up(conn, Some(7)).await.unwrap();
    let sql = |text: &str, values: Vec<SqlValue>| {
        let text = match conn.get_database_backend() {
            DbBackend::Postgres => {
                let mut n = 0;
                text.chars()
                    .map(|c| match c {
                        '?' => {
                            n += 1;
                            format!("${n}")
                        }
                        c => c.to_string(),
                    })
                    .collect()
            }
            _ => text.to_owned(),
        };
        Statement::from_sql_and_values(conn.get_database_backend(), text, values)
    };
    let article = Uuid::now_v7();
    conn.execute_raw(sql(
        "INSERT INTO articles (id, slug, title, url, comments_open, created_at, updated_at) \
         VALUES (?, ?, 'Old', NULL, TRUE, 1, 1)",
        vec![article.into(), SLUG.into()],
    ))
    .await
    .unwrap();
    let top = Uuid::now_v7();
    let rows = [
        (top, None, "APPROVED"),
        (Uuid::now_v7(), Some(top), "APPROVED"),
        (Uuid::now_v7(), Some(top), "APPROVED"),
        (Uuid::now_v7(), Some(top), "PENDING"),
        (Uuid::now_v7(), Some(top), "HIDDEN"),
        (Uuid::now_v7(), None, "HIDDEN"),
    ];
    for (n, (id, parent, status)) in rows.into_iter().enumerate() {
        conn.execute_raw(sql(
            "INSERT INTO comments (id, article_id, parent_id, author_name, author_email, body, \
             status, created_at, updated_at) VALUES (?, ?, ?, 'Old reader', 'old@readers.example', \
             ?, ?, ?, ?)",
            vec![
                id.into(),
                article.into(),
                parent.into(),
                format!("Old comment {n}").into(),
                status.into(),
                (n as i64 + 10).into(),
                (n as i64 + 10).into(),
            ],
        ))
        .await
        .unwrap();
    }
    store.close().await;

    let settings = test_settings(&db);
    let app = start(db, settings).await;
    let token = app.admin_token().await;
    assert_eq!(assert_counts_agree(&app, &token, "the upgrade").await, 3);
    let top_count = reply_counts(&app)
        .await
        .into_iter()
        .find(|(id, _, _)| *id == top.to_string())
        .map(|(_, count, _)| count);
    assert_eq!(top_count, Some(2));
}
