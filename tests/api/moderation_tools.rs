//! The moderators' tools beyond one comment at a time: bulk actions, the
//! moderation log, counts, adding moderators, the authors' edit window,
//! and the live queue over WebSocket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    bulk_actions_report_each_id_and_leave_unknown_ones_alone,
    bulk_delete_of_a_comment_and_its_reply_keeps_the_thread_whole,
    bulk_actions_are_capped_and_for_moderators_only,
    moderation_log_is_newest_first_filtered_and_paged,
    moderation_log_is_for_moderators_only,
    moderation_counts_cover_one_article_or_all,
    admins_add_moderators_who_can_log_in,
    authors_edit_within_the_window_and_the_rules_run_again,
    edits_need_the_authors_token_and_the_window,
    authors_withdraw_within_the_window,
    live_queue_reaches_moderators_with_reasons_and_emails,
    live_queue_refuses_callers_without_a_moderator_token,
    live_queue_ends_when_its_token_is_revoked,
    a_moderators_feed_of_approved_comments_ends_when_the_token_is_revoked,
    an_edit_does_not_tell_a_hiding_rule_from_a_holding_one,
    a_token_parley_never_gave_is_replaced,
    concurrent_edits_all_get_an_answer_and_a_comment_takes_ten,
);

const BULK: &str = "mutation($ids: [ID!]!, $action: BulkModerationAction!, $reason: String) { moderateComments(ids: $ids, action: $action, reason: $reason) { id outcome comment { id status } } }";
const LOG: &str = "query($first: Int, $after: String, $moderatorId: ID, $slug: String, $action: ModerationLogAction, $since: DateTime) { moderationLog(first: $first, after: $after, moderatorId: $moderatorId, articleSlug: $slug, action: $action, since: $since) { nodes { id action moderator { id name } commentId articleSlug reason createdAt } edges { cursor } pageInfo { hasNextPage endCursor } } }";
const COUNTS: &str =
    "query($slug: String) { moderationCounts(articleSlug: $slug) { pending approved hidden } }";
const POST: &str =
    "mutation($input: PostCommentInput!) { postComment(input: $input) { id status authorToken } }";
const EDIT: &str = "mutation($id: ID!, $token: String!, $body: String!) { editComment(id: $id, authorToken: $token, body: $body) { id status body bodyHtml authorToken } }";
const WITHDRAW: &str = "mutation($id: ID!, $token: String!) { withdrawComment(id: $id, authorToken: $token) { deletedId } }";

async fn visible_ids(app: &TestApp, slug: &str) -> Vec<String> {
    let answer = app
        .gql(
            "query($slug: String!) { article(slug: $slug) { comments(first: 100) { nodes { id } } } }",
            json!({ "slug": slug }),
        )
        .await;
    assert_no_errors(&answer);
    node_ids(&answer["data"]["article"]["comments"])
}

/// Posts as a reader; returns the comment's id and author token.
async fn post_with_token(app: &TestApp, slug: &str, email: &str, body: &str) -> (String, String) {
    let answer = app
        .gql(
            POST,
            json!({ "input": { "articleSlug": slug, "authorName": "Ann", "authorEmail": email, "body": body } }),
        )
        .await;
    assert_no_errors(&answer);
    let posted = &answer["data"]["postComment"];
    (
        posted["id"].as_str().unwrap().to_owned(),
        posted["authorToken"].as_str().unwrap().to_owned(),
    )
}

