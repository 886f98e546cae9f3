#!/usr/bin/env python3
"""Embeds files into fakemx at build time, as C++ initializers.

usage: embed_files.py scenarios OUT.inc NAME.yaml...
       embed_files.py assets OUT.inc FILE...

One tool for every file fakemx carries in its binary, so there is one way
bytes become a C++ literal: each file is written as an ordinary string
literal with every byte that is not printable ASCII (and '"', '\\', '?')
escaped in octal, wrapped in std::string_view{..., SIZE}. That keeps the
bytes exactly (a raw string literal would not: the compiler maps CR LF in
source to LF) and a NUL or any delimiter in a file cannot end it early.

scenarios: one {name, summary, yaml} per file, in the order given (that is
the `fakemx --list-scenarios` order). The name is the file's stem; the
summary is the file's `description:` line, which must be a double-quoted
string without escapes (the parser reads the same value, and scenario_test
checks that both agree).

assets: one {name, content_type, etag, csp_hash, bytes} per file
(fakemx/ui_assets.h):
the name is the file's base name, the Content-Type follows from its
extension (only the ones listed in CONTENT_TYPES; another fails the build
rather than being served as something a browser would guess at), and the
ETag is a strong validator (RFC 9110 §8.8.3): a quoted prefix of the
SHA-256 of the bytes, so it changes exactly when the file does. The
csp_hash is the CSP hash-source of the bytes ('sha256-' and the base64 of
the whole digest, CSP3 §2.3.1), which lets the page carry app.css and
first-view.js inline without allowing any other inline style or script.

Fails, and so fails the build, on anything it cannot embed faithfully.
"""
import base64
import hashlib
import os
import re
import sys

DESCRIPTION = re.compile(rb'^description: "([^"\\]*)"\s*$', re.MULTILINE)

# RFC 9110 §8.3; text/javascript is the one JavaScript type (RFC 9239 §6).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}

# 128 bits of the digest: collisions between two builds' files are not a
# concern at that size, and the header stays short.
ETAG_HEX_DIGITS = 32

# Source line width of the generated literal (adjacent literals concatenate).
CHUNK = 96


def literal(data):
    """Returns a C++ expression std::string_view{"...", N} holding `data`."""
    pieces = []
    line = []
    width = 0
    for b in data:
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C, 0x3F):
            text = chr(b)
        else:
            # Three octal digits always: a following digit cannot extend it.
            text = "\\%03o" % b
        line.append(text)
        width += len(text)
        if width >= CHUNK or b == 0x0A:
            pieces.append('"' + "".join(line) + '"')
            line, width = [], 0
    if line or not pieces:
        pieces.append('"' + "".join(line) + '"')
    body = "\n        ".join(pieces)
    return f"std::string_view{{{body},\n        {len(data)}}}"


def simple(text):
    """A short ASCII literal for names and header values."""
    if not re.fullmatch(r"[ -~]*", text) or '"' in text or "\\" in text or "?" in text:
        raise ValueError(f"cannot embed {text!r} as a plain literal")
    return f'"{text}"'


def scenarios(inputs):
    entries = []
    for path in inputs:
        name = os.path.basename(path)
        if not name.endswith(".yaml"):
            raise ValueError(f"{path}: a catalogue entry is NAME.yaml")
        name = name[: -len(".yaml")]
        if not re.fullmatch(r"[a-z0-9.-]+", name):
            raise ValueError(f"{path}: catalogue names are lower-case letters, digits, '.', '-'")
        with open(path, "rb") as f:
            data = f.read()
        found = DESCRIPTION.findall(data)
        if len(found) != 1:
            raise ValueError(f'{path}: needs exactly one line description: "..." '
                             "(double-quoted, no escapes)")
        summary = found[0].decode("utf-8")
        entries.append(f"    {{{simple(name)}, {literal(summary.encode('utf-8'))},\n"
                       f"     {literal(data)}}},\n")
    return entries


def assets(inputs):
    entries = []
    seen = set()
    for path in inputs:
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1]
        if ext not in CONTENT_TYPES:
            raise ValueError(f"{path}: no Content-Type known for {ext or 'no extension'!r}; "
                             f"known: {', '.join(sorted(CONTENT_TYPES))}")
        if not re.fullmatch(r"[a-z0-9._-]+", name) or name in seen:
            raise ValueError(f"{path}: asset names are unique lower-case letters, digits, '.', '_', '-'")
        seen.add(name)
        with open(path, "rb") as f:
            data = f.read()
        digest = hashlib.sha256(data)
        etag = '\\"' + digest.hexdigest()[:ETAG_HEX_DIGITS] + '\\"'
        csp_hash = "'sha256-" + base64.b64encode(digest.digest()).decode("ascii") + "'"
        entries.append(f'    {{{simple(name)}, {simple(CONTENT_TYPES[ext])}, "{etag}",\n'
                       f"     {simple(csp_hash)},\n"
                       f"     {literal(data)}}},\n")
    return entries


def main(argv):
    if len(argv) < 4 or argv[1] not in ("scenarios", "assets"):
        sys.stderr.write(__doc__)
        return 2
    mode, out_path, inputs = argv[1], argv[2], argv[3:]
    try:
        entries = scenarios(inputs) if mode == "scenarios" else assets(inputs)
    except (ValueError, UnicodeDecodeError, OSError) as e:
        sys.stderr.write(f"embed_files.py: {e}\n")
        return 1
    with open(out_path, "w", encoding="ascii") as out:
        out.write(f"// Generated by fakemx/embed_files.py {mode}. Do not edit.\n")
        out.writelines(entries)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
