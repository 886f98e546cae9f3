#!/usr/bin/env bash
# fakemx's command line against the real binary: --list-scenarios, the
# errors that must come before anything listens (bad file, unknown name,
# per-receiver flags with several receivers), the start-up banner of a
# two-receiver scenario and of an overridden catalogue entry, the TLS
# files, and the stop line. Every wait is bounded; every fakemx started is
# stopped, pass or fail.
#
#   fakemx/command_line_test.sh FAKEMX_BINARY
set -euo pipefail

BIN="$1"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$TMP"/*.out "$TMP"/*.err; do
    [[ -f "$f" ]] && { echo "--- $f" >&2; cat "$f" >&2; }
  done
  exit 1
}

# start NAME FLAGS...: runs fakemx in the background, waits (at most 20 s)
# for its "listening on" line; sets PID.
start() {
  local name="$1"
  shift
  : >"$TMP/$name.out"
  # A free DNS port unless the test chose: tests run in parallel (5353 is
  # fakemx's default).
  local dns=(--dns=127.0.0.1:0) api=(--api=127.0.0.1:0) flag
  for flag in "$@"; do [[ $flag == --dns=* ]] && dns=(); done
  for flag in "$@"; do [[ $flag == --api=* ]] && api=(); done
  "$BIN" "${dns[@]+"${dns[@]}"}" "${api[@]+"${api[@]}"}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  PID=$!
  PIDS+=("$PID")
  local i
  for ((i = 0; i < 200; i++)); do
    grep -q '^fakemx: listening on smtp ' "$TMP/$name.out" && return 0
    kill -0 "$PID" 2>/dev/null || fail "$name: fakemx exited at start"
    sleep 0.1
  done
  fail "$name: no 'listening on smtp' line within 20 s"
}

# stop NAME: SIGTERM, at most 10 s.
stop() {
  kill -TERM "$PID"
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$PID" 2>/dev/null && fail "$1: fakemx did not stop within 10 s"
  wait "$PID" || fail "$1: fakemx exited $?"
}

# expect_usage_error NAME REGEX FLAGS...: fakemx exits 2 at once, prints
# nothing on stdout (nothing listened), and stderr matches REGEX.
expect_usage_error() {
  local name="$1" regex="$2"
  shift 2
  set +e
  timeout 20 "$BIN" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
  local rc=$?
  set -e
  [[ $rc == 2 ]] || fail "$name: exit $rc, expected 2"
  [[ ! -s "$TMP/$name.out" ]] || fail "$name: printed on stdout: $(cat "$TMP/$name.out")"
  grep -Eq "$regex" "$TMP/$name.err" || fail "$name: stderr does not match $regex"
}

# greeting HOST PORT: the first reply line of the server there.
greeting() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
f = s.makefile("rb")
print(f.readline().decode("ascii", "replace").rstrip("\r\n"))
s.sendall(b"QUIT\r\n")
f.readline()
s.close()
PY
}

# --- --list-scenarios: the catalogue, "NAME  summary" per line, exit 0.
"$BIN" --list-scenarios >"$TMP/list.out" 2>"$TMP/list.err" || fail "--list-scenarios exited $?"
[[ $(wc -l <"$TMP/list.out") == 34 ]] || fail "--list-scenarios: $(wc -l <"$TMP/list.out") lines"
head -n 1 "$TMP/list.out" | grep -Eq '^good  +[^ ]' || fail "--list-scenarios: first line not good"
for name in greylist tarpit smuggling-vulnerable garbage-replies tls1.0-only no-mx mta-sts-redirect dane-unsigned; do
  grep -Eq "^$name  +[^ ]" "$TMP/list.out" || fail "--list-scenarios: no $name"
done

# --- Errors before anything listens.
cat >"$TMP/typo.yaml" <<'YAML'
receivers:
  - name: example.test
    listeners: ["127.0.0.1:0"]
    gretting: {code: 554}
YAML
expect_usage_error typo "^fakemx: $TMP/typo.yaml:4:5: " --scenario="$TMP/typo.yaml"
expect_usage_error unknown_name "^fakemx: .*no-such-scenario" --scenario=no-such-scenario
expect_usage_error missing_file "^fakemx: .*$TMP/missing.yaml" --scenario="$TMP/missing.yaml"

