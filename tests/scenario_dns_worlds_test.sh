#!/usr/bin/env bash
# The DNS and MTA-STS catalogue entries (docs/scenarios.md) as software we did
# not write sees them: fakemx runs each entry and Debian's dig (bind9-dnsutils)
# asks its DNS server, over UDP and TCP, for what the entry promises; openssl
# computes the TLSA data from the chain fakemx serves; curl fetches the
# MTA-STS policy, trusting only fakemx's ca.pem. Every fakemx started is
# stopped, pass or fail (tests/fakemx_fixture.sh).
#
#   tests/scenario_dns_worlds_test.sh FAKEMX
set -euo pipefail

FAKEMX_BIN="$1"
source tests/fakemx_fixture.sh
source tests/scenario_fixture.sh

for tool in dig curl openssl; do
  command -v "$tool" >/dev/null ||
    fail "$tool not found (tools/debian-packages.txt: bind9-dnsutils, curl, openssl)"
done

# start NAME: fakemx on the catalogue entry, DNS and policy host on free ports.
start() {
  SCENARIO="$1"
  TLS_DIR="$FIXTURE_TMP/tls-$SCENARIO"
  fakemx_start_scenario "$FAKEMX_BIN" --scenario="$SCENARIO" --tls-dir="$TLS_DIR" \
    --smtp=127.0.0.1:0 --dns=127.0.0.1:0 --mta-sts-port=0
  DNS_PORT=$(fakemx_dns_port "$FAKEMX_OUT")
  [[ -n "$DNS_PORT" ]] || fail "$SCENARIO: no 'fakemx: dns udp' line"
  STS_PORT=$(sed -n 's/^fakemx: mta-sts example\.test https 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
    "$FAKEMX_OUT")
}

# q [DIG OPTIONS] NAME TYPE: dig's +short answer (5 s at most).
q() { dig @127.0.0.1 -p "$DNS_PORT" +time=2 +tries=1 +short "$@" 2>&1 || true; }
# full [DIG OPTIONS] NAME TYPE: dig's whole output.
full() { dig @127.0.0.1 -p "$DNS_PORT" +time=2 +tries=1 "$@" 2>&1 || true; }

expect_eq() {  # WHAT GOT WANT
  [[ "$2" == "$3" ]] || fail "$SCENARIO: $1: got '$2', want '$3'"
}
expect_match() {  # WHAT TEXT REGEX
  grep -Eq -- "$3" <<<"$2" || fail "$SCENARIO: $1: '$2' does not match /$3/"
}

