//! `schema.graphql` at the root is the schema Parley serves.

#[test]
fn schema_file_matches_the_served_schema() {
    let served = parley::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    if std::env::var_os("PARLEY_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &served).expect("write schema.graphql");
        return;
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == served,
        "schema.graphql differs from the served schema; regenerate it with\n\
         PARLEY_UPDATE_SCHEMA=1 cargo test --test api schema\n\
         and review the diff: front ends depend on these names"
    );
}

#[test]
fn schema_keeps_the_public_names() {
    let served = parley::graphql::sdl();
    for name in [
        "scalar DateTime",
        "enum CommentStatus",
        "enum CommentOrder",
        "enum ModeratorRole",
        "type Article",
        "type Comment ",
        "type CommentConnection",
        "type CommentEdge",
        "type PageInfo",
        "type Moderator",
        "type LoginPayload",
        "type DeleteCommentPayload",
        "input PostCommentInput",
        "input ArticleInput",
        "commentApproved(articleSlug: String!): Comment!",
        "postComment(input: PostCommentInput!): Comment!",
        "moderationQueue(",
        "deleteComment(id: ID!): DeleteCommentPayload!",
        "hideComment(id: ID!, reason: String): Comment!",
    ] {
        assert!(served.contains(name), "the schema lost {name:?}");
    }
}
