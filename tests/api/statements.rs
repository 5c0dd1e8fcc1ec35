//! No N+1: reading a thread costs a fixed number of SQL statements, however
//! many comments and replies it holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parley::domain::ModerationMode;
use serde_json::json;

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(a_thread_read_costs_the_same_statements_however_long_it_is);

const THREAD: &str = r#"query($slug: String!) {
  article(slug: $slug) {
    commentCount
    comments(first: 20) {
      nodes {
        id authorName body createdAt replyCount article { slug }
        replies(first: 4) { nodes { id body replyCount replies(first: 4) { nodes { id body replyCount } } } }
      }
    }
  }
}"#;

async fn thread(app: &TestApp, token: &str, slug: &str, top: usize, replies: usize, nested: usize) {
    app.create_article(token, slug).await;
    for t in 0..top {
        let parent = app
            .post(slug, &format!("Top {t}"), &format!("top {t}"), None)
            .await;
        for r in 0..replies {
            let reply = app
                .post(
                    slug,
                    &format!("Reply {t} {r}"),
                    &format!("reply {t} {r}"),
                    Some(&parent),
                )
                .await;
            for n in 0..nested {
                app.post(
                    slug,
                    &format!("Nested {t} {r} {n}"),
                    &format!("nested {t} {r} {n}"),
                    Some(&reply),
                )
                .await;
            }
        }
    }
}

/// The fewest statements a read of the thread took over three reads: a
/// batch that a busy machine splits in two costs one more now and then,
/// while a query per comment would cost more every time.
async fn statements_for(app: &TestApp, counter: &AtomicU64, slug: &str) -> u64 {
    let mut fewest = u64::MAX;
    for _ in 0..3 {
        let before = counter.load(Ordering::SeqCst);
        let answer = app.gql(THREAD, json!({ "slug": slug })).await;
        assert_no_errors(&answer);
        fewest = fewest.min(counter.load(Ordering::SeqCst) - before);
    }
    fewest
}

async fn a_thread_read_costs_the_same_statements_however_long_it_is(backend: Backend) {
    let counter = Arc::new(AtomicU64::new(0));
    let shared = counter.clone();
    let app = spawn_app_with(backend, move |s| {
        s.moderation = ModerationMode::Post;
        s.statement_counter = Some(shared);
        // Every read is computed: a cached answer costs no statement at all.
        s.response_cache = false;
    })
    .await;
    let token = app.admin_token().await;
    thread(&app, &token, "short", 2, 1, 1).await;
    thread(&app, &token, "long", 12, 4, 2).await;

    let short = statements_for(&app, &counter, "short").await;
    let long = statements_for(&app, &counter, "long").await;

    assert!(short > 0, "the reads were not counted");
    assert_eq!(
        short, long,
        "statements grew with the thread: {short} for the short one, {long} for the long one"
    );
    // The article, the page, its comments' article (one batch), and one
    // batch of first replies per level; the counts are stored.
    assert!(long <= 5, "a thread read took {long} statements");
}