# The SHA-256 of the served leaf's SubjectPublicKeyInfo, upper-case hex as
# dig prints TLSA data.
leaf_spki_sha256() {
  openssl x509 -in "$TLS_DIR/chain.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
    openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F
}
complement() {  # HEX: every octet's complement
  local hex="$1" out="" i
  for ((i = 0; i < ${#hex}; i += 2)); do out+=$(printf '%02X' $((0xFF ^ 0x${hex:i:2}))); done
  echo "$out"
}

policy() {  # [CURL OPTIONS]: fetch the policy as an MTA-STS sender would
  [[ -n "$STS_PORT" ]] || fail "$SCENARIO: no 'fakemx: mta-sts example.test https' line"
  curl -sS --max-time 10 --cacert "$TLS_DIR/ca.pem" \
    --resolve "mta-sts.example.test:$STS_PORT:127.0.0.1" "$@" \
    "https://mta-sts.example.test:$STS_PORT/.well-known/mta-sts.txt" 2>&1 || true
}

stop() {
  fakemx_stop TERM
  [[ $FAKEMX_EXIT == 0 ]] || fail "$SCENARIO: fakemx exited $FAKEMX_EXIT after SIGTERM"
}

# --- The default world (good): every record, over UDP and TCP.
start good
for transport in +notcp +tcp; do
  expect_eq "MX ($transport)" "$(q $transport example.test MX)" "10 mx.example.test."
  expect_eq "A ($transport)" "$(q $transport mx.example.test A)" "127.0.0.1"
done
expect_eq "SPF" "$(q example.test TXT)" '"v=spf1 ip4:127.0.0.1 -all"'
expect_eq "DMARC" "$(q _dmarc.example.test TXT)" \
  '"v=DMARC1; p=reject; rua=mailto:dmarc@example.test"'
expect_eq "TLS-RPT" "$(q _smtp._tls.example.test TXT)" \
  '"v=TLSRPTv1; rua=mailto:tlsrpt@example.test"'
expect_match "DKIM" "$(q mxkit._domainkey.example.test TXT)" '^"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="$'
expect_match "no MTA-STS" "$(full _mta-sts.example.test TXT)" 'status: NXDOMAIN'
expect_match "no TLSA" "$(full _25._tcp.mx.example.test TLSA)" 'status: NXDOMAIN'
expect_match "no AD" "$(full +adflag example.test MX)" 'flags: qr aa rd ra;'
[[ -s "$TLS_DIR/example.test.mxkit.dkim.pem" ]] || fail "good: no DKIM key in --tls-dir"
grep -q '^fakemx: dkim-key example.test mxkit ' "$FAKEMX_OUT" || fail "good: no dkim-key line"
stop

start no-mx
expect_match "MX" "$(full example.test MX)" 'status: NOERROR.*|ANSWER: 0,'
expect_match "MX answer count" "$(full example.test MX)" 'ANSWER: 0,'
expect_eq "implicit MX address (RFC 5321 §5.1)" "$(q example.test A)" "127.0.0.1"
stop

start no-spf
expect_eq "TXT" "$(q example.test TXT)" ""
expect_match "TXT is NODATA" "$(full example.test TXT)" 'status: NOERROR.*'
expect_eq "DMARC" "$(q _dmarc.example.test TXT)" \
  '"v=DMARC1; p=reject; rua=mailto:dmarc@example.test"'
stop

start broken-dmarc
expect_eq "DMARC" "$(q _dmarc.example.test TXT)" '"v=DMARC1; p=bogus"'
stop

start dns-timeout
for transport in +notcp +tcp; do
  expect_match "TXT ($transport)" "$(full $transport example.test TXT)" 'timed out|no servers could be reached'
  expect_match "DMARC ($transport)" "$(full $transport _dmarc.example.test TXT)" \
    'timed out|no servers could be reached'
done
expect_eq "MX still answers" "$(q example.test MX)" "10 mx.example.test."
stop

for entry in mta-sts-enforce mta-sts-mismatch mta-sts-testing-mismatch; do
  start "$entry"
  expect_match "_mta-sts TXT" "$(q _mta-sts.example.test TXT)" '^"v=STSv1; id=[0-9a-f]{20}"$'
  expect_eq "mta-sts A" "$(q mta-sts.example.test A)" "127.0.0.1"
  case $entry in
    mta-sts-enforce) want=$'version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 604800\r' ;;
    mta-sts-mismatch) want=$'version: STSv1\r\nmode: enforce\r\nmx: mx.elsewhere.test\r\nmax_age: 604800\r' ;;
    *) want=$'version: STSv1\r\nmode: testing\r\nmx: mx.elsewhere.test\r\nmax_age: 604800\r' ;;
  esac
  expect_eq "policy" "$(policy)" "$want"
  expect_match "content type" "$(policy -o /dev/null -w '%{http_code} %{content_type}')" \
    '^200 text/plain'
  stop
done

start mta-sts-bad-cert
expect_match "policy fetch" "$(policy)" 'certificate has expired|SSL certificate problem'
expect_match "with -k" "$(policy -k)" '^version: STSv1'
stop

start mta-sts-404
expect_match "_mta-sts TXT" "$(q _mta-sts.example.test TXT)" '^"v=STSv1; id='
expect_eq "status" "$(policy -o /dev/null -w '%{http_code}')" "404"
stop

start mta-sts-redirect
expect_eq "status and Location" "$(policy -o /dev/null -w '%{http_code} %{redirect_url}')" \
  "301 https://mta-sts.elsewhere.test/.well-known/mta-sts.txt"
stop

for entry in dane-good dane-mismatch dane-unsigned; do
  start "$entry"
  spki=$(leaf_spki_sha256)
  [[ ${#spki} == 64 ]] || fail "$entry: openssl gave no SPKI digest"
  [[ $entry == dane-good ]] && want="3 1 1 $spki" || want="3 1 1 $(complement "$spki")"
  # At _25 only: --smtp=127.0.0.1:0 leaves no fixed port of its own
  # (fakemx/scenario_dns_test.cc covers _PORT for a fixed one). dig prints
  # long TLSA data in groups; join them.
  got=$(q +tcp _25._tcp.mx.example.test TLSA |
    awk '{ printf "%s %s %s ", $1, $2, $3; for (i = 4; i <= NF; i++) printf "%s", $i; print "" }')
  expect_eq "TLSA" "$got" "$want"
  if [[ $entry == dane-unsigned ]]; then
    expect_match "no AD" "$(full +adflag _25._tcp.mx.example.test TLSA)" 'flags: qr aa rd ra;'
  else
    expect_match "AD" "$(full +adflag _25._tcp.mx.example.test TLSA)" 'flags: qr aa rd ra ad;'
    expect_match "AD over DO" "$(full +dnssec +noadflag mx.example.test A)" 'flags: qr aa rd ra ad;'
  fi
  stop
done

echo "PASS: the DNS and MTA-STS catalogue entries, through dig, openssl and curl"
