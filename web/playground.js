/*
 * Parley's playground: GraphiQL with ready-made moderator operations, and a
 * login box that puts the token into the Authorization header of every
 * request (the headers editor can still override it). The token is kept in
 * this page's memory only: reloading the page logs out.
 */
(() => {
  "use strict";

  const OPERATIONS = [
    {
      query: `# Comments waiting for a moderator, oldest first.
query Queue($status: CommentStatus = PENDING, $first: Int = 20, $after: String) {
  moderationQueue(status: $status, first: $first, after: $after) {
    nodes {
      id
      status
      authorName
      authorEmail
      body
      createdAt
      parentId
      article { slug title }
      moderationReasons { code detail }
    }
    pageInfo { hasNextPage endCursor }
  }
}`,
      variables: '{\n  "status": "PENDING",\n  "first": 20\n}',
    },
    {
      query: `# Make a comment visible to readers.
mutation Approve($id: ID!) {
  approveComment(id: $id) { id status }
}`,
      variables: '{\n  "id": ""\n}',
    },
    {
      query: `# Take a comment away from readers (undone by Approve).
mutation Hide($id: ID!, $reason: String) {
  hideComment(id: $id, reason: $reason) { id status }
}`,
      variables: '{\n  "id": "",\n  "reason": "off topic"\n}',
    },
    {
      query: `# Delete a comment for good; its replies move up to its parent.
mutation Delete($id: ID!) {
  deleteComment(id: $id) { deletedId }
}`,
      variables: '{\n  "id": ""\n}',
    },
    {
      query: `# Up to 100 comments at once: APPROVE, HIDE or DELETE, one result per id.
mutation Many($ids: [ID!]!, $action: BulkModerationAction!, $reason: String) {
  moderateComments(ids: $ids, action: $action, reason: $reason) {
    id
    outcome
    comment { id status }
  }
}`,
      variables: '{\n  "ids": [],\n  "action": "HIDE",\n  "reason": "spam"\n}',
    },
    {
      query: `# Ban the author of a comment (by email, never shown); their new comments are hidden.
mutation Ban($commentId: ID!, $reason: String) {
  banAuthor(commentId: $commentId, reason: $reason) { id reason createdAt }
}

query Bans($first: Int = 20, $after: String) {
  bans(first: $first, after: $after) {
    nodes { id reason createdAt moderator { name } exampleComment { id authorName } }
    pageInfo { hasNextPage endCursor }
  }
}`,
      variables: '{\n  "commentId": "",\n  "reason": "repeated abuse"\n}',
    },
    {
      query: `# What moderators did, newest first; every filter is optional.
query Log($first: Int = 20, $after: String, $action: ModerationLogAction, $articleSlug: String) {
  moderationLog(first: $first, after: $after, action: $action, articleSlug: $articleSlug) {
    nodes { action moderator { name } commentId articleSlug reason createdAt }
    pageInfo { hasNextPage endCursor }
  }
  moderationCounts(articleSlug: $articleSlug) { pending approved hidden }
}`,
      variables: '{\n  "first": 20\n}',
    },
    {
      query: `# The moderation rules (admins change them; give only what changes).
query Settings {
  moderationSettings {
    mode maxLinks holdWords blockWords blockedEmailDomains
    trustReturningAuthors closeAfterDays editWindowMinutes
  }
}

mutation UpdateSettings($input: ModerationSettingsInput!) {
  updateModerationSettings(input: $input) { mode maxLinks holdWords blockWords }
}`,
      variables: '{\n  "input": { "holdWords": ["casino"] }\n}',
    },
    {
      query: `# Log in with the box above, or run this and the token is used from then on.
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    token
    expiresAt
    moderator { name role }
  }
}`,
      variables: '{\n  "email": "",\n  "password": ""\n}',
    },
    {
      query: `# New approved comments of an article, live over /graphql/ws.
subscription Live($slug: String!) {
  commentApproved(articleSlug: $slug) { id authorName body createdAt }
}`,
      variables: '{\n  "slug": ""\n}',
    },
    {
      query: `# Comments entering and leaving the queue, live (log in first).
subscription LiveQueue {
  moderationQueueChanged {
    change
    comment { id status authorName authorEmail body moderationReasons { code detail } }
  }
}`,
      variables: "{}",
    },
  ];

  let token = null;
  const status = document.getElementById("parley-status");
  const loginForm = document.getElementById("parley-login");
  const session = document.getElementById("parley-session");
  const who = document.getElementById("parley-who");

  const signedIn = (login) => {
    token = login.token;
    who.textContent = `Logged in as ${login.moderator.name} (${login.moderator.role}); the token goes in every request's Authorization header.`;
    session.hidden = false;
    loginForm.hidden = true;
    status.textContent = "";
  };

  const LOGIN = "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { token moderator { name role } } }";

  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "Logging in…";
    const data = new FormData(loginForm);
    try {
      const response = await fetch("/graphql", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ query: LOGIN, variables: { email: data.get("email"), password: data.get("password") } }),
      });
      const answer = await response.json();
      if (answer.errors) {
        status.textContent = answer.errors[0].message;
        return;
      }
      loginForm.reset();
      signedIn(answer.data.login);
    } catch {
      status.textContent = "The server could not be reached.";
    }
  });

  document.getElementById("parley-logout").addEventListener("click", async () => {
    if (token) {
      await fetch("/graphql", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: "mutation { logout }" }),
      }).catch(() => {});
    }
    token = null;
    session.hidden = true;
    loginForm.hidden = false;
  });

  const mount = document.getElementById("graphiql");
  const base = GraphiQL.createFetcher({
    url: new URL(mount.dataset.endpoint, location.href).href,
    subscriptionUrl: new URL(mount.dataset.subscriptionEndpoint, location.href).href.replace(/^http/, "ws"),
    enableIncrementalDelivery: false,
  });
  // GraphiQL can keep the operation name of the tab run before, or send
  // none: either is replaced by the document's own when it has one (the
  // name is also what tells the fetcher that a subscription goes over the
  // WebSocket).
  // After a tab switch it can also hand over the previous tab's parsed
  // document, so a subscription is recognised from the text here.
  const operations = (query) =>
    [...query.replace(/#[^\n]*/g, "").matchAll(/\b(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/g)].map(
      (m) => ({ kind: m[1], name: m[2] }),
    );
  const fetcher = async (params, options = {}) => {
    const ops = operations(params.query);
    if (!ops.some((op) => op.name === params.operationName)) {
      params = { ...params, operationName: ops.length === 1 ? ops[0].name : null };
    }
    const chosen = ops.find((op) => op.name === params.operationName);
    if (chosen && chosen.kind === "subscription") {
      options = {
        ...options,
        documentAST: {
          kind: "Document",
          definitions: [{ kind: "OperationDefinition", operation: "subscription", name: { kind: "Name", value: chosen.name } }],
        },
      };
    }
    const headers = { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(options.headers || {}) };
    const result = await base(params, { ...options, headers });
    // A login run in the editor signs the playground in too.
    if (result && result.data && result.data.login && result.data.login.token && result.data.login.moderator) {
      signedIn(result.data.login);
    }
    return result;
  };

  // Tabs and headers live in memory: nothing of a session outlives the page.
  const memory = new Map();
  const storage = {
    getItem: (key) => (memory.has(key) ? memory.get(key) : null),
    setItem: (key, value) => memory.set(key, String(value)),
    removeItem: (key) => memory.delete(key),
    clear: () => memory.clear(),
    get length() {
      return memory.size;
    },
  };

  const root = ReactDOM.createRoot(mount);
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultTabs: OPERATIONS,
      // The first tab's variables (GraphiQL fills its editor from this prop).
      variables: OPERATIONS[0].variables,
      defaultEditorToolsVisibility: "variables",
      shouldPersistHeaders: false,
      storage,
    }),
  );
  document.documentElement.dataset.playgroundReady = "true";
})();
