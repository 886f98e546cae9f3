#!/bin/bash
# mxkit probe against fakemx's DNS and MTA-STS catalogue entries (issue 10,
# "Done means": MTA-STS enforce with a non-matching MX is refused under
# MTA-STS; a TLSA mismatch with AD is refused under DANE and ignored without
# AD). Everything comes from fakemx, as a sender would see it: MX, A,
# _mta-sts TXT and TLSA from its DNS server (--dns-server, c-ares asking for
# the AD bit), the policy from its HTTPS policy host (--mta-sts-port), the
# certificates from its --tls-dir root (--trust).
#
#   tests/probe_policy_test.sh FAKEMX MXKIT DANE_UNSIGNED_MX_YAML
source tests/fakemx_fixture.sh
source tests/probe_fixture.sh
FAKEMX_BIN="$1"
MXKIT_BIN="$2"
DANE_UNSIGNED_MX="$3"
[[ -f "$DANE_UNSIGNED_MX" ]] || fail "no scenario file '$DANE_UNSIGNED_MX' (the third argument)"
export FAKEMX_HOSTNAME=mx.example.test

# run SCENARIO [TARGET]: fakemx with DNS and policy hosts on free ports, then
# mxkit probe --json through them; sets RC and OUT.
RUNS=0
run() {
  local sc="$1" target="${2:-example.test}"
  RUNS=$((RUNS + 1))
  local dir="$FIXTURE_TMP/tls.$RUNS"
  fakemx_start "$FAKEMX_BIN" --scenario="$sc" --tls-dir="$dir" --dns=127.0.0.1:0 --mta-sts-port=0
  local dns sts
  dns=$(fakemx_dns_port "$FAKEMX_OUT")
  [[ -n "$dns" ]] || fail "$sc: no 'fakemx: dns udp' line"
  sts=$(sed -n 's/^fakemx: mta-sts [^ ]* https 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$FAKEMX_OUT" | head -1)
  OUT="$FIXTURE_TMP/probe.$RUNS.json"
  set +e
  timeout 120 "$MXKIT_BIN" probe "$target" --dns-server="127.0.0.1:$dns" --port="$FAKEMX_PORT" \
    ${sts:+--mta-sts-port="$sts"} --trust="$dir/ca.pem" --timeout=10 --json >"$OUT" 2>"$OUT.err"
  RC=$?
  set -e
  fakemx_stop
}

P=mx.0.policies
run mta-sts-enforce
[[ $RC == 0 ]] || fail "mta-sts-enforce: exit $RC"
expect mta-sts-enforce mta_sts.state='"policy"' mta_sts.policy.mode='"enforce"' \
  mta_sts.policy.mx='["mx.example.test"]' mta_sts.http_status=200 \
  $P.mta-sts.deliver=true $P.mta-sts.authenticated=true $P.mta-sts.result_type=null

run mta-sts-mismatch
[[ $RC == 0 ]] || fail "mta-sts-mismatch: exit $RC"
# Refused under MTA-STS (RFC 8461 §5), still delivered and encrypted under may.
expect mta-sts-mismatch mta_sts.policy.mx='["mx.elsewhere.test"]' $P.mta-sts.deliver=false \
  $P.mta-sts.result_type~'.' $P.mta-sts.reason~'matches no mx pattern' \
  $P.may.deliver=true $P.may.encrypted=true red_lock=false

run mta-sts-testing-mismatch
[[ $RC == 0 ]] || fail "mta-sts-testing-mismatch: exit $RC"
# testing: reported, delivered (RFC 8461 §5).
expect mta-sts-testing-mismatch mta_sts.policy.mode='"testing"' $P.mta-sts.deliver=true \
  $P.mta-sts.result_type~'.'

run mta-sts-404
[[ $RC == 0 ]] || fail "mta-sts-404: exit $RC"
expect mta-sts-404 mta_sts.state='"failed"' mta_sts.http_status=404 \
  mta_sts.result_type='"sts-policy-fetch-error"' $P.mta-sts.deliver=true

run mta-sts-redirect
[[ $RC == 0 ]] || fail "mta-sts-redirect: exit $RC"
# RFC 8461 §3.3: redirects are not followed.
expect mta-sts-redirect mta_sts.state='"failed"' mta_sts.http_status=301 \
  mta_sts.result_type='"sts-policy-fetch-error"' mta_sts.detail~'redirect'

run mta-sts-bad-cert
[[ $RC == 0 ]] || fail "mta-sts-bad-cert: exit $RC"
expect mta-sts-bad-cert mta_sts.state='"failed"' mta_sts.result_type='"sts-webpki-invalid"'

run dane-good
[[ $RC == 0 ]] || fail "dane-good: exit $RC"
expect dane-good mx.0.tlsa.name='"_25._tcp.mx.example.test"' mx.0.tlsa.lookup='"authenticated"' \
  mx.0.tlsa.authenticated=true $P.dane.deliver=true $P.dane.authenticated=true \
  $P.dane-only.deliver=true

run dane-mismatch
[[ $RC == 0 ]] || fail "dane-mismatch: exit $RC"
# Authenticated TLSA that matches nothing: refused under DANE (RFC 7672 §2.2).
# MX, A and TLSA answers are all authenticated.
expect dane-mismatch mx.0.tlsa.lookup='"authenticated"' $P.dane.deliver=false \
  $P.dane.result_type='"tlsa-invalid"' $P.may.deliver=true $P.verify.deliver=true \
  mx.0.mx_authenticated=true mx.0.addresses_authenticated=true mx.0.tlsa.insecure_reason=null

# fakemx's --hostname (the fixture's FAKEMX_HOSTNAME) names the receiver's
# host, and so its certificate and TLSA owner: the MX host in the signed zone.
FAKEMX_HOSTNAME=mx.signed.test run "$DANE_UNSIGNED_MX"
[[ $RC == 0 ]] || fail "dane-unsigned-mx: exit $RC"
# The same mismatching TLSA, authenticated, on an MX host in a signed zone,
# but the domain's MX answer is not authenticated: RFC 7672 §2.2.1 says DANE
# does not apply, so the TLSA record is ignored and mail goes.
expect dane-unsigned-mx mx.0.host='"mx.signed.test"' mx.0.mx_authenticated=false \
  mx.0.addresses_authenticated=true mx.0.tlsa.authenticated=true \
  mx.0.tlsa.lookup='"unauthenticated"' mx.0.tlsa.insecure_reason~'MX answer for example.test.*RFC 7672 §2.2.1' \
  $P.dane.deliver=true $P.dane.authenticated=false $P.dane.result_type=null \
  $P.dane-only.deliver=false $P.dane-only.result_type='"dane-required"'

run dane-unsigned
[[ $RC == 0 ]] || fail "dane-unsigned: exit $RC"
# The same mismatching TLSA without AD: ignored, DANE does not apply.
expect dane-unsigned mx.0.tlsa.lookup='"unauthenticated"' mx.0.tlsa.authenticated=false \
  $P.dane.deliver=true $P.dane.authenticated=false $P.dane.result_type=null \
  $P.dane-only.deliver=false $P.dane-only.result_type='"dane-required"'

run no-mx
[[ $RC == 0 ]] || fail "no-mx: exit $RC"
# The implicit MX is the domain itself; the certificate names mx.example.test.
expect no-mx mx.0.implicit_mx=true mx.0.host='"example.test"' mx.0.hop.tls.verify_result=62 \
  $P.verify.result_type='"certificate-host-mismatch"' $P.may.encrypted=true

# no-spf, broken-dmarc, dns-timeout: the differences are in TXT records a
# receiver checks for mail *from* the domain (SPF, DMARC). The probe is the
# sending side of mail *to* the domain and evaluates neither (its JSON has
# no SPF or DMARC field), so these check that the world is served and the
# hop is still good. dns-timeout faults only TXT example.test and TXT
# _dmarc.example.test; the probe's lookups (MX, A, TLSA, TXT _mta-sts) are
# answered, so it neither waits nor reports a DNS failure: the _mta-sts
# lookup ends in NXDOMAIN, not a timeout.
for sc in no-spf broken-dmarc dns-timeout; do
  run "$sc"
  [[ $RC == 0 ]] || { cat "$OUT" "$OUT.err" >&2; fail "$sc: exit $RC, want 0"; }
  expect "$sc" result='"probed"' mx_lookup_detail='"example.test MX: answer"' \
    mx.0.host='"mx.example.test"' red_lock=false delivery_mx='"mx.example.test"' \
    mx.0.hop.outcome='"completed"' mx.0.hop.timed_out=false mx.0.hop.tls.verified=true \
    $P.verify.deliver=true mta_sts.state='"no-policy"' mta_sts.detail~'NXDOMAIN' \
    mx.0.tlsa.lookup='"no-records"'
done

# A name inside the served zone that does not exist: NXDOMAIN from the server.
run good nosuch.example.test
[[ $RC == 5 ]] || { cat "$OUT" "$OUT.err" >&2; fail "NXDOMAIN through fakemx's DNS: exit $RC, want 5"; }
expect nxdomain result='"name-not-found"' error~'NXDOMAIN'
echo "PASS: $RUNS probes through fakemx's DNS and MTA-STS policy hosts"
