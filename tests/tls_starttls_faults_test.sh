#!/bin/bash
# One STARTTLS fault of fakemx (--starttls=FAULT) against real clients:
# swaks (Net::SSLeay), curl and openssl s_client, each asserted on what it
# observed: its exit code, the reply or error it printed, and whether the
# message was stored and how (the sidecar's tls.used).
#
#   tls_starttls_faults_test.sh FAKEMX FAULT
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
FAKEMX_BIN="$1" FAULT="$2"

require_peer swaks swaks "Debian package swaks"
require_peer "swaks TLS (Net::SSLeay)" "perl -MNet::SSLeay -e 1" "Debian package libnet-ssleay-perl"

# How long fakemx waits for a silent peer; bounds stall-handshake.
IDLE_TIMEOUT=3
fakemx_start_tls "$FAKEMX_BIN" --starttls="$FAULT" --idle-timeout="$IDLE_TIMEOUT"

MESSAGE="$FIXTURE_TMP/message.eml"
printf 'From: a@example.org\r\nTo: b@example.net\r\nSubject: %s\r\n\r\nbody\r\n' "$FAULT" >"$MESSAGE"

# run_swaks LOG [FLAGS...]: swaks to fakemx; sets RC. swaks's own --timeout
# bounds each SMTP read but not the TLS handshake (see stall-handshake),
# hence the outer timeout.
run_swaks() {
  local log="$1"
  shift
  set +e
  timeout 60 swaks --server "127.0.0.1:$FAKEMX_PORT" --helo client.test \
    --from a@example.org --to b@example.net --data "@$MESSAGE" --timeout 30 "$@" >"$log" 2>&1
  RC=$?
  set -e
  echo "[swaks $* exited $RC]" >>"$log"
}
# run_s_client LOG: openssl s_client -starttls smtp; sets RC and ELAPSED (s).
run_s_client() {
  local log="$1" start=$SECONDS
  require_peer "openssl s_client" openssl "Debian package openssl"
  set +e
  printf 'EHLO client.test\nQUIT\n' |
    timeout 60 openssl s_client -starttls smtp -connect "127.0.0.1:$FAKEMX_PORT" \
      -servername "$TLS_HOSTNAME" -name client.test -CAfile "$FAKEMX_CA" \
      -verify_hostname "$TLS_HOSTNAME" -nocommands -ign_eof -crlf >"$log" 2>&1
  RC=$?
  set -e
  ELAPSED=$((SECONDS - start))
  echo "[openssl s_client -starttls smtp exited $RC after ${ELAPSED}s]" >>"$log"
}
# in_background NAME FUNCTION ARGS...: runs a run_* function in a subshell;
# background_result NAME then sets RC and ELAPSED_MS from what it left in
# $FIXTURE_TMP/NAME.rc and NAME.ms (RC empty when the function itself failed).
in_background() {
  local name="$1"
  shift
  (
    start_us=${EPOCHREALTIME/./}
    "$@"
    echo "${RC:-}" >"$FIXTURE_TMP/$name.rc"
    echo $(((${EPOCHREALTIME/./} - start_us) / 1000)) >"$FIXTURE_TMP/$name.ms"
  ) &
  BACKGROUND_PIDS+=($!)
}
BACKGROUND_PIDS=()
background_result() {
  [[ -f "$FIXTURE_TMP/$1.rc" ]] || fail "$1: its driver failed (see above)"
  RC=$(<"$FIXTURE_TMP/$1.rc")
  ELAPSED_MS=$(<"$FIXTURE_TMP/$1.ms")
}
expect_in() {  # expect_in LOG REGEX WHAT
  grep -Eq -- "$2" "$1" || failing "$1" "$3: no line matching /$2/"
}
expect_not_in() {  # expect_not_in LOG REGEX WHAT
  if grep -Eq -- "$2" "$1"; then failing "$1" "$3: unexpected /$2/"; fi
}
expect_stored() {  # expect_stored N
  [[ $(maildir_count new) == "$1" ]] || fail "expected $1 stored messages, found $(maildir_count new)"
}

