#!/bin/bash
# Real clients refusing fakemx's certificate, and the session fakemx
# records for each: its tls_error names the alert the client sent, the
# same in the verdict's tls_outcome and lock reason, and the session is not
# encrypted (nothing was sent under TLS).
#
#   tls_refused_certificate_test.sh FAKEMX VARIANT ALERT NUMBER SWAKS
#
# VARIANT is fakemx's --cert; ALERT and NUMBER the alert the clients send
# (RFC 8446 §6: certificate_expired 45); SWAKS is "swaks" when swaks 20201014
# --tls-verify refuses the variant too (it checks the chain, not the name).
# OpenSSL's TLS 1.3 client sends its alert as a plaintext record (it has not
# switched its writes to the handshake keys yet), the TLS 1.2 client before
# its ChangeCipherSpec: both are run.
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
FAKEMX_BIN="$1" VARIANT="$2" ALERT="$3" NUMBER="$4" SWAKS="$5"
require_peer "openssl s_client" openssl "Debian package openssl"
require_peer curl curl "Debian package curl"
[[ "$SWAKS" != swaks ]] || require_peer swaks swaks "Debian package swaks"

fakemx_start_tls "$FAKEMX_BIN" --cert="$VARIANT"
API_PORT=$(fakemx_api_port "$FAKEMX_OUT")
[[ -n "$API_PORT" ]] || fail "fakemx printed no api port"
WANT="client refused the certificate: alert $ALERT ($NUMBER)"
LAST_SESSION=0

# expect_refused CLIENT LOG: the next closed session records the refusal.
expect_refused() {
  local client="$1" log="$2" json="$FIXTURE_TMP/session.$((LAST_SESSION + 1)).json"
  curl -sS --max-time 15 -o "$json" \
    "http://127.0.0.1:$API_PORT/fakemx/v1/wait/session?state=closed&after=$LAST_SESSION&timeout=10s" ||
    failing "$log" "$client: no closed session after $LAST_SESSION"
  LAST_SESSION=$((LAST_SESSION + 1))
  /usr/bin/python3 tests/json_expect.py --fullmatch "$json" id="$LAST_SESSION" \
    tls_error="\"$WANT\"" verdict.encrypted=false verdict.lock='"red_lock"' \
    verdict.tls_outcome="\"handshake failed: $WANT\"" \
    verdict.lock_reason="\"no TLS: handshake failed: $WANT\"" \
    tls.used=false end_reason='"tls failed"' message_ids='[]' ||
    failing "$log" "$client: session $LAST_SESSION does not record the refusal"
}

for version in -tls1_3 -tls1_2; do
  LOG="$FIXTURE_TMP/s_client$version.log"
  set +e
  printf 'EHLO client.test\nQUIT\n' |
    timeout 30 openssl s_client "$version" -starttls smtp -connect "127.0.0.1:$FAKEMX_PORT" \
      -servername "$TLS_HOSTNAME" -name client.test -CAfile "$FAKEMX_CA" \
      -verify_hostname "$TLS_HOSTNAME" -verify_return_error -nocommands -ign_eof -crlf \
      >"$LOG" 2>&1
  RC=$?
  set -e
  [[ $RC != 0 && $RC != 124 ]] || failing "$LOG" "s_client $version: exit $RC, want a refused certificate"
  grep -q '^verify error:num=' "$LOG" || failing "$LOG" "s_client $version: no verify error"
  expect_refused "s_client $version" "$LOG"
done

if [[ "$SWAKS" == swaks ]]; then
  LOG="$FIXTURE_TMP/swaks.log"
  set +e
  timeout 60 swaks --server "127.0.0.1:$FAKEMX_PORT" --helo client.test --from alice@example.org \
    --to bob@example.net --timeout 30 --tls --tls-verify --tls-ca-path "$FAKEMX_CA" \
    --tls-sni "$TLS_HOSTNAME" >"$LOG" 2>&1
  RC=$?
  set -e
  [[ $RC == 29 ]] || failing "$LOG" "swaks --tls-verify: exit $RC, want 29 (TLS failed)"
  expect_refused "swaks --tls-verify" "$LOG"
fi

# Python's ssl (OpenSSL underneath, as a Python mail client uses it).
LOG="$FIXTURE_TMP/python.log"
set +e
timeout 30 /usr/bin/python3 - "$FAKEMX_PORT" "$FAKEMX_CA" "$TLS_HOSTNAME" >"$LOG" 2>&1 <<'PY'
import smtplib, ssl, sys
port, ca, host = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context(cafile=ca)
smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=20)
smtp._host = host  # starttls() verifies the name the client connected to
try:
    smtp.starttls(context=context)
except ssl.SSLCertVerificationError as e:
    print("refused:", e)
    sys.exit(3)
print("no error")
PY
RC=$?
set -e
[[ $RC == 3 ]] || failing "$LOG" "python ssl: exit $RC, want 3 (certificate refused)"
expect_refused "python ssl" "$LOG"

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
echo "PASS: --cert=$VARIANT refused by $LAST_SESSION clients, each recorded as '$WANT'"
