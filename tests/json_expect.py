#!/usr/bin/python3
"""Checks fields of a JSON document, for the sh tests' fixtures
(check_sidecar in tls_fixture.sh, expect in probe_fixture.sh).

Usage: json_expect.py [--fullmatch] FILE CHECK...

Each CHECK is PATH=JSON (the value at PATH equals JSON) or PATH~REGEX (the
value at PATH is a string REGEX matches: re.search, or re.fullmatch with
--fullmatch). PATH is dotted keys; a number indexes an array. Exits 0 when
every check holds; otherwise prints each mismatch and the whole document to
stderr and exits 1 (2 for a FILE that is not JSON or a malformed CHECK).
"""
import json
import re
import sys


def main(argv):
    fullmatch = argv[:1] == ["--fullmatch"]
    if fullmatch:
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    path, checks = argv[0], argv[1:]
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        print(f"{path}: not a JSON document: {e}", file=sys.stderr)
        return 2
    match = re.fullmatch if fullmatch else re.search
    bad = []
    for check in checks:
        m = re.fullmatch(r"([^=~]+)([=~])(.*)", check, re.S)
        if not m:
            print(f"malformed check {check!r} (want PATH=JSON or PATH~REGEX)", file=sys.stderr)
            return 2
        keys, op, want = m.groups()
        got = doc
        try:
            for key in keys.split("."):
                got = got[int(key)] if isinstance(got, list) else got[key]
        except (KeyError, IndexError, TypeError, ValueError):
            bad.append(f"{keys}: missing ({key!r} not found)")
            continue
        if op == "=" and got != json.loads(want):
            bad.append(f"{keys}: got {json.dumps(got)}, want {want}")
        if op == "~" and not (isinstance(got, str) and match(want, got)):
            bad.append(f"{keys}: got {json.dumps(got)}, want a string matching /{want}/")
    if bad:
        print(f"{path}:", *bad, f"whole document: {json.dumps(doc)}", sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