# swaks --tls-optional after STARTTLS was hidden or refused: delivers in
# plaintext, and the sidecar says so.
expect_plaintext_delivery() {
  local log="$FIXTURE_TMP/swaks-tls-optional.log"
  run_swaks "$log" --tls-optional
  [[ $RC == 0 ]] || failing "$log" "swaks --tls-optional exited $RC, want 0 (delivery in plaintext)"
  expect_not_in "$log" '^=== TLS started' "swaks --tls-optional"
  local name
  name=$(queued_name_in "$log")
  [[ -n "$name" ]] || failing "$log" "no 'queued as' reply"
  expect_stored 1
  check_sidecar "$name" tls.used=false
}

# run_curl LOG: curl --ssl-reqd, verifying chain and name; sets RC.
run_curl() {
  local log="$1"
  require_peer curl curl "Debian package curl"
  set +e
  timeout 60 curl -sS -v --ssl-reqd --max-time 30 --cacert "$FAKEMX_CA" \
    --resolve "$TLS_HOSTNAME:$FAKEMX_PORT:127.0.0.1" "smtp://$TLS_HOSTNAME:$FAKEMX_PORT/client.test" \
    --mail-from a@example.org --mail-rcpt b@example.net -T "$MESSAGE" >"$log" 2>&1
  RC=$?
  set -e
  echo "[curl --ssl-reqd exited $RC]" >>"$log"
}
# expect_curl_fails CODE REGEX: curl exits CODE, says REGEX, sends no MAIL.
expect_curl_fails() {
  local log="$FIXTURE_TMP/curl.log"
  run_curl "$log"
  [[ $RC == "$1" ]] || failing "$log" "curl --ssl-reqd exited $RC, want $1"
  expect_in "$log" "^curl: \\($1\\) $2" "curl --ssl-reqd"
  expect_not_in "$log" '^> MAIL FROM' "curl --ssl-reqd"
}

# run_smtplib LOG: Python smtplib, EHLO, starttls() with a verifying
# context, EHLO; prints "ehlo CODE TEXT" or "error TYPE: MESSAGE".
run_smtplib() {
  local log="$1"
  FAKEMX_PORT=$FAKEMX_PORT FAKEMX_CA=$FAKEMX_CA TLS_HOSTNAME=$TLS_HOSTNAME \
    timeout 60 /usr/bin/python3 - >"$log" 2>&1 <<'PY' || failing "$log" "smtplib driver"
import os, smtplib, ssl
with smtplib.SMTP(local_hostname="client.test", timeout=30) as s:
    s.connect("127.0.0.1", int(os.environ["FAKEMX_PORT"]))
    s._host = os.environ["TLS_HOSTNAME"]  # the name to verify; we connected to 127.0.0.1
    s.ehlo()
    try:
        s.starttls(context=ssl.create_default_context(cafile=os.environ["FAKEMX_CA"]))
        print("ehlo", *s.ehlo())
    except (OSError, smtplib.SMTPException) as e:
        print(f"error {type(e).__name__}: {e}")
PY
  RC=0  # the driver ran; what smtplib saw is in the log
}

# openssl s_client -starttls smtp does not check the reply to STARTTLS: it
# starts the handshake whatever the server said. fakemx reads the
# ClientHello as the start of a command line that never ends, and its idle
# timeout answers with a plaintext 421, which s_client takes for a TLS record.
expect_s_client_handshakes_blindly() {
  local log="$FIXTURE_TMP/s_client.log"
  run_s_client "$log"
  [[ $RC == 1 ]] || failing "$log" "s_client exited $RC, want 1"
  ((ELAPSED >= IDLE_TIMEOUT - 1)) || failing "$log" "s_client failed after ${ELAPSED}s, before fakemx's idle timeout"
  expect_in "$log" 'ssl3_get_record:wrong version number' "s_client reading the 421 as TLS"
  expect_in "$log" '^New, \(NONE\), Cipher is \(NONE\)' "s_client"
}

