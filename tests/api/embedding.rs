//! What an embedded thread needs from the API: the comment form as the
//! server takes it, counts for many articles at once, articles created by
//! their first comment, and the files and pages the binary serves.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::json;

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    the_comment_form_says_what_the_server_takes,
    counts_for_a_page_of_articles_in_one_request,
    the_first_comment_creates_its_article_only_from_a_listed_site,
    a_refused_first_comment_creates_no_article,
);

const FORM: &str = "query($slug: String!, $url: String) { commentForm(articleSlug: $slug, articleUrl: $url) { commentsOpen moderation fields { name required maxLength published } } }";

async fn the_comment_form_says_what_the_server_takes(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "open").await;
    let form = app.gql(FORM, json!({ "slug": "open" })).await;
    assert_no_errors(&form);
    let form = &form["data"]["commentForm"];
    assert_eq!(form["commentsOpen"], true);
    assert_eq!(form["moderation"], "PRE");
    let fields = form["fields"].as_array().unwrap();
    let names: Vec<_> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["authorName", "authorEmail", "body"]);
    assert!(fields.iter().all(|f| f["required"] == true));
    assert_eq!(fields[1]["published"], false);
    // The lengths are the ones the server enforces.
    let body_max = fields[2]["maxLength"].as_u64().unwrap() as usize;
    let too_long = app
        .post_comment(json!({ "articleSlug": "open", "authorName": "A", "authorEmail": "a@readers.example", "body": "x".repeat(body_max + 1) }))
        .await;
    assert_eq!(error_field(&too_long), "body");
    let fits = app
        .post_comment(json!({ "articleSlug": "open", "authorName": "A", "authorEmail": "a@readers.example", "body": "x".repeat(body_max) }))
        .await;
    assert_no_errors(&fits);

    app.gql_as(
        &token,
        "mutation { upsertArticle(input: { slug: \"open\", title: \"Open\", commentsOpen: false }) { id } }",
        json!({}),
    )
    .await;
    let closed = app.gql(FORM, json!({ "slug": "open" })).await;
    assert_eq!(closed["data"]["commentForm"]["commentsOpen"], false);
    let unknown = app
        .gql(
            FORM,
            json!({ "slug": "nowhere", "url": "https://news.example/nowhere" }),
        )
        .await;
    assert_eq!(unknown["data"]["commentForm"]["commentsOpen"], false);

    let post_moderated = spawn_app_with(backend, |s| {
        s.moderation = parley::domain::ModerationMode::Post
    })
    .await;
    let token = post_moderated.admin_token().await;
    post_moderated.create_article(&token, "open").await;
    let form = post_moderated.gql(FORM, json!({ "slug": "open" })).await;
    assert_eq!(form["data"]["commentForm"]["moderation"], "POST");
}

async fn counts_for_a_page_of_articles_in_one_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "a").await;
    app.create_article(&token, "b").await;
    app.post_approved(&token, "a", "Ann", "First", None).await;
    app.post_approved(&token, "a", "Bob", "Second", None).await;
    app.post("b", "Cy", "Pending only", None).await;
    let counts = app
        .gql(
            "query($slugs: [String!]!) { articles(slugs: $slugs) { slug commentCount } }",
            json!({ "slugs": ["b", "missing", "a"] }),
        )
        .await;
    assert_no_errors(&counts);
    assert_eq!(
        counts["data"]["articles"],
        json!([{ "slug": "b", "commentCount": 0 }, null, { "slug": "a", "commentCount": 2 }])
    );
    let slugs: Vec<String> = (0..101).map(|i| format!("s{i}")).collect();
    let too_many = app
        .gql(
            "query($slugs: [String!]!) { articles(slugs: $slugs) { slug } }",
            json!({ "slugs": slugs }),
        )
        .await;
    assert_eq!(error_code(&too_many), "BAD_USER_INPUT");
    assert_eq!(error_field(&too_many), "slugs");
    let hundred = app
        .gql(
            "query($slugs: [String!]!) { articles(slugs: $slugs) { slug } }",
            json!({ "slugs": &slugs[..100] }),
        )
        .await;
    assert_no_errors(&hundred);
}

