#!/bin/bash
# Runs tls_injection_test.py (Debian's /usr/bin/python3 and its ssl module)
# against fakemx offering STARTTLS.
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
FAKEMX_BIN="$1"
SCRIPT="$2"

fakemx_start_tls "$FAKEMX_BIN"
FAKEMX_PORT=$FAKEMX_PORT FAKEMX_MAILDIR=$FAKEMX_MAILDIR FAKEMX_CA=$FAKEMX_CA \
  TLS_HOSTNAME=$TLS_HOSTNAME timeout 120 /usr/bin/python3 "$SCRIPT" ||
  fail "tls_injection_test.py failed"
fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
echo PASS
