#!/bin/bash
# One built-in fakemx scenario (fakemx --scenario=NAME) as real clients see
# it: swaks, openssl s_client and (for certificates) Postfix's posttls-finger
# here; Python's smtplib (and a raw socket where only one can show it) in
# scenario_catalogue_test.py. Each client is asserted on what it reports:
# its exit code, the reply it printed, its own diagnosis ("*** TLS startup
# failed", s_client's verify return code, posttls-finger's verdict), and
# what was stored. The contract is the catalogue in docs/scenarios.md.
#
#   scenario_catalogue_test.sh FAKEMX SCRIPT NAME
#
# Every catalogue receiver is example.test with hostname mx.example.test; the
# fixture's --hostname repeats that name so certificates are issued for it.
export FAKEMX_HOSTNAME=mx.example.test
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
source tests/scenario_fixture.sh
FAKEMX_BIN="$1" SCRIPT="$2" SCENARIO="$3"

require_peer swaks swaks "Debian package swaks"
require_peer "swaks TLS (Net::SSLeay)" "perl -MNet::SSLeay -e 1" "Debian package libnet-ssleay-perl"
require_peer "openssl s_client" openssl "Debian package openssl"

fakemx_start_tls "$FAKEMX_BIN" --scenario="$SCENARIO"

expect_in() {  # expect_in LOG REGEX WHAT
  grep -Eq -- "$2" "$1" || failing "$1" "$3: no line matching /$2/"
}
expect_not_in() {  # expect_not_in LOG REGEX WHAT
  if grep -Eq -- "$2" "$1"; then failing "$1" "$3: unexpected /$2/"; fi
}
expect_stored() {  # expect_stored N
  [[ $(maildir_count new) == "$1" ]] || fail "expected $1 stored messages, found $(maildir_count new)"
}

# The banner (stdout, one fact per line): the scenario, its receiver on the
# port we asked for, the hostname.
expect_in "$FAKEMX_OUT" "^fakemx: scenario $SCENARIO\$" "banner"
expect_in "$FAKEMX_OUT" "^fakemx: receiver example\\.test smtp 127\\.0\\.0\\.1:$FAKEMX_PORT\$" "banner"
expect_in "$FAKEMX_OUT" '^fakemx: hostname mx\.example\.test$' "banner"
[[ $(tail -n 1 "$FAKEMX_OUT") == "fakemx: listening on smtp 127.0.0.1:$FAKEMX_PORT" ]] ||
  failing "$FAKEMX_OUT" "'listening on smtp' is not the last banner line"

MESSAGE="$FIXTURE_TMP/message.eml"
printf 'From: a@example.org\r\nTo: b@example.net\r\nSubject: %s\r\n\r\nbody' "$SCENARIO" >"$MESSAGE"

# run_swaks LOG [FLAGS...]: swaks to fakemx; sets RC. The outer timeout
# bounds the TLS handshake, which swaks's --timeout does not.
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
# expect_swaks LOG RC [FLAGS...]: run_swaks, which must exit RC (swaks(1),
# EXIT CODES: 0 delivered, 21 banner, 23 MAIL, 24 no RCPT accepted, 26 after
# data, 28 AUTH, 29 TLS).
expect_swaks() {
  local log="$1" want="$2"
  shift 2
  run_swaks "$log" "$@"
  [[ $RC == "$want" ]] || failing "$log" "swaks $* exited $RC, want $want"
}
# swaks_delivered LOG: the Maildir name in swaks's last "queued as" reply.
swaks_delivered() {
  local name
  name=$(queued_name_in "$1")
  [[ -n "$name" && -f "$FAKEMX_MAILDIR/new/$name" ]] || failing "$1" "no stored message named in a 'queued as' reply"
  DELIVERED=$name
}

# run_python: the smtplib half for this scenario.
run_python() {
  SCENARIO=$SCENARIO FAKEMX_PORT=$FAKEMX_PORT FAKEMX_MAILDIR=$FAKEMX_MAILDIR FAKEMX_CA=$FAKEMX_CA \
    TLS_HOSTNAME=$TLS_HOSTNAME timeout 120 /usr/bin/python3 -W ignore::DeprecationWarning "$SCRIPT" ||
    fail "smtplib against --scenario=$SCENARIO (scenario_catalogue_test.py)"
}

