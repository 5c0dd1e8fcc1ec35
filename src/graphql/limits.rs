//! What one request may ask for: depth, complexity (a connection costs its
//! `first` times what each item asks for), aliases, and introspection. All
//! are checked before any resolver runs, so a hostile query costs no
//! database work.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The limits of one request. The defaults leave room for every query a
/// front end needs, replies five levels deep included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest nesting of selections.
    pub max_depth: usize,
    /// Highest total cost, a connection counting `first` times its items.
    pub max_complexity: usize,
    /// Most aliased fields in one document.
    pub max_aliases: usize,
    /// Whether callers without a moderator token may introspect the schema
    /// (GraphiQL needs it to help a reader's developer).
    pub anonymous_introspection: bool,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_complexity: 1_000_000,
            max_aliases: 30,
            anonymous_introspection: true,
        }
    }
}

/// The number of aliased fields in a document, fragments included once
/// each; `None` if it does not parse (execution reports that).
pub fn count_aliases(query: &str) -> Option<usize> {
    let document: ExecutableDocument = async_graphql::parser::parse_query(query).ok()?;
    let operations = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node);
    let fragments = document
        .fragments
        .values()
        .map(|f| &f.node.selection_set.node);
    Some(operations.chain(fragments).map(aliases_in).sum())
}

fn aliases_in(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + aliases_in(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => aliases_in(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// The cost of a connection field: `first` (clamped to the page bounds)
/// times what each item costs.
pub fn connection_cost(first: Option<i64>, child_complexity: usize) -> usize {
    let first = first.unwrap_or(crate::domain::PageRequest::DEFAULT_FIRST);
    let first = first.clamp(1, crate::domain::PageRequest::MAX_FIRST);
    usize::try_from(first)
        .unwrap_or(1)
        .saturating_mul(child_complexity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_aliases_in_operations_and_fragments() {
        let query = "query { a: __typename b: __typename ...F ... on Query { c: __typename } } fragment F on Query { d: __typename }";
        assert_eq!(count_aliases(query), Some(4));
    }

    #[test]
    fn unaliased_documents_count_zero() {
        assert_eq!(count_aliases("{ article(slug: \"x\") { id } }"), Some(0));
    }

    #[test]
    fn connection_cost_scales_with_first() {
        assert_eq!(connection_cost(Some(10), 3), 30);
        assert_eq!(connection_cost(None, 3), 60);
        assert_eq!(connection_cost(Some(1_000_000), 1), 100);
    }
}
