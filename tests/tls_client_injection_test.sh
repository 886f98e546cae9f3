#!/bin/bash
# Response injection, the client's side of CVE-2011-0411 (Poddebniak et al.,
# "Why TLS is better without STARTTLS", USENIX Security 2021): a receiver
# (fakemx --starttls=inject-after-220) sends plaintext reply lines right after
# its "220 Ready to start TLS". Our own client (smtp::ClientSession +
# tls::Engine, driven by testing/smtp_send) must discard them unparsed, report
# their size, and still deliver over TLS with every reply matched to the right
# command. A control run against an honest receiver reports nothing, and a
# receiver that fails the handshake is reported as such.
source tests/fakemx_fixture.sh
FAKEMX_BIN="$1"
SMTP_SEND="$2"

check_run() {  # check_run LOG EXPECTED_INJECTION(yes|no)
  local log="$1" expect="$2"
  grep -qx 'outcome=completed' "$log" || fail "session did not complete: $(cat "$log")"
  grep -qx 'tls=yes' "$log" || fail "no TLS: $(cat "$log")"
  grep -qx 'tls_version=TLSv1.3' "$log" || fail "not TLS 1.3: $(cat "$log")"
  grep -qx 'verify_result=0' "$log" || fail "certificate did not verify: $(cat "$log")"
  grep -qx 'transaction=delivered' "$log" || fail "message not delivered: $(cat "$log")"
  # After the handshake the client re-EHLOs (RFC 3207 §4.2); that EHLO must be
  # answered by the server's real 250 over TLS, never by an injected line.
  local injected
  injected=$(sed -n 's/^injected_reply_bytes=//p' "$log")
  if [[ "$expect" == yes ]]; then
    [[ "$injected" -gt 0 ]] || fail "injected reply bytes not detected: $(cat "$log")"
  else
    [[ "$injected" == 0 ]] || fail "an honest receiver was reported as injecting: $(cat "$log")"
  fi
}

TLS_DIR="$FIXTURE_TMP/tls-honest"
fakemx_start "$FAKEMX_BIN" --tls-dir="$TLS_DIR"
timeout 30 "$SMTP_SEND" --port="$FAKEMX_PORT" --ca="$TLS_DIR/ca.pem" --hostname=mx.test \
  >"$FIXTURE_TMP/honest.log" 2>&1 || fail "smtp_send failed: $(cat "$FIXTURE_TMP/honest.log")"
check_run "$FIXTURE_TMP/honest.log" no
fakemx_stop

TLS_DIR="$FIXTURE_TMP/tls-inject"
fakemx_start "$FAKEMX_BIN" --tls-dir="$TLS_DIR" --starttls=inject-after-220
timeout 30 "$SMTP_SEND" --port="$FAKEMX_PORT" --ca="$TLS_DIR/ca.pem" --hostname=mx.test \
  >"$FIXTURE_TMP/inject.log" 2>&1 || fail "smtp_send failed: $(cat "$FIXTURE_TMP/inject.log")"
check_run "$FIXTURE_TMP/inject.log" yes
echo "--- what our client saw against inject-after-220:"
cat "$FIXTURE_TMP/inject.log"
# The stored message came over TLS.
[[ $(maildir_count new) == 1 ]] || fail "expected 1 message, found $(maildir_count new)"
/usr/bin/python3 -c '
import json, sys
tls = json.load(open(sys.argv[1]))["tls"]
assert tls["used"] is True and tls["version"] == "TLSv1.3", tls
' "$FAKEMX_MAILDIR"/envelopes/*.json || fail "sidecar does not record TLS 1.3"
fakemx_stop

# A handshake the receiver fails on purpose: our client reports the TLS error
# and a closed connection, never a session still "in progress".
TLS_DIR="$FIXTURE_TMP/tls-alert"
fakemx_start "$FAKEMX_BIN" --tls-dir="$TLS_DIR" --starttls=alert-after-220
timeout 30 "$SMTP_SEND" --port="$FAKEMX_PORT" --ca="$TLS_DIR/ca.pem" --hostname=mx.test \
  >"$FIXTURE_TMP/alert.log" 2>&1 || fail "smtp_send failed: $(cat "$FIXTURE_TMP/alert.log")"
grep -qx 'outcome=connection-closed' "$FIXTURE_TMP/alert.log" || fail "outcome: $(cat "$FIXTURE_TMP/alert.log")"
grep -qx 'tls=no' "$FIXTURE_TMP/alert.log" || fail "TLS reported up: $(cat "$FIXTURE_TMP/alert.log")"
grep -q '^tls_error=.*HANDSHAKE_FAILURE' "$FIXTURE_TMP/alert.log" ||
  fail "no handshake_failure alert reported: $(cat "$FIXTURE_TMP/alert.log")"
[[ $(maildir_count new) == 0 ]] || fail "a message was stored"
fakemx_stop
echo PASS
