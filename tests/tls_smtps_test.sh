#!/bin/bash
# Implicit TLS (fakemx --smtps, as on port 465, RFC 8314 §3.3): openssl
# s_client -connect and swaks --tlsc each deliver a message, verified against
# fakemx's test root, and the sidecar says tls.used and tls.implicit.
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
FAKEMX_BIN="$1"
DRIVER="$2"
require_peer "openssl s_client" openssl "Debian package openssl"
require_peer swaks swaks "Debian package swaks"
require_peer "swaks TLS (Net::SSLeay)" "perl -MNet::SSLeay -e 1" "Debian package libnet-ssleay-perl"

IDLE_TIMEOUT=3  # bounds the handshake nobody starts in part 3
fakemx_start_tls "$FAKEMX_BIN" --smtps=127.0.0.1:0 --idle-timeout="$IDLE_TIMEOUT"
[[ "$FAKEMX_SMTPS_PORT" != "$FAKEMX_PORT" ]] || fail "smtp and smtps on the same port"

MESSAGE="$FIXTURE_TMP/message.eml"
printf 'From: a@example.org\r\nTo: b@example.net\r\nSubject: implicit TLS\r\n\r\nover port 465 style TLS\r\n' >"$MESSAGE"

# 1. openssl s_client -connect, SMTP typed into it one command at a time.
NAME=$(timeout 90 /usr/bin/python3 "$DRIVER" "$FAKEMX_SMTPS_PORT" "$FAKEMX_CA" "$TLS_HOSTNAME" "$MESSAGE") ||
  fail "openssl s_client -connect did not deliver (tls_smtps_openssl.py)"
cmp "$MESSAGE" "$FAKEMX_MAILDIR/new/$NAME" || fail "stored bytes differ from what s_client sent"
check_sidecar "$NAME" tls.used=true tls.implicit=true tls.sni="\"$TLS_HOSTNAME\"" \
  tls.certificate='"good"' tls.version='"TLSv1.3"' tls.plaintext_discarded_bytes=0

# 2. swaks --tlsc (TLS on connect), verifying the chain.
LOG="$FIXTURE_TMP/swaks.log"
set +e
timeout 60 swaks --server "127.0.0.1:$FAKEMX_SMTPS_PORT" --tlsc --tls-verify --tls-ca-path "$FAKEMX_CA" \
  --helo client.test --from a@example.org --to b@example.net --data "@$MESSAGE" --timeout 30 \
  >"$LOG" 2>&1
RC=$?
set -e
[[ $RC == 0 ]] || { cat "$LOG" >&2; fail "swaks --tlsc exited $RC"; }
# TLS before the greeting: every reply, the 220 included, came over TLS.
grep -q '^<~  220 ' "$LOG" || { cat "$LOG" >&2; fail "swaks --tlsc: no 220 greeting over TLS"; }
if grep -q '^<-  ' "$LOG"; then cat "$LOG" >&2; fail "swaks --tlsc: a plaintext reply"; fi
read -r VERSION CIPHER < <(sed -n 's/^=== TLS started with cipher \([^:]*\):\([^:]*\):.*/\1 \2/p' "$LOG")
NAME=$(queued_name_in "$LOG")
[[ -n "$NAME" ]] || { cat "$LOG" >&2; fail "swaks --tlsc: no 'queued as' reply"; }
# swaks ends --data with CRLF.CRLF; the file already ends with CRLF, so the
# message gains an empty line.
{ cat "$MESSAGE"; printf '\r\n'; } >"$FIXTURE_TMP/expected-swaks.eml"
cmp "$FIXTURE_TMP/expected-swaks.eml" "$FAKEMX_MAILDIR/new/$NAME" ||
  fail "stored bytes differ from what swaks sent"
check_sidecar "$NAME" tls.used=true tls.implicit=true tls.version="\"$VERSION\"" \
  tls.cipher="\"$CIPHER\"" tls.certificate='"good"'

# 3. Each listener met with the other's client, the usual port 465/587
# mix-up. swaks --tlsc on the plain port reads the 220 greeting as a TLS
# record: exit 29, "wrong version number". swaks --tls (plaintext first) on
# the implicit-TLS port waits for a greeting that never comes; fakemx drops
# it when the handshake times out (--idle-timeout) and swaks exits 6.
LOG="$FIXTURE_TMP/swaks-tlsc-to-plain.log"
set +e
timeout 60 swaks --server "127.0.0.1:$FAKEMX_PORT" --tlsc --helo client.test --from a@example.org \
  --to b@example.net --timeout 30 >"$LOG" 2>&1
RC=$?
set -e
[[ $RC == 29 ]] || { cat "$LOG" >&2; fail "swaks --tlsc to the plain port exited $RC, want 29"; }
grep -q '^\*\*\* TLS startup failed (connect(): .*wrong version number)' "$LOG" ||
  { cat "$LOG" >&2; fail "swaks --tlsc to the plain port: no 'wrong version number'"; }
LOG="$FIXTURE_TMP/swaks-starttls-to-smtps.log"
START=$SECONDS
set +e
timeout 60 swaks --server "127.0.0.1:$FAKEMX_SMTPS_PORT" --tls --helo client.test --from a@example.org \
  --to b@example.net --timeout 30 >"$LOG" 2>&1
RC=$?
set -e
[[ $RC == 6 ]] || { cat "$LOG" >&2; fail "swaks --tls to the smtps port exited $RC, want 6"; }
((SECONDS - START >= IDLE_TIMEOUT - 1)) || { cat "$LOG" >&2; fail "swaks gave up before fakemx's idle timeout"; }
grep -q '^\*\*\* Remote host closed connection unexpectedly' "$LOG" ||
  { cat "$LOG" >&2; fail "swaks --tls to the smtps port: no 'closed connection unexpectedly'"; }

# 4. The plain listener of the same fakemx still speaks plaintext first.
exec 3<>"/dev/tcp/127.0.0.1/$FAKEMX_PORT"
read -r -t 30 GREETING <&3 || fail "no greeting on the plain listener"
exec 3<&-
[[ "$GREETING" == "220 $TLS_HOSTNAME "* ]] || fail "plain listener greeted with '$GREETING'"

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
grep -q '^fakemx: stopped; 2 messages stored, 0 storage failures' "$FAKEMX_OUT" ||
  fail "final stats line"
echo PASS
