#!/bin/bash
# DNS queries answered per second over UDP on loopback: fakemx's DNS server
# against NSD serving the same zone, measured in the same run with the same
# load generator (issue 10: "Debian's dnsperf against nsd or knot serving
# the same zone file; target >= 1.0x the peer").
#
#   tests/perf/dns_throughput.sh [SECONDS [CLIENTS [REPS]]]
#   tests/perf/dns_throughput.sh --smoke      2 s, 1 rep, load ignored:
#                                             checks the script, measures nothing
#
# Defaults: 10 s per run, 4 dnsperf clients, 3 repetitions per server,
# alternating which server goes first; the median queries/s of each is
# reported with the ratio and the load average (/proc/loadavg) at the start
# and end of each run.
#
# The zone (written by this script, one file read by both servers): SOA, NS,
# MX, SPF and DMARC TXT, TLSA, 200 hosts with A and AAAA, a CNAME. The query
# file mixes positive answers (A, AAAA, MX, TXT, TLSA, CNAME chains),
# NODATA and NXDOMAIN, the answers a sending MTA's lookups get.
#
# fakemx itself serves the zone (fakemx/dns_listener.h driving
# dns::AuthoritativeResponder, on its one io_context thread): a scenario
# whose `zones:` entry holds the zone file's text, and one receiver of
# another domain (its SMTP listener idles). NSD 4 runs in the foreground
# with one server process (server-count: 1), so both answer on one core, on
# a port of its own, from its own temporary directory. Exact commands
# (PORTs free, chosen by the script):
#   fakemx --scenario=BENCH.yaml --dns=127.0.0.1:0 --tls-dir=DIR
#   nsd -d -c NSD.CONF                        (server-count: 1, port PORT)
#   dnsperf -s 127.0.0.1 -p PORT -d QUERIES -l SECONDS -c CLIENTS -T 1 -q 200
# The dnsperf command is the same for both (one function builds it). A run
# that loses more than 1% of its queries is broken (exit 1): the rate would
# not be that of answered queries.
#
# Environment: FAKEMX_BIN (a fakemx binary instead of building //fakemx
# with --config=opt, as run_all.sh passes it), PERF_SETTLE_SECONDS / PERF_ALLOW_LOAD (perf_lib.sh:
# wait for an idle machine, or measure anyway with every figure marked).
# Not a Bazel test: it measures, it does not judge.
set -euo pipefail
PERF_NAME=dns_throughput
# shellcheck source=tests/perf/perf_lib.sh
source "$(dirname "$0")/perf_lib.sh"

SMOKE=0
if [[ "${1:-}" == --smoke ]]; then
  SMOKE=1
  shift
  set -- 2 4 1
  export PERF_ALLOW_LOAD=1 PERF_SETTLE_SECONDS=0
fi
SECONDS_PER_RUN=${1:-10}
CLIENTS=${2:-4}
REPS=${3:-3}
for n in "$SECONDS_PER_RUN" "$CLIENTS" "$REPS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || perf_die "arguments must be positive numbers, not '$n'"
done
TARGET=1.00
for tool in dnsperf nsd; do
  command -v "$tool" >/dev/null || perf_die "$tool not found (Debian package $tool, tools/debian-packages.txt)"
done

