#!/bin/bash
# fakemx --tls-versions=1.0-1.0 (BoringSSL still speaks TLS 1.0 when asked)
# against Debian 12's OpenSSL 3 clients: at their default security level
# they refuse it (TLS 1.0 signs the key exchange with SHA-1/MD5, "legacy
# sigalg"), and they get TLS 1.0 only when told @SECLEVEL=0. That is what a
# sender meets at a receiver stuck on TLS 1.0; testssl.sh's view of the same
# profile is tls_testssl_tls10_only_test.
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
FAKEMX_BIN="$1"
require_peer "openssl s_client" openssl "Debian package openssl"
require_peer swaks swaks "Debian package swaks"
require_peer "swaks TLS (Net::SSLeay)" "perl -MNet::SSLeay -e 1" "Debian package libnet-ssleay-perl"

fakemx_start_tls "$FAKEMX_BIN" --tls-versions=1.0-1.0

s_client() { tls_s_client "$@"; }  # s_client LOG [FLAGS...]: sets RC

# 1. s_client as installed: the handshake fails.
LOG="$FIXTURE_TMP/s_client-default.log"
s_client "$LOG"
[[ $RC == 1 ]] || failing "$LOG" "s_client at its default security level exited $RC, want 1"
grep -q 'legacy sigalg disallowed or unsupported' "$LOG" || failing "$LOG" "no 'legacy sigalg' error"
grep -q '^New, (NONE), Cipher is (NONE)' "$LOG" || failing "$LOG" "a session was negotiated"

# 2. s_client -tls1 at security level 0: TLS 1.0, verified, SMTP goes on.
LOG="$FIXTURE_TMP/s_client-seclevel0.log"
s_client "$LOG" -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
[[ $RC == 0 ]] || failing "$LOG" "s_client -tls1 @SECLEVEL=0 exited $RC"
grep -q '^New, TLSv1\.0, Cipher is ' "$LOG" || failing "$LOG" "no TLS 1.0 session"
grep -q "^Verified peername: $TLS_HOSTNAME$" "$LOG" || failing "$LOG" "chain or name not verified"
grep -q '^221 ' "$LOG" || failing "$LOG" "no 221 over TLS 1.0"

# 3. swaks --tls: exit 29; and --tls-optional does not start over in
# plaintext on a new connection: it carries on over the one fakemx closed
# after the failed handshake, and exits 6 ("connection closed unexpectedly").
for mode in --tls --tls-optional; do
  LOG="$FIXTURE_TMP/swaks$mode.log"
  set +e
  timeout 60 swaks --server "127.0.0.1:$FAKEMX_PORT" --helo client.test --from a@example.org \
    --to b@example.net --timeout 30 "$mode" >"$LOG" 2>&1
  RC=$?
  set -e
  echo "[swaks $mode exited $RC]" >>"$LOG"
  grep -q '^\*\*\* TLS startup failed (connect(): .*legacy sigalg disallowed or unsupported)' "$LOG" ||
    failing "$LOG" "swaks $mode: no 'legacy sigalg' failure"
  if [[ $mode == --tls ]]; then
    [[ $RC == 29 ]] || failing "$LOG" "swaks --tls exited $RC, want 29"
  else
    [[ $RC == 6 ]] || failing "$LOG" "swaks --tls-optional exited $RC, want 6"
    grep -q '^\*\*\* Remote host closed connection unexpectedly' "$LOG" ||
      failing "$LOG" "swaks --tls-optional: no 'closed connection unexpectedly'"
  fi
done
[[ $(maildir_count new) == 0 ]] || fail "a message was stored without TLS"

# 4. Python smtplib: its default context refuses like s_client; one that
# allows TLS 1.0 delivers, and the sidecar
# names the version and the cipher suite (its IANA name; OpenSSL's own name
# for it is ECDHE-ECDSA-AES256-SHA or similar).
NAME=$(FAKEMX_PORT=$FAKEMX_PORT FAKEMX_CA=$FAKEMX_CA TLS_HOSTNAME=$TLS_HOSTNAME \
  timeout 60 /usr/bin/python3 -W ignore::DeprecationWarning - <<'PY') || fail "smtplib over TLS 1.0"
import os, smtplib, ssl
with smtplib.SMTP(local_hostname="client.test", timeout=30) as s:
    s.connect("127.0.0.1", int(os.environ["FAKEMX_PORT"]))
    s._host = os.environ["TLS_HOSTNAME"]  # the name to verify; we connected to 127.0.0.1
    s.ehlo()
    try:
        s.starttls(context=ssl.create_default_context(cafile=os.environ["FAKEMX_CA"]))
        raise SystemExit(f"the default context negotiated {s.sock.version()}")
    except ssl.SSLError as e:
        assert "legacy sigalg disallowed or unsupported" in str(e), e
context = ssl.create_default_context(cafile=os.environ["FAKEMX_CA"])
context.minimum_version = ssl.TLSVersion.TLSv1
context.set_ciphers("DEFAULT:@SECLEVEL=0")
with smtplib.SMTP(local_hostname="client.test", timeout=30) as s:
    s.connect("127.0.0.1", int(os.environ["FAKEMX_PORT"]))
    s._host = os.environ["TLS_HOSTNAME"]  # the name to verify; we connected to 127.0.0.1
    s.ehlo()
    assert s.starttls(context=context)[0] == 220
    assert s.sock.version() == "TLSv1", s.sock.version()
    s.ehlo()
    assert s.mail("a@example.org")[0] == 250
    assert s.rcpt("b@example.net")[0] == 250
    code, text = s.data(b"Subject: TLS 1.0\r\n\r\nold\r\n")
    assert code == 250 and text.startswith(b"2.0.0 Ok: queued as "), text
    print(text[len(b"2.0.0 Ok: queued as "):].decode("ascii"))
PY
check_sidecar "$NAME" tls.used=true tls.version='"TLSv1"' 'tls.cipher~TLS_ECDHE_[A-Z0-9_]+_CBC_SHA' \
  tls.sni="\"$TLS_HOSTNAME\""

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
for log in "$FIXTURE_TMP"/*.log; do
  echo "--- ${log##*/} ---"
  grep -v -E '^ [~-]> (Date|To|From|Subject|Message-Id|X-Mailer):|^-----BEGIN|^-----END|^[A-Za-z0-9+/=]{64}$' "$log" || true
done
echo PASS
