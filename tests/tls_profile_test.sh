#!/bin/bash
# A receiver profile narrowed with --tls-versions, --tls-ciphers and
# --tls-groups reaches the wire: openssl s_client and swaks negotiate exactly
# the version, suite and group allowed, the sidecar records them, and a
# client that insists on anything else is refused with an alert.
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
FAKEMX_BIN="$1"
require_peer "openssl s_client" openssl "Debian package openssl"
require_peer swaks swaks "Debian package swaks"
require_peer "swaks TLS (Net::SSLeay)" "perl -MNet::SSLeay -e 1" "Debian package libnet-ssleay-perl"

fakemx_start_tls "$FAKEMX_BIN" --tls-versions=1.2-1.2 \
  --tls-ciphers=ECDHE-ECDSA-AES128-GCM-SHA256 --tls-groups=P-384

# Every s_client run here insists on a verified chain.
s_client() { tls_s_client "$@" -verify_return_error; }  # s_client LOG [FLAGS...]: sets RC

# 1. s_client's defaults (TLS 1.2-1.3, X25519 first, every suite): the one
# version, suite and group fakemx allows.
LOG="$FIXTURE_TMP/s_client.log"
s_client "$LOG"
[[ $RC == 0 ]] || failing "$LOG" "s_client exited $RC"
grep -q '^New, TLSv1\.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256$' "$LOG" ||
  failing "$LOG" "not TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256"
grep -q '^Server Temp Key: ECDH, secp384r1, 384 bits$' "$LOG" || failing "$LOG" "key exchange not on P-384"
grep -q '^221 ' "$LOG" || failing "$LOG" "no 221 over TLS"

# 2. What the profile leaves out is refused with an alert (RFC 8446 §6.2):
# handshake_failure (40) for a group or suite it lacks, protocol_version
# (70) for TLS 1.3.
for refused in "-groups X25519:40:sslv3 alert handshake failure" \
  "-cipher ECDHE-ECDSA-AES256-GCM-SHA384:40:sslv3 alert handshake failure" \
  "-tls1_3:70:tlsv1 alert protocol version"; do
  IFS=: read -r flags alert reason <<<"$refused"
  LOG="$FIXTURE_TMP/s_client${flags// /_}.log"
  # shellcheck disable=SC2086  # two words: the flag and its value
  s_client "$LOG" $flags
  [[ $RC == 1 ]] || failing "$LOG" "s_client $flags exited $RC, want 1"
  grep -q "$reason.*SSL alert number $alert\$" "$LOG" || failing "$LOG" "s_client $flags: no alert $alert"
done

# 3. swaks delivers; the sidecar names what was negotiated (the suite by its
# IANA name, the group as BoringSSL names it).
LOG="$FIXTURE_TMP/swaks.log"
set +e
timeout 60 swaks --server "127.0.0.1:$FAKEMX_PORT" --tls --helo client.test --from a@example.org \
  --to b@example.net --timeout 30 >"$LOG" 2>&1
RC=$?
set -e
[[ $RC == 0 ]] || failing "$LOG" "swaks --tls exited $RC"
grep -q '^=== TLS started with cipher TLSv1\.2:ECDHE-ECDSA-AES128-GCM-SHA256:128$' "$LOG" ||
  failing "$LOG" "swaks did not get TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256"
NAME=$(queued_name_in "$LOG")
[[ -n "$NAME" ]] || failing "$LOG" "no 'queued as' reply"
check_sidecar "$NAME" tls.used=true tls.version='"TLSv1.2"' \
  tls.cipher='"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"' tls.group='"P-384"' tls.sni=null

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
echo PASS