cat >"$TMP/two.yaml" <<'YAML'
name: two
receivers:
  - name: a.test
    listeners: ["127.0.0.2:0"]
  - name: b.test
    listeners: ["127.0.0.3:0"]
    starttls: {certificate: expired}
YAML
expect_usage_error several_hostname \
  '^fakemx: --hostname: scenario two has 2 receivers \(a\.test, b\.test\); these flags set one receiver' \
  --scenario="$TMP/two.yaml" --hostname=mx.test
expect_usage_error several_smtp '^fakemx: --smtp, --cert: scenario two has 2 receivers' \
  --scenario="$TMP/two.yaml" --cert=good --smtp=127.0.0.1:0
expect_usage_error bad_cipher '^fakemx: --tls-ciphers=NOPE: cipher_list: ' \
  --smtp=127.0.0.1:0 --tls-ciphers=NOPE

# --- Two receivers in one process: a banner line per listener, each
# receiver its own hostname and certificate, process-wide flags allowed.
start two --scenario="$TMP/two.yaml" --tls-dir="$TMP/tls-two" --idle-timeout=30 --verbose
OUT="$TMP/two.out"
[[ $(sed -n 1p "$OUT") == "fakemx: scenario two" ]] || fail "two: first line"
grep -qx 'fakemx: hostname mx.a.test' "$OUT" || fail "two: hostname line"
grep -qx 'fakemx: maildir none (capture in memory only)' "$OUT" || fail "two: maildir line"
grep -qx "fakemx: tls-dir $TMP/tls-two" "$OUT" || fail "two: tls-dir line"
grep -qx 'fakemx: certificate good for mx.a.test' "$OUT" || fail "two: certificate line"
grep -qx 'fakemx: starttls offer' "$OUT" || fail "two: starttls line"
PORT_A=$(sed -n 's/^fakemx: receiver a\.test smtp 127\.0\.0\.2:\([0-9]*\)$/\1/p' "$OUT")
PORT_B=$(sed -n 's/^fakemx: receiver b\.test smtp 127\.0\.0\.3:\([0-9]*\)$/\1/p' "$OUT")
[[ -n "$PORT_A" && "$PORT_A" != 0 && -n "$PORT_B" && "$PORT_B" != 0 ]] || fail "two: receiver lines"
[[ $(tail -n 1 "$OUT") == "fakemx: listening on smtp 127.0.0.2:$PORT_A" ]] ||
  fail "two: last line is not the first receiver's listener"
[[ $(greeting 127.0.0.2 "$PORT_A") == "220 mx.a.test ESMTP mxkit" ]] || fail "two: a.test greeting"
[[ $(greeting 127.0.0.3 "$PORT_B") == "220 mx.b.test ESMTP mxkit" ]] || fail "two: b.test greeting"
for f in ca.pem chain.pem key.pem a.test.chain.pem a.test.key.pem b.test.chain.pem b.test.key.pem; do
  [[ -s "$TMP/tls-two/$f" ]] || fail "two: $f missing"
done
cmp -s "$TMP/tls-two/chain.pem" "$TMP/tls-two/a.test.chain.pem" || fail "two: chain.pem is not a.test's"
openssl verify -CAfile "$TMP/tls-two/ca.pem" -untrusted "$TMP/tls-two/a.test.chain.pem" \
  "$TMP/tls-two/a.test.chain.pem" >/dev/null 2>&1 || fail "two: a.test's chain does not verify"
openssl x509 -in "$TMP/tls-two/b.test.chain.pem" -noout -ext subjectAltName 2>/dev/null |
  grep -q 'DNS:mx.b.test' || fail "two: b.test's leaf is not for mx.b.test"