async fn the_first_comment_creates_its_article_only_from_a_listed_site(backend: Backend) {
    let post = |url: Option<&str>, slug: &str| {
        json!({
            "articleSlug": slug,
            "authorName": "Maria",
            "authorEmail": "maria@readers.example",
            "body": format!("First on {slug} from {url:?}"),
            "articleUrl": url,
            "articleTitle": "Council passes the budget",
        })
    };
    // Off by default: unknown articles stay unknown.
    let app = spawn_app_with(backend, |s| {
        s.cors_origins =
            parley::domain::origins::CorsOrigins::parse(&["https://news.example"]).unwrap();
    })
    .await;
    let refused = app
        .post_comment(post(Some("https://news.example/budget"), "budget"))
        .await;
    assert_eq!(error_code(&refused), "NOT_FOUND");

    let app = spawn_app_with(backend, |s| {
        s.cors_origins =
            parley::domain::origins::CorsOrigins::parse(&["https://news.example"]).unwrap();
        s.article_auto_create = true;
    })
    .await;
    let form = app
        .gql(
            FORM,
            json!({ "slug": "budget", "url": "https://news.example/budget" }),
        )
        .await;
    assert_eq!(form["data"]["commentForm"]["commentsOpen"], true);
    let form = app
        .gql(
            FORM,
            json!({ "slug": "budget", "url": "https://elsewhere.example/budget" }),
        )
        .await;
    assert_eq!(form["data"]["commentForm"]["commentsOpen"], false);
    // Cached as unknown before the comment…
    let before = app
        .gql("{ article(slug: \"budget\") { title url } }", json!({}))
        .await;
    assert_eq!(before["data"]["article"], json!(null));

    for (url, field) in [
        (None, "articleUrl"),
        (Some("https://elsewhere.example/budget"), "articleUrl"),
        (Some("javascript:alert(1)"), "articleUrl"),
    ] {
        let answer = app.post_comment(post(url, "budget")).await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{url:?}");
        assert_eq!(error_field(&answer), field, "{url:?}");
    }
    let created = app
        .post_comment(post(Some("https://news.example/budget"), "budget"))
        .await;
    assert_no_errors(&created);
    assert_eq!(created["data"]["postComment"]["status"], "PENDING");
    // …and known at once after it.
    let after = app
        .gql(
            "{ article(slug: \"budget\") { title url commentsOpen } }",
            json!({}),
        )
        .await;
    assert_eq!(
        after["data"]["article"],
        json!({ "title": "Council passes the budget", "url": "https://news.example/budget", "commentsOpen": true })
    );
    // An existing article is never changed by a comment.
    let second = app
        .post_comment(json!({
            "articleSlug": "budget", "authorName": "Ola", "authorEmail": "ola@readers.example",
            "body": "Second", "articleUrl": "https://news.example/other", "articleTitle": "Changed"
        }))
        .await;
    assert_no_errors(&second);
    let still = app
        .gql("{ article(slug: \"budget\") { title url } }", json!({}))
        .await;
    assert_eq!(
        still["data"]["article"]["title"],
        "Council passes the budget"
    );
}

/// A post that is refused (over the flood limits, or replying to a comment
/// that is not there) leaves no article behind.
async fn a_refused_first_comment_creates_no_article(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.cors_origins =
            parley::domain::origins::CorsOrigins::parse(&["https://news.example"]).unwrap();
        s.article_auto_create = true;
        s.flood = parley::domain::flood::FloodPolicy::default();
    })
    .await;
    let post = |slug: &str, parent: Option<String>| {
        json!({
            "articleSlug": slug, "parentId": parent,
            "authorName": "Maria", "authorEmail": "maria@readers.example",
            "body": format!("First on {slug}"),
            "articleUrl": format!("https://news.example/{slug}"),
            "articleTitle": "Buy pills",
        })
    };
    let orphan = app
        .post_comment(post("orphan", Some(uuid::Uuid::now_v7().to_string())))
        .await;
    assert_eq!(error_code(&orphan), "BAD_USER_INPUT", "{orphan}");
    let first = app.post_comment(post("first", None)).await;
    assert_no_errors(&first);
    let limited = app.post_comment(post("second", None)).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED", "{limited}");

    let articles = app
        .gql(
            "{ articles(slugs: [\"orphan\", \"first\", \"second\"]) { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(
        articles["data"]["articles"],
        json!([null, { "slug": "first" }, null])
    );
}