async fn bulk_actions_report_each_id_and_leave_unknown_ones_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "bulk").await;
    let a = app.post("bulk", "Ann", "one", None).await;
    let b = app.post("bulk", "Bob", "two", None).await;
    let c = app.post("bulk", "Cy", "three", None).await;
    let unknown = uuid::Uuid::now_v7().to_string();

    let answer = app
        .gql_as(
            &token,
            BULK,
            json!({ "ids": [a, unknown, "not-an-id", b, c], "action": "APPROVE", "reason": "fine" }),
        )
        .await;
    assert_no_errors(&answer);
    let results = answer["data"]["moderateComments"].as_array().unwrap();
    let outcomes: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (a.as_str(), "DONE"),
            (unknown.as_str(), "NOT_FOUND"),
            ("not-an-id", "NOT_FOUND"),
            (b.as_str(), "DONE"),
            (c.as_str(), "DONE"),
        ]
    );
    assert_eq!(results[0]["comment"]["status"], "APPROVED");
    assert_eq!(results[1]["comment"], Value::Null);
    assert_eq!(
        visible_ids(&app, "bulk").await,
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(
        sql_number(&app, "SELECT COUNT(*) FROM moderation_actions WHERE action = 'APPROVE_COMMENT' AND reason = 'fine'").await,
        3,
        "one audit row per comment"
    );
    let article = app
        .gql(
            "query { article(slug: \"bulk\") { commentCount } }",
            json!({}),
        )
        .await;
    assert_eq!(article["data"]["article"]["commentCount"], 3);

    let hidden = app
        .gql_as(&token, BULK, json!({ "ids": [b], "action": "HIDE" }))
        .await;
    assert_eq!(
        hidden["data"]["moderateComments"][0]["comment"]["status"],
        "HIDDEN"
    );
    assert_eq!(visible_ids(&app, "bulk").await, vec![a, c]);
}

async fn bulk_delete_of_a_comment_and_its_reply_keeps_the_thread_whole(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "tree").await;
    let top = app.post_approved(&token, "tree", "Ann", "top", None).await;
    let reply = app
        .post_approved(&token, "tree", "Bob", "reply", Some(&top))
        .await;
    let grandchild = app
        .post_approved(&token, "tree", "Cy", "grandchild", Some(&reply))
        .await;

    let answer = app
        .gql_as(
            &token,
            BULK,
            json!({ "ids": [top, reply], "action": "DELETE" }),
        )
        .await;
    assert_no_errors(&answer);
    for result in answer["data"]["moderateComments"].as_array().unwrap() {
        assert_eq!(result["outcome"], "DONE");
        assert_eq!(result["comment"], Value::Null);
    }
    assert_eq!(visible_ids(&app, "tree").await, vec![grandchild.clone()]);
    let article = app
        .gql(
            "query { article(slug: \"tree\") { commentCount } }",
            json!({}),
        )
        .await;
    assert_eq!(article["data"]["article"]["commentCount"], 1);
    assert_eq!(
        sql_number(&app, "SELECT COUNT(*) FROM comments").await,
        1,
        "both rows erased"
    );
}

async fn bulk_actions_are_capped_and_for_moderators_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "cap").await;
    let id = app.post("cap", "Ann", "one", None).await;

    let anonymous = app
        .gql(BULK, json!({ "ids": [id], "action": "APPROVE" }))
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let many: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let too_many = app
        .gql_as(&token, BULK, json!({ "ids": many, "action": "APPROVE" }))
        .await;
    assert_eq!(error_code(&too_many), "BAD_USER_INPUT");
    assert_eq!(error_field(&too_many), "ids");
    assert!(
        visible_ids(&app, "cap").await.is_empty(),
        "nothing approved"
    );
}

