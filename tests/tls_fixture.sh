# Sourced by the TLS interop tests (tests/tls_*), after tests/fakemx_fixture.sh
# and testing/conformance.sh: starts fakemx with its test PKI written to a
# fresh --tls-dir and checks the "tls" object of an envelope sidecar (a
# missing peer: require_peer, in testing/conformance.sh).
#
#   source tests/fakemx_fixture.sh
#   source testing/conformance.sh
#   source tests/tls_fixture.sh
#   require_peer openssl openssl "Debian package openssl"   # testing/conformance.sh
#   fakemx_start_tls "$FAKEMX_BIN" --cert=expired   # also sets FAKEMX_TLS_DIR, FAKEMX_CA
#   fakemx_start_tls "$FAKEMX_BIN" --smtps=127.0.0.1:0   # ... and FAKEMX_SMTPS_PORT
#   check_sidecar NAME tls.used=true tls.version='"TLSv1.3"'
#
# Every wait is bounded, like the rest of the fixture.

# The name fakemx's certificates are issued for (fakemx_fixture.sh passes
# --hostname=$FAKEMX_HOSTNAME, default mx.test) and the name clients verify.
TLS_HOSTNAME="${FAKEMX_HOSTNAME:-mx.test}"

# fakemx_start_tls BINARY [FLAGS...]: fakemx_start with --tls-dir set to a
# fresh directory; sets FAKEMX_TLS_DIR and FAKEMX_CA (the root to trust),
# and FAKEMX_SMTPS_PORT when FLAGS include --smtps=...:0.
fakemx_start_tls() {
  local bin="$1"
  shift
  local dir="$FIXTURE_TMP/tls.${#FAKEMX_PIDS[@]}"
  local want_smtps=0 flag
  for flag in "$@"; do
    [[ "$flag" == --smtps=* ]] && want_smtps=1
  done
  fakemx_start "$bin" --tls-dir="$dir" "$@"
  FAKEMX_TLS_DIR="$dir"
  FAKEMX_CA="$dir/ca.pem"
  local f
  for f in ca.pem chain.pem key.pem; do
    [[ -s "$dir/$f" ]] || fail "--tls-dir=$dir: $f missing or empty after 'listening'"
  done
  FAKEMX_SMTPS_PORT=""
  if ((want_smtps)); then
    # fakemx prints "listening on smtps" before "listening on smtp", which
    # fakemx_start has already waited for: the line is there or never will be.
    FAKEMX_SMTPS_PORT=$(sed -n 's/^fakemx: listening on smtps 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
      "$FAKEMX_OUT")
    [[ -n "$FAKEMX_SMTPS_PORT" ]] || fail "fakemx printed no smtps port before 'listening on smtp'"
  fi
}

# check_sidecar NAME PATH=JSON...: the envelope sidecar of message NAME (in
# $FAKEMX_MAILDIR) has each PATH (dotted keys) equal to the JSON value,
# e.g. tls.used=true tls.certificate='"expired"'. PATH~REGEX matches a
# whole string value instead (tests/json_expect.py --fullmatch).
check_sidecar() {
  local name="$1"
  shift
  /usr/bin/python3 tests/json_expect.py --fullmatch "$FAKEMX_MAILDIR/envelopes/$name.json" "$@" ||
    fail "sidecar of $name"
}

# The Maildir name in the last "250 2.0.0 Ok: queued as NAME" of a client's
# log, whatever prefix the client puts before replies (swaks: "<-  " in
# plaintext, "<~  " over TLS; curl -v: "< ").
queued_name_in() {
  sed -n 's/^.*250 2\.0\.0 Ok: queued as \([^[:space:]]*\).*$/\1/p' "$1" | tail -n 1
}

# failing LOG WHAT: shows a client's whole log, then fails the test.
failing() {
  echo "--- $1 ---" >&2
  cat "$1" >&2
  fail "$2"
}

# tls_s_client LOG [FLAGS...]: openssl s_client -starttls smtp against the
# fakemx started last, verifying $TLS_HOSTNAME against its ca.pem; sends
# EHLO and QUIT, writes everything to LOG and sets RC (bounded by 30 s).
tls_s_client() {
  local log="$1"
  shift
  set +e
  printf 'EHLO client.test\nQUIT\n' |
    timeout 30 openssl s_client -starttls smtp -connect "127.0.0.1:$FAKEMX_PORT" \
      -servername "$TLS_HOSTNAME" -name client.test -CAfile "$FAKEMX_CA" \
      -verify_hostname "$TLS_HOSTNAME" -nocommands -ign_eof -crlf "$@" >"$log" 2>&1
  RC=$?
  set -e
  echo "[openssl s_client $* exited $RC]" >>"$log"
}
