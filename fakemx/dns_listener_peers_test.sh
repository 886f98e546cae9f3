#!/usr/bin/env bash
# dig (Debian's bind9-dnsutils) and dnspython (python3-dnspython) against
# fakemx's DNS listener, served by //fakemx/testing:dns_zone_server: the
# records and every fault over UDP and TCP, TC forcing TCP, EDNS0 (payload
# size, DO, BADVERS), the AD bit for an authenticated zone only, the case of
# the query name echoed. A missing peer skips, or fails under
# MXKIT_REQUIRE_CONFORMANCE or CI=true.
#
#   dns_listener_peers_test.sh PATH/TO/dns_zone_server
set -euo pipefail

server_bin="$1"
here="$(dirname "${BASH_SOURCE[0]}")"
source testing/conformance.sh
require_peer dig dig "Debian package bind9-dnsutils"
require_peer dnspython "/usr/bin/python3 -c 'import dns.query'" "Debian package python3-dnspython"

tmp="${TEST_TMPDIR:-$(mktemp -d)}"
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- server output ---" >&2
  cat "$tmp/server.out" >&2 || true
  exit 1
}

"$server_bin" --zone=example.test="$here/testdata/dns_peers.zone" \
  --zone=plain.test="$here/testdata/dns_peers_plain.zone" --authenticated=example.test \
  --fault=nx.example.test=nxdomain --fault=servfail.example.test=servfail \
  --fault=refused.example.test=refused --fault=mx.example.test/TXT=nodata \
  --fault=trunc.example.test/A=truncate --tcp-idle-timeout-ms=2000 \
  >"$tmp/server.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q '^ready$' "$tmp/server.out" && break
  kill -0 "$pid" 2>/dev/null || fail "the zone server exited"
  sleep 0.1
done
grep -q '^ready$' "$tmp/server.out" || fail "the zone server did not start in 10 s"
port="$(sed -n 's/^dns udp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server.out")"
tcp_port="$(sed -n 's/^dns tcp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server.out")"
[[ -n "$port" && "$port" == "$tcp_port" ]] || fail "udp and tcp ports differ or are missing"

d() { dig @127.0.0.1 -p "$port" +time=2 +tries=1 "$@"; }

# expect WHAT PATTERN DIG-ARGS...: the dig output matches PATTERN (grep -E).
expect() {
  local what="$1" pattern="$2"
  shift 2
  local out
  out="$(d "$@" 2>&1 || true)"
  grep -Eq -- "$pattern" <<<"$out" || { echo "$out" >&2; fail "dig $*: $what (wanted /$pattern/)"; }
}
# reject WHAT PATTERN DIG-ARGS...: the dig output does not match.
reject() {
  local what="$1" pattern="$2"
  shift 2
  local out
  out="$(d "$@" 2>&1 || true)"
  if grep -Eq -- "$pattern" <<<"$out"; then echo "$out" >&2; fail "dig $*: $what (/$pattern/)"; fi
}

for transport in +notcp +tcp; do
  expect "MX answer" '^example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+MX[[:space:]]+10 mx\.example\.test\.' example.test MX "$transport"
  expect "status NOERROR, aa and ra" 'status: NOERROR.*' example.test MX "$transport"
  expect "flags qr aa rd ra" 'flags: qr aa rd ra' example.test MX "$transport" +noadflag
  expect "CNAME followed" 'mx\.example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.1' www.example.test A "$transport"
  expect "TLSA" 'IN[[:space:]]+TLSA[[:space:]]+3 1 1 0123456789ABCDEF' _25._tcp.mx.example.test TLSA "$transport"
  expect "NXDOMAIN with SOA, TTL min(300, 60)" 'example\.test\.[[:space:]]+60[[:space:]]+IN[[:space:]]+SOA' none.example.test A "$transport"
  expect "NXDOMAIN" 'status: NXDOMAIN' none.example.test A "$transport"
  expect "NXDOMAIN fault" 'status: NXDOMAIN' nx.example.test A "$transport"
  expect "NODATA fault" 'ANSWER: 0, AUTHORITY: 1,' mx.example.test TXT "$transport"
  expect "empty non-terminal is NODATA" 'ANSWER: 0, AUTHORITY: 1,' b.example.test A "$transport"
  expect "SERVFAIL fault" 'status: SERVFAIL' servfail.example.test A "$transport"
  expect "REFUSED fault" 'status: REFUSED' refused.example.test A "$transport"
  expect "outside every zone" 'status: REFUSED' example.org A "$transport"
  expect "timeout fault" 'timed out|no servers could be reached' timeout.example.test A "$transport"
  expect "question case echoed" '^;Mx\.ExAmPlE\.tEsT\.[[:space:]]+IN[[:space:]]+A' Mx.ExAmPlE.tEsT A "$transport"
  expect "owner case echoed" '^Mx\.ExAmPlE\.tEsT\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A' Mx.ExAmPlE.tEsT A "$transport"
  expect "AD for the authenticated zone (+adflag)" 'flags: qr aa rd ra ad' mx.example.test A +adflag "$transport"
  expect "AD for the authenticated zone (+dnssec)" 'flags: qr aa rd ra ad' mx.example.test A +noadflag +dnssec "$transport"
  expect "DO echoed" 'EDNS: version: 0, flags: do; udp: 1232' mx.example.test A +dnssec "$transport"
  reject "no AD without AD or DO" 'flags: qr aa rd ra ad' mx.example.test A +noadflag "$transport"
  reject "no AD for an unsigned zone" 'flags: [a-z ]* ad' host.plain.test A +adflag +dnssec "$transport"
  expect "BADVERS" 'status: BADVERS' mx.example.test A +edns=1 +noednsnegotiation "$transport"
  expect "class CH refused" 'status: REFUSED' version.bind TXT CH "$transport"
  expect "ANY gives every record" 'ANSWER: 2,' mx.example.test ANY "$transport"
  expect "ANY at an empty non-terminal is NODATA with SOA (RFC 2308 §2.2)" 'ANSWER: 0, AUTHORITY: 1,' b.example.test ANY "$transport"
  expect "ANY NODATA is NOERROR" 'status: NOERROR' b.example.test ANY "$transport"
done
expect "TCP really used" 'SERVER: 127\.0\.0\.1#[0-9]+\(127\.0\.0\.1\) \(TCP\)' example.test MX +tcp
# Truncation: TC over UDP, the whole answer over TCP.
expect "TC at 512 octets" 'flags: qr aa tc rd ra' big.example.test TXT +bufsize=512 +notcp +ignore +noadflag
expect "truncate fault sets TC" 'flags: qr aa tc rd ra' trunc.example.test A +notcp +ignore +noadflag
expect "dig retries over TCP after TC" 'Truncated, retrying in TCP mode' big.example.test TXT +bufsize=512 +notcp
expect "all six TXT over TCP" 'ANSWER: 6,' big.example.test TXT +bufsize=512 +notcp
expect "truncate fault answered over TCP" 'trunc\.example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.9' trunc.example.test A +notcp
expect "1232 octets fit without TC" 'ANSWER: 6,' big.example.test TXT +bufsize=1232 +notcp +ignore

/usr/bin/python3 "$here/dns_listener_peers_test.py" 127.0.0.1 "$port" ||
  fail "dnspython checks failed"
echo PASS