async fn moderation_log_is_newest_first_filtered_and_paged(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let added = app
        .gql_as(
            &admin,
            "mutation { addModerator(input: { email: \"mia@parley.test\", name: \"Mia\", role: MODERATOR, password: \"another long secret\" }) { id } }",
            json!({}),
        )
        .await;
    assert_no_errors(&added);
    let mia_id = added["data"]["addModerator"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mia = app.login("mia@parley.test", "another long secret").await;
    app.create_article(&admin, "one").await;
    app.create_article(&admin, "two").await;
    let a = app.post("one", "Ann", "first", None).await;
    let b = app.post("two", "Bob", "second", None).await;
    let c = app.post("one", "Cy", "third", None).await;
    app.approve(&admin, &a).await;
    let before_mia = app.gql_as(&admin, LOG, json!({ "first": 1 })).await["data"]["moderationLog"]
        ["nodes"][0]["createdAt"]
        .clone();
    app.approve(&mia, &b).await;
    let hidden = app
        .gql_as(
            &mia,
            "mutation($id: ID!) { hideComment(id: $id, reason: \"off topic\") { id } }",
            json!({ "id": c }),
        )
        .await;
    assert_no_errors(&hidden);

    let all = app.gql_as(&admin, LOG, json!({ "first": 100 })).await;
    assert_no_errors(&all);
    let nodes = all["data"]["moderationLog"]["nodes"].as_array().unwrap();
    let actions: Vec<&str> = nodes
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "HIDE_COMMENT",
            "APPROVE_COMMENT",
            "APPROVE_COMMENT",
            "CREATE_ARTICLE",
            "CREATE_ARTICLE",
            "ADD_MODERATOR",
        ],
        "newest first"
    );
    assert_eq!(nodes[0]["moderator"]["name"], "Mia");
    assert_eq!(nodes[0]["commentId"], json!(c));
    assert_eq!(nodes[0]["articleSlug"], "one");
    assert_eq!(nodes[0]["reason"], "off topic");
    assert_eq!(nodes[2]["moderator"]["name"], "Admin");

    let by_mia = app
        .gql_as(&admin, LOG, json!({ "moderatorId": mia_id }))
        .await;
    let by_mia = by_mia["data"]["moderationLog"]["nodes"].as_array().unwrap();
    assert_eq!(by_mia.len(), 2);
    assert!(by_mia.iter().all(|n| n["moderator"]["name"] == "Mia"));
    let on_one = app.gql_as(&admin, LOG, json!({ "slug": "one" })).await;
    let on_one_comments: Vec<&Value> = on_one["data"]["moderationLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| !n["commentId"].is_null())
        .collect();
    assert_eq!(on_one_comments.len(), 2);
    let approvals = app
        .gql_as(&admin, LOG, json!({ "action": "APPROVE_COMMENT" }))
        .await;
    assert_eq!(
        approvals["data"]["moderationLog"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let since = app
        .gql_as(&admin, LOG, json!({ "since": before_mia }))
        .await;
    let since = since["data"]["moderationLog"]["nodes"].as_array().unwrap();
    assert_eq!(
        since.len(),
        3,
        "the approval at that time and Mia's two actions"
    );

    // Pages of two walk the whole log once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .gql_as(&admin, LOG, json!({ "first": 2, "after": after }))
            .await;
        assert_no_errors(&page);
        let log = &page["data"]["moderationLog"];
        seen.extend(node_ids(log));
        if log["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = log["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let all_ids = node_ids(&all["data"]["moderationLog"]);
    assert_eq!(seen, all_ids);

    let bad = app
        .gql_as(&admin, LOG, json!({ "moderatorId": "nope" }))
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    assert_eq!(error_field(&bad), "moderatorId");
}

async fn moderation_log_is_for_moderators_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = app.gql(LOG, json!({})).await;
    assert_eq!(error_code(&answer), "UNAUTHENTICATED");
    let forged = app.gql_as("not-a-token", LOG, json!({})).await;
    assert_eq!(error_code(&forged), "UNAUTHENTICATED");
}

async fn moderation_counts_cover_one_article_or_all(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "c1").await;
    app.create_article(&token, "c2").await;
    app.post("c1", "Ann", "pending one", None).await;
    app.post_approved(&token, "c1", "Bob", "approved one", None)
        .await;
    let hide = app.post("c2", "Cy", "to hide", None).await;
    app.post("c2", "Dee", "pending two", None).await;
    app.gql_as(
        &token,
        "mutation($id: ID!) { hideComment(id: $id) { id } }",
        json!({ "id": hide }),
    )
    .await;

    let all = app.gql_as(&token, COUNTS, json!({})).await;
    assert_eq!(
        all["data"]["moderationCounts"],
        json!({ "pending": 2, "approved": 1, "hidden": 1 })
    );
    let one = app.gql_as(&token, COUNTS, json!({ "slug": "c1" })).await;
    assert_eq!(
        one["data"]["moderationCounts"],
        json!({ "pending": 1, "approved": 1, "hidden": 0 })
    );
    let unknown = app.gql_as(&token, COUNTS, json!({ "slug": "nope" })).await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    assert_eq!(
        error_code(&app.gql(COUNTS, json!({})).await),
        "UNAUTHENTICATED"
    );
}

async fn admins_add_moderators_who_can_log_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    const ADD: &str = "mutation($input: AddModeratorInput!) { addModerator(input: $input) { id email name role } }";
    let input = json!({ "email": "Lee@Parley.test", "name": "Lee", "role": "MODERATOR", "password": "a fine long password" });
    let added = app.gql_as(&admin, ADD, json!({ "input": input })).await;
    assert_no_errors(&added);
    assert_eq!(added["data"]["addModerator"]["role"], "MODERATOR");
    let lee = app.login("lee@parley.test", "a fine long password").await;

    let again = app.gql_as(&admin, ADD, json!({ "input": input })).await;
    assert_eq!(error_code(&again), "BAD_USER_INPUT");
    assert_eq!(error_field(&again), "email");
    let short = app
        .gql_as(
            &admin,
            ADD,
            json!({ "input": { "email": "kim@parley.test", "name": "Kim", "role": "ADMIN", "password": "short" } }),
        )
        .await;
    assert_eq!(error_code(&short), "BAD_USER_INPUT");
    assert_eq!(error_field(&short), "password");
    let by_moderator = app
        .gql_as(
            &lee,
            ADD,
            json!({ "input": { "email": "kim@parley.test", "name": "Kim", "role": "ADMIN", "password": "a fine long password" } }),
        )
        .await;
    assert_eq!(error_code(&by_moderator), "FORBIDDEN");
    assert_eq!(
        sql_number(
            &app,
            "SELECT COUNT(*) FROM moderators WHERE email = 'kim@parley.test'"
        )
        .await,
        0
    );
    assert_eq!(
        sql_number(&app, "SELECT COUNT(*) FROM moderation_actions WHERE action = 'ADD_MODERATOR' AND account_id IS NOT NULL").await,
        1,
        "the addition is audited"
    );
}

