#!/usr/bin/env bash
# Starts a Parley binary on a fresh SQLite database and runs the
# GraphQL-over-HTTP conformance audit of `graphql-http` against it.
# Fails on any audit warning or error, and when too few audits passed.
#
# Usage: bash .ci/graphql-http-audit.sh path/to/parley
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/parley (an executable)" >&2
    exit 2
fi
binary=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/server.sh
. "$here/lib/server.sh"

npm_dir=$(mktemp -d)
work_dir=$(mktemp -d)
server_pid=

cleanup() {
    local status=$?
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$npm_dir" "$work_dir"
    exit "$status"
}
trap cleanup EXIT

echo "installing graphql-http into $npm_dir"
npm install --prefix "$npm_dir" --no-audit --no-fund --silent \
    'graphql-http@^1.22.0' 'graphql@^16.8.0'
echo "graphql-http $(node -p "require('$npm_dir/node_modules/graphql-http/package.json').version")," \
    "graphql $(node -p "require('$npm_dir/node_modules/graphql/package.json').version")"

echo "starting $binary"
start_parley "$binary" "$work_dir"

status=0
GRAPHQL_HTTP_DIR="$npm_dir" node "$here/graphql-http-audit.mjs" "$base/graphql" || status=$?
if [ "$status" -ne 0 ]; then
    echo "the end of parley's log:" >&2
    tail -n 20 "$log" >&2 || true
fi
exit "$status"
