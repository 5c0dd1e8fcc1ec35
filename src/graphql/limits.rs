//! What one request may ask for: depth, complexity (a connection costs its
//! `first` times what each item asks for, and a text field as much as the
//! longest text it can hold), aliases, and introspection. All are checked
//! before any resolver runs, so a hostile query costs no database work. The
//! size of what comes back is capped while it is built (`answer_size`).

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Number, Value as ConstValue, Variables};

/// The limits of one request. The default cost leaves room for a page of 20
/// comments with 20 replies each, or for replies five levels deep two at a
/// time, and holds any request to about 600 comment bodies: a front end
/// loads deeper replies page by page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest nesting of selections.
    pub max_depth: usize,
    /// Highest total cost, a connection counting `first` times its items.
    pub max_complexity: usize,
    /// Most aliased fields in one document.
    pub max_aliases: usize,
    /// Largest answer (or subscription event), in bytes of JSON.
    pub max_answer_bytes: usize,
    /// Whether callers without a moderator token may introspect the schema
    /// (GraphiQL needs it to help a reader's developer).
    pub anonymous_introspection: bool,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_complexity: 250_000,
            max_aliases: 30,
            max_answer_bytes: 4 * 1024 * 1024,
            anonymous_introspection: true,
        }
    }
}

/// The number of aliased fields in a document, fragments included once each.
pub fn count_aliases(document: &ExecutableDocument) -> usize {
    let operations = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node);
    let fragments = document
        .fragments
        .values()
        .map(|f| &f.node.selection_set.node);
    operations.chain(fragments).map(aliases_in).sum()
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

/// The name of an argument or variable whose integer lies outside GraphQL's
/// 32-bit `Int`, if any. async-graphql checks the range only when a field
/// runs, so a field that never runs would accept it; every integer in the
/// schema is an `Int`, so every integer is held to that range. The variables
/// are checked even when the document does not parse.
pub fn out_of_range_integer(
    variables: &Variables,
    document: Option<&ExecutableDocument>,
) -> Option<String> {
    fn fits(number: &Number) -> bool {
        number.as_i64().is_some_and(|n| i32::try_from(n).is_ok())
            || (number.as_i64().is_none() && number.as_u64().is_none())
    }
    fn constant(value: &ConstValue) -> bool {
        match value {
            ConstValue::Number(number) => fits(number),
            ConstValue::List(items) => items.iter().all(constant),
            ConstValue::Object(fields) => fields.values().all(constant),
            _ => true,
        }
    }
    fn in_set(set: &SelectionSet) -> Option<String> {
        set.items.iter().find_map(|item| match &item.node {
            Selection::Field(field) => field
                .node
                .arguments
                .iter()
                .find(|(_, value)| {
                    // Variables count as null here; their values are checked above.
                    let literal = value
                        .node
                        .clone()
                        .into_const_with(|_| Ok::<_, std::convert::Infallible>(ConstValue::Null));
                    literal.is_ok_and(|literal| !constant(&literal))
                })
                .map(|(name, _)| name.node.to_string())
                .or_else(|| in_set(&field.node.selection_set.node)),
            Selection::InlineFragment(fragment) => in_set(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => None,
        })
    }
    if let Some((name, _)) = variables.iter().find(|(_, value)| !constant(value)) {
        return Some(name.to_string());
    }
    let document = document?;
    for (_, operation) in document.operations.iter() {
        for variable in &operation.node.variable_definitions {
            if variable
                .node
                .default_value
                .as_ref()
                .is_some_and(|d| !constant(&d.node))
            {
                return Some(variable.node.name.node.to_string());
            }
        }
        if let Some(name) = in_set(&operation.node.selection_set.node) {
            return Some(name);
        }
    }
    document
        .fragments
        .values()
        .find_map(|f| in_set(&f.node.selection_set.node))
}

/// The cost of a text field that holds at most `max_chars` characters: one
/// unit, plus one for every 100 bytes the longest such text takes in UTF-8.
/// A comment body (10,000 characters, up to 40 KB) costs 401, a name 5: a
/// query that may return many bodies costs what it may weigh.
pub const fn text_cost(max_chars: usize) -> usize {
    1 + max_chars * 4 / 100
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
        assert_eq!(count_aliases(&parse(query)), 4);
    }

    #[test]
    fn unaliased_documents_count_zero() {
        assert_eq!(count_aliases(&parse("{ article(slug: \"x\") { id } }")), 0);
    }

    fn parse(query: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(query).unwrap()
    }

    fn out_of_range(query: &str, variables: serde_json::Value) -> Option<String> {
        out_of_range_integer(&Variables::from_json(variables), Some(&parse(query)))
    }

    #[test]
    fn integers_beyond_32_bits_are_found_in_literals_and_variables() {
        let none = serde_json::json!({});
        let literal = out_of_range("{ a(first: 2147483648) { b } }", none.clone());
        assert_eq!(literal.as_deref(), Some("first"));
        let nested = out_of_range("{ a { b(first: -2147483649) { c } } }", none.clone());
        assert_eq!(nested.as_deref(), Some("first"));
        let variable = out_of_range(
            "query($n: Int) { a(first: $n) { b } }",
            serde_json::json!({ "n": 4_000_000_000_u64 }),
        );
        assert_eq!(variable.as_deref(), Some("n"));
        let fine = out_of_range("{ a(first: 2147483647) { b(first: -5) } }", none);
        assert_eq!(fine, None);
    }

    #[test]
    fn text_costs_follow_the_longest_text() {
        assert_eq!(text_cost(10_000), 401);
        assert_eq!(text_cost(100), 5);
    }

    #[test]
    fn connection_cost_scales_with_first() {
        assert_eq!(connection_cost(Some(10), 3), 30);
        assert_eq!(connection_cost(None, 3), 60);
        assert_eq!(connection_cost(Some(1_000_000), 1), 100);
    }
}
