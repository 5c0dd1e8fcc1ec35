//! The root `Mutation`.

use async_graphql::{Context, ID, Object, Result};

use super::types::ModeratorRole;
use super::types::{
    AddModeratorInput, Article, ArticleInput, Ban, BulkModerationAction, BulkModerationResult,
    Comment, DeleteCommentPayload, LoginPayload, ModerationSettings, ModerationSettingsInput,
    Moderator, PostCommentInput,
};
use super::{ClientAddr, services, viewer};
use crate::domain::{
    accounts, articles, author_edits, bans, comments, moderation, moderation_settings, sessions,
};

pub struct Mutation;

#[Object]
impl Mutation {
    /// Anyone may post; returns the new comment with its status (a comment
    /// the rules held or hid reads as PENDING) and, in `authorToken`, the
    /// secret its author keeps: to edit or withdraw it within the edit
    /// window, and to send with their next posts.
    async fn post_comment(&self, ctx: &Context<'_>, input: PostCommentInput) -> Result<Comment> {
        let services = services(ctx);
        let rules = comments::PostRules {
            settings: &services.settings,
            flood: &services.flood,
            sealing: &services.sealing,
            client: ctx.data_opt::<ClientAddr>().map(|addr| addr.0),
            auto_create: services.auto_create.as_ref(),
            mail: services.mail.as_ref(),
        };
        let posted =
            comments::post(&services.store, &services.events, rules, input.parse()?).await?;
        Ok(Comment::for_its_author(
            posted.comment,
            Some(posted.author_token.reveal().to_owned()),
        ))
    }

    /// The author of a comment changes its text within the edit window,
    /// proving it with the `authorToken` their post answered with. The
    /// moderation rules run again: an approved comment may go back to
    /// PENDING. Wrong token or closed window: FORBIDDEN.
    async fn edit_comment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        author_token: String,
        body: String,
    ) -> Result<Comment> {
        let services = services(ctx);
        let edited = author_edits::edit(
            &services.store,
            &services.events,
            edit_rules(services),
            &id,
            &author_token,
            &body,
        )
        .await?;
        Ok(Comment::for_its_author(edited, Some(author_token)))
    }

    /// The author of a comment withdraws it within the edit window: it is
    /// erased as `deleteComment` erases it.
    async fn withdraw_comment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        author_token: String,
    ) -> Result<DeleteCommentPayload> {
        let services = services(ctx);
        let withdrawn = author_edits::withdraw(
            &services.store,
            &services.events,
            edit_rules(services),
            &id,
            &author_token,
        )
        .await?;
        Ok(DeleteCommentPayload {
            deleted_id: ID(withdrawn.to_string()),
        })
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
            services.sealing.fingerprints(),
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
            services.sealing.fingerprints(),
            ctx.data_opt::<ClientAddr>().map(|addr| addr.0),
            viewer(ctx),
            &current_password,
            &new_password,
        )
        .await?;
        Ok(login.into())
    }

    /// Creates a moderator account. Admins only; audited.
    async fn add_moderator(
        &self,
        ctx: &Context<'_>,
        input: AddModeratorInput,
    ) -> Result<Moderator> {
        let created =
            accounts::add_by_admin(&services(ctx).store, viewer(ctx), input.into()).await?;
        Ok(Moderator(created))
    }

    /// Changes the site-wide moderation rules; in force from the next post,
    /// on every instance. Admins only; audited.
    async fn update_moderation_settings(
        &self,
        ctx: &Context<'_>,
        input: ModerationSettingsInput,
    ) -> Result<ModerationSettings> {
        let services = services(ctx);
        let updated = moderation_settings::update(
            &services.store,
            &services.events,
            viewer(ctx),
            input.into(),
        )
        .await?;
        Ok(ModerationSettings(updated))
    }

    /// Bans the author of this comment (by email, which is never shown):
    /// their later comments are hidden. Banning a banned author answers the
    /// existing ban. Moderators only; audited.
    async fn ban_author(
        &self,
        ctx: &Context<'_>,
        comment_id: ID,
        reason: Option<String>,
    ) -> Result<Ban> {
        let services = services(ctx);
        let ban = bans::ban(
            &services.store,
            &services.sealing,
            viewer(ctx),
            &comment_id,
            reason.as_deref(),
        )
        .await?;
        Ok(Ban(ban))
    }

    /// Lifts a ban. Moderators only; audited.
    async fn unban_author(&self, ctx: &Context<'_>, id: ID) -> Result<Ban> {
        let ban = bans::unban(&services(ctx).store, viewer(ctx), &id).await?;
        Ok(Ban(ban))
    }

    /// Approves, hides or deletes up to 100 comments in one transaction,
    /// with one audit row each; answers a result per id, in order (unknown
    /// ids are reported, and leave the others alone). Moderators only.
    async fn moderate_comments(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
        action: BulkModerationAction,
        reason: Option<String>,
    ) -> Result<Vec<BulkModerationResult>> {
        let services = services(ctx);
        let ids: Vec<String> = ids.into_iter().map(|id| id.0).collect();
        let action = action.into();
        let results = moderation::moderate_many(
            &services.store,
            &services.events,
            services.mail.as_ref(),
            viewer(ctx),
            &ids,
            action,
            reason.as_deref(),
        )
        .await?;
        Ok(results
            .into_iter()
            .map(|(id, outcome)| BulkModerationResult::new(id, outcome, action))
            .collect())
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
        let approved = moderation::approve(
            &services.store,
            &services.events,
            services.mail.as_ref(),
            viewer(ctx),
            &id,
        )
        .await?;
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

/// What an author's edit or withdrawal needs from the server.
fn edit_rules(services: &super::Services) -> author_edits::EditRules<'_> {
    author_edits::EditRules {
        settings: &services.settings,
        sealing: &services.sealing,
    }
}
