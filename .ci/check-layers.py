#!/usr/bin/env python3
"""Fails when a module of Parley imports a layer above its own.

The layers, from the top: http -> graphql -> domain -> store, with auth
and events beside domain. Each may use what is below it, never what is
above it or (for auth) the domain beside it. See ARCHITECTURE.md.

Usage: python3 .ci/check-layers.py [SRC_DIR]   (default: src)
"""

import pathlib
import re
import sys

# For each layer, the layers it must not import.
FORBIDDEN = {
    "store": {"domain", "auth", "events", "graphql", "http", "app", "commands", "config"},
    "auth": {"domain", "events", "graphql", "http", "app", "commands", "config"},
    "events": {"domain", "auth", "graphql", "http", "app", "commands", "config"},
    "domain": {"graphql", "http", "app", "commands", "config"},
    "graphql": {"store", "http", "app", "commands", "config"},
    "http": {"store", "app", "commands", "config"},
}
FILE_LAYERS = {"events.rs": "events"}
# `crate::name` in a use line or a path, outside comments.
PATH = re.compile(r"\bcrate::([a-z_]+)")


def layer_of(path: pathlib.Path, src: pathlib.Path):
    parts = path.relative_to(src).parts
    if len(parts) > 1:
        return parts[0]
    return FILE_LAYERS.get(parts[0])


def main():
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    violations = []
    checked = 0
    for path in sorted(src.rglob("*.rs")):
        layer = layer_of(path, src)
        if layer not in FORBIDDEN:
            continue
        checked += 1
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("//", 1)[0]
            for target in PATH.findall(code):
                if target in FORBIDDEN[layer]:
                    violations.append(f"{path}:{number}: {layer} imports {target}: {line.strip()}")
    if checked == 0:
        print(f"check-layers: no source files under {src}")
        return 1
    for violation in violations:
        print(violation)
    print(f"check-layers: {checked} files, {len(violations)} imports against the layers")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
