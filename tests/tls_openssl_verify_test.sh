#!/bin/bash
# openssl s_client -starttls smtp (Debian's OpenSSL 3, default security
# level 2) against fakemx --cert=VARIANT: the X.509 verification result the
# client reports, and that -verify_return_error turns every failure into a
# failed handshake.
#
#   tls_openssl_verify_test.sh FAKEMX VARIANT HOSTNAME VERIFY_NAME CODE STRICT_CODE
#
# CODE is the final "Verify return code" when s_client is told to go on
# after an error; STRICT_CODE is the first error, the one that aborts the
# handshake under -verify_return_error. They differ only where OpenSSL's
# chain building reports a second error after the first (see BUILD.bazel).
# HOSTNAME is fakemx's --hostname, the name its certificates are issued
# for; VERIFY_NAME is the name the client expects.
export FAKEMX_HOSTNAME="$3"
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
FAKEMX_BIN="$1" VARIANT="$2" VERIFY_NAME="$4" CODE="$5" STRICT_CODE="$6"
require_peer "openssl s_client" openssl "Debian package openssl"

fakemx_start_tls "$FAKEMX_BIN" --cert="$VARIANT"

# s_client: SNI names the server; -name is the EHLO domain it sends before
# STARTTLS; -nocommands so that "QUIT" is sent rather than read as
# s_client's own Q(uit) command; -ign_eof so that it keeps reading until
# fakemx answers QUIT and closes, instead of leaving at the end of stdin.
s_client() {
  printf 'EHLO client.test\nQUIT\n' |
    timeout 30 openssl s_client -starttls smtp -connect "127.0.0.1:$FAKEMX_PORT" \
      -servername "$VERIFY_NAME" -name client.test -CAfile "$FAKEMX_CA" \
      -verify_hostname "$VERIFY_NAME" -nocommands -ign_eof -crlf "$@"
}

# 1. Verification reported, handshake completed anyway (s_client's default):
# the result is on the first unindented "Verify return code" line (the
# session dump repeats it, indented), and SMTP goes on over TLS.
set +e
s_client >"$FIXTURE_TMP/lenient.out" 2>"$FIXTURE_TMP/lenient.err"
RC=$?
set -e
show() { echo "--- s_client stdout ---"; cat "$1.out"; echo "--- stderr ---"; cat "$1.err"; } >&2
[[ $RC == 0 ]] || { show "$FIXTURE_TMP/lenient"; fail "s_client without -verify_return_error exited $RC"; }
GOT=$(sed -n 's/^Verify return code: \([0-9][0-9]*\) .*/\1/p' "$FIXTURE_TMP/lenient.out" | head -n 1)
[[ "$GOT" == "$CODE" ]] || {
  show "$FIXTURE_TMP/lenient"
  fail "--cert=$VARIANT, verifying $VERIFY_NAME: Verify return code '$GOT', want $CODE"
}
grep -q '^New, TLSv1\.[23], Cipher is ' "$FIXTURE_TMP/lenient.out" || {
  show "$FIXTURE_TMP/lenient"
  fail "no TLS 1.2/1.3 session in s_client's report"
}
# Replies to the EHLO and QUIT sent over TLS: fakemx must no longer offer
# STARTTLS inside TLS (RFC 3207 §4.2), and says goodbye.
grep -q "^250-$TLS_HOSTNAME" "$FIXTURE_TMP/lenient.out" || {
  show "$FIXTURE_TMP/lenient"
  fail "no EHLO reply over TLS"
}
grep -q '^221 ' "$FIXTURE_TMP/lenient.out" || { show "$FIXTURE_TMP/lenient"; fail "no 221 over TLS"; }
if sed -n '/^New, TLSv/,$p' "$FIXTURE_TMP/lenient.out" | grep -q '^250[- ]STARTTLS'; then
  show "$FIXTURE_TMP/lenient"
  fail "STARTTLS advertised again inside TLS"
fi

# 2. -verify_return_error: a verification error aborts the handshake.
set +e
s_client -verify_return_error >"$FIXTURE_TMP/strict.out" 2>"$FIXTURE_TMP/strict.err"
RC=$?
set -e
if [[ "$STRICT_CODE" == 0 ]]; then
  [[ $RC == 0 ]] || { show "$FIXTURE_TMP/strict"; fail "-verify_return_error: exit $RC for a valid certificate"; }
  grep -q '^221 ' "$FIXTURE_TMP/strict.out" || { show "$FIXTURE_TMP/strict"; fail "no 221 over TLS"; }
else
  [[ $RC != 0 && $RC != 124 ]] || {
    show "$FIXTURE_TMP/strict"
    fail "-verify_return_error: exit $RC, want a failed handshake (non-zero, not the timeout)"
  }
  grep -q "^verify error:num=$STRICT_CODE:" "$FIXTURE_TMP/strict.err" "$FIXTURE_TMP/strict.out" || {
    show "$FIXTURE_TMP/strict"
    fail "-verify_return_error: no 'verify error:num=$STRICT_CODE:'"
  }
  if grep -q '^221 ' "$FIXTURE_TMP/strict.out"; then
    show "$FIXTURE_TMP/strict"
    fail "-verify_return_error: SMTP went on after a verification error"
  fi
fi

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
echo "PASS: --cert=$VARIANT --hostname=$FAKEMX_HOSTNAME verified as $VERIFY_NAME: code $CODE, first error $STRICT_CODE"
