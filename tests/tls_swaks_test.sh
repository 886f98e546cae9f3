#!/bin/bash
# swaks --tls (Net::SSLeay, verifying the chain against fakemx's test root)
# and curl --ssl-reqd (verifying chain and name) deliver over STARTTLS; the
# stored bytes are what was sent and the sidecar's "tls" object agrees with
# what each client says it negotiated. Also records what swaks 20201014's
# --tls-verify checks: the chain (an expired leaf fails), not the name (a
# leaf for another host passes).
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
FAKEMX_BIN="$1"
require_peer swaks swaks "Debian package swaks"
require_peer "swaks TLS (Net::SSLeay)" "perl -MNet::SSLeay -e 1" "Debian package libnet-ssleay-perl"
require_peer curl curl "Debian package curl"

DATA="$FIXTURE_TMP/message.eml"
printf 'From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: swaks over STARTTLS\r\n\r\nHello over TLS,\r\n.a line that starts with a dot\r\nbye' >"$DATA"
EXPECTED="$FIXTURE_TMP/expected.eml"
{ cat "$DATA"; printf '\r\n'; } >"$EXPECTED"  # swaks ends the data with CRLF.CRLF

# run_swaks LOG PORT [FLAGS...]: sets RC.
run_swaks() {
  local log="$1" port="$2"
  shift 2
  set +e
  timeout 60 swaks --server "127.0.0.1:$port" --helo client.test --from alice@example.org \
    --to bob@example.net --data "@$DATA" --timeout 30 "$@" >"$log" 2>&1
  RC=$?
  set -e
}

fakemx_start_tls "$FAKEMX_BIN"
GOOD_PORT=$FAKEMX_PORT GOOD_CA=$FAKEMX_CA

# 1. swaks --tls with verification and SNI delivers over STARTTLS.
LOG="$FIXTURE_TMP/swaks-good.log"
run_swaks "$LOG" "$GOOD_PORT" --tls --tls-verify --tls-ca-path "$GOOD_CA" --tls-sni "$TLS_HOSTNAME"
[[ $RC == 0 ]] || failing "$LOG" "swaks --tls --tls-verify exited $RC"
grep -q '^<-  250-STARTTLS$' "$LOG" || failing "$LOG" "STARTTLS not advertised"
# "=== TLS started with cipher TLSv1.3:TLS_AES_128_GCM_SHA256:128"
read -r VERSION CIPHER < <(sed -n 's/^=== TLS started with cipher \([^:]*\):\([^:]*\):.*/\1 \2/p' "$LOG")
[[ "$VERSION" == TLSv1.3 ]] || failing "$LOG" "swaks negotiated '$VERSION', want TLSv1.3 (fakemx's default 1.2-1.3)"
# After the handshake every reply is read over TLS ("<~"), and the EHLO
# reply no longer offers STARTTLS (RFC 3207 §4.2).
if sed -n '/^=== TLS started/,$p' "$LOG" | grep -q '^<-'; then
  failing "$LOG" "a plaintext reply after TLS started"
fi
if sed -n '/^=== TLS started/,$p' "$LOG" | grep -q '^<~  250[- ]STARTTLS'; then
  failing "$LOG" "STARTTLS offered again inside TLS"
fi
NAME=$(queued_name_in "$LOG")
[[ -n "$NAME" ]] || failing "$LOG" "no 'queued as' reply"
cmp "$EXPECTED" "$FAKEMX_MAILDIR/new/$NAME" || fail "stored bytes differ from what swaks sent"
check_sidecar "$NAME" tls.used=true tls.implicit=false tls.version="\"$VERSION\"" \
  tls.cipher="\"$CIPHER\"" tls.group='"X25519"' tls.sni="\"$TLS_HOSTNAME\"" tls.certificate='"good"' \
  tls.plaintext_discarded_bytes=0 helo.domain='"client.test"'

# 2. curl: STARTTLS required, chain and name verified; the message comes
# from the URL's host (mx.test, pinned to 127.0.0.1 with --resolve).
LOG="$FIXTURE_TMP/curl-good.log"
set +e
timeout 60 curl -sS -v --ssl-reqd --max-time 30 --cacert "$GOOD_CA" \
  --resolve "$TLS_HOSTNAME:$GOOD_PORT:127.0.0.1" "smtp://$TLS_HOSTNAME:$GOOD_PORT/client.test" \
  --mail-from alice@example.org --mail-rcpt bob@example.net -T "$EXPECTED" >"$LOG" 2>&1
RC=$?
set -e
[[ $RC == 0 ]] || failing "$LOG" "curl --ssl-reqd --cacert exited $RC"
grep -q '^\* SSL connection using TLSv1\.3 / ' "$LOG" || failing "$LOG" "curl did not report a TLS 1.3 connection"
NAME=$(queued_name_in "$LOG")
[[ -n "$NAME" ]] || failing "$LOG" "no 'queued as' reply"
cmp "$EXPECTED" "$FAKEMX_MAILDIR/new/$NAME" || fail "stored bytes differ from what curl sent"
check_sidecar "$NAME" tls.used=true tls.implicit=false tls.version='"TLSv1.3"' \
  tls.sni="\"$TLS_HOSTNAME\"" tls.certificate='"good"'
fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT"

# 3. An expired leaf: --tls-verify makes the handshake fail (exit 29, "error
# in TLS transaction"), and nothing is sent.
fakemx_start_tls "$FAKEMX_BIN" --cert=expired
LOG="$FIXTURE_TMP/swaks-expired.log"
run_swaks "$LOG" "$FAKEMX_PORT" --tls --tls-verify --tls-ca-path "$FAKEMX_CA"
[[ $RC == 29 ]] || failing "$LOG" "swaks --tls-verify against an expired leaf exited $RC, want 29"
grep -q '^\*\*\* TLS startup failed (connect(): .*certificate verify failed)' "$LOG" ||
  failing "$LOG" "no 'certificate verify failed'"
[[ $(maildir_count new) == 0 ]] || fail "a message was stored after a failed verification"
fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT"

# 4. A leaf for another host: swaks 20201014 verifies the chain only (it
# never calls SSL_set1_host), so --tls-verify passes and it delivers. Recorded
# here so that a swaks that starts checking names shows up as a change.
fakemx_start_tls "$FAKEMX_BIN" --cert=wrong-host
LOG="$FIXTURE_TMP/swaks-wrong-host.log"
run_swaks "$LOG" "$FAKEMX_PORT" --tls --tls-verify --tls-ca-path "$FAKEMX_CA"
[[ $RC == 0 ]] || failing "$LOG" "swaks --tls-verify against wrong-host exited $RC (does this swaks check names now?)"
NAME=$(queued_name_in "$LOG")
[[ -n "$NAME" ]] || failing "$LOG" "no 'queued as' reply"
# No --tls-sni this time: the sidecar's sni is null, not "".
check_sidecar "$NAME" tls.used=true tls.certificate='"wrong-host"' tls.sni=null
fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT"
echo PASS