case "$FAULT" in
  hide)
    log="$FIXTURE_TMP/swaks-tls.log"
    run_swaks "$log" --tls
    # swaks exit 29: "error in TLS transaction" (swaks(1), EXIT CODES).
    [[ $RC == 29 ]] || failing "$log" "swaks --tls exited $RC, want 29"
    expect_in "$log" '^<-  250 ' "EHLO"
    expect_not_in "$log" '^<-  250[- ]STARTTLS' "the EHLO reply (STARTTLS hidden)"
    expect_in "$log" '^\*\*\* Host did not advertise STARTTLS' "swaks --tls"
    expect_not_in "$log" 'MAIL FROM' "swaks --tls"
    expect_stored 0
    expect_plaintext_delivery
    # curl --ssl-reqd will not send without TLS: 64, CURLE_USE_SSL_FAILED.
    expect_curl_fails 64 "STARTTLS not supported"
    expect_s_client_handshakes_blindly
    expect_in "$FIXTURE_TMP/s_client.log" "^Didn't find STARTTLS in server response, trying anyway" "s_client"
    ;;
  refuse-454 | refuse-502)
    code=${FAULT#refuse-}
    log="$FIXTURE_TMP/swaks-tls.log"
    run_swaks "$log" --tls
    [[ $RC == 29 ]] || failing "$log" "swaks --tls exited $RC, want 29"
    expect_in "$log" '^<-  250-STARTTLS$' "EHLO (STARTTLS advertised, then refused)"
    # swaks marks an unexpected reply with "<**".
    expect_in "$log" "^<\\*\\* $code " "the reply to STARTTLS"
    expect_in "$log" '^\*\*\* STARTTLS attempted but failed' "swaks --tls"
    expect_not_in "$log" 'MAIL FROM' "swaks --tls"
    expect_stored 0
    expect_plaintext_delivery
    expect_curl_fails 64 "STARTTLS denied, code $code"
    expect_s_client_handshakes_blindly
    ;;
  abort-after-220)
    log="$FIXTURE_TMP/s_client.log"
    run_s_client "$log"
    [[ $RC == 1 ]] || failing "$log" "s_client exited $RC, want 1 (handshake failed)"
    expect_in "$log" '^no peer certificate available' "s_client"
    expect_in "$log" '^New, \(NONE\), Cipher is \(NONE\)' "s_client"
    log="$FIXTURE_TMP/swaks-tls.log"
    run_swaks "$log" --tls
    # The ClientHello meets a closed connection: swaks reports the TLS error
    # (exit 29) or, when its write gets the RST first, dies of SIGPIPE
    # (141); either way it neither negotiated TLS nor sent the message.
    [[ $RC == 29 || $RC == 141 ]] || failing "$log" "swaks --tls exited $RC, want 29 or 141"
    expect_in "$log" '^<-  220 ' "the reply to STARTTLS"
    expect_not_in "$log" '^=== TLS started' "swaks --tls"
    log="$FIXTURE_TMP/swaks-tls-optional.log"
    run_swaks "$log" --tls-optional
    [[ $RC == 29 || $RC == 141 || $RC == 6 ]] || failing "$log" "swaks --tls-optional exited $RC, want 141 (or 29, 6)"
    expect_not_in "$log" '^=== TLS started' "swaks --tls-optional"
    # curl 35: CURLE_SSL_CONNECT_ERROR.
    expect_curl_fails 35 "OpenSSL SSL_connect: SSL_ERROR_SYSCALL"
    log="$FIXTURE_TMP/smtplib.log"
    run_smtplib "$log"
    expect_in "$log" '^error SSLZeroReturnError: ' "smtplib.starttls()"
    expect_stored 0
    ;;
  alert-after-220)
    log="$FIXTURE_TMP/s_client.log"
    run_s_client "$log"
    [[ $RC == 1 ]] || failing "$log" "s_client exited $RC, want 1 (handshake failed)"
    # A fatal handshake_failure alert (RFC 8446 §6.2, alert 40).
    expect_in "$log" 'alert handshake failure.*SSL alert number 40' "s_client"
    expect_in "$log" '^New, \(NONE\), Cipher is \(NONE\)' "s_client"
    log="$FIXTURE_TMP/swaks-tls.log"
    run_swaks "$log" --tls
    [[ $RC == 29 ]] || failing "$log" "swaks --tls exited $RC, want 29"
    expect_in "$log" '^\*\*\* TLS startup failed \(connect\(\): .*alert handshake failure\)' "swaks --tls"
    # --tls-optional goes on in plaintext over the connection fakemx closed
    # after the alert: exit 6, "connection closed unexpectedly".
    log="$FIXTURE_TMP/swaks-tls-optional.log"
    run_swaks "$log" --tls-optional
    [[ $RC == 6 ]] || failing "$log" "swaks --tls-optional exited $RC, want 6"
    expect_in "$log" '^\*\*\* Remote host closed connection unexpectedly' "swaks --tls-optional"
    expect_curl_fails 35 "OpenSSL/[0-9.]+: error:0A000410:SSL routines::sslv3 alert handshake failure"
    log="$FIXTURE_TMP/smtplib.log"
    run_smtplib "$log"
    expect_in "$log" '^error SSLError: \[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE\]' "smtplib.starttls()"
    expect_stored 0
    ;;
  stall-handshake)
    # fakemx reads the ClientHello and never answers; only its idle timeout
    # ends the connection. Every client waits that long and then fails:
    # none has a timer on the handshake (swaks's --timeout 30 and smtplib's
    # 30 s socket timeout would come later; the outer 60 s timeout would
    # exit 124). The five clients run at once, each on its own connection,
    # so the test waits out the idle timeout once.
    in_background s_client run_s_client "$FIXTURE_TMP/s_client.log"
    in_background swaks-tls run_swaks "$FIXTURE_TMP/swaks-tls.log" --tls
    in_background swaks-tls-optional run_swaks "$FIXTURE_TMP/swaks-tls-optional.log" --tls-optional
    in_background curl run_curl "$FIXTURE_TMP/curl.log"
    in_background smtplib run_smtplib "$FIXTURE_TMP/smtplib.log"
    wait "${BACKGROUND_PIDS[@]}"  # not a bare wait: fakemx is a child too
    for client in s_client swaks-tls swaks-tls-optional curl smtplib; do
      background_result "$client"
      echo "$client: exit ${RC:-none} after ${ELAPSED_MS} ms (fakemx --idle-timeout=$IDLE_TIMEOUT)"
      ((ELAPSED_MS >= IDLE_TIMEOUT * 1000 - 200)) ||
        failing "$FIXTURE_TMP/$client.log" "$client gave up after $ELAPSED_MS ms, before fakemx's idle timeout: not a stall"
    done
    log="$FIXTURE_TMP/s_client.log"
    background_result s_client
    [[ $RC == 1 ]] || failing "$log" "s_client exited $RC, want 1 (handshake failed)"
    expect_in "$log" 'unexpected eof while reading' "s_client"
    expect_in "$log" '^New, \(NONE\), Cipher is \(NONE\)' "s_client"
    log="$FIXTURE_TMP/swaks-tls.log"
    background_result swaks-tls
    [[ $RC == 29 ]] || failing "$log" "swaks --tls exited $RC, want 29"
    expect_in "$log" '^\*\*\* TLS startup failed \(connect\(\): .*unexpected eof while reading\)' "swaks --tls"
    # --tls-optional writes MAIL FROM into the connection fakemx closed.
    log="$FIXTURE_TMP/swaks-tls-optional.log"
    background_result swaks-tls-optional
    [[ $RC == 141 || $RC == 6 ]] || failing "$log" "swaks --tls-optional exited $RC, want 141 (or 6)"
    log="$FIXTURE_TMP/curl.log"
    background_result curl
    [[ $RC == 35 ]] || failing "$log" "curl --ssl-reqd exited $RC, want 35"
    expect_in "$log" '^curl: \(35\) OpenSSL SSL_connect: SSL_ERROR_SYSCALL' "curl --ssl-reqd"
    background_result smtplib
    expect_in "$FIXTURE_TMP/smtplib.log" '^error SSLZeroReturnError: ' "smtplib.starttls()"
    expect_stored 0
    ;;
  inject-after-220)
    # fakemx sends, in the same write as its 220 to STARTTLS, the plaintext
    # reply "250-mxkit injected" "250 injected reply" (fakemx/behaviour.h,
    # kInjectedReplies). A client that keeps what it read past the 220 and
    # treats it as the first reply inside TLS is open to response injection
    # (Poddebniak et al., USENIX Security 2021 §5).
    #
    # swaks 20201014 is: it shows the injected reply as received over TLS
    # ("<~") and takes it for the answer to its second EHLO; every later
    # reply is then one behind, so DATA gets the 250 meant for RCPT, swaks
    # gives up with exit 25 ("server returned error to DATA request") and
    # nothing is stored.
    log="$FIXTURE_TMP/swaks-tls.log"
    run_swaks "$log" --tls
    [[ $RC == 25 ]] || failing "$log" "swaks --tls exited $RC; swaks 20201014 exits 25 (desynchronised by the injected reply)"
    first_tls_reply=$(sed -n '/^=== TLS started/,$p' "$log" | grep -m 1 '^<~')
    [[ "$first_tls_reply" == '<~  250-mxkit injected' ]] ||
      failing "$log" "first reply swaks read over TLS is '$first_tls_reply', want the injected '250-mxkit injected'"
    expect_in "$log" '^<~  250 injected reply$' "swaks --tls"
    expect_in "$log" '^<~\* 250 ' "swaks's reply to DATA (a 250 meant for RCPT)"
    log="$FIXTURE_TMP/swaks-tls-optional.log"
    run_swaks "$log" --tls-optional
    [[ $RC == 25 ]] || failing "$log" "swaks --tls-optional exited $RC, want 25 like --tls"
    expect_stored 0
    # openssl s_client and Python's smtplib are not fooled: each drops what
    # it buffered in plaintext when it starts TLS, so the first reply inside
    # TLS is fakemx's real answer to EHLO.
    log="$FIXTURE_TMP/s_client.log"
    run_s_client "$log"
    [[ $RC == 0 ]] || failing "$log" "s_client exited $RC"
    expect_in "$log" '^Verify return code: 0 \(ok\)' "s_client"
    expect_in "$log" "^250-$TLS_HOSTNAME" "s_client's EHLO over TLS"
    expect_not_in "$log" 'injected' "s_client"
    # curl checks that nothing follows the 220 (its fix for CVE-2021-22947)
    # and gives up: 8, CURLE_WEIRD_SERVER_REPLY.
    expect_curl_fails 8 "Weird server reply"
    expect_not_in "$FIXTURE_TMP/curl.log" 'SSL connection using' "curl"
    log="$FIXTURE_TMP/smtplib.log"
    FAKEMX_PORT=$FAKEMX_PORT FAKEMX_CA=$FAKEMX_CA TLS_HOSTNAME=$TLS_HOSTNAME \
      timeout 60 /usr/bin/python3 - >"$log" 2>&1 <<'PY' || failing "$log" "smtplib against inject-after-220"
