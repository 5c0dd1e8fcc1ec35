//! Pages on other sites: CORS for the listed origins, the WebSocket
//! `Origin` check, and compression that keeps `ETag`/`304` right.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, ETAG, IF_NONE_MATCH, ORIGIN, VARY};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;
use crate::on_both_databases;

on_both_databases!(
    a_listed_origin_may_call_the_api,
    an_unlisted_origin_gets_no_cors_header,
    websocket_upgrades_from_unlisted_pages_are_refused,
    answers_are_compressed_and_etags_hold_across_encodings,
);

const NEWS: &str = "http://news.example";

async fn spawn_listing_news(backend: Backend) -> TestApp {
    spawn_app_with(backend, |settings| {
        settings.cors_origins = parley::domain::origins::CorsOrigins::parse(&[NEWS]).unwrap();
    })
    .await
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn varies_on_origin(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("origin"))
        })
}

async fn a_listed_origin_may_call_the_api(backend: Backend) {
    let app = spawn_listing_news(backend).await;
    let preflight = app
        .client()
        .request(reqwest::Method::OPTIONS, app.graphql_url())
        .header(ORIGIN, NEWS)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        Some(NEWS)
    );
    let methods = header(&preflight, "access-control-allow-methods").unwrap();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let headers = header(&preflight, "access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    for wanted in ["content-type", "authorization", "accept"] {
        assert!(headers.contains(wanted), "{headers}");
    }
    let max_age: u32 = header(&preflight, "access-control-max-age")
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age >= 600, "{max_age}");
    assert!(varies_on_origin(&preflight));
    assert!(header(&preflight, "access-control-allow-credentials").is_none());

    let post = app
        .client()
        .post(app.graphql_url())
        .header(ORIGIN, NEWS)
        .json(&json!({ "query": "{ article(slug: \"x\") { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::OK);
    assert_eq!(header(&post, "access-control-allow-origin"), Some(NEWS));
    assert!(varies_on_origin(&post));

    let get = app
        .client()
        .get(format!("{}?query=%7B__typename%7D", app.graphql_url()))
        .header(ORIGIN, NEWS)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&get, "access-control-allow-origin"), Some(NEWS));
    assert!(varies_on_origin(&get));
}

async fn an_unlisted_origin_gets_no_cors_header(backend: Backend) {
    for app in [spawn_listing_news(backend).await, spawn_app(backend).await] {
        let preflight = app
            .client()
            .request(reqwest::Method::OPTIONS, app.graphql_url())
            .header(ORIGIN, "http://elsewhere.example")
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .unwrap();
        assert_ne!(preflight.status(), StatusCode::NO_CONTENT);
        let post = app
            .client()
            .post(app.graphql_url())
            .header(ORIGIN, "http://elsewhere.example")
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        for response in [&preflight, &post] {
            let cors: Vec<_> = response
                .headers()
                .keys()
                .filter(|name| name.as_str().starts_with("access-control-"))
                .collect();
            assert!(cors.is_empty(), "{cors:?}");
        }
    }
}

async fn websocket_upgrades_from_unlisted_pages_are_refused(backend: Backend) {
    let app = spawn_listing_news(backend).await;
    let url = format!("{}/graphql/ws", app.base.replacen("http", "ws", 1));
    let connect = |origin: Option<String>| {
        let mut request = url.clone().into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", origin.parse().unwrap());
        }
        tokio_tungstenite::connect_async(request)
    };
    assert!(connect(None).await.is_ok(), "no Origin: a script, allowed");
    assert!(
        connect(Some(NEWS.to_owned())).await.is_ok(),
        "a listed origin"
    );
    assert!(
        connect(Some(app.base.clone())).await.is_ok(),
        "this server's own pages"
    );
    let refused = connect(Some("http://elsewhere.example".to_owned())).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
}

async fn answers_are_compressed_and_etags_hold_across_encodings(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    app.create_article(&token, "long-read").await;
    for i in 0..50 {
        app.post_approved(
            &token,
            "long-read",
            &format!("Reader {i}"),
            &format!("Comment number {i}: the council should publish the full figures before the vote, not after it."),
            None,
        )
        .await;
    }
    let query = "{ article(slug: \"long-read\") { commentCount comments(first: 50) { nodes { id authorName body createdAt replyCount } } } }";
    let url = format!("{}?query={}", app.graphql_url(), urlencode(query));
    // reqwest here decompresses nothing: the bytes on the wire are counted.
    let fetch = |encoding: &'static str, etag: Option<String>| {
        let mut request = app.client().get(&url).header(ACCEPT_ENCODING, encoding);
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        request.send()
    };
    let plain = fetch("identity", None).await.unwrap();
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    let plain_etag = plain.headers()[ETAG].to_str().unwrap().to_owned();
    let plain_bytes = plain.bytes().await.unwrap().len();
    let mut sizes = vec![("identity", plain_bytes)];
    for encoding in ["gzip", "br"] {
        let response = fetch(encoding, None).await.unwrap();
        assert_eq!(response.headers()[CONTENT_ENCODING], encoding);
        let etag = response.headers()[ETAG].to_str().unwrap().to_owned();
        assert!(
            etag.starts_with("W/"),
            "a compressed body has a weak tag: {etag}"
        );
        let bytes = response.bytes().await.unwrap().len();
        assert!(
            bytes * 3 < plain_bytes,
            "{encoding}: {bytes} of {plain_bytes}"
        );
        sizes.push((encoding, bytes));
        // The tag got with one encoding is good for the others.
        for other in ["identity", "gzip", "br"] {
            let again = fetch(other, Some(etag.clone())).await.unwrap();
            assert_eq!(
                again.status(),
                StatusCode::NOT_MODIFIED,
                "{encoding} → {other}"
            );
        }
    }
    let again = fetch("gzip", Some(plain_etag.clone())).await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // A change makes every tag stale.
    app.post_approved(&token, "long-read", "Late", "One more thought.", None)
        .await;
    let changed = fetch("br", Some(plain_etag)).await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    eprintln!("50-comment thread, bytes on the wire: {sizes:?}");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
