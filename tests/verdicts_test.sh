#!/bin/bash
# End to end: fakemx's verdicts (docs/verdicts.md) for mail sent by real
# clients: Python's smtplib and swaks, signed by dkimpy (Debian's
# python3-dkim) with the key fakemx exports ("fakemx: dkim-key DOMAIN
# SELECTOR FILE"). Read back from the Maildir sidecars' "verdict" and the
# Authentication-Results field the scenario prepends to the stored copy.
#
# SPF passes because the generated world's SPF record lists 127.0.0.1 (no
# client_ip mapping; docs/verdicts.md#client_ip).
source tests/fakemx_fixture.sh
source testing/conformance.sh
FAKEMX_BIN="$1"
SCRIPT="$2"
SCENARIO="$3"

require_peer swaks swaks "Debian package swaks"
require_peer dkimpy "/usr/bin/python3 -c 'import dkim, nacl'" \
  "Debian packages python3-dkim python3-nacl"

FAKEMX_HOSTNAME=mx.example.test fakemx_start "$FAKEMX_BIN" --scenario="$SCENARIO" \
  --tls-dir="$FIXTURE_TMP/tls"
read -r DKIM_DOMAIN DKIM_SELECTOR DKIM_KEY < <(sed -n 's/^fakemx: dkim-key //p' "$FAKEMX_OUT")
[[ -n "${DKIM_KEY:-}" && -f "$DKIM_KEY" ]] || fail "no 'fakemx: dkim-key' line with a key file"
[[ $DKIM_DOMAIN == example.test ]] || fail "dkim-key for '$DKIM_DOMAIN', not example.test"

FAKEMX_PORT=$FAKEMX_PORT FAKEMX_MAILDIR=$FAKEMX_MAILDIR DKIM_DOMAIN=$DKIM_DOMAIN \
  DKIM_SELECTOR=$DKIM_SELECTOR DKIM_KEY=$DKIM_KEY WORK="$FIXTURE_TMP" \
  timeout 120 /usr/bin/python3 "$SCRIPT" || fail "verdicts_test.py failed"

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT"
echo PASS