# DNS (--dns=127.0.0.1:0, from start): UDP and TCP on one port, announced
# before the last line, answering for both receivers' domains.
DNS_UDP=$(sed -n 's/^fakemx: dns udp 127\.0\.0\.1:\([1-9][0-9]*\)$/\1/p' "$OUT")
DNS_TCP=$(sed -n 's/^fakemx: dns tcp 127\.0\.0\.1:\([1-9][0-9]*\)$/\1/p' "$OUT")
[[ -n "$DNS_UDP" && "$DNS_UDP" == "$DNS_TCP" ]] || fail "two: dns udp/tcp lines"
command -v dig >/dev/null || fail "dig not found (Debian package bind9-dnsutils, tools/debian-packages.txt)"
dig @127.0.0.1 -p "$DNS_UDP" +short +time=2 +tries=1 b.test MX | grep -qx '10 mx.b.test.' ||
  fail "two: no MX for b.test from fakemx's DNS"
dig @127.0.0.1 -p "$DNS_UDP" +short +tcp +time=2 +tries=1 mx.a.test A | grep -qx '127.0.0.2' ||
  fail "two: no A for mx.a.test over TCP"
stop two
grep -qx 'fakemx: stopped; 0 messages stored, 0 storage failures, 2 connections' "$OUT" ||
  fail "two: stop line"
grep -Eqx 'fakemx: dns stopped; [0-9]+ udp queries, [0-9]+ tcp queries, 0 unanswered' "$OUT" ||
  fail "two: dns stop line"

# --- MTA-STS: the policy host on --mta-sts-port=0, announced with its port.
cat >"$TMP/sts.yaml" <<'YAML'
name: sts
receivers:
  - name: example.test
    listeners: ["127.0.0.1:0"]
    mta_sts: {mode: testing}
YAML
start sts --scenario="$TMP/sts.yaml" --mta-sts-port=0 --tls-dir="$TMP/tls-sts"
OUT="$TMP/sts.out"
STS_PORT=$(sed -n 's/^fakemx: mta-sts example\.test https 127\.0\.0\.1:\([1-9][0-9]*\)$/\1/p' "$OUT")
[[ -n "$STS_PORT" ]] || fail "sts: no 'mta-sts example.test https' line"
command -v curl >/dev/null || fail "curl not found (Debian package curl, tools/debian-packages.txt)"
curl -sf --max-time 10 --cacert "$TMP/tls-sts/ca.pem" \
  --resolve "mta-sts.example.test:$STS_PORT:127.0.0.1" \
  "https://mta-sts.example.test:$STS_PORT/.well-known/mta-sts.txt" | tr -d "\r" |
  grep -qx "mode: testing" ||
  fail "sts: the policy host does not serve mode: testing"
stop sts

# --- A DNS port in use is a start failure naming the address, exit 1.
/usr/bin/python3 - "$TMP/dns-port" <<'PY' &
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
open(sys.argv[1], "w").write(str(u.getsockname()[1]))
time.sleep(30)
PY
HOLDER=$!
PIDS+=("$HOLDER")
for ((i = 0; i < 100; i++)); do [[ -s "$TMP/dns-port" ]] && break; sleep 0.1; done
TAKEN=$(cat "$TMP/dns-port")
set +e
timeout 20 "$BIN" --smtp=127.0.0.1:0 --api=off --dns="127.0.0.1:$TAKEN" >"$TMP/taken.out" 2>"$TMP/taken.err"
rc=$?
set -e
kill "$HOLDER" 2>/dev/null || true
[[ $rc == 1 ]] || fail "dns port taken: exit $rc, expected 1"
grep -q "cannot listen for DNS on udp 127.0.0.1:$TAKEN: .*--dns=off" "$TMP/taken.err" ||
  fail "dns port taken: stderr $(cat "$TMP/taken.err")"
grep -q 'listening on' "$TMP/taken.out" && fail "dns port taken: announced listening"

# --- The default port, 5353, is mDNS's: where avahi-daemon holds it the
# error names the likely holder and the way out. Held here by us unless
# avahi (or another mDNS responder) already holds it: taken either way.
/usr/bin/python3 - "$TMP/mdns-held" <<'PY' &
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.bind(("127.0.0.1", 5353))
    state = "ours"
except OSError:
    state = "theirs"