#[tokio::test]
async fn the_widget_is_served_with_an_etag_and_a_cache_lifetime() {
    let app = spawn_app(Backend::Sqlite).await;
    for (path, kind) in [("/embed.js", "text/javascript"), ("/embed.css", "text/css")] {
        let url = format!("{}{path}", app.base);
        let first = app.client().get(&url).send().await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        assert!(
            first.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        let cache = first.headers()[CACHE_CONTROL].to_str().unwrap().to_owned();
        assert!(cache.contains("max-age="), "{cache}");
        assert_eq!(first.headers()["x-content-type-options"], "nosniff");
        let etag = first.headers()[ETAG].to_str().unwrap().to_owned();
        let again = app
            .client()
            .get(&url)
            .header(IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        let other = app
            .client()
            .get(&url)
            .header(IF_NONE_MATCH, "W/\"nope\"")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn the_home_page_shows_the_snippet_and_the_demo_can_be_turned_off() {
    let app = spawn_app(Backend::Sqlite).await;
    let home = app.client().get(&app.base).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let csp = home.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let text = home.text().await.unwrap();
    let host = app.base.trim_start_matches("http://");
    assert!(text.contains(&format!("http://{host}/embed.js")), "{text}");
    assert!(
        text.contains("data-parley-article")
            && text.contains("href=\"/demo\"")
            && text.contains("href=\"/graphql\"")
    );
    let demo = app
        .client()
        .get(format!("{}/demo", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(demo.status(), StatusCode::OK);
    assert!(demo.text().await.unwrap().contains("src=\"/embed.js\""));

    let quiet = spawn_app_with(Backend::Sqlite, |s| {
        s.demo = false;
        s.playground = false;
    })
    .await;
    let demo = quiet
        .client()
        .get(format!("{}/demo", quiet.base))
        .send()
        .await
        .unwrap();
    assert_eq!(demo.status(), StatusCode::NOT_FOUND);
    let home = quiet
        .client()
        .get(&quiet.base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("href=\"/demo\"") && !home.contains("href=\"/graphql\""));
    let playground = quiet
        .client()
        .get(quiet.graphql_url())
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert!(!playground.text().await.unwrap().contains("<html"));
    let script = quiet
        .client()
        .get(format!("{}/playground/graphiql.min.js", quiet.base))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_playground_is_served_whole_with_strict_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    let page = app
        .client()
        .get(app.graphql_url())
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'self'",
        "script-src 'nonce-",
        "frame-ancestors 'none'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(
        !csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 4, "{html}");
    for script in &scripts {
        assert!(script.contains("integrity=\"sha384-"), "{script}");
        assert!(
            script.contains("src=\"/playground/"),
            "only this server's scripts: {script}"
        );
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no other host: {html}"
    );
    // Every script named by the page is served, with the bytes its integrity names.
    for script in &scripts {
        let src = script
            .split("src=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let file = app
            .client()
            .get(format!("{}{src}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(file.status(), StatusCode::OK, "{src}");
    }
    for licence in ["LICENSE.react", "LICENSE.react-dom", "LICENSE.graphiql"] {
        let file = app
            .client()
            .get(format!("{}/playground/{licence}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(file.status(), StatusCode::OK, "{licence}");
    }
}

#[tokio::test]
async fn the_widget_stays_under_twenty_kilobytes_gzipped() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut total = 0;
    for path in ["/embed.js", "/embed.css"] {
        let response = app
            .client()
            .get(format!("{}{path}", app.base))
            .header(reqwest::header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], "gzip", "{path}");
        total += response.bytes().await.unwrap().len();
    }
    eprintln!("embed.js and embed.css, gzipped: {total} bytes");
    assert!(total < 20 * 1024, "{total} bytes");
}
