#!/usr/bin/env bash
# The read rate of a 50-comment thread with and without compression, in one
# run against one server: the GET read of scenario 1, answered from the
# read cache as Parley runs by default, once with no Accept-Encoding and
# once with `gzip, br`. Needs wrk (Debian's package) and a release build.
#
# Usage: bash bench/compression.sh [path/to/parley] [seconds]
set -euo pipefail

binary=${1:-target/release/parley}
seconds=${2:-10}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
[ -x "$binary" ] || { echo "no binary at $binary: cargo build --release" >&2; exit 2; }

work=$(mktemp -d /tmp/parley-compression.XXXXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
DATABASE_URL="sqlite://$work/parley.db" PARLEY_LISTEN="127.0.0.1:$port" \
PARLEY_MODERATION=post PARLEY_FLOOD_INTERVAL_SECS=0 RUST_LOG=warn \
PARLEY_ADMIN_EMAIL=bench@parley.test PARLEY_ADMIN_PASSWORD='bench admin password' \
    "$binary" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "$base/healthz" && break; sleep 0.1; done

gql() { curl -sf "$base/graphql" -H 'Content-Type: application/json' "$@"; }
token=$(gql -d '{"query":"mutation { login(email: \"bench@parley.test\", password: \"bench admin password\") { token } }"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["login"]["token"])')
gql -H "Authorization: Bearer $token" \
    -d '{"query":"mutation { upsertArticle(input: {slug: \"thread\", title: \"A thread\"}) { id } }"}' >/dev/null
for i in $(seq 1 50); do
    gql -d "{\"query\":\"mutation { postComment(input: {articleSlug: \\\"thread\\\", authorName: \\\"Reader $i\\\", authorEmail: \\\"reader$i@readers.example\\\", body: \\\"Comment number $i: a few sentences of an ordinary length, the kind a reader leaves under an article about the budget vote.\\\"}) { id } }\"}" >/dev/null
done

query='{ article(slug: "thread") { title commentCount comments(first: 50) { nodes { id authorName body createdAt replyCount } } } }'
path="/graphql?query=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$query")"
plain=$(curl -s "$base$path" | wc -c)
gzip_bytes=$(curl -s -H 'Accept-Encoding: gzip' "$base$path" | wc -c)
br_bytes=$(curl -s -H 'Accept-Encoding: br' "$base$path" | wc -c)

rate() {
    wrk -t2 -c64 -d"${seconds}s" "$@" "$base$path" | awk '/Requests\/sec/ {print $2}'
}
plain_rate=$(rate)
compressed_rate=$(rate -H 'Accept-Encoding: gzip, br')
echo "50-comment thread: $plain bytes plain, $gzip_bytes gzip, $br_bytes brotli"
echo "reads/s without compression: $plain_rate"
echo "reads/s with Accept-Encoding: gzip, br: $compressed_rate"
python3 -c "print(f'ratio compressed / plain: {float(\"$compressed_rate\") / float(\"$plain_rate\"):.2f}')"
