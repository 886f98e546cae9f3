#!/bin/bash
# testssl.sh (Debian's 3.0.8) --starttls smtp -p against a fakemx profile:
# the protocols it finds offered must be exactly the expected ones.
#
#   tls_testssl_test.sh FAKEMX EXPECTED_IDS [FAKEMX FLAGS...]
#
# EXPECTED_IDS, comma-separated, are testssl's JSON ids (SSLv2 SSLv3 TLS1
# TLS1_1 TLS1_2 TLS1_3) of the protocols that must be offered; all others
# must not be.
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
FAKEMX_BIN="$1"
EXPECTED="$2"
shift 2
require_peer testssl.sh testssl "Debian package testssl.sh"

fakemx_start_tls "$FAKEMX_BIN" "$@"

# -p: protocols only, probed with testssl's own sockets (its ClientHellos
# offer every version, so OpenSSL's security level does not hide TLS 1.0).
# --warnings off: against a TLS-1.0-only server testssl's first check with
# Debian's OpenSSL (which refuses TLS 1.0) fails, and it would otherwise ask
# whether to go on (or, with --warnings batch, give up). --nodns none: no
# lookups, the machine may be offline. --quiet: no banner.
JSON="$FIXTURE_TMP/testssl.json"
LOG="$FIXTURE_TMP/testssl.log"
START=$SECONDS
set +e
timeout 240 testssl --quiet --color 0 --warnings off --nodns none --starttls smtp -p \
  --jsonfile "$JSON" "127.0.0.1:$FAKEMX_PORT" >"$LOG" 2>&1
RC=$?
set -e
echo "testssl exited $RC after $((SECONDS - START)) s"
cat "$LOG"
[[ $RC == 0 ]] || fail "testssl exited $RC"

/usr/bin/python3 - "$JSON" "$EXPECTED" <<'PY' || fail "testssl's findings"
import json, sys
path, expected = sys.argv[1], set(sys.argv[2].split(","))
with open(path, "rb") as f:
    findings = json.loads(f.read().decode("utf-8"))
protocols = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"]
seen = {f["id"]: f["finding"] for f in findings if f["id"] in protocols}
missing = [p for p in protocols if p not in seen]
if missing:
    sys.exit(f"testssl did not report {missing}: {seen}")
# "offered", "offered (deprecated)", "offered (OK)", "offered with final";
# never offered: "not offered", "not offered and downgraded to a weaker
# protocol", "TLSv1.1 is not offered, ...".
offered = {p for p, finding in seen.items() if finding.startswith("offered")}
if offered != expected:
    sys.exit(f"offered {sorted(offered)}, want {sorted(expected)}; findings: {seen}")
print(f"offered: {sorted(offered)}")
PY

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
echo PASS