open(sys.argv[1], "w").write(state)
time.sleep(30)
PY
HOLDER=$!
PIDS+=("$HOLDER")
for ((i = 0; i < 100; i++)); do [[ -s "$TMP/mdns-held" ]] && break; sleep 0.1; done
set +e
timeout 20 "$BIN" --smtp=127.0.0.1:0 --api=off --dns=127.0.0.1:5353 >"$TMP/mdns.out" 2>"$TMP/mdns.err"
rc=$?
set -e
kill "$HOLDER" 2>/dev/null || true
[[ $rc == 1 ]] || fail "dns port 5353 taken ($(cat "$TMP/mdns-held")): exit $rc, expected 1"
grep -q "cannot listen for DNS on udp 127.0.0.1:5353: .*avahi-daemon.*--dns=off.*--dns=127.0.0.1:5354" \
  "$TMP/mdns.err" || fail "dns port 5353 taken: stderr $(cat "$TMP/mdns.err")"

# --- --dns=off: no DNS server, said so.
start nodns --smtp=127.0.0.1:0 --dns=off
grep -qx 'fakemx: dns off' "$TMP/nodns.out" || fail "nodns: no 'dns off' line"
stop nodns

# --- The API: announced before the final "listening on smtp" line; off when
# asked; a port in use is a start failure naming the address, exit 1.
start api --smtp=127.0.0.1:0 --api=127.0.0.1:0
API_LINE=$(grep -n '^fakemx: api http 127\.0\.0\.1:[1-9][0-9]*$' "$TMP/api.out" | cut -d: -f1)
LISTEN_LINE=$(grep -n '^fakemx: listening on smtp ' "$TMP/api.out" | cut -d: -f1)
[[ -n "$API_LINE" && -n "$LISTEN_LINE" && $API_LINE -lt $LISTEN_LINE ]] ||
  fail "api: no 'api http' line before 'listening on smtp': $(cat "$TMP/api.out")"
API_PORT=$(sed -n 's/^fakemx: api http 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/api.out")
curl -sf --max-time 10 "http://127.0.0.1:$API_PORT/healthz" | grep -q '"status":"ok"' ||
  fail "api: /healthz did not answer ok"
stop api
start noapi --smtp=127.0.0.1:0 --api=off
grep -qx 'fakemx: api off' "$TMP/noapi.out" || fail "noapi: no 'api off' line"
stop noapi
/usr/bin/python3 - "$TMP/api-port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(30)
PY
HOLDER=$!
PIDS+=("$HOLDER")
for ((i = 0; i < 100; i++)); do [[ -s "$TMP/api-port" ]] && break; sleep 0.1; done
TAKEN=$(cat "$TMP/api-port")
set +e
timeout 20 "$BIN" --smtp=127.0.0.1:0 --dns=off --api="127.0.0.1:$TAKEN" >"$TMP/apitaken.out" 2>"$TMP/apitaken.err"
rc=$?
set -e
kill "$HOLDER" 2>/dev/null || true
[[ $rc == 1 ]] || fail "api port taken: exit $rc, expected 1"
grep -q "api 127.0.0.1:$TAKEN: .*--api=off" "$TMP/apitaken.err" ||
  fail "api port taken: stderr $(cat "$TMP/apitaken.err")"

# --- A catalogue entry with overrides; --maildir; the smuggling warning.
start good --smtp=127.0.0.1:0 --hostname=mx.test --cert=expired --maildir="$TMP/maildir"
OUT="$TMP/good.out"
grep -qx 'fakemx: scenario good' "$OUT" || fail "good: scenario line"
grep -qx 'fakemx: hostname mx.test' "$OUT" || fail "good: --hostname not applied"
grep -qx "fakemx: maildir $TMP/maildir" "$OUT" || fail "good: maildir line"
grep -qx 'fakemx: certificate expired for mx.test' "$OUT" || fail "good: --cert not applied"
grep -Eqx 'fakemx: listening on smtp 127\.0\.0\.1:[1-9][0-9]*' "$OUT" || fail "good: --smtp not applied"
grep -q 'warning' "$TMP/good.err" && fail "good: unexpected warning"
stop good

start smuggling --scenario=smuggling-vulnerable --smtp=127.0.0.1:0
grep -q '^fakemx: warning: receiver example.test (scenario smuggling-vulnerable, .*accept-bare-lf-as-line-end) makes this server vulnerable to SMTP smuggling' \
  "$TMP/smuggling.err" || fail "smuggling: no warning"
stop smuggling

echo PASS
