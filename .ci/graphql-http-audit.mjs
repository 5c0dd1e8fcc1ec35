// Runs the GraphQL-over-HTTP conformance audit of the `graphql-http` package
// against a running server, and fails on any warning or error, and when
// fewer audits than MIN_OK passed (an audit that ran nothing proves nothing).
//
// Usage: GRAPHQL_HTTP_DIR=<dir> node .ci/graphql-http-audit.mjs <url>
// where `npm install --prefix <dir> graphql-http graphql` was run, and <url>
// is the GraphQL endpoint, e.g. http://127.0.0.1:8080/graphql.

import { createRequire } from 'node:module';
import path from 'node:path';

// Parley passes 61 MUST and SHOULD audits of graphql-http 1.22; a few less
// leaves room for the package to merge or drop one.
const MIN_OK = 60;

const url = process.argv[2];
const dir = process.env.GRAPHQL_HTTP_DIR;
if (!url || !dir) {
    console.error('usage: GRAPHQL_HTTP_DIR=<dir> node graphql-http-audit.mjs <url>');
    process.exit(2);
}

// Resolve `graphql-http` from <dir>/node_modules, not from this repository.
const require = createRequire(path.join(path.resolve(dir), 'package.json'));
const { auditServer } = require('graphql-http');

// What the server answered, for a result that is not ok: status, media type
// and the start of the body, on one line.
async function describeResponse(response) {
    if (!response) {
        return '';
    }
    let body = '<body already read by the audit>';
    if (!response.bodyUsed) {
        try {
            body = (await response.text()).replace(/\s+/g, ' ').trim();
        } catch {
            body = '<unreadable body>';
        }
    }
    if (body.length > 200) {
        body = `${body.slice(0, 200)}…`;
    }
    const type = response.headers.get('content-type') ?? '<no content-type>';
    return ` [HTTP ${response.status}; ${type}; ${body}]`;
}

let results;
try {
    results = await auditServer({ url });
} catch (err) {
    console.error(`graphql-http audit could not run against ${url}: ${err?.stack ?? err}`);
    process.exit(1);
}

const counts = { ok: 0, warn: 0, error: 0, notice: 0 };
for (const result of results) {
    counts[result.status] = (counts[result.status] ?? 0) + 1;
    const head = `${result.status.padEnd(6)} ${result.id} ${result.name}`;
    if (result.status === 'ok') {
        console.log(head);
    } else {
        console.log(`${head}: ${result.reason}${await describeResponse(result.response)}`);
    }
}

// Notices are failed MAY audits: optional, reported but not counted.
if (counts.notice > 0) {
    console.log(`graphql-http audit: ${counts.notice} notices (optional, not counted)`);
}
console.log(
    `graphql-http audit: ${counts.ok} ok, ${counts.warn} warnings, ${counts.error} errors`,
);
if (counts.ok < MIN_OK) {
    console.error(`graphql-http audit: only ${counts.ok} audits passed; at least ${MIN_OK} must`);
}
process.exit(counts.warn > 0 || counts.error > 0 || counts.ok < MIN_OK ? 1 : 0);
