#!/usr/bin/env python3
"""Hostile traffic against a real Parley: starts the given binary on a
throwaway SQLite database with production defaults (flood control on),
sends what an attacker would, and checks each answer. Standard library only.

Usage: python3 .ci/attack.py path/to/parley
"""

import base64
import concurrent.futures
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ADMIN_EMAIL = "attack-admin@parley.test"
ADMIN_PASSWORD = "attack admin password"
READER_EMAIL = "private.reader@readers.example"


class Server:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="parley-attack.")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": f"sqlite://{self.dir}/parley.db",
            "PARLEY_LISTEN": f"127.0.0.1:{port}",
            "PARLEY_ADMIN_EMAIL": ADMIN_EMAIL,
            "PARLEY_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "RUST_LOG": "warn",
        })
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([binary], env=env, cwd=self.dir,
                                     stdout=self.log, stderr=self.log)
        for _ in range(600):
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("attack: the server did not come up")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
        with open(os.path.join(self.dir, "server.log")) as log:
            text = log.read()
        shutil.rmtree(self.dir, ignore_errors=True)
        return text

    def request(self, method, path, body=None, headers=None):
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def gql(self, query, variables=None, token=None, extra_headers=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        headers.update(extra_headers or {})
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        status, text = self.request("POST", "/graphql", body, headers)
        return status, text, json.loads(text) if text.startswith("{") else None


HALF_SENT = b"POST /graphql HTTP/1.1\r\nHost: parley.test\r\nContent-Type: appl"
WS_HANDSHAKE = (b"GET /graphql/ws HTTP/1.1\r\nHost: parley.test\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n")


def connect_from(server, local_ip):
    """A TCP connection to the server from a loopback address of our choice."""
    host, port = server.base.rsplit("/", 1)[1].split(":")
    s = socket.socket()
    s.bind((local_ip, 0))
    s.settimeout(5)
    s.connect((host, int(port)))
    return s


def wait_closed(sockets, deadline):
    """Reads each socket until the server closes it or `deadline` passes;
    returns {socket: everything it sent} for those closed."""
    open_ = list(sockets)
    received = {s: b"" for s in sockets}
    closed = {}
    while open_ and time.time() < deadline:
        ready, _, _ = select.select(open_, [], [], min(0.2, max(0, deadline - time.time())))
        for s in ready:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data:
                received[s] += data
            else:
                closed[s] = received[s]
                open_.remove(s)
    return closed


def code(answer):
    try:
        return answer["errors"][0]["extensions"]["code"]
    except (KeyError, IndexError, TypeError):
        return None


def main():
    binary = os.path.abspath(sys.argv[1])
    server = Server(binary)
    results = []
    anonymous_bodies = []

    def check(name, ok, detail=""):
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}")

    def anon(query, variables=None, **kw):
        status, text, answer = server.gql(query, variables, **kw)
        anonymous_bodies.append(text)
        return status, text, answer

    _, _, login = server.gql(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        {"e": ADMIN_EMAIL, "p": ADMIN_PASSWORD})
    token = login["data"]["login"]["token"]
    server.gql('mutation { upsertArticle(input: {slug: "target", title: "Target"}) { id } }',
               token=token)
    post = "mutation($i: PostCommentInput!) { postComment(input: $i) { id status } }"

    def comment(email, body):
        return {"i": {"articleSlug": "target", "authorName": "Reader", "authorEmail": email,
                      "body": body}}

    _, _, first = anon(post, comment(READER_EMAIL, "A first, honest comment."))
    comment_id = first["data"]["postComment"]["id"]
    server.gql("mutation($id: ID!) { approveComment(id: $id) { id } }", {"id": comment_id},
               token=token)

    # Transport.
    csrf = json.dumps({"query": 'mutation { postComment(input: {articleSlug: "target", '
                                'authorName: "X", authorEmail: "csrf@readers.example", '
                                'body: "forged"}) { id } }'}).encode()
    status, _ = server.request("POST", "/graphql", csrf, {"Content-Type": "text/plain"})
    check("a cross-site text/plain mutation is refused (415)", status == 415, str(status))
    status, _ = server.request("GET", "/graphql?query=" + urllib.request.quote(
        'mutation { logout }'))
    check("a mutation over GET is refused (405)", status == 405, str(status))
    batch = json.dumps([{"query": "{ __typename }"}] * 50).encode()
    status, _ = server.request("POST", "/graphql", batch, {"Content-Type": "application/json"})
    check("a batch of 50 operations is refused (400)", status == 400, str(status))
    huge = json.dumps({"query": "{ __typename }", "variables": {"pad": "x" * 200_000}}).encode()
    status, _ = server.request("POST", "/graphql", huge, {"Content-Type": "application/json"})
    check("a 200 KB body is refused (413)", status == 413, str(status))

    # Query shapes.
    inner = "id"
    for _ in range(50):
        inner = f"id replies(first: 1) {{ nodes {{ {inner} }} }}"
    _, _, deep = anon(f'{{ article(slug: "target") {{ comments {{ nodes {{ {inner} }} }} }} }}')
    check("a query nested 50 levels deep is refused",
          code(deep) == "BAD_USER_INPUT" and "data" not in deep, str(deep)[:200])
    aliases = " ".join(f"a{i}: __typename" for i in range(1000))
    _, _, bomb = anon(f"{{ {aliases} }}")
    check("1,000 aliases are refused", code(bomb) == "BAD_USER_INPUT", str(bomb)[:200])
    inner = "id"
    for _ in range(4):
        inner = f"id replies(first: 100) {{ nodes {{ {inner} }} }}"
    _, _, wide = anon(
        f'{{ article(slug: "target") {{ comments(first: 100) {{ nodes {{ {inner} }} }} }} }}')
    check("first: 100 five levels down is refused", code(wide) == "BAD_USER_INPUT",
          str(wide)[:200])

    # Forged tokens.
    claims = base64.urlsafe_b64encode(json.dumps({
        "sub": "00000000-0000-7000-8000-000000000000", "iss": "parley",
        "aud": "parley-moderation", "exp": int(time.time()) + 600}).encode()).rstrip(b"=")
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
    for name, forged in [("alg none", (unsigned + b"." + claims + b".").decode()),
                         ("a garbage token", "garbage"),
                         ("a truncated real token", token[:-4])]:
        _, _, answer = anon("{ moderationQueue { nodes { id authorEmail } } }", token=forged)
        check(f"{name} is refused", code(answer) == "UNAUTHENTICATED", str(answer)[:200])

    # Readers: flood and repeats.
    _, _, again = anon(post, comment("other.reader@readers.example", "Posting again at once."))
    check("a second comment from the same address within 15 s is rate limited",
          code(again) == "RATE_LIMITED" and again["errors"][0]["extensions"].get("retryAfter", 0) > 0,
          str(again)[:200])
    _, _, forwarded = anon(post, comment("third.reader@readers.example", "Spoofed address."),
                           extra_headers={"X-Forwarded-For": "203.0.113.9"})
    check("X-Forwarded-For from an untrusted peer does not dodge the limit",
          code(forwarded) == "RATE_LIMITED", str(forwarded)[:200])

    # Moderators: brute force.
    guesses = [server.gql(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        {"e": ADMIN_EMAIL, "p": f"guess number {i}"})[2] for i in range(11)]
    check("ten wrong passwords are answered UNAUTHENTICATED",
          all(code(g) == "UNAUTHENTICATED" for g in guesses[:10]),
          str([code(g) for g in guesses]))
    check("the eleventh try is rate limited", code(guesses[10]) == "RATE_LIMITED",
          str(guesses[10])[:200])

    # Load: no 5xx under many concurrent readers.
    read = '{ article(slug: "target") { commentCount comments { nodes { id authorName body } } } }'
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(lambda _: anon(read)[0], range(400)))
    check("400 concurrent reads get no 5xx", all(s < 500 for s in statuses),
          str(sorted(set(statuses))))

    # Connections that go quiet: half-sent headers from one address (64 may
    # be open per address; the rest are refused at once), and WebSockets
    # that never send connection_init (32 per address).
    slow = [connect_from(server, "127.0.1.1") for _ in range(100)]
    for s in slow:
        try:
            s.sendall(HALF_SENT)
        except OSError:
            pass
    silent = []
    for _ in range(40):
        s = connect_from(server, "127.0.2.1")
        s.sendall(WS_HANDSHAKE)
        silent.append(s)
    started = time.time()
    refused = wait_closed(slow, started + 3)
    check("half-sent headers over the per-address cap are refused at once",
          len(refused) == 36, f"{len(refused)} of 100 closed within 3 s")
    status, text, typename = server.gql("{ __typename }")
    check("{ __typename } is answered while slow clients hold connections",
          status == 200 and typename == {"data": {"__typename": "Query"}}, f"{status} {text[:200]}")
    closed = wait_closed([s for s in slow if s not in refused], started + 25)
    check("the other half-sent headers are closed after the header timeout",
          len(closed) == 64, f"{len(closed)} of 64 closed within 25 s")
    ended = wait_closed(silent, started + 25)
    upgraded = [data for data in ended.values() if data.startswith(b"HTTP/1.1 101")]
    with_4408 = [data for data in upgraded if b"\x88" in data and b"\x11\x38" in data]
    over_cap = [data for data in ended.values() if data.startswith(b"HTTP/1.1 503")]
    check("silent WebSockets are closed with 4408",
          len(ended) == 40 and len(upgraded) == 32 and len(with_4408) == 32,
          f"{len(ended)} closed, {len(upgraded)} upgraded, {len(with_4408)} with 4408")
    check("WebSockets over the per-address cap get 503", len(over_cap) == 8,
          f"{len(over_cap)} of 8")
    for s in slow + silent:
        s.close()
    status, text, typename = server.gql("{ __typename }")
    check("{ __typename } is answered after the quiet connections",
          status == 200 and typename == {"data": {"__typename": "Query"}}, f"{status} {text[:200]}")

    # Privacy over everything an anonymous caller saw.
    leaked = [body for body in anonymous_bodies if READER_EMAIL in body]
    check("no anonymous answer carries the reader's email", not leaked, str(leaked[:1])[:200])

    log = server.stop()
    check("the server stopped cleanly on SIGTERM with no panic",
          server.proc.returncode == 0 and "panicked" not in log, log[-500:])
    passed = sum(results)
    print(f"attack: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
