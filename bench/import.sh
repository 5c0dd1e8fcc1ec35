#!/usr/bin/env bash
# The time and peak memory of `parley import wordpress` on a large export:
# generates a WXR 1.2 file of POSTS posts with COMMENTS comments each
# (nested replies, held, spam and trashed comments, pingbacks, like a real
# site's), imports it into a fresh SQLite database, imports it again (which
# adds nothing), and prints /usr/bin/time's figures for both runs.
#
# Usage: bash bench/import.sh [path/to/parley] [posts] [comments-per-post]
# Default: target/release/parley, 10,000 posts x 100 comments (1M comments,
# about 200 MB). Set DATABASE_URL to import into PostgreSQL instead.
set -euo pipefail

binary=${1:-target/release/parley}
posts=${2:-10000}
per_post=${3:-100}
[ -x "$binary" ] || { echo "no binary at $binary: cargo build --release" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time is needed: apt-get install time" >&2; exit 2; }

work=$(mktemp -d /tmp/parley-import.XXXXXX)
trap 'rm -rf "$work"' EXIT
file="$work/large.xml"

python3 - "$file" "$posts" "$per_post" <<'PY'
import sys
path, posts, per_post = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
words = ("harbour ferry timetable winter council library pier tide weather "
         "market school road bridge festival lifeboat").split()
with open(path, "w", buffering=1 << 20) as out:
    w = out.write
    w('<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
      'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n'
      '<title>Large Site</title>\n<link>https://large.example</link>\n'
      '<wp:wxr_version>1.2</wp:wxr_version>\n'
      '<wp:base_site_url>https://large.example</wp:base_site_url>\n')
    cid = 0
    for p in range(posts):
        w(f'<item>\n<title><![CDATA[Story number {p}]]></title>\n'
          f'<link>https://large.example/{2000 + p % 25}/{p % 12 + 1:02d}/story-{p}/</link>\n'
          f'<content:encoded><![CDATA[<p>{" ".join(words)}</p>]]></content:encoded>\n'
          f'<wp:post_id>{p + 1}</wp:post_id>\n'
          f'<wp:post_date_gmt><![CDATA[2020-01-01 00:00:00]]></wp:post_date_gmt>\n'
          f'<wp:comment_status><![CDATA[{"closed" if p % 10 == 0 else "open"}]]></wp:comment_status>\n'
          f'<wp:post_name><![CDATA[story-{p}]]></wp:post_name>\n'
          '<wp:post_type><![CDATA[post]]></wp:post_type>\n')
        first = cid + 1
        for c in range(per_post):
            cid += 1
            parent = first + (c - 1) // 2 if c > 0 and c % 3 else 0
            approved = {7: "0", 11: "spam", 13: "trash"}.get(c % 50, "1")
            kind = "pingback" if c % 97 == 5 else "comment"
            body = " ".join(words[(cid + i) % len(words)] for i in range(12))
            w(f'<wp:comment>\n<wp:comment_id>{cid}</wp:comment_id>\n'
              f'<wp:comment_author><![CDATA[Reader {cid % 5000}]]></wp:comment_author>\n'
              f'<wp:comment_author_email><![CDATA[reader{cid % 5000}@example.org]]></wp:comment_author_email>\n'
              f'<wp:comment_author_IP><![CDATA[192.0.2.{cid % 250}]]></wp:comment_author_IP>\n'
              f'<wp:comment_date_gmt><![CDATA[2020-{1 + p % 12:02d}-{1 + c % 28:02d} {c % 24:02d}:{cid % 60:02d}:00]]></wp:comment_date_gmt>\n'
              f'<wp:comment_content><![CDATA[<p>Comment {cid}: {body}.</p>\n\n'
              f'<a href="https://large.example/story-{p}/">link</a> &amp; more]]></wp:comment_content>\n'
              f'<wp:comment_approved><![CDATA[{approved}]]></wp:comment_approved>\n'
              f'<wp:comment_type><![CDATA[{kind}]]></wp:comment_type>\n'
              f'<wp:comment_parent>{parent}</wp:comment_parent>\n</wp:comment>\n')
        w('</item>\n')
    w('</channel>\n</rss>\n')
PY

size=$(stat -c %s "$file")
echo "Generated $(( size / 1000000 )) MB: $posts posts, $(( posts * per_post )) comments."
export DATABASE_URL=${DATABASE_URL:-sqlite://$work/parley.db}
for run in first second; do
    echo "== $run import"
    /usr/bin/time -v "$binary" import wordpress "$file" >"$work/summary.txt" 2>"$work/time.txt" \
        || { cat "$work/time.txt" >&2; exit 1; }
    cat "$work/summary.txt"
    grep -E "Elapsed \(wall clock\)|Maximum resident set size|User time|System time" "$work/time.txt"
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    python3 -c "print(f'Peak memory / file size: {$rss_kb * 1024 / $size:.3f}')"
done
