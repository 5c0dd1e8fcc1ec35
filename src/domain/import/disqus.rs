//! Disqus exports (Moderation → Export): each thread with posts becomes an
//! article (its slug the path of the thread's link, or its identifier when
//! the link has none), open unless the thread is closed; each post keeps
//! its author, email, date and parent; spam is HIDDEN, deleted posts are
//! skipped, and the rest is APPROVED. The message's HTML becomes plain
//! text. Threads come before posts in an export; only the threads are
//! held in memory, the posts are read one at a time.

use std::collections::HashMap;
use std::io::BufRead;

use uuid::Uuid;

use super::html_text::{self, Newlines};
use super::xml::{self, Step, XmlStream};
use super::{Importer, Origin, Skip, SourceArticle, SourceComment, Summary};
use crate::domain::email_privacy::Sealing;
use crate::domain::{CommentStatus, Store};

/// Posts between two calls of the progress callback.
const PROGRESS_EVERY: u64 = 1000;

/// A thread as described, then as imported.
enum Thread {
    Described(SourceArticle),
    Made(Result<Uuid, Skip>),
}

#[derive(Debug, Default)]
struct ThreadFields {
    id: String,
    identifier: String,
    link: String,
    title: String,
    closed: bool,
    created_at: String,
}

#[derive(Debug, Default)]
struct Post {
    id: String,
    thread: Option<String>,
    parent: Option<String>,
    message: String,
    created_at: String,
    deleted: bool,
    spam: bool,
    name: String,
    email: String,
}

/// Imports a Disqus export read from `source`, calling `progress` now and
/// then.
pub async fn import<R: BufRead>(
    store: &Store,
    sealing: &Sealing,
    source: R,
    progress: &mut dyn FnMut(&Summary),
) -> anyhow::Result<Summary> {
    let mut xml = XmlStream::new(source);
    match xml.next()? {
        Step::Open { name, .. } if name == "disqus" => {}
        Step::Open { name, .. } => {
            anyhow::bail!("this is not a Disqus export: it starts with <{name}>, not <disqus>")
        }
        _ => anyhow::bail!("this is not a Disqus export: it holds no element"),
    }
    let mut importer = Importer::new(
        store,
        sealing,
        Origin::Derived {
            format: "disqus",
            site: "disqus.com".to_owned(),
        },
    );
    let mut threads: HashMap<String, Thread> = HashMap::new();
    let mut thread: Option<ThreadFields> = None;
    let mut post: Option<Post> = None;
    let mut posts_read = 0_u64;
    loop {
        let depth = xml.depth();
        match xml.next()? {
            Step::End => break,
            Step::Open { name, id } => match (depth + 1, name.as_str()) {
                (2, "thread") => {
                    thread = Some(ThreadFields {
                        id: id.unwrap_or_default(),
                        ..ThreadFields::default()
                    })
                }
                (2, "post") => {
                    post = Some(Post {
                        id: id.unwrap_or_default(),
                        ..Post::default()
                    })
                }
                (3, "thread") => {
                    if let Some(post) = post.as_mut() {
                        post.thread = id;
                    }
                }
                (3, "parent") => {
                    if let Some(post) = post.as_mut() {
                        post.parent = id;
                    }
                }
                (3, "id" | "link" | "title" | "isClosed" | "createdAt") if thread.is_some() => {
                    xml.keep_text()
                }
                (3, "message" | "createdAt" | "isDeleted" | "isSpam") if post.is_some() => {
                    xml.keep_text()
                }
                (4, "name" | "email") if post.is_some() => xml.keep_text(),
                _ => {}
            },
            Step::Close { name, text } => match (depth, name.as_str(), text) {
                (2, "thread", _) => {
                    if let Some(fields) = thread.take() {
                        let id = fields.id.clone();
                        threads.insert(id, Thread::Described(fields.into_article()));
                    }
                }
                (2, "post", _) => {
                    if let Some(post) = post.take() {
                        take_post(&mut importer, &mut threads, post).await?;
                        posts_read += 1;
                        if posts_read.is_multiple_of(PROGRESS_EVERY) {
                            progress(importer.summary());
                        }
                    }
                }
                (3, field, Some(text)) => {
                    if let Some(thread) = thread.as_mut() {
                        thread.set(field, text);
                    } else if let Some(post) = post.as_mut() {
                        post.set(field, text);
                    }
                }
                (4, field, Some(text)) => {
                    if let Some(post) = post.as_mut() {
                        post.set(field, text);
                    }
                }
                _ => {}
            },
        }
    }
    let summary = importer.finish().await?;
    progress(&summary);
    Ok(summary)
}

impl ThreadFields {
    fn set(&mut self, field: &str, text: String) {
        match field {
            "id" => self.identifier = text,
            "link" => self.link = text,
            "title" => self.title = text,
            "isClosed" => self.closed = xml::is_true(&text),
            "createdAt" => self.created_at = text,
            _ => {}
        }
    }

    fn into_article(self) -> SourceArticle {
        let slug = super::slug_from_link(&self.link)
            .or_else(|| Some(self.identifier.trim().to_owned()).filter(|id| !id.is_empty()))
            .unwrap_or_default();
        SourceArticle {
            slug,
            title: self.title,
            url: Some(self.link.trim().to_owned()),
            comments_open: !self.closed,
            created_at: super::parse_time(&self.created_at),
            ..SourceArticle::default()
        }
    }
}

impl Post {
    fn set(&mut self, field: &str, text: String) {
        match field {
            "message" => self.message = text,
            "createdAt" => self.created_at = text,
            "isDeleted" => self.deleted = xml::is_true(&text),
            "isSpam" => self.spam = xml::is_true(&text),
            "name" => self.name = text,
            "email" => self.email = text,
            _ => {}
        }
    }
}

async fn take_post(
    importer: &mut Importer<'_>,
    threads: &mut HashMap<String, Thread>,
    post: Post,
) -> anyhow::Result<()> {
    let source = SourceComment {
        source_id: post.id.trim().to_owned(),
        parent_source_id: post.parent.map(|parent| parent.trim().to_owned()),
        author_name: post.name,
        author_email: post.email,
        body: html_text::to_text(&post.message, Newlines::Collapse),
        created_at: super::parse_time(&post.created_at),
        updated_at: None,
        status: if post.spam {
            CommentStatus::Hidden
        } else {
            CommentStatus::Approved
        },
        moderation_reasons: None,
    };
    if source.source_id.is_empty() {
        importer.skip(
            "comments",
            Skip::Invalid {
                what: "id",
                why: "the post has no dsq:id".to_owned(),
            },
        );
        return Ok(());
    }
    if post.deleted {
        importer.skip_comment(&source, Skip::Deleted);
        return Ok(());
    }
    let thread = post.thread.as_deref().and_then(|id| threads.get_mut(id));
    let article = match thread {
        None => Err(Skip::UnknownThread),
        Some(Thread::Made(made)) => made.clone(),
        Some(thread @ Thread::Described(_)) => {
            let Thread::Described(article) =
                std::mem::replace(thread, Thread::Made(Err(Skip::UnknownThread)))
            else {
                return Ok(());
            };
            let made = importer.article(article).await?;
            *thread = Thread::Made(made.clone());
            made
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