import os, smtplib, ssl
with smtplib.SMTP(local_hostname="client.test", timeout=30) as s:
    s.connect("127.0.0.1", int(os.environ["FAKEMX_PORT"]))
    s._host = os.environ["TLS_HOSTNAME"]  # the name to verify; we connected to 127.0.0.1
    s.ehlo()
    code, _ = s.starttls(context=ssl.create_default_context(cafile=os.environ["FAKEMX_CA"]))
    assert code == 220, code
    code, text = s.ehlo()
    print("EHLO over TLS:", code, text)
    assert code == 250 and text.startswith(os.environ["TLS_HOSTNAME"].encode()), text
    assert b"injected" not in text, text
    assert s.noop()[0] == 250
PY
    ;;
  *)
    fail "unknown fault '$FAULT'"
    ;;
esac

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
# What each client printed, kept in the test log as the record of how it
# behaves against this fault (fakemx/README.md, "What a client sees").
for log in "$FIXTURE_TMP"/*.log; do
  echo "--- ${log##*/} ---"
  grep -v -E '^ [~-]> (Date|To|From|Subject|Message-Id|X-Mailer):|^-----BEGIN|^-----END|^[A-Za-z0-9+/=]{64}$' "$log" || true
done
echo "PASS: --starttls=$FAULT"
