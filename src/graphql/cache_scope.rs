//! What an anonymous answer read, so that the read cache keeps it only
//! until that changes. An answer whose root fields all read named articles
//! (`article`, `articles`, `comment`, `commentForm`) depends on those
//! articles and the site's settings; any other answer, and one that found
//! no article (the article may appear), depends on everything.

use std::sync::{Arc, Mutex};

use async_graphql::Context;
use async_graphql::Positioned;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use uuid::Uuid;

use crate::events::Scope;

/// The root fields whose answers read only the articles their resolvers
/// note here.
const ARTICLE_ROOTS: [&str; 5] = [
    "article",
    "articles",
    "comment",
    "commentForm",
    "__typename",
];

/// The operation a request runs: the one named `name` in `document`, or
/// its only one, named or not; `None` when there is no such operation.
/// (The parser keeps a lone named operation among "multiple" ones.)
pub fn selected_operation<'a>(
    document: Option<&'a ExecutableDocument>,
    name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    document.and_then(|document| match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        (DocumentOperations::Multiple(_), None) => None,
    })
}

/// What one request's answer read; one per request, in its data.
#[derive(Debug)]
pub struct CacheScope(Mutex<Scope>);

impl CacheScope {
    /// The scope of the operation `name` of `document`, before it runs:
    /// articles only when every root field is one whose resolver notes
    /// them.
    pub fn of(document: Option<&ExecutableDocument>, name: Option<&str>) -> Arc<Self> {
        let scoped = selected_operation(document, name).is_some_and(|operation| {
            operation.node.ty == OperationType::Query
                && operation.node.selection_set.node.items.iter().all(|item| {
                    matches!(&item.node, Selection::Field(field)
                            if ARTICLE_ROOTS.contains(&field.node.name.node.as_str()))
                })
        });
        let scope = if scoped {
            Scope::Articles(Vec::new())
        } else {
            Scope::Everything
        };
        Arc::new(Self(Mutex::new(scope)))
    }

    /// Notes that the answer read `article`.
    pub fn article(ctx: &Context<'_>, article: Uuid) {
        Self::note(ctx, |scope| {
            if let Scope::Articles(articles) = scope
                && !articles.contains(&article)
            {
                articles.push(article);
            }
        });
    }

    /// Notes that the answer depends on more than named articles (one was
    /// not found, and may appear).
    pub fn everything(ctx: &Context<'_>) {
        Self::note(ctx, |scope| *scope = Scope::Everything);
    }

    fn note(ctx: &Context<'_>, change: impl FnOnce(&mut Scope)) {
        if let Some(this) = ctx.data_opt::<Arc<Self>>()
            && let Ok(mut scope) = this.0.lock()
        {
            change(&mut scope);
        }
    }

    /// What the answer read.
    pub fn scope(&self) -> Scope {
        self.0
            .lock()
            .map_or(Scope::Everything, |scope| match &*scope {
                Scope::Articles(articles) if articles.is_empty() => Scope::Everything,
                scope => scope.clone(),
            })
    }
}