# s_client_verify CODE STRICT_CODE: openssl s_client verifying mx.example.test
# against fakemx's root reports CODE as its final "Verify return code" and
# completes the handshake; under -verify_return_error it stops at the first
# error, STRICT_CODE (as tls_openssl_verify_test.sh; see tests/BUILD.bazel).
s_client_verify() {
  local code="$1" strict="$2" log got
  log="$FIXTURE_TMP/s_client.log"
  tls_s_client "$log"
  [[ $RC == 0 ]] || failing "$log" "s_client exited $RC"
  got=$(sed -n 's/^Verify return code: \([0-9][0-9]*\) .*/\1/p' "$log" | head -n 1)
  [[ "$got" == "$code" ]] || failing "$log" "Verify return code $got, want $code"
  expect_in "$log" '^New, TLSv1\.[23], Cipher is ' "s_client"
  expect_in "$log" '^221 ' "s_client's QUIT over TLS"
  log="$FIXTURE_TMP/s_client-strict.log"
  tls_s_client "$log" -verify_return_error
  if [[ $strict == 0 ]]; then
    [[ $RC == 0 ]] || failing "$log" "s_client -verify_return_error exited $RC"
  else
    [[ $RC != 0 && $RC != 124 ]] || failing "$log" "s_client -verify_return_error exited $RC, want a failed handshake"
    expect_in "$log" "^verify error:num=$strict:" "s_client -verify_return_error"
    expect_not_in "$log" '^221 ' "s_client -verify_return_error (SMTP after a failed verification)"
  fi
}

# posttls_finger VERDICT REGEX: Postfix's posttls-finger at "-l secure"
# (chain and name verified against fakemx's root, as an MTA with a
# secure-channel policy would) reports VERDICT ("Verified" or "Untrusted")
# TLS connection established, after a line matching REGEX (its reason).
# It exits 0 either way: the verdict is what it prints.
posttls_finger() {
  local verdict="$1" reason="$2" log="$FIXTURE_TMP/posttls-finger.log" bin candidate
  require_peer posttls-finger "test -x /usr/sbin/posttls-finger -o -x /usr/lib/postfix/sbin/posttls-finger" \
    "Debian package postfix"
  for candidate in /usr/lib/postfix/sbin/posttls-finger /usr/sbin/posttls-finger; do
    if [[ -x $candidate ]]; then bin=$candidate; fi
  done
  set +e
  timeout 60 "$bin" -c -l secure -s "$TLS_HOSTNAME" -F "$FAKEMX_CA" \
    "[127.0.0.1]:$FAKEMX_PORT" "$TLS_HOSTNAME" >"$log" 2>&1
  RC=$?
  set -e
  echo "[posttls-finger exited $RC]" >>"$log"
  expect_in "$log" "^posttls-finger: $verdict TLS connection established to 127\\.0\\.0\\.1" "posttls-finger -l secure"
  expect_in "$log" "$reason" "posttls-finger -l secure"
}

# A certificate variant: (variant, final verify code, first error).
bad_certificate() {
  local variant="$1" code="$2" strict="$3"
  expect_in "$FAKEMX_OUT" "^fakemx: certificate $variant for mx\\.example\\.test\$" "banner"
  s_client_verify "$code" "$strict"
  # swaks does not verify unless told: it delivers over TLS.
  expect_swaks "$FIXTURE_TMP/swaks-tls.log" 0 --tls
  expect_in "$FIXTURE_TMP/swaks-tls.log" '^=== TLS started with cipher ' "swaks --tls"
  swaks_delivered "$FIXTURE_TMP/swaks-tls.log"
  check_sidecar "$DELIVERED" tls.used=true tls.certificate="\"$variant\""
  # --tls-verify checks the chain (not the name, in swaks 20201014: see
  # tls_swaks_test.sh), so only wrong-host gets through.
  local log="$FIXTURE_TMP/swaks-tls-verify.log"
  if [[ $variant == wrong-host ]]; then
    expect_swaks "$log" 0 --tls --tls-verify --tls-ca-path "$FAKEMX_CA"
  else
    expect_swaks "$log" 29 --tls --tls-verify --tls-ca-path "$FAKEMX_CA"
    expect_in "$log" '^\*\*\* TLS startup failed \(connect\(\): .*certificate verify failed\)' "swaks --tls-verify"
    expect_not_in "$log" 'MAIL FROM' "swaks --tls-verify"
  fi
  # One message from smtplib, one from swaks --tls, and wrong-host's from
  # swaks --tls-verify.
  expect_stored "$([[ $variant == wrong-host ]] && echo 3 || echo 2)"
}