async fn authors_edit_within_the_window_and_the_rules_run_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "edits").await;
    let (id, author_token) =
        post_with_token(&app, "edits", "ann@readers.example", "first text").await;
    app.approve(&token, &id).await;

    let edited = app
        .gql(
            EDIT,
            json!({ "id": id, "token": author_token, "body": "second *text*" }),
        )
        .await;
    assert_no_errors(&edited);
    let edited = &edited["data"]["editComment"];
    assert_eq!(edited["body"], "second *text*");
    assert_eq!(edited["bodyHtml"], "<p>second <em>text</em></p>\n");
    assert_eq!(
        edited["status"], "PENDING",
        "under pre-moderation an edited comment waits again"
    );
    assert!(visible_ids(&app, "edits").await.is_empty());
    assert_eq!(
        sql_number(&app, "SELECT COUNT(*) FROM moderation_actions WHERE action = 'EDIT_COMMENT' AND moderator_id IS NULL").await,
        1
    );
    let log = app
        .gql_as(&token, LOG, json!({ "action": "EDIT_COMMENT" }))
        .await;
    assert_no_errors(&log);
    assert_eq!(
        log["data"]["moderationLog"]["nodes"][0]["moderator"],
        Value::Null
    );

    // Under post-moderation the links rule holds an edit with too many links.
    app.gql_as(
        &token,
        "mutation { updateModerationSettings(input: { mode: POST }) { mode } }",
        json!({}),
    )
    .await;
    let (id, author_token) = post_with_token(&app, "edits", "bob@readers.example", "plain").await;
    assert_eq!(visible_ids(&app, "edits").await, vec![id.clone()]);
    let linked = app
        .gql(
            EDIT,
            json!({ "id": id, "token": author_token, "body": "https://a.example https://b.example https://c.example" }),
        )
        .await;
    assert_eq!(linked["data"]["editComment"]["status"], "PENDING");
    assert!(visible_ids(&app, "edits").await.is_empty());
    let reasons = app
        .gql_as(
            &token,
            "query($id: ID!) { comment(id: $id) { moderationReasons { code detail } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        reasons["data"]["comment"]["moderationReasons"],
        json!([{ "code": "LINKS", "detail": "3 links, more than 2" }])
    );
}

