//! WordPress exports (WXR 1.0–1.2, Tools → Export): each post with
//! comments becomes an article (its slug the path of the post's link), and
//! each comment keeps its author, email, date, parent and status:
//! approved comments are APPROVED, held ones PENDING, spam HIDDEN; comments
//! in the trash are skipped, and so are pingbacks and trackbacks unless
//! asked for. The file is read as a stream, one comment at a time: in a
//! WXR file a post's own fields come before its comments.

use std::io::BufRead;

use super::html_text::{self, Newlines};
use super::xml::{Step, XmlStream};
use super::{Importer, Origin, Skip, SourceArticle, SourceComment, Summary};
use crate::domain::email_privacy::Sealing;
use crate::domain::{CommentStatus, Store};

/// What an import of a WordPress export takes besides the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Imports pingbacks and trackbacks as comments too.
    pub include_pingbacks: bool,
}

/// The fields of a post that are read (its content is not).
const POST_FIELDS: [&str; 6] = [
    "title",
    "link",
    "wp:post_name",
    "wp:comment_status",
    "wp:post_date_gmt",
    "wp:post_date",
];

/// A post's fields, as far as read.
#[derive(Debug, Default)]
struct Post {
    title: String,
    link: String,
    name: String,
    comment_status: String,
    date_gmt: String,
    date: String,
    /// The article it became once its first comment came: its id, or why
    /// it could not be made.
    article: Option<Result<uuid::Uuid, Skip>>,
}

/// A comment's fields, as far as read.
#[derive(Debug, Default)]
struct Comment {
    id: String,
    author: String,
    email: String,
    date_gmt: String,
    date: String,
    content: String,
    approved: String,
    kind: String,
    parent: String,
}

/// Imports a WXR file read from `source`, calling `progress` after each
/// post.
pub async fn import<R: BufRead>(
    store: &Store,
    sealing: &Sealing,
    source: R,
    options: Options,
    progress: &mut dyn FnMut(&Summary),
) -> anyhow::Result<Summary> {
    let mut xml = XmlStream::new(source);
    match xml.next()? {
        Step::Open { name, .. } if name == "rss" => {}
        Step::Open { name, .. } => anyhow::bail!(
            "this is not a WordPress export (WXR): it starts with <{name}>, not <rss>"
        ),
        _ => anyhow::bail!("this is not a WordPress export (WXR): it holds no element"),
    }
    let mut version = None;
    let mut site = None;
    let mut channel_link = None;
    let mut importer: Option<Importer<'_>> = None;
    let mut post: Option<Post> = None;
    let mut comment: Option<Comment> = None;
    loop {
        let depth = xml.depth();
        match xml.next()? {
            Step::End => break,
            Step::Open { name, .. } => match (depth + 1, name.as_str()) {
                (3, "wp:wxr_version" | "wp:base_site_url" | "link") => xml.keep_text(),
                (3, "item") => {
                    if importer.is_none() {
                        importer = Some(start(
                            store,
                            sealing,
                            version.as_deref(),
                            site.take(),
                            channel_link.take(),
                        )?);
                    }
                    post = Some(Post::default());
                }
                (4, "wp:comment") if post.is_some() => comment = Some(Comment::default()),
                (4, field) if post.is_some() && POST_FIELDS.contains(&field) => xml.keep_text(),
                (5, _) if comment.is_some() => xml.keep_text(),
                _ => {}
            },
            Step::Close { name, text } => match (depth, name.as_str()) {
                (3, "wp:wxr_version") => version = text,
                (3, "wp:base_site_url") => site = text,
                (3, "link") => channel_link = text,
                (3, "item") => {
                    post = None;
                    if let Some(importer) = importer.as_mut() {
                        importer.end_thread().await?;
                        progress(importer.summary());
                    }
                }
                (4, "wp:comment") => {
                    if let (Some(importer), Some(post), Some(comment)) =
                        (importer.as_mut(), post.as_mut(), comment.take())
                    {
                        take_comment(importer, post, comment, options).await?;
                    }
                }
                (4, field) => {
                    if let (Some(post), Some(text)) = (post.as_mut(), text) {
                        post.set(field, text);
                    }
                }
                (5, field) => {
                    if let (Some(comment), Some(text)) = (comment.as_mut(), text) {
                        comment.set(field, text);
                    }
                }
                _ => {}
            },
        }
    }
    match importer {
        Some(importer) => importer.finish().await,
        None => Ok(Summary::default()),
    }
}

