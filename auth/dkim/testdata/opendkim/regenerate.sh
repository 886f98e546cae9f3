#!/bin/sh
# Rewrites the OpenDKIM differential corpus in this directory from keys/*.pem
# (generated once with `openssl genrsa -traditional` and `openssl genpkey
# -algorithm ed25519`; kept, so the corpus is byte-for-byte reproducible).
# Run from anywhere inside the workspace; then `git diff` shows any change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
cd "$root"
rm -f "$here"/*.eml
./bazelw run //auth/dkim:opendkim_peer_corpus_gen -- "$here"