async fn edits_need_the_authors_token_and_the_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "guard").await;
    let (id, author_token) = post_with_token(&app, "guard", "ann@readers.example", "mine").await;
    let (_, other_token) = post_with_token(&app, "guard", "bob@readers.example", "theirs").await;

    let wrong = app
        .gql(
            EDIT,
            json!({ "id": id, "token": other_token, "body": "hijacked" }),
        )
        .await;
    assert_eq!(error_code(&wrong), "FORBIDDEN");
    let malformed = app
        .gql(
            EDIT,
            json!({ "id": id, "token": "guess", "body": "hijacked" }),
        )
        .await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
    assert_eq!(error_field(&malformed), "authorToken");
    let unknown = app
        .gql(
            EDIT,
            json!({ "id": uuid::Uuid::now_v7().to_string(), "token": author_token, "body": "x" }),
        )
        .await;
    assert_eq!(
        error_code(&unknown),
        "FORBIDDEN",
        "the same answer as another's comment"
    );
    assert_eq!(
        unknown["errors"][0]["message"],
        wrong["errors"][0]["message"]
    );

    // Sixteen minutes later the default window of fifteen has closed (both
    // comments age: ids are stored differently by each database).
    run_sql(
        &app,
        "UPDATE comments SET created_at = created_at - 960000000",
    )
    .await;
    let late = app
        .gql(
            EDIT,
            json!({ "id": id, "token": author_token, "body": "too late" }),
        )
        .await;
    assert_eq!(error_code(&late), "FORBIDDEN");
    let late_withdrawal = app
        .gql(WITHDRAW, json!({ "id": id, "token": author_token }))
        .await;
    assert_eq!(error_code(&late_withdrawal), "FORBIDDEN");
    let body = app
        .gql_as(
            &token,
            "query($id: ID!) { comment(id: $id) { body } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["data"]["comment"]["body"], "mine", "nothing changed");
}

async fn authors_withdraw_within_the_window(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.moderation = parley::domain::ModerationMode::Post;
    })
    .await;
    let token = app.admin_token().await;
    app.create_article(&token, "gone").await;
    let (id, author_token) =
        post_with_token(&app, "gone", "ann@readers.example", "regrettable").await;
    assert_eq!(visible_ids(&app, "gone").await, vec![id.clone()]);
    let answer = app
        .gql(WITHDRAW, json!({ "id": id, "token": author_token }))
        .await;
    assert_no_errors(&answer);
    assert_eq!(answer["data"]["withdrawComment"]["deletedId"], json!(id));
    assert!(visible_ids(&app, "gone").await.is_empty());
    assert_eq!(
        sql_number(
            &app,
            "SELECT COUNT(*) FROM comments WHERE author_email = 'ann@readers.example'"
        )
        .await,
        0,
        "erased"
    );
    assert_eq!(
        sql_number(
            &app,
            "SELECT COUNT(*) FROM moderation_actions WHERE action = 'WITHDRAW_COMMENT'"
        )
        .await,
        1
    );
    let again = app
        .gql(WITHDRAW, json!({ "id": id, "token": author_token }))
        .await;
    // Gone: the same answer as for a comment that is not the caller's.
    assert_eq!(error_code(&again), "FORBIDDEN");
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket initialised with `payload`; moderators' sockets carry emails,
/// so nothing here scans them.
pub(crate) async fn socket_with(app: &TestApp, payload: Value) -> Socket {
    let url = format!("{}/graphql/ws", app.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(
        next_within(&mut socket, Duration::from_secs(5))
            .await
            .unwrap()["type"],
        "connection_ack"
    );
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next message other than a ping, if one comes within `limit`.
pub(crate) async fn next_within(socket: &mut Socket, limit: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] != "ping" {
                return Some(value);
            }
        }
    }
}