# STARTTLS advertised and answered CODE TEXT: swaks --tls gives up (29),
# --tls-optional delivers in plaintext.
starttls_refused() {
  local reply="$1" log="$FIXTURE_TMP/swaks-tls.log"
  expect_swaks "$log" 29 --tls
  expect_in "$log" '^<-  250-STARTTLS$' "EHLO (STARTTLS advertised)"
  expect_in "$log" "^<\\*\\* $reply\$" "the reply to STARTTLS"
  expect_in "$log" '^\*\*\* STARTTLS attempted but failed' "swaks --tls"
  expect_not_in "$log" 'MAIL FROM' "swaks --tls"
  log="$FIXTURE_TMP/swaks-tls-optional.log"
  expect_swaks "$log" 0 --tls-optional
  expect_not_in "$log" '^=== TLS started' "swaks --tls-optional"
  swaks_delivered "$log"
  check_sidecar "$DELIVERED" tls.used=false
}

case "$SCENARIO" in
  good)
    run_python
    expect_in "$FAKEMX_OUT" '^fakemx: certificate good for mx\.example\.test$' "banner"
    expect_in "$FAKEMX_OUT" '^fakemx: starttls offer$' "banner"
    s_client_verify 0 0
    posttls_finger Verified "^posttls-finger: .*: matched peername: mx\\.example\\.test$"
    log="$FIXTURE_TMP/swaks-tls.log"
    expect_swaks "$log" 0 --tls --tls-verify --tls-ca-path "$FAKEMX_CA" --tls-sni "$TLS_HOSTNAME"
    expect_in "$log" '^<-  250-STARTTLS$' "EHLO"
    expect_not_in "$log" '^<-  250[- ]AUTH' "EHLO (AUTH not offered)"
    expect_in "$log" '^=== TLS started with cipher TLSv1\.3:' "swaks --tls"
    swaks_delivered "$log"
    check_sidecar "$DELIVERED" tls.used=true tls.certificate='"good"' tls.sni='"mx.example.test"'
    expect_stored 3
    ;;
  no-starttls)
    run_python
    expect_in "$FAKEMX_OUT" '^fakemx: starttls hide$' "banner"
    log="$FIXTURE_TMP/swaks-tls.log"
    expect_swaks "$log" 29 --tls
    expect_in "$log" '^<-  250 ' "EHLO"
    expect_not_in "$log" '^<-  250[- ]STARTTLS' "EHLO (STARTTLS hidden)"
    expect_in "$log" '^\*\*\* Host did not advertise STARTTLS' "swaks --tls"
    log="$FIXTURE_TMP/swaks-tls-optional.log"
    expect_swaks "$log" 0 --tls-optional
    swaks_delivered "$log"
    check_sidecar "$DELIVERED" tls.used=false
    expect_stored 2
    ;;
  starttls-refused)
    run_python
    starttls_refused "454 4.7.0 TLS not available due to temporary reason"
    expect_stored 2
    ;;
  starttls-advertised-then-502)
    run_python
    starttls_refused "502 5.5.1 Command not implemented"
    expect_stored 2
    ;;
  handshake-abort)
    run_python
    expect_in "$FAKEMX_OUT" '^fakemx: starttls abort-after-220$' "banner"
    log="$FIXTURE_TMP/s_client.log"
    tls_s_client "$log"
    [[ $RC == 1 ]] || failing "$log" "s_client exited $RC, want 1 (handshake failed)"
    expect_in "$log" '^no peer certificate available' "s_client"
    expect_in "$log" '^New, \(NONE\), Cipher is \(NONE\)' "s_client"
    log="$FIXTURE_TMP/swaks-tls.log"
    run_swaks "$log" --tls
    # The ClientHello meets a closed connection: the TLS error (29) or,
    # when the write gets the RST first, SIGPIPE (141), as for
    # --starttls=abort-after-220 (tls_starttls_faults_test.sh).
    [[ $RC == 29 || $RC == 141 ]] || failing "$log" "swaks --tls exited $RC, want 29 or 141"
    expect_in "$log" '^<-  220 ' "the reply to STARTTLS"
    expect_not_in "$log" '^=== TLS started' "swaks --tls"
    expect_stored 0
    ;;
  expired-cert)
    run_python
    bad_certificate expired 10 10
    posttls_finger Untrusted '^posttls-finger: server certificate verification failed for .*: certificate has expired$'
    ;;
  self-signed)
    run_python
    bad_certificate self-signed 18 18
    posttls_finger Untrusted '^posttls-finger: certificate verification failed for .*: self-signed certificate$'
    ;;
  wrong-host)
    run_python
    bad_certificate wrong-host 62 62
    posttls_finger Untrusted '^posttls-finger: server certificate verification failed for .*: num=62:hostname mismatch$'
    ;;
  # unknown-ca: the leaf is served alone, so OpenSSL first cannot find its
  # issuer (20) and, told to go on, ends at 21 (tests/BUILD.bazel).
  unknown-ca)
    run_python
    bad_certificate unknown-ca 21 20
    posttls_finger Untrusted '^posttls-finger: certificate verification failed for .*: untrusted issuer .*CN=mxkit unknown root CA'
    ;;
  # A 1024-bit RSA leaf: OpenSSL's clients at security level 2 refuse it
  # (66), but Postfix 3.7's TLS verifies it: an MTA delivering to such a
  # receiver with a "secure" policy would not notice.
  weak-rsa-1024)
    run_python
    bad_certificate rsa-1024 66 66
    posttls_finger Verified 'server-signature RSA-PSS \(1024 bits\)'
    ;;
  tls1.0-only)
    run_python
    log="$FIXTURE_TMP/s_client-default.log"
    tls_s_client "$log"
    [[ $RC == 1 ]] || failing "$log" "s_client at its default security level exited $RC, want 1"
    expect_in "$log" 'legacy sigalg disallowed or unsupported' "s_client"
    log="$FIXTURE_TMP/s_client-seclevel0.log"
    tls_s_client "$log" -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
    [[ $RC == 0 ]] || failing "$log" "s_client -tls1 @SECLEVEL=0 exited $RC"
    expect_in "$log" '^New, TLSv1\.0, Cipher is ' "s_client -tls1"
    expect_in "$log" '^221 ' "s_client -tls1"
    log="$FIXTURE_TMP/swaks-tls.log"
    expect_swaks "$log" 29 --tls
    expect_in "$log" '^\*\*\* TLS startup failed \(connect\(\): .*legacy sigalg disallowed or unsupported\)' "swaks --tls"
    expect_stored 1
    ;;
  non-esmtp)
    run_python
    # swaks falls back to HELO when EHLO is refused, and delivers.
    log="$FIXTURE_TMP/swaks.log"
    expect_swaks "$log" 0
    expect_in "$log" '^<\*\* 500 ' "the reply to EHLO"
    expect_in "$log" '^ -> HELO client\.test$' "swaks's fallback"
    swaks_delivered "$log"
    check_sidecar "$DELIVERED" helo.command='"HELO"'
    expect_stored 3
    ;;
  auth-required)
    run_python
    log="$FIXTURE_TMP/swaks-no-auth.log"
    expect_swaks "$log" 23
    expect_in "$log" '^<-  250[- ]AUTH ' "EHLO"
    expect_in "$log" '^<\*\* 530 5\.7\.0 Authentication required$' "MAIL before AUTH"
    log="$FIXTURE_TMP/swaks-wrong-password.log"
    expect_swaks "$log" 28 --auth PLAIN --auth-user test --auth-password wrong
    expect_in "$log" '^<\*\* 535 5\.7\.8 ' "AUTH PLAIN with a wrong password"
    for mechanism in PLAIN LOGIN CRAM-MD5; do
      log="$FIXTURE_TMP/swaks-auth-$mechanism.log"
      expect_swaks "$log" 0 --auth "$mechanism" --auth-user test --auth-password test
      expect_in "$log" '^<-  235 ' "AUTH $mechanism"
      swaks_delivered "$log"
    done
    log="$FIXTURE_TMP/swaks-tls-auth.log"
    expect_swaks "$log" 0 --tls --auth LOGIN --auth-user test --auth-password test
    expect_in "$log" '^<~  235 ' "AUTH LOGIN over TLS"
    swaks_delivered "$log"
    check_sidecar "$DELIVERED" tls.used=true
    expect_stored 10
    ;;
  greylist)
    # swaks, one attempt: refused at RCPT (24). Its triplet is its own
    # (another sender than the smtplib half uses), so after the smtplib
    # half, which waits out the delay, the same swaks command delivers.
    log="$FIXTURE_TMP/swaks-first.log"
    expect_swaks "$log" 24 --from swaks@example.org
    expect_in "$log" '^<\*\* 451 4\.7\.1 Greylisted, try again later$' "RCPT"
    run_python
    log="$FIXTURE_TMP/swaks-retry.log"
    expect_swaks "$log" 0 --from swaks@example.org
    swaks_delivered "$log"
    expect_stored 3
    ;;
  tarpit)
    # swaks in the background, smtplib timing each reply meanwhile: delays
    # are per connection, so the two take the same time side by side.
    start=$SECONDS
    expect_swaks "$FIXTURE_TMP/swaks.log" 0 &
    swaks_pid=$!
    run_python
    wait "$swaks_pid" || fail "swaks against tarpit (see above)"
    elapsed=$((SECONDS - start))
    # Greeting, EHLO, MAIL, RCPT, DATA, end of data, QUIT: seven replies.
    ((elapsed >= 7)) || failing "$FIXTURE_TMP/swaks.log" "swaks finished after ${elapsed}s, want >= 7 (7 replies x 1 s)"
    swaks_delivered "$FIXTURE_TMP/swaks.log"
    expect_stored 2
    ;;
  reject-rcpt)
    run_python
    log="$FIXTURE_TMP/swaks-unknown.log"
    expect_swaks "$log" 24 --to unknown.user@example.test
    expect_in "$log" '^<\*\* 550 5\.1\.1 No such user here$' "RCPT"
    log="$FIXTURE_TMP/swaks-three.log"
    expect_swaks "$log" 0 --to b@example.net,c@example.net,d@example.net
    expect_in "$log" '^<\*\* 452 4\.5\.3 Too many recipients$' "the third RCPT"
    swaks_delivered "$log"
    expect_stored 3
    ;;
  disconnect-after-data)
    run_python
    log="$FIXTURE_TMP/swaks.log"
    run_swaks "$log"
    # The reply to the end of data never comes: "connection closed
    # unexpectedly" (6).
    [[ $RC == 6 ]] || failing "$log" "swaks exited $RC, want 6"
    expect_in "$log" '^\*\*\* Remote host closed connection unexpectedly' "swaks"
    expect_stored 0
    ;;
  busy-421)
    run_python
    log="$FIXTURE_TMP/swaks.log"
    expect_swaks "$log" 21
    expect_in "$log" '^<\*\* 421 4\.3\.2 mx\.example\.test Too busy, try again later$' "the banner"
    expect_not_in "$log" 'EHLO' "swaks"
    expect_stored 0
    ;;
  size-limit)
    run_python
    log="$FIXTURE_TMP/swaks-big.log"
    big="$FIXTURE_TMP/big.eml"
    { printf 'Subject: big\r\n\r\n'; for ((i = 0; i < 1000; i++)); do printf '%0100d\r\n' "$i"; done; } >"$big"
    set +e
    timeout 60 swaks --server "127.0.0.1:$FAKEMX_PORT" --helo client.test --from a@example.org \
      --to b@example.net --data "@$big" --timeout 30 >"$log" 2>&1
    RC=$?
    set -e
    # swaks does not declare SIZE: refused after the data (26).
    [[ $RC == 26 ]] || failing "$log" "swaks with 100 KiB exited $RC, want 26"
    expect_in "$log" '^<-  250-SIZE 65536$' "EHLO"
    expect_in "$log" '^<\*\* 552 5\.3\.4 ' "the end of data"
    expect_swaks "$FIXTURE_TMP/swaks-small.log" 0
    expect_stored 2
    ;;
  smuggling-vulnerable)
    run_python
    # On purpose, and said so at start.
    expect_in "$FAKEMX_OUT.err" '^fakemx: warning: .*vulnerable to SMTP smuggling' "stderr"
    expect_swaks "$FIXTURE_TMP/swaks.log" 0
    expect_stored 3
    ;;
  garbage-replies)
    # Only a raw socket shows the bytes as sent (and smtplib's reading of
    # the broken EHLO reply).
    run_python
    expect_stored 0
    ;;
  no-mx | no-spf | broken-dmarc | dns-timeout | mta-sts-enforce | mta-sts-mismatch | \
    mta-sts-testing-mismatch | mta-sts-bad-cert | mta-sts-404 | mta-sts-redirect | dane-good | \
    dane-mismatch | dane-unsigned)
    # What differs from good is in fakemx's DNS and policy host
    # (fakemx/scenario_dns_test.cc, and mxkit probe's tests); the SMTP
    # receiver is good's, and still delivers as good does.
    run_python
    expect_in "$FAKEMX_OUT" '^fakemx: certificate good for mx\.example\.test$' "banner"
    s_client_verify 0 0
    expect_stored 2
    ;;
  *)
    fail "no test for scenario '$SCENARIO': add it here and to tests/BUILD.bazel"
    ;;
esac

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
stopped_line_matches_maildir
for log in "$FIXTURE_TMP"/*.log; do
  [[ -e "$log" ]] || continue
  echo "--- ${log##*/} ---"
  grep -v -E '^ [~-]> (Date|To|From|Subject|Message-Id|X-Mailer):|^-----BEGIN|^-----END|^[A-Za-z0-9+/=]{64}$|^ [~-]> [0-9]{100}$' "$log" || true
done
echo "PASS: --scenario=$SCENARIO"