PERF_WORK=$(mktemp -d "${PERF_DIR:-/tmp}/perf_${PERF_NAME}.XXXXXX")
trap perf_cleanup EXIT
bin=${FAKEMX_BIN:-}
if [[ -z "$bin" ]]; then
  root="$(cd "$(dirname "$0")/../.." && pwd)"
  (cd "$root" && ./bazelw build --config=opt //fakemx >&2)
  bin="$(cd "$root" && ./bazelw info --config=opt bazel-bin 2>/dev/null)/fakemx/fakemx"
fi
[[ -x "$bin" ]] || perf_die "no fakemx binary at $bin"
cp "$bin" "$PERF_WORK/fakemx"

# The zone, in master-file syntax both parsers read.
zone="$PERF_WORK/bench.test.zone"
{
  echo '$ORIGIN bench.test.'
  echo '$TTL 300'
  echo '@ IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 60'
  echo '@ IN NS ns'
  echo '@ IN MX 10 mx'
  echo '@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"'
  echo '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@bench.test"'
  echo '_mta-sts IN TXT "v=STSv1; id=20261129"'
  echo 'ns IN A 192.0.2.53'
  echo 'mx IN A 192.0.2.25'
  echo '_25._tcp.mx IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
  echo 'www IN CNAME mx'
  for i in $(seq 1 200); do
    echo "h$i IN A 192.0.2.$((i % 250 + 1))"
    echo "h$i IN AAAA 2001:db8::$i"
  done
} >"$zone"

# The same text as fakemx's scenario: a zones: entry, its text indented.
scenario="$PERF_WORK/bench.yaml"
{
  echo 'name: dns-bench'
  echo 'receivers:'
  echo '  - name: receiver.test'
  echo '    listeners: ["127.0.0.1:0"]'
  echo 'zones:'
  echo '  - apex: bench.test'
  echo '    text: |'
  sed 's/^/      /' "$zone"
} >"$scenario"

queries="$PERF_WORK/queries.txt"
{
  for i in $(seq 1 200); do
    echo "h$i.bench.test A"
    echo "h$i.bench.test AAAA"
    echo "h$i.bench.test MX"          # NODATA
    echo "missing$i.bench.test A"     # NXDOMAIN
  done
  for _ in $(seq 1 50); do
    echo "bench.test MX"
    echo "bench.test TXT"
    echo "_dmarc.bench.test TXT"
    echo "_mta-sts.bench.test TXT"
    echo "mx.bench.test A"
    echo "_25._tcp.mx.bench.test TLSA"
    echo "www.bench.test A"
  done
} >"$queries"

start_fakemx_dns() {
  local out="$PERF_WORK/fakemx-dns.out" i
  TMPDIR="$PERF_WORK" "$PERF_WORK/fakemx" --scenario="$scenario" --dns=127.0.0.1:0 --api=127.0.0.1:0 \
    --tls-dir="$PERF_WORK/tls" >"$out" 2>&1 &
  FAKEMX_DNS_PID=$!
  PERF_PIDS+=("$FAKEMX_DNS_PID")
  FAKEMX_DNS_PORT=""
  for ((i = 0; i < 300; i++)); do
    if grep -q '^fakemx: listening on smtp ' "$out"; then
      FAKEMX_DNS_PORT=$(sed -n 's/^fakemx: dns udp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
      [[ -n "$FAKEMX_DNS_PORT" ]] && return
      cat "$out" >&2
      perf_die "fakemx printed no 'dns udp' line"
    fi
    kill -0 "$FAKEMX_DNS_PID" 2>/dev/null || { cat "$out" >&2; perf_die "fakemx exited at start"; }
    sleep 0.1
  done
  perf_die "fakemx did not start in 30 s"
}

start_nsd() {
  local dir="$PERF_WORK/nsd" i
  mkdir -p "$dir"
  cp "$zone" "$dir/bench.test.zone"
  NSD_PORT=$(perf_free_port)
  cat >"$dir/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  port: $NSD_PORT
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$dir"
  pidfile: "$dir/nsd.pid"
  database: ""
  zonelistfile: "$dir/zone.list"
  xfrdfile: "$dir/xfrd.state"
  xfrdir: "$dir"
  logfile: "$dir/nsd.log"
  verbosity: 1
  hide-version: yes
  tcp-count: 10
  # NSD limits responses per client netblock by default (rrl-ratelimit 200/s,
  # RFC-less DoS protection); a benchmark from one address must turn it off.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: bench.test
  zonefile: bench.test.zone
EOF
  nsd -d -c "$dir/nsd.conf" >"$dir/nsd.out" 2>&1 &
  NSD_PID=$!
  PERF_PIDS+=("$NSD_PID")
  for ((i = 0; i < 100; i++)); do
    if dig @127.0.0.1 -p "$NSD_PORT" +time=1 +tries=1 +short bench.test SOA 2>/dev/null | grep -q hostmaster; then
      return
    fi
    kill -0 "$NSD_PID" 2>/dev/null || { cat "$dir/nsd.out" "$dir/nsd.log" >&2 || true; perf_die "nsd exited at start"; }
    sleep 0.1
  done
  cat "$dir/nsd.out" "$dir/nsd.log" >&2 || true
  perf_die "nsd did not answer within 10 s"
}

# Both must give the same answers before their speed is compared.
same_answers() {
  local q name type a b
  for q in "mx.bench.test A" "h7.bench.test AAAA" "bench.test MX" "www.bench.test A" \
           "_25._tcp.mx.bench.test TLSA" "missing1.bench.test A" "h1.bench.test MX"; do
    read -r name type <<<"$q"
    a=$(dig @127.0.0.1 -p "$FAKEMX_DNS_PORT" +noall +answer +authority +comments "$name" "$type" |
        grep -E '^[a-z_0-9.]+[[:space:]]|status:' | sed 's/id: [0-9]*//' | sort)
    b=$(dig @127.0.0.1 -p "$NSD_PORT" +noall +answer +authority +comments "$name" "$type" |
        grep -E '^[a-z_0-9.]+[[:space:]]|status:' | sed 's/id: [0-9]*//' | sort)
    # NSD puts its NS in the authority section of positive answers (minimal
    # responses off); only the answer records and the status must agree.
    a=$(grep -v 'IN[[:space:]]NS' <<<"$a")
    b=$(grep -v 'IN[[:space:]]NS' <<<"$b")
    [[ "$a" == "$b" ]] || { printf 'fakemx:\n%s\nnsd:\n%s\n' "$a" "$b" >&2; perf_die "the servers answer $q differently"; }
  done
}

# run_dnsperf WHAT PORT: one dnsperf run; sets QPS.
run_dnsperf() {
  local what=$1 port=$2 out="$PERF_WORK/dnsperf.$1.out" lost sent
  dnsperf -s 127.0.0.1 -p "$port" -d "$queries" -l "$SECONDS_PER_RUN" -c "$CLIENTS" -T 1 -q 200 \
    >"$out" 2>&1 || { cat "$out" >&2; perf_die "dnsperf against $what failed"; }
  QPS=$(sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p' "$out")
  sent=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$out")
  lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$out")
  [[ -n "$QPS" && -n "$sent" && -n "$lost" ]] || { cat "$out" >&2; perf_die "cannot read dnsperf's output"; }
  if [[ $(perf_calc "1 if $lost > $sent / 100 else 0") == 1 ]]; then
    cat "$out" >&2
    perf_die "$what lost $lost of $sent queries"
  fi
}

perf_wait_idle
echo "$PERF_NAME: ${SECONDS_PER_RUN}s x $REPS reps per server, $CLIENTS dnsperf clients, $PERF_CPUS CPUs, load at start $(perf_loads)"
start_fakemx_dns
start_nsd
same_answers

fakemx_rates=() nsd_rates=()
for ((r = 0; r < REPS; r++)); do
  order=(fakemx nsd)
  ((r % 2 == 1)) && order=(nsd fakemx)
  for who in "${order[@]}"; do
    load_start=$(perf_loads)
    if [[ $who == fakemx ]]; then
      run_dnsperf fakemx "$FAKEMX_DNS_PORT"
      perf_alive "$FAKEMX_DNS_PID" "fakemx's DNS server"
      fakemx_rates+=("$QPS")
    else
      run_dnsperf nsd "$NSD_PORT"
      perf_alive "$NSD_PID" "nsd"
      nsd_rates+=("$QPS")
    fi
    echo "$PERF_NAME: rep $((r + 1)) $who: $QPS queries/s (load $load_start -> $(perf_loads))"
  done
done

fakemx_median=$(perf_median "${fakemx_rates[@]}")
nsd_median=$(perf_median "${nsd_rates[@]}")
ratio=$(perf_calc "f'{$fakemx_median / $nsd_median:.2f}'")
verdict=$(perf_verdict "$ratio" ">=" "$TARGET")
((SMOKE)) && verdict="smoke run, not a measurement"
perf_figure "dns-udp-throughput" "fakemx $fakemx_median q/s" "nsd $nsd_median q/s" \
  "ratio ${ratio}x (target >= ${TARGET}x: $verdict)" "medians of $REPS x ${SECONDS_PER_RUN}s, $CLIENTS clients" \
  "load at end $(perf_loads)"
