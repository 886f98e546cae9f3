#!/usr/bin/env bash
# The catalogue's DNS entries through fakemx's own DNS server, asked by
# Debian's dig (bind9-dnsutils) and dnspython (python3-dnspython) over UDP
# and TCP: the records and faults docs/scenarios.md says each entry
# publishes. A missing peer skips, or fails under MXKIT_REQUIRE_CONFORMANCE
# or CI=true.
#
#   scenario_dns_test.sh FAKEMX_BINARY
set -euo pipefail

FAKEMX_BIN="$1"
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/scenario_fixture.sh
require_peer dig dig "Debian package bind9-dnsutils"
require_peer dnspython "/usr/bin/python3 -c 'import dns.query'" "Debian package python3-dnspython"

SCENARIO=""
PORT=""
# serve NAME: fakemx playing catalogue entry NAME on free ports; sets PORT
# to its DNS port.
serve() {
  SCENARIO=$1
  fakemx_start_scenario "$FAKEMX_BIN" --scenario="$1" --smtp=127.0.0.1:0 --mta-sts-port=0 \
    --tls-dir="$FIXTURE_TMP/tls.$1"
  PORT=$(fakemx_dns_port "$FAKEMX_OUT")
  [[ -n "$PORT" ]] || fail "$1: no 'fakemx: dns udp' line"
}

# expect TRANSPORT PATTERN NAME TYPE [DIG-FLAGS...]: dig's answer matches
# PATTERN (grep -E); "!PATTERN" means it must not.
expect() {
  local transport=$1 pattern=$2 name=$3 type=$4 out
  shift 4
  out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 "$transport" "$@" "$name" "$type" 2>&1 || true)
  if [[ $pattern == !* ]]; then
    grep -Eq -- "${pattern#!}" <<<"$out" || return 0
    echo "$out" >&2
    fail "$SCENARIO: dig $transport $name $type: matches /${pattern#!}/"
  fi
  grep -Eq -- "$pattern" <<<"$out" && return 0
  echo "$out" >&2
  fail "$SCENARIO: dig $transport $name $type: no /$pattern/"
}

# python_check CHECKS...: dnspython over UDP and TCP; each CHECK is
# NAME:TYPE:WHAT with WHAT one of rcode=TEXT, answers=N, ad, noad, timeout,
# text=SUBSTRING.
python_check() {
  /usr/bin/python3 - "$PORT" "$SCENARIO" "$@" <<'PY'
import sys
import dns.exception, dns.flags, dns.message, dns.query, dns.rcode

port, scenario, checks = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
bad = []
for tcp in (False, True):
    via = "tcp" if tcp else "udp"
    for check in checks:
        name, rdtype, what = check.split(":", 2)
        q = dns.message.make_query(name, rdtype, want_dnssec=True)
        ask = dns.query.tcp if tcp else dns.query.udp
        try:
            r = ask(q, "127.0.0.1", port=port, timeout=2)
        except dns.exception.Timeout:
            if what != "timeout":
                bad.append(f"{via} {name} {rdtype}: timed out")
            continue
        texts = [rr.to_text() for rrset in r.answer for rr in rrset]
        ok = {
            "ad": lambda: bool(r.flags & dns.flags.AD),
            "noad": lambda: not r.flags & dns.flags.AD,
            "timeout": lambda: False,
        }.get(what)
        if ok is None and what.startswith("rcode="):
            ok = lambda: dns.rcode.to_text(r.rcode()) == what[6:]
        elif ok is None and what.startswith("answers="):
            ok = lambda: len(texts) == int(what[8:])
        elif ok is None and what.startswith("text="):
            ok = lambda: any(what[5:] in t for t in texts)
        if not ok():
            bad.append(f"{via} {name} {rdtype}: not {what} (rcode {dns.rcode.to_text(r.rcode())}, {texts})")
if bad:
    print(f"dnspython: {scenario}: " + "; ".join(bad))
    sys.exit(1)
PY
}


serve good
for t in +notcp +tcp; do
  expect "$t" '^example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+MX[[:space:]]+10 mx\.example\.test\.' example.test MX
  expect "$t" 'IN[[:space:]]+A[[:space:]]+127\.0\.0\.1' mx.example.test A
  expect "$t" '"v=spf1 ' example.test TXT
  expect "$t" '"v=DKIM1; k=ed25519; p=' mxkit._domainkey.example.test TXT
  expect "$t" '"v=DMARC1; p=reject' _dmarc.example.test TXT
  expect "$t" '"v=TLSRPTv1; rua=mailto:tlsrpt@example\.test"' _smtp._tls.example.test TXT
  expect "$t" 'status: NXDOMAIN' _mta-sts.example.test TXT
  expect "$t" '!flags:[a-z ]* ad' mx.example.test A +adflag
done
python_check example.test:MX:answers=1 example.test:MX:noad _mta-sts.example.test:TXT:rcode=NXDOMAIN
fakemx_stop

serve no-mx
for t in +notcp +tcp; do
  expect "$t" 'ANSWER: 0, AUTHORITY: 1,' example.test MX
  expect "$t" 'status: NOERROR' example.test MX
  expect "$t" '^example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+127\.0\.0\.1' example.test A
done
python_check example.test:MX:answers=0 example.test:MX:rcode=NOERROR example.test:A:answers=1
fakemx_stop

serve no-spf
for t in +notcp +tcp; do
  expect "$t" '!v=spf1' example.test TXT
  expect "$t" '"v=DMARC1; p=reject' _dmarc.example.test TXT
done
fakemx_stop

serve broken-dmarc
for t in +notcp +tcp; do
  expect "$t" '"v=DMARC1; p=bogus"' _dmarc.example.test TXT
done
python_check _dmarc.example.test:TXT:text=p=bogus
fakemx_stop

serve dns-timeout
for t in +notcp +tcp; do
  expect "$t" 'timed out|no servers could be reached' example.test TXT
  expect "$t" 'timed out|no servers could be reached' _dmarc.example.test TXT
  expect "$t" 'IN[[:space:]]+MX[[:space:]]+10 mx\.example\.test\.' example.test MX
done
python_check example.test:TXT:timeout _dmarc.example.test:TXT:timeout example.test:MX:answers=1
fakemx_stop

serve mta-sts-enforce
for t in +notcp +tcp; do
  expect "$t" '"v=STSv1; id=[A-Za-z0-9]+"' _mta-sts.example.test TXT
  expect "$t" '^mta-sts\.example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+127\.0\.0\.1' mta-sts.example.test A
done
python_check _mta-sts.example.test:TXT:text=v=STSv1
fakemx_stop

for entry in dane-good dane-mismatch dane-unsigned; do
  serve "$entry"
  for t in +notcp +tcp; do
    expect "$t" 'IN[[:space:]]+TLSA[[:space:]]+3 1 1 [0-9A-F]' _25._tcp.mx.example.test TLSA +dnssec
    if [[ $entry == dane-unsigned ]]; then
      expect "$t" '!flags:[a-z ]* ad' _25._tcp.mx.example.test TLSA +dnssec
    else
      expect "$t" 'flags: qr aa rd ra ad' _25._tcp.mx.example.test TLSA +dnssec
    fi
  done
  if [[ $entry == dane-unsigned ]]; then
    python_check _25._tcp.mx.example.test:TLSA:answers=1 _25._tcp.mx.example.test:TLSA:noad
  else
    python_check _25._tcp.mx.example.test:TLSA:answers=1 _25._tcp.mx.example.test:TLSA:ad
  fi
  fakemx_stop
done
echo PASS
