#!/bin/bash
# Runs tls_smtplib_test.py (Debian's /usr/bin/python3) against one fakemx per
# certificate variant it needs.
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
FAKEMX_BIN="$1"
SCRIPT="$2"

ENV=(TLS_HOSTNAME="$TLS_HOSTNAME")
PIDS=()
for variant in good expired not-yet-valid self-signed wrong-host unknown-ca \
  missing-intermediate rsa-1024 sha1-signature no-san; do
  fakemx_start_tls "$FAKEMX_BIN" --cert="$variant"
  key=${variant^^}
  key=${key//-/_}
  ENV+=("${key}_PORT=$FAKEMX_PORT" "${key}_MAILDIR=$FAKEMX_MAILDIR" "${key}_CA=$FAKEMX_CA")
  PIDS+=("$FAKEMX_PID")
done

env "${ENV[@]}" timeout 120 /usr/bin/python3 "$SCRIPT" || fail "tls_smtplib_test.py failed"

for FAKEMX_PID in "${PIDS[@]}"; do
  fakemx_stop TERM
  [[ $FAKEMX_EXIT == 0 ]] || fail "fakemx (pid $FAKEMX_PID) exited $FAKEMX_EXIT"
done
echo PASS