pub(crate) async fn subscribe_queue(socket: &mut Socket) {
    send(
        socket,
        json!({
            "id": "q",
            "type": "subscribe",
            "payload": { "query": "subscription { moderationQueueChanged { change comment { id status authorEmail moderationReasons { code } } } }" },
        }),
    )
    .await;
}

/// Posts until the queue subscription delivers: then it is registered.
pub(crate) async fn wait_for_queue(app: &TestApp, socket: &mut Socket, slug: &str) {
    for attempt in 0..50 {
        app.post(slug, "Probe", &format!("probe {attempt}"), None)
            .await;
        if let Some(message) = next_within(socket, Duration::from_millis(200)).await {
            assert_eq!(message["type"], "next", "{message}");
            return;
        }
    }
    panic!("the queue subscription never delivered");
}

async fn live_queue_reaches_moderators_with_reasons_and_emails(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "queue").await;
    let mut socket = socket_with(&app, json!({ "Authorization": format!("Bearer {token}") })).await;
    subscribe_queue(&mut socket).await;
    wait_for_queue(&app, &mut socket, "queue").await;

    let id = app.post("queue", "Ann", "held for review", None).await;
    let added = next_within(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    let event = &added["payload"]["data"]["moderationQueueChanged"];
    assert_eq!(event["change"], "ADDED");
    assert_eq!(event["comment"]["id"], json!(id));
    assert_eq!(event["comment"]["authorEmail"], "ann@readers.example");
    assert_eq!(
        event["comment"]["moderationReasons"][0]["code"],
        "PRE_MODERATION"
    );

    app.approve(&token, &id).await;
    let approved = next_within(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    let event = &approved["payload"]["data"]["moderationQueueChanged"];
    assert_eq!(event["change"], "APPROVED");
    assert_eq!(event["comment"]["status"], "APPROVED");

    app.gql_as(
        &token,
        "mutation($id: ID!) { deleteComment(id: $id) { deletedId } }",
        json!({ "id": id }),
    )
    .await;
    let deleted = next_within(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        deleted["payload"]["data"]["moderationQueueChanged"]["change"],
        "DELETED"
    );
}

async fn live_queue_refuses_callers_without_a_moderator_token(backend: Backend) {
    let app = spawn_app(backend).await;
    for payload in [json!({}), json!({ "Authorization": "Bearer forged" })] {
        let mut socket = socket_with(&app, payload).await;
        subscribe_queue(&mut socket).await;
        let answer = next_within(&mut socket, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(answer["type"], "next", "{answer}");
        assert_eq!(answer["payload"]["data"], Value::Null, "{answer}");
        assert_eq!(
            answer["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{answer}"
        );
        let end = next_within(&mut socket, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(end["type"], "complete", "{end}");
    }
}

async fn live_queue_ends_when_its_token_is_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "revoked").await;
    let mut socket = socket_with(&app, json!({ "Authorization": format!("Bearer {token}") })).await;
    subscribe_queue(&mut socket).await;
    wait_for_queue(&app, &mut socket, "revoked").await;

    let logout = app.gql_as(&token, "mutation { logout }", json!({})).await;
    assert_no_errors(&logout);
    let mut ended = false;
    let mut saw_error = false;
    while let Some(message) = next_within(&mut socket, Duration::from_secs(5)).await {
        if message["type"] == "next" && !message["payload"]["errors"].is_null() {
            assert_eq!(
                message["payload"]["errors"][0]["extensions"]["code"],
                "UNAUTHENTICATED"
            );
            saw_error = true;
        }
        if message["type"] == "complete" {
            ended = true;
            break;
        }
    }
    assert!(saw_error && ended, "the subscription was not ended");
    app.post("revoked", "Ann", "after the logout", None).await;
    assert_eq!(
        next_within(&mut socket, Duration::from_secs(1)).await,
        None,
        "nothing more is delivered"
    );
}

/// `commentApproved` on a moderator's socket carries emails: it must stop
/// with the token, and the socket must not start another privileged one.
async fn a_moderators_feed_of_approved_comments_ends_when_the_token_is_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    let token = app.admin_token().await;
    app.create_article(&admin, "feed").await;
    let mut socket = socket_with(&app, json!({ "Authorization": format!("Bearer {token}") })).await;
    let subscribe = |id: &str| {
        json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": "subscription { commentApproved(articleSlug: \"feed\") { id authorEmail } }" },
        })
    };
    send(&mut socket, subscribe("a")).await;
    let mut delivered = None;
    for attempt in 0..50 {
        let id = app
            .post("feed", "Ann", &format!("probe {attempt}"), None)
            .await;
        app.approve(&admin, &id).await;
        if let Some(message) = next_within(&mut socket, Duration::from_millis(200)).await {
            delivered = Some(message);
            break;
        }
    }
    let delivered = delivered.expect("the feed delivered");
    assert_eq!(
        delivered["payload"]["data"]["commentApproved"]["authorEmail"], "ann@readers.example",
        "a moderator's socket sees emails"
    );

    let logout = app.gql_as(&token, "mutation { logout }", json!({})).await;
    assert_no_errors(&logout);
    // A comment approved right after the logout must not reach the socket.
    let id = app.post("feed", "Cy", "right after the logout", None).await;
    app.approve(&admin, &id).await;
    let mut refused = false;
    let mut ended = false;
    while let Some(message) = next_within(&mut socket, Duration::from_secs(3)).await {
        if message["type"] == "next" && message["payload"]["errors"].is_array() {
            assert_eq!(
                message["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                "{message}"
            );
            refused = true;
        } else {
            assert_eq!(message["type"], "complete", "nothing else comes: {message}");
            ended = true;
            break;
        }
    }
    assert!(refused && ended, "the feed did not end with the token");
    let id = app.post("feed", "Bob", "after the logout", None).await;
    app.approve(&admin, &id).await;
    assert_eq!(
        next_within(&mut socket, Duration::from_millis(500)).await,
        None
    );

    // A new subscription on the same socket is refused too.
    send(&mut socket, subscribe("b")).await;
    let answer = next_within(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{answer}"
    );
}

/// What a rule hid is judged again on an edit, like what a rule held: the
/// edit's answer must not tell a block word from a hold word. What a
/// moderator hid stays hidden.
async fn an_edit_does_not_tell_a_hiding_rule_from_a_holding_one(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.moderation = parley::domain::ModerationMode::Post;
    })
    .await;
    let admin = app.admin_token().await;
    app.create_article(&admin, "words").await;
    let settings = app
        .gql_as(
            &admin,
            "mutation { updateModerationSettings(input: { holdWords: [\"casino\"], blockWords: [\"viagra\"] }) { holdWords } }",
            json!({}),
        )
        .await;
    assert_no_errors(&settings);
    let (held, held_token) =
        post_with_token(&app, "words", "ann@readers.example", "visit my casino").await;
    let (hidden, hidden_token) =
        post_with_token(&app, "words", "bob@readers.example", "cheap viagra here").await;
    let (clean, clean_token) =
        post_with_token(&app, "words", "cy@readers.example", "a fair point").await;
    let (blocked, blocked_token) =
        post_with_token(&app, "words", "di@readers.example", "more viagra").await;
    for id in [&clean, &blocked] {
        app.gql_as(
            &admin,
            "mutation($id: ID!) { hideComment(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    }

    let mut answers = Vec::new();
    for (id, token, body) in [
        (&held, &held_token, "a fair point, edited"),
        (&hidden, &hidden_token, "another fair point, edited"),
        (&clean, &clean_token, "still a fair point"),
        (&blocked, &blocked_token, "nothing to see"),
    ] {
        let edited = app
            .gql(EDIT, json!({ "id": id, "token": token, "body": body }))
            .await;
        assert_no_errors(&edited);
        answers.push(edited["data"]["editComment"]["status"].clone());
    }
    assert_eq!(
        answers,
        vec![
            json!("APPROVED"),
            json!("APPROVED"),
            json!("PENDING"),
            json!("PENDING")
        ]
    );
    let mut visible = visible_ids(&app, "words").await;
    visible.sort();
    let mut expected = vec![held.clone(), hidden.clone()];
    expected.sort();
    assert_eq!(visible, expected, "the moderator's hides hold");
    // And they hold through further edits.
    for (id, token) in [(&clean, &clean_token), (&blocked, &blocked_token)] {
        let again = app
            .gql(
                EDIT,
                json!({ "id": id, "token": token, "body": "and again" }),
            )
            .await;
        assert_eq!(again["data"]["editComment"]["status"], "PENDING", "{again}");
    }
    let mut visible = visible_ids(&app, "words").await;
    visible.sort();
    assert_eq!(visible, expected, "the moderator's hides hold on");
}

/// Edits run one at a time per article, each in its own transaction, and
/// a comment takes at most ten: many at once from one client neither fail
/// nor hold up others for long.
async fn concurrent_edits_all_get_an_answer_and_a_comment_takes_ten(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    app.create_article(&admin, "busy").await;
    let (id, token) = post_with_token(&app, "busy", "ann@readers.example", "first words").await;
    let edits = (0..12).map(|n| {
        let app = &app;
        let (id, token) = (id.clone(), token.clone());
        async move {
            app.gql(
                EDIT,
                json!({ "id": id, "token": token, "body": format!("edit {n}") }),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(edits).await;
    let done = answers.iter().filter(|a| a.get("errors").is_none()).count();
    let refused: Vec<&str> = answers
        .iter()
        .filter(|a| a.get("errors").is_some())
        .map(error_code)
        .collect();
    assert_eq!(done, 10, "{answers:?}");
    assert_eq!(refused, vec!["FORBIDDEN", "FORBIDDEN"], "{answers:?}");
    let reader = app.post("busy", "Bob", "not held up", None).await;
    assert!(!reader.is_empty());
}

/// A well-formed token that no comment carries is not kept: the post gets
/// a token of Parley's own, so no two readers share one by choosing it.
async fn a_token_parley_never_gave_is_replaced(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token().await;
    app.create_article(&admin, "tokens").await;
    let chosen = "A".repeat(43);
    let answer = app
        .gql(
            POST,
            json!({ "input": { "articleSlug": "tokens", "authorName": "Ann", "authorEmail": "ann@readers.example", "body": "mine", "authorToken": chosen } }),
        )
        .await;
    assert_no_errors(&answer);
    let given = answer["data"]["postComment"]["authorToken"]
        .as_str()
        .unwrap();
    assert_ne!(given, chosen);
    assert_eq!(given.len(), 43);
    // The token given is kept from then on.
    let again = app
        .gql(
            POST,
            json!({ "input": { "articleSlug": "tokens", "authorName": "Ann", "authorEmail": "ann@readers.example", "body": "mine again", "authorToken": given } }),
        )
        .await;
    assert_no_errors(&again);
    assert_eq!(again["data"]["postComment"]["authorToken"], given);
}