/// The importer for a site, once the channel's header has been read.
fn start<'a>(
    store: &'a Store,
    sealing: &'a Sealing,
    version: Option<&str>,
    site: Option<String>,
    channel_link: Option<String>,
) -> anyhow::Result<Importer<'a>> {
    let version = version.map(str::trim).unwrap_or_default();
    anyhow::ensure!(
        matches!(version, "1.0" | "1.1" | "1.2"),
        "this is not a WordPress export Parley reads: WXR 1.0 to 1.2 (<wp:wxr_version>) expected, found {:?}",
        version
    );
    let site = site
        .or(channel_link)
        .map(|site| site.trim().trim_end_matches('/').to_owned())
        .filter(|site| !site.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!("the export does not name its site (<wp:base_site_url> or <link>)")
        })?;
    Ok(Importer::new(
        store,
        sealing,
        Origin::Derived {
            format: "wordpress",
            site,
        },
    ))
}

impl Post {
    fn set(&mut self, field: &str, text: String) {
        match field {
            "title" => self.title = text,
            "link" => self.link = text,
            "wp:post_name" => self.name = text,
            "wp:comment_status" => self.comment_status = text,
            "wp:post_date_gmt" => self.date_gmt = text,
            "wp:post_date" => self.date = text,
            _ => {}
        }
    }

    fn to_article(&self) -> SourceArticle {
        let slug = super::slug_from_link(&self.link)
            .or_else(|| Some(self.name.trim().to_owned()).filter(|name| !name.is_empty()))
            .unwrap_or_default();
        SourceArticle {
            slug,
            title: self.title.clone(),
            url: Some(self.link.trim().to_owned()),
            comments_open: self.comment_status.trim() == "open",
            created_at: super::parse_time(&self.date_gmt).or_else(|| super::parse_time(&self.date)),
            ..SourceArticle::default()
        }
    }
}

impl Comment {
    fn set(&mut self, field: &str, text: String) {
        match field {
            "wp:comment_id" => self.id = text,
            "wp:comment_author" => self.author = text,
            "wp:comment_author_email" => self.email = text,
            "wp:comment_date_gmt" => self.date_gmt = text,
            "wp:comment_date" => self.date = text,
            "wp:comment_content" => self.content = text,
            "wp:comment_approved" => self.approved = text,
            "wp:comment_type" => self.kind = text,
            "wp:comment_parent" => self.parent = text,
            _ => {}
        }
    }
}

async fn take_comment(
    importer: &mut Importer<'_>,
    post: &mut Post,
    comment: Comment,
    options: Options,
) -> anyhow::Result<()> {
    let parent = comment.parent.trim();
    let status = match comment.approved.trim() {
        "1" => Ok(CommentStatus::Approved),
        "0" => Ok(CommentStatus::Pending),
        "spam" => Ok(CommentStatus::Hidden),
        "trash" | "post-trashed" => Err(Skip::Trash),
        other => Err(Skip::Invalid {
            what: "status",
            why: format!("WordPress status {other:?} is unknown"),
        }),
    };
    let kind = comment.kind.trim();
    let kind_skip = match kind {
        "" | "comment" => None,
        "pingback" | "trackback" if options.include_pingbacks => None,
        "pingback" | "trackback" => Some(Skip::Pingback),
        other => Some(Skip::Invalid {
            what: "type",
            why: format!("WordPress comment type {other:?} is not a reader's comment"),
        }),
    };
    let source = SourceComment {
        source_id: comment.id.trim().to_owned(),
        parent_source_id: (!parent.is_empty() && parent != "0").then(|| parent.to_owned()),
        author_name: comment.author,
        author_email: comment.email,
        body: html_text::to_text(&comment.content, Newlines::Keep),
        created_at: super::parse_time(&comment.date_gmt)
            .or_else(|| super::parse_time(&comment.date)),
        updated_at: None,
        status: *status.as_ref().unwrap_or(&CommentStatus::Pending),
        moderation_reasons: None,
    };
    if source.source_id.is_empty() {
        importer.skip(
            "comments",
            Skip::Invalid {
                what: "id",
                why: "<wp:comment_id> is missing".to_owned(),
            },
        );
        return Ok(());
    }
    if let Some(reason) = kind_skip.or(status.err()) {
        importer.skip_comment(&source, reason);
        return Ok(());
    }
    let article = match &post.article {
        Some(article) => article.clone(),
        None => {
            let article = importer.article(post.to_article()).await?;
            post.article = Some(article.clone());
            article
        }
    };
    match article {
        Ok(article) => importer.comment(article, source).await,
        Err(reason) => {
            importer.skip_comment(&source, reason);
            Ok(())
        }
    }
}
