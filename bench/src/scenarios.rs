//! The six scenarios: what each sends, and how a request is built. Parley
//! gets each request at `/graphql`; the baselines get the same method,
//! headers, query string and body at `/s<n>`.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use serde_json::json;

use crate::seed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Scenario {
    ReadPost,
    ReadGet,
    ReadReplies,
    DeepPage,
    PostComment,
    ModerationQueue,
}

/// The hot read: an article's count and its first 50 approved comments.
pub const THREAD: &str = "query Thread($slug: String!) { article(slug: $slug) { commentCount \
    comments(first: 50) { nodes { id authorName body createdAt replyCount } } } }";

/// The hot read with two levels of replies under each comment.
pub const THREAD_WITH_REPLIES: &str = "query Thread($slug: String!) { article(slug: $slug) { \
    commentCount comments(first: 50) { nodes { id authorName body createdAt replyCount \
    replies(first: 10) { nodes { id authorName body createdAt replyCount \
    replies(first: 10) { nodes { id authorName body createdAt replyCount } } } } } } } }";

/// The hot read's fields, 100 comments after a cursor.
pub const PAGE_AFTER: &str = "query Page($slug: String!, $after: String!) { article(slug: $slug) \
    { commentCount comments(first: 100, after: $after) \
    { nodes { id authorName body createdAt replyCount } } } }";

/// One step of the setup walk to page 1,000.
pub const WALK: &str = "query Walk($slug: String!, $after: String) { article(slug: $slug) \
    { comments(first: 100, after: $after) { pageInfo { endCursor hasNextPage } } } }";

pub const POST_COMMENT: &str = "mutation Post($input: PostCommentInput!) { \
    postComment(input: $input) { id status createdAt } }";

pub const QUEUE: &str = "query Queue { moderationQueue(status: PENDING, first: 50) { nodes { \
    id authorName authorEmail body createdAt status article { slug } } } }";

pub const LOGIN: &str = "mutation Login($email: String!, $password: String!) { \
    login(email: $email, password: $password) { token } }";

impl Scenario {
    pub const ALL: [Self; 6] = [
        Self::ReadPost,
        Self::ReadGet,
        Self::ReadReplies,
        Self::DeepPage,
        Self::PostComment,
        Self::ModerationQueue,
    ];

    pub fn from_number(number: u8) -> Self {
        Self::ALL[usize::from(number.clamp(1, 6)) - 1]
    }

    pub fn number(self) -> u8 {
        match self {
            Self::ReadPost => 1,
            Self::ReadGet => 2,
            Self::ReadReplies => 3,
            Self::DeepPage => 4,
            Self::PostComment => 5,
            Self::ModerationQueue => 6,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::ReadPost => "thread read, POST",
            Self::ReadGet => "thread read, GET",
            Self::ReadReplies => "thread read, 2 levels of replies",
            Self::DeepPage => "page 1,000 of 100,000 by cursor",
            Self::PostComment => "postComment, flood control off",
            Self::ModerationQueue => "moderation queue, moderator token",
        }
    }

    pub fn document(self) -> &'static str {
        match self {
            Self::ReadPost | Self::ReadGet => THREAD,
            Self::ReadReplies => THREAD_WITH_REPLIES,
            Self::DeepPage => PAGE_AFTER,
            Self::PostComment => POST_COMMENT,
            Self::ModerationQueue => QUEUE,
        }
    }

    /// Whether every answer is the same: the reads. A post answers with a
    /// new id each time.
    pub fn is_read(self) -> bool {
        self != Self::PostComment
    }

    /// Whether Parley's read cache may answer it: a query without a token.
    pub fn is_anonymous_read(self) -> bool {
        !matches!(self, Self::PostComment | Self::ModerationQueue)
    }

    /// Where the baselines answer this scenario.
    pub fn baseline_path(self) -> String {
        format!("/s{}", self.number())
    }
}

/// What a run knows before it builds the requests.
pub struct Inputs {
    /// A moderator's token, for the queue.
    pub token: Option<String>,
    /// The end cursor of page 999 of the long thread.
    pub page_999_end: Option<String>,
    /// Tells this run's new comments apart from any earlier run's.
    pub run_tag: String,
}

/// One scenario's request, built afresh for each send.
pub struct RequestSpec {
    pub method: Method,
    /// `?query=…` for a GET; empty otherwise.
    pub query_string: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: BodySource,
}

pub enum BodySource {
    Empty,
    Fixed(Bytes),
    /// A comment no one posted before: a new body and a new email each
    /// time, spread over the 1,000 articles.
    NewComment {
        run_tag: String,
        next: AtomicU64,
    },
}

impl RequestSpec {
    pub fn new(scenario: Scenario, inputs: &Inputs) -> anyhow::Result<Self> {
        let post = |variables: serde_json::Value| -> anyhow::Result<Self> {
            let body = serde_json::to_vec(&json!({
                "query": scenario.document(),
                "variables": variables,
            }))?;
            Ok(Self::post(BodySource::Fixed(body.into())))
        };
        match scenario {
            Scenario::ReadPost | Scenario::ReadReplies => post(json!({ "slug": seed::HOT_SLUG })),
            Scenario::ReadGet => {
                let query_string = url::form_urlencoded::Serializer::new(String::from("?"))
                    .append_pair("query", THREAD)
                    .append_pair("variables", &json!({ "slug": seed::HOT_SLUG }).to_string())
                    .finish();
                Ok(Self {
                    method: Method::GET,
                    query_string,
                    headers: vec![(ACCEPT, HeaderValue::from_static("application/json"))],
                    body: BodySource::Empty,
                })
            }
            Scenario::DeepPage => {
                let after = inputs
                    .page_999_end
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("no cursor for page 1,000"))?;
                post(json!({ "slug": seed::LONG_SLUG, "after": after }))
            }
            Scenario::PostComment => Ok(Self::post(BodySource::NewComment {
                run_tag: inputs.run_tag.clone(),
                next: AtomicU64::new(0),
            })),
            Scenario::ModerationQueue => {
                let token = inputs
                    .token
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("no moderator token"))?;
                let mut spec = post(json!({}))?;
                spec.headers.push((
                    AUTHORIZATION,
                    HeaderValue::try_from(format!("Bearer {token}"))?,
                ));
                Ok(spec)
            }
        }
    }

    fn post(body: BodySource) -> Self {
        Self {
            method: Method::POST,
            query_string: String::new(),
            headers: vec![
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (ACCEPT, HeaderValue::from_static("application/json")),
            ],
            body,
        }
    }

    /// The URI of this request at `path`.
    pub fn uri(&self, path: &str) -> anyhow::Result<Uri> {
        Ok(format!("{path}{}", self.query_string).parse()?)
    }

    /// The next request to send.
    pub fn build(&self, uri: &Uri, host: &HeaderValue) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, host.clone());
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        request
    }

    fn body(&self) -> Bytes {
        match &self.body {
            BodySource::Empty => Bytes::new(),
            BodySource::Fixed(bytes) => bytes.clone(),
            BodySource::NewComment { run_tag, next } => {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let body = json!({
                    "query": POST_COMMENT,
                    "variables": { "input": {
                        "articleSlug": seed::article_slug(n as usize % seed::ARTICLES),
                        "authorName": format!("Reader {}", n % 1_000),
                        "authorEmail": format!("poster{}@example.net", n % 10_000),
                        "body": format!(
                            "Comment {run_tag}-{n}: the council should publish the full \
                             figures before the vote, not after it."
                        ),
                    } },
                });
                Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
            }
        }
    }
}
