/*
 * Parley: the embeddable comment thread.
 *
 *   <div id="parley-thread" data-parley-article="SLUG" data-parley-title="…" data-parley-url="…"></div>
 *   <script src="https://comments.example/embed.js" async></script>
 *
 * Plain JavaScript, no framework, no build step. Reader text only ever goes
 * into the page as text (textContent, Text nodes). A comment's formatting
 * (the server's sanitised bodyHtml) is read in an inert document and copied
 * element by element from a short allow-list, so nothing else the answer
 * might hold reaches the page. Nothing is written to the reader's storage
 * unless they tick "Save my name and email" (which also keeps the author
 * token that lets a returning author's comments skip the queue). Every
 * request goes to the server this script came from.
 * Strings: set window.parleyStrings = { key: "text", … } before this script.
 */
(() => {
  "use strict";

  const script =
    document.currentScript || document.querySelector('script[src$="/embed.js"]');
  if (!script) return;
  const ORIGIN = new URL(script.src, location.href).origin;
  const API = `${ORIGIN}/graphql`;
  const SOCKET = `${ORIGIN.replace(/^http/, "ws")}/graphql/ws`;
  const SAVED = "parley.author";
  const PAGE = 20;
  const REPLIES = 3;
  const POLL_MS = 20000;

  const T = Object.assign(
    {
      comments: (n) => (n === 1 ? "1 Comment" : `${n} Comments`),
      leaveComment: "Leave a Comment",
      replyTo: (name) => `Reply to ${name}`,
      notice: "Your email address will not be published.",
      requiredNotice: "Required fields are marked",
      body: "Comment",
      name: "Name",
      email: "Email",
      save: "Save my name and email in this browser for the next time I comment.",
      post: "Post Comment",
      posting: "Posting…",
      reply: "Reply",
      cancel: "Cancel",
      pending: "Your comment is awaiting moderation. It is visible only to you.",
      closed: "Comments are closed.",
      notOpen: "Comments are not open on this article.",
      unavailable:
        "Comments cannot be shown here: this page could not reach the comment server, or its site is not allowed to show them.",
      loadMore: "Load more comments",
      showReplies: (n) => (n === 1 ? "Show 1 reply" : `Show ${n} replies`),
      moreReplies: "Load more replies",
      loading: "Loading comments…",
      rateLimited: (s) => `You are commenting too quickly. Please try again in ${s} seconds.`,
      failed: "Your comment could not be posted. Please try again.",
      sort: "Sort by",
      oldest: "Oldest first",
      newest: "Newest first",
      empty: "No comments yet. Be the first.",
    },
    window.parleyStrings || {},
  );
  const say = (key, ...args) => (typeof T[key] === "function" ? T[key](...args) : T[key]);

  // Server field names (PostCommentInput, extensions.field) → input names.
  const INPUT = { authorName: "name", authorEmail: "email", body: "body" };

  const FIELDS = "id parentId authorName body bodyHtml createdAt replyCount";
  const PAGE_INFO = "pageInfo { hasNextPage endCursor }";
  const Q_THREAD = `query ParleyThread($slug: String!, $url: String, $first: Int!, $after: String, $order: CommentOrder) {
    commentForm(articleSlug: $slug, articleUrl: $url) { commentsOpen moderation fields { name required maxLength published } }
    article(slug: $slug) { commentsOpen commentCount
      comments(first: $first, after: $after, order: $order) {
        nodes { ${FIELDS} replies(first: ${REPLIES}) { nodes { ${FIELDS} } ${PAGE_INFO} } } ${PAGE_INFO} } } }`;
  const Q_REPLIES = `query ParleyReplies($id: ID!, $first: Int!, $after: String) {
    comment(id: $id) { replies(first: $first, after: $after) { nodes { ${FIELDS} } ${PAGE_INFO} } } }`;
  const Q_COUNTS = `query ParleyCounts($slugs: [String!]!) { articles(slugs: $slugs) { slug commentCount } }`;
  const M_POST = `mutation ParleyPost($input: PostCommentInput!) { postComment(input: $input) { ${FIELDS} status authorToken } }`;
  const S_LIVE = `subscription ParleyLive($slug: String!) { commentApproved(articleSlug: $slug) { ${FIELDS} } }`;

  /** Builds an element; children are nodes or strings (added as text). */
  const h = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) if (child != null) node.append(child);
    return node;
  };

  /** One GraphQL request: GET for queries (cacheable, no preflight), POST otherwise. */
  const gql = async (query, variables, post = false) => {
    let response;
    if (post) {
      response = await fetch(API, {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ query, variables }),
      });
    } else {
      const url = new URL(API);
      url.searchParams.set("query", query);
      url.searchParams.set("variables", JSON.stringify(variables));
      response = await fetch(url, { credentials: "omit", headers: { Accept: "application/json" } });
    }
    return response.json();
  };

  const storage = {
    load() {
      try {
        return JSON.parse(localStorage.getItem(SAVED) || "null");
      } catch {
        return null;
      }
    },
    save(author) {
      try {
        localStorage.setItem(SAVED, JSON.stringify(author));
      } catch {
        /* storage refused: nothing kept */
      }
    },
    forget() {
      try {
        localStorage.removeItem(SAVED);
      } catch {
        /* nothing kept */
      }
    },
  };

  /** The formatting a comment may carry: tag → attributes kept. */
  const FORMATTING = { P: [], BR: [], EM: [], STRONG: [], CODE: [], BLOCKQUOTE: [], A: ["href", "rel"] };
  const SAFE_LINK = /^(https?:|mailto:)/i;

  /** A comment's body: its formatted HTML copied through the allow-list, or its text. */
  const formatted = (comment) => {
    const box = h("div", { class: "body" });
    if (typeof comment.bodyHtml !== "string") {
      box.classList.add("plain");
      box.append(comment.body);
      return box;
    }
    const copy = (from, to) => {
      for (const child of from.childNodes) {
        if (child.nodeType === Node.TEXT_NODE) {
          to.append(child.textContent);
        } else if (child.nodeType === Node.ELEMENT_NODE) {
          const keep = FORMATTING[child.tagName];
          if (!keep) {
            copy(child, to);
            continue;
          }
          const element = document.createElement(child.tagName.toLowerCase());
          for (const name of keep) {
            const value = child.getAttribute(name);
            if (value == null || (name === "href" && !SAFE_LINK.test(value))) continue;
            element.setAttribute(name, value);
          }
          if (element.tagName === "A") element.setAttribute("rel", "nofollow ugc noopener");
          copy(child, element);
          to.append(element);
        }
      }
    };
    copy(new DOMParser().parseFromString(comment.bodyHtml, "text/html").body, box);
    return box;
  };

  let unique = 0;
  const dateFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });

  class Thread {
    constructor(host) {
      this.host = host;
      this.slug = host.dataset.parleyArticle;
      this.url = host.dataset.parleyUrl || null;
      this.title = host.dataset.parleyTitle || null;
      this.order = "OLDEST_FIRST";
      this.rendered = new Map();
      this.root = host.shadowRoot || host.attachShadow({ mode: "open" });
      this.root.replaceChildren(
        h("link", { rel: "stylesheet", href: `${ORIGIN}/embed.css` }),
        (this.box = h("section", { class: "parley", "aria-busy": "true" }, h("p", { class: "muted" }, say("loading")))),
      );
    }

    async start() {
      let answer;
      try {
        answer = await gql(Q_THREAD, { slug: this.slug, url: this.url, first: PAGE, after: null, order: this.order });
      } catch {
        this.box.replaceChildren(h("p", { class: "message", role: "status" }, say("unavailable")));
        this.box.removeAttribute("aria-busy");
        return;
      }
      if (!answer.data) {
        this.box.replaceChildren(h("p", { class: "message", role: "status" }, say("unavailable")));
        this.box.removeAttribute("aria-busy");
        return;
      }
      const { commentForm: form, article } = answer.data;
      this.form = form;
      this.count = article ? article.commentCount : 0;
      const headingId = `parley-h-${++unique}`;
      this.heading = h("h2", { id: headingId }, say("comments", this.count));
      this.list = h("div", { class: "list" });
      this.more = h("button", { type: "button", class: "more", hidden: true, onclick: () => this.loadTop() }, say("loadMore"));
      this.sort = h(
        "select",
        { "aria-label": say("sort"), onchange: (e) => this.reorder(e.target.value) },
        h("option", { value: "OLDEST_FIRST" }, say("oldest")),
        h("option", { value: "NEWEST_FIRST" }, say("newest")),
      );
      this.formSlot = h("div", { class: "respond" });
      this.box.setAttribute("aria-labelledby", headingId);
      this.box.replaceChildren(
        h("header", { class: "top" }, this.heading, this.sort),
        this.list,
        this.more,
        this.formSlot,
      );
      this.box.removeAttribute("aria-busy");
      if (article) this.showPage(article.comments);
      this.showEmpty();
      if (form.commentsOpen) this.formSlot.append(this.buildForm(null));
      else this.formSlot.append(h("p", { class: "message" }, say(article ? "closed" : "notOpen")));
      if (article) this.live();
    }

    showEmpty() {
      const empty = this.list.querySelector(":scope > .empty");
      if (this.rendered.size === 0 && !empty) this.list.append(h("p", { class: "empty muted" }, say("empty")));
      if (this.rendered.size > 0 && empty) empty.remove();
    }

    showPage(connection) {
      for (const comment of connection.nodes) this.list.append(this.renderComment(comment));
      this.after = connection.pageInfo.endCursor;
      this.more.hidden = !connection.pageInfo.hasNextPage;
    }

    async loadTop() {
      this.more.disabled = true;
      try {
        const answer = await gql(Q_THREAD, { slug: this.slug, url: this.url, first: PAGE, after: this.after, order: this.order });
        if (answer.data && answer.data.article) this.showPage(answer.data.article.comments);
      } finally {
        this.more.disabled = false;
      }
    }

    async reorder(order) {
      this.order = order;
      this.after = null;
      this.rendered.clear();
      this.list.replaceChildren();
      await this.loadTop();
      this.showEmpty();
    }

    renderComment(comment, pending = false) {
      const time = h("time", { datetime: comment.createdAt }, dateFormat.format(new Date(comment.createdAt)));
      const replies = h("div", { class: "replies" });
      const node = h(
        "article",
        { class: pending ? "comment pending" : "comment", "data-parley-comment": comment.id },
        h("header", {}, h("span", { class: "author" }, comment.authorName), " ", time),
        pending ? h("p", { class: "notice", "data-parley-pending": true }, say("pending")) : null,
        formatted(comment),
      );
      const actions = h("div", { class: "actions" });
      if (!pending && this.form && this.form.commentsOpen) {
        actions.append(h("button", { type: "button", class: "link", onclick: () => this.openReply(node, comment) }, say("reply")));
      }
      node.append(actions, replies);
      const more = h("button", { type: "button", class: "more", hidden: true }, "");
      node.append(more);
      const state = { node, replies, more, after: null, loaded: 0, total: comment.replyCount || 0 };
      more.addEventListener("click", () => this.loadReplies(comment.id, state));
      if (!pending) this.rendered.set(comment.id, state);
      if (comment.replies) {
        for (const reply of comment.replies.nodes) replies.append(this.renderComment(reply));
        state.loaded = comment.replies.nodes.length;
        state.after = comment.replies.pageInfo.endCursor;
        this.updateMore(state, comment.replies.pageInfo.hasNextPage);
      } else {
        this.updateMore(state, state.total > 0);
      }
      return node;
    }

    updateMore(state, hasMore) {
      state.more.hidden = !hasMore;
      state.more.textContent = state.loaded === 0 ? say("showReplies", state.total) : say("moreReplies");
    }

    async loadReplies(id, state) {
      state.more.disabled = true;
      try {
        const answer = await gql(Q_REPLIES, { id, first: PAGE, after: state.after });
        const page = answer.data && answer.data.comment && answer.data.comment.replies;
        if (!page) return;
        for (const reply of page.nodes) {
          if (!this.rendered.has(reply.id)) state.replies.append(this.renderComment(reply));
        }
        state.loaded += page.nodes.length;
        state.after = page.pageInfo.endCursor;
        this.updateMore(state, page.pageInfo.hasNextPage);
      } finally {
        state.more.disabled = false;
      }
    }

    /** A comment that became visible (live, or posted under post-moderation). */
    arrive(comment) {
      const pending = this.root.querySelector(`.pending[data-parley-comment="${CSS.escape(comment.id)}"]`);
      if (pending) pending.remove();
      if (this.rendered.has(comment.id)) return;
      const node = this.renderComment(comment);
      const parent = comment.parentId && this.rendered.get(comment.parentId);
      if (parent) parent.replies.append(node);
      else if (!comment.parentId) {
        if (this.order === "NEWEST_FIRST") this.list.prepend(node);
        else this.list.append(node);
      } else return;
      this.count += 1;
      this.heading.textContent = say("comments", this.count);
      this.showEmpty();
    }

    live() {
      if (this.living) return;
      this.living = true;
      let attempt = 0;
      let everOpened = false;
      let failures = 0;
      const connect = () => {
        let socket;
        try {
          socket = new WebSocket(SOCKET, "graphql-transport-ws");
        } catch {
          this.poll();
          return;
        }
        let opened = false;
        socket.onopen = () => {
          opened = everOpened = true;
          attempt = 0;
          socket.send(JSON.stringify({ type: "connection_init" }));
        };
        socket.onmessage = (event) => {
          let message;
          try {
            message = JSON.parse(event.data);
          } catch {
            return;
          }
          if (message.type === "connection_ack") {
            socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: S_LIVE, variables: { slug: this.slug } } }));
            // A hook for site scripts and tests: new comments now arrive live.
            this.host.dataset.parleyLive = "subscribed";
          } else if (message.type === "next" && message.payload && message.payload.data) {
            this.arrive(message.payload.data.commentApproved);
          } else if (message.type === "ping") {
            socket.send(JSON.stringify({ type: "pong" }));
          }
        };
        socket.onclose = () => {
          delete this.host.dataset.parleyLive;
          if (!opened && !everOpened && ++failures >= 2) {
            this.poll();
            return;
          }
          const delay = Math.min(30000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
          attempt += 1;
          setTimeout(connect, delay);
        };
      };
      connect();
    }

    /** Without a socket: asks for the newest comments now and then. */
    poll() {
      if (this.polling) return;
      this.polling = setInterval(async () => {
        try {
          const answer = await gql(Q_THREAD, { slug: this.slug, url: this.url, first: PAGE, after: null, order: "NEWEST_FIRST" });
          const article = answer.data && answer.data.article;
          if (!article) return;
          for (const comment of article.comments.nodes.slice().reverse()) {
            this.arrive(comment);
            for (const reply of comment.replies.nodes) this.arrive(reply);
          }
        } catch {
          /* try again at the next turn */
        }
      }, POLL_MS);
    }

    openReply(node, comment) {
      const slot = node.querySelector(":scope > .actions");
      const open = slot.querySelector("form");
      if (open) {
        open.querySelector("textarea").focus();
        return;
      }
      const form = this.buildForm(comment);
      slot.append(form);
      form.querySelector("textarea").focus();
    }

    buildForm(parent) {
      const id = `parley-f-${++unique}`;
      const spec = new Map(this.form.fields.map((f) => [f.name, f]));
      const saved = storage.load();
      const field = (server, label, control) => {
        const f = spec.get(server) || { required: false, maxLength: null };
        const name = INPUT[server];
        const errorId = `${id}-${name}-error`;
        const input = h(control === "textarea" ? "textarea" : "input", {
          id: `${id}-${name}`,
          name,
          type: control === "textarea" ? null : control,
          rows: control === "textarea" ? 5 : null,
          maxlength: f.maxLength,
          required: f.required,
          "aria-required": f.required ? "true" : null,
          autocomplete: name === "name" ? "name" : name === "email" ? "email" : null,
        });
        if (saved && (name === "name" || name === "email")) input.value = saved[name] || "";
        return h(
          "p",
          { class: `field field-${name}` },
          h("label", { for: `${id}-${name}` }, say(name), f.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null),
          input,
          h("span", { class: "error", id: errorId, "data-parley-error": name }),
        );
      };
      const save = h("input", { type: "checkbox", id: `${id}-save`, name: "save", checked: Boolean(saved) });
      save.addEventListener("change", () => {
        if (!save.checked) storage.forget();
      });
      const submit = h("button", { type: "submit", class: "submit" }, say("post"));
      const form = h(
        "form",
        { "data-parley-form": true, novalidate: true, "aria-labelledby": `${id}-title` },
        h("h3", { id: `${id}-title` }, parent ? say("replyTo", parent.authorName) : say("leaveComment")),
        h("p", { class: "notice muted" }, say("notice"), " ", say("requiredNotice"), " ", h("span", { class: "required", "aria-hidden": "true" }, "*")),
        field("body", "body", "textarea"),
        field("authorName", "name", "text"),
        field("authorEmail", "email", "email"),
        h("p", { class: "save" }, save, h("label", { for: `${id}-save` }, say("save"))),
        h("p", { class: "error", role: "alert", "data-parley-error": "form" }),
        h(
          "p",
          { class: "buttons" },
          submit,
          parent ? h("button", { type: "button", class: "link", onclick: () => form.remove() }, say("cancel")) : null,
        ),
      );
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit(form, parent, submit);
      });
      return form;
    }

    clearErrors(form) {
      for (const error of form.querySelectorAll("[data-parley-error]")) error.textContent = "";
      for (const input of form.querySelectorAll("[aria-invalid]")) {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    }

    showError(form, name, message) {
      const error = form.querySelector(`[data-parley-error="${name}"]`);
      const input = form.elements.namedItem(name);
      if (!error) return this.showError(form, "form", message);
      error.textContent = message;
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", error.id);
      }
      return input;
    }

    async submit(form, parent, button) {
      this.clearErrors(form);
      const value = (name) => form.elements.namedItem(name).value;
      const saved = storage.load();
      const input = {
        articleSlug: this.slug,
        parentId: parent ? parent.id : null,
        authorName: value("name"),
        authorEmail: value("email"),
        body: value("body"),
        authorToken: (saved && saved.token) || null,
        articleUrl: this.url,
        articleTitle: this.title,
      };
      button.disabled = true;
      button.textContent = say("posting");
      let answer;
      try {
        answer = await gql(M_POST, { input }, true);
      } catch {
        this.showError(form, "form", say("failed"));
        return;
      } finally {
        button.disabled = false;
        button.textContent = say("post");
      }
      if (answer.errors && answer.errors.length) {
        let first = null;
        for (const error of answer.errors) {
          const ext = error.extensions || {};
          if (ext.code === "COMMENTS_CLOSED") {
            this.close();
            return;
          }
          const message = ext.code === "RATE_LIMITED" ? say("rateLimited", ext.retryAfter) : error.message;
          const target = this.showError(form, INPUT[ext.field] || "form", message);
          first = first || target;
        }
        if (first && first.focus) first.focus();
        return;
      }
      const comment = answer.data.postComment;
      if (form.elements.namedItem("save").checked) {
        storage.save({ name: input.authorName, email: input.authorEmail, token: comment.authorToken });
      } else {
        storage.forget();
      }
      form.elements.namedItem("body").value = "";
      if (parent) form.remove();
      if (!this.living) this.live();
      if (comment.status === "APPROVED") {
        this.arrive(comment);
        return;
      }
      const node = this.renderComment(comment, true);
      const parentState = parent && this.rendered.get(parent.id);
      (parentState ? parentState.replies : this.list).append(node);
      node.scrollIntoView({ block: "nearest" });
    }

    close() {
      this.form.commentsOpen = false;
      for (const form of this.root.querySelectorAll("form[data-parley-form]")) form.remove();
      for (const button of this.root.querySelectorAll(".actions button")) button.remove();
      this.formSlot.replaceChildren(h("p", { class: "message", role: "status" }, say("closed")));
    }
  }

  /** Fills every [data-parley-count="SLUG"] on the page, 100 slugs a request. */
  const counts = async () => {
    const nodes = [...document.querySelectorAll("[data-parley-count]")];
    const slugs = [...new Set(nodes.map((n) => n.dataset.parleyCount))];
    for (let i = 0; i < slugs.length; i += 100) {
      try {
        const answer = await gql(Q_COUNTS, { slugs: slugs.slice(i, i + 100) });
        for (const article of (answer.data && answer.data.articles) || []) {
          if (!article) continue;
          for (const node of nodes) {
            if (node.dataset.parleyCount === article.slug) node.textContent = String(article.commentCount);
          }
        }
      } catch {
        /* counts stay as the page had them */
      }
    }
  };

  const start = () => {
    for (const host of document.querySelectorAll("[data-parley-article]")) {
      if (host.dataset.parleyStarted) continue;
      host.dataset.parleyStarted = "true";
      new Thread(host).start();
    }
    counts();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
