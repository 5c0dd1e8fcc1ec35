//! The root `Mutation`.

use async_graphql::{Context, ID, Object, Result};

use super::types::ModeratorRole;
use super::types::{
    Article, ArticleInput, Comment, DeleteCommentPayload, LoginPayload, Moderator, PostCommentInput,
};
use super::{ClientAddr, services, viewer};
use crate::domain::{accounts, articles, comments, moderation, sessions};

pub struct Mutation;

#[Object]
impl Mutation {
    /// Anyone may post; returns the new comment with its status.
    async fn post_comment(&self, ctx: &Context<'_>, input: PostCommentInput) -> Result<Comment> {
        let services = services(ctx);
        let rules = comments::PostRules {
            mode: services.moderation,
            flood: &services.flood,
            fingerprints: &services.fingerprints,
            client: ctx.data_opt::<ClientAddr>().map(|addr| addr.0),
            auto_create: services.auto_create.as_ref(),
        };
        let stored =
            comments::post(&services.store, &services.events, rules, input.parse()?).await?;
        Ok(Comment::from(stored))
    }

    /// Exchanges a moderator's email and password for a token. Failed tries
    /// are throttled: after a few from one address, further tries get
    /// `RATE_LIMITED` for a while; after many at one account from anywhere,
    /// every try at it waits a few seconds.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<LoginPayload> {
        let services = services(ctx);
        let login = sessions::login(
            &services.store,
            &services.keys,
            &services.fingerprints,
            ctx.data_opt::<ClientAddr>().map(|addr| addr.0),
            &email,
            &password,
        )
        .await?;
        Ok(login.into())
    }

    /// Ends the session of the token sent with this request, at once and on
    /// every instance. Moderators only.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        sessions::logout(&services(ctx).store, viewer(ctx)).await?;
        Ok(true)
    }

    /// Changes the caller's password and ends every other session of the
    /// account; answers with a new token. Moderators only. A wrong current
    /// password counts as a failed login, under the same throttling.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<LoginPayload> {
        let services = services(ctx);
        let login = sessions::change_password(
            &services.store,
            &services.keys,
            &services.fingerprints,
            ctx.data_opt::<ClientAddr>().map(|addr| addr.0),
            viewer(ctx),
            &current_password,
            &new_password,
        )
        .await?;
        Ok(login.into())
    }

    /// Changes another moderator's role; takes effect at once. Admins only.
    async fn set_moderator_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        role: ModeratorRole,
    ) -> Result<Moderator> {
        let updated =
            accounts::set_role(&services(ctx).store, viewer(ctx), &id, role.into()).await?;
        Ok(Moderator(updated))
    }

    /// Removes another moderator: no more logins, and their tokens stop
    /// working at once. Admins only.
    async fn remove_moderator(&self, ctx: &Context<'_>, id: ID) -> Result<Moderator> {
        let removed = accounts::remove(&services(ctx).store, viewer(ctx), &id).await?;
        Ok(Moderator(removed))
    }

    /// Creates or updates the article with this slug. Moderators only.
    async fn upsert_article(&self, ctx: &Context<'_>, input: ArticleInput) -> Result<Article> {
        let services = services(ctx);
        let saved =
            articles::upsert(&services.store, &services.events, viewer(ctx), input.into()).await?;
        Ok(Article::from(saved))
    }

    /// Makes a comment visible to readers. Moderators only.
    async fn approve_comment(&self, ctx: &Context<'_>, id: ID) -> Result<Comment> {
        let services = services(ctx);
        let approved =
            moderation::approve(&services.store, &services.events, viewer(ctx), &id).await?;
        Ok(Comment::from(approved))
    }

    /// Takes a comment away from readers; undone by `approveComment`.
    /// Moderators only.
    async fn hide_comment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
    ) -> Result<Comment> {
        let hidden = moderation::hide(
            &services(ctx).store,
            &services(ctx).events,
            viewer(ctx),
            &id,
            reason.as_deref(),
        )
        .await?;
        Ok(Comment::from(hidden))
    }

    /// Deletes a comment for good; its replies move up to its parent.
    /// Moderators only.
    async fn delete_comment(&self, ctx: &Context<'_>, id: ID) -> Result<DeleteCommentPayload> {
        let services = services(ctx);
        let deleted =
            moderation::delete(&services.store, &services.events, viewer(ctx), &id).await?;
        Ok(DeleteCommentPayload {
            deleted_id: ID(deleted.to_string()),
        })
    }
}
