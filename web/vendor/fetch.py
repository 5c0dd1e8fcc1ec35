#!/usr/bin/env python3
"""Fetches the playground's third-party files (and the accessibility checker
the browser tests inject) from the npm registry, unmodified.

Each package is downloaded as the tarball the registry publishes, its
SHA-512 checked against the `dist.integrity` the registry publishes for that
exact version (the download is refused otherwise), and only the listed files
and the licence are kept, under `<dir>/<package>-<version>/`.

To update: change a version below, run `python3 web/vendor/fetch.py`, delete
the old folder, update the paths in src/http/playground.rs, and check the
playground in a browser (`cargo test --test api browser`).

    python3 web/vendor/fetch.py            # the playground's files (committed)
    python3 web/vendor/fetch.py --tests    # axe-core for the browser tests (not committed)
"""

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request

REGISTRY = "https://registry.npmjs.org"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# React 18.3.1 is the last React published with browser (UMD) builds, and
# GraphiQL 4.1 the last line published with a browser bundle.
PLAYGROUND = [
    ("react", "18.3.1", ["umd/react.production.min.js"]),
    ("react-dom", "18.3.1", ["umd/react-dom.production.min.js"]),
    ("graphiql", "4.1.2", ["graphiql.min.js", "graphiql.min.css"]),
]
TESTS = [
    ("axe-core", "4.10.3", ["axe.min.js"]),
]
LICENCES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE")


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def verify(data, integrity):
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        sys.exit(f"unexpected integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        sys.exit(f"integrity mismatch: registry says {integrity}, got sha512-{actual}")


def install(name, version, files, target):
    meta = json.loads(fetch(f"{REGISTRY}/{name}/{version}"))
    integrity = meta["dist"]["integrity"]
    tarball = fetch(meta["dist"]["tarball"])
    verify(tarball, integrity)
    folder = os.path.join(target, f"{name}-{version}")
    os.makedirs(folder, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        members = {m.name.removeprefix("package/"): m for m in archive.getmembers() if m.isfile()}
        licence = next((n for n in LICENCES if n in members), None)
        if licence is None:
            sys.exit(f"{name}@{version} has no licence file")
        for path in [*files, licence]:
            data = archive.extractfile(members[path]).read()
            out = os.path.join(folder, os.path.basename(path))
            with open(out, "wb") as f:
                f.write(data)
            sri = base64.b64encode(hashlib.sha384(data).digest()).decode()
            print(f"{name}@{version} {path}: sha384-{sri}")
    with open(os.path.join(folder, "INTEGRITY"), "w") as f:
        f.write(f"{name}@{version} tarball {integrity}\n")


def main():
    tests = "--tests" in sys.argv[1:]
    packages = TESTS if tests else PLAYGROUND
    target = os.path.join(ROOT, "tests", "browser", "vendor") if tests else HERE
    for name, version, files in packages:
        install(name, version, files, target)


if __name__ == "__main__":
    main()
