#!/usr/bin/env bash
# postfix-mta-sts-resolver (Debian's package, the MTA-STS lookup Postfix
# deployments use) against fakemx's DNS and MTA-STS policy host, end to end:
# mta-sts-query resolves _mta-sts.DOMAIN TXT and mta-sts.DOMAIN A itself
# (aiodns, through /etc/resolv.conf) and fetches the policy itself (aiohttp),
# so it runs in a namespace of its own (unshare -rnm: its own loopback, its
# own mount table) where fakemx's DNS on 127.0.0.1:53 is the system resolver
# (a resolv.conf bind-mounted over /etc/resolv.conf) and the policy host is
# on 127.0.0.1:443, both allowed to the namespace's root.
#
# Python's ssl takes SSL_CERT_FILE as its trust store, so the resolver trusts
# fakemx's test root (ca.pem in --tls-dir) and nothing else; one run without
# it shows the same fetch failing for want of the root.
#
# Each domain of tests/scenarios/mta_sts_resolver.yaml is one policy case;
# curl (through the same resolv.conf) shows the HTTP status behind each
# resolver verdict, and, when mxkit is given, `mxkit probe --json` says what
# our own policy library makes of the same domain.
#
# Usage: mta_sts_resolver_test.sh FAKEMX SCENARIO.yaml [MXKIT]
# Under CI=true a missing peer or namespace fails the test instead of
# skipping it.

set -euo pipefail

FAKEMX_BIN=$(realpath "$1")
SCENARIO=$(realpath "$2")
MXKIT_BIN=${3:+$(realpath "$3")}
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/mta_sts_resolver.XXXXXX")

fail() {
  echo "FAIL: $*" >&2
  for f in "$TMP"/fakemx.out "$TMP"/fakemx.err "$TMP"/inner.log; do
    [[ -s $f ]] && { echo "--- $f ---" >&2; cat "$f" >&2; }
  done
  exit 1
}
skip_or_fail() {
  if [[ ${CI:-} == true ]]; then fail "$*"; fi
  echo "SKIP: $*"
  exit 0
}

QUERY=/usr/bin/mta-sts-query
[[ -x $QUERY ]] || skip_or_fail "mta-sts-query not installed (Debian package postfix-mta-sts-resolver)"
command -v curl >/dev/null || skip_or_fail "curl not installed"
unshare -rnm true 2>/dev/null || skip_or_fail "no user+network+mount namespace (unshare -rnm) here"

DOMAINS=(enforce.test testing.test none.test foreign-mx.test notfound.test redirect.test
  badcert.test html.test invalid.test slow.test tooslow.test nosts.test)

echo "nameserver 127.0.0.1" >"$TMP/resolv.conf"

# Everything that needs the namespace runs in here; results are files in
# $TMP, checked outside. fakemx is always stopped (trap), pass or fail.
INNER='
set -u
TMP=$1 FAKEMX_BIN=$2 SCENARIO=$3 QUERY=$4 MXKIT_BIN=$5
shift 5
ip link set lo up
mount --bind "$TMP/resolv.conf" /etc/resolv.conf
"$FAKEMX_BIN" --scenario="$SCENARIO" --dns=127.0.0.1:53 --tls-dir="$TMP/tls" \
  >"$TMP/fakemx.out" 2>"$TMP/fakemx.err" &
pid=$!
trap "kill -TERM $pid 2>/dev/null; sleep 0.5; kill -KILL $pid 2>/dev/null" EXIT
ready=0
for ((i = 0; i < 200; i++)); do
  if (exec 3<>/dev/tcp/127.0.0.1/53) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/443) 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
echo "$ready" >"$TMP/ready"
((ready)) || exit 0
for d in "$@"; do
  SSL_CERT_FILE=$TMP/tls/ca.pem timeout 30 "$QUERY" -v debug "$d" >"$TMP/query.$d" 2>"$TMP/query.$d.log"
  echo $? >"$TMP/query.$d.rc"
  timeout 30 curl -sS --max-time 20 --cacert "$TMP/tls/ca.pem" -o "$TMP/curl.$d.body" \
    -w "%{http_code} %{content_type}" "https://mta-sts.$d/.well-known/mta-sts.txt" \
    >"$TMP/curl.$d" 2>"$TMP/curl.$d.log"
  echo $? >"$TMP/curl.$d.rc"
  if [[ -n $MXKIT_BIN ]]; then
    timeout 60 "$MXKIT_BIN" probe --json --dns-server=127.0.0.1:53 --trust="$TMP/tls/ca.pem" \
      "$d" >"$TMP/probe.$d" 2>"$TMP/probe.$d.log"
    echo $? >"$TMP/probe.$d.rc"
  fi
done
# The same fetch without the test root: refused for want of it.
timeout 30 env -u SSL_CERT_FILE "$QUERY" -v debug enforce.test >"$TMP/query.untrusted" \
  2>"$TMP/query.untrusted.log"
'
timeout 600 unshare -rnm bash -c "$INNER" inner "$TMP" "$FAKEMX_BIN" "$SCENARIO" "$QUERY" \
  "${MXKIT_BIN:-}" "${DOMAINS[@]}" >"$TMP/inner.log" 2>&1 || fail "the namespace run failed"
[[ $(cat "$TMP/ready" 2>/dev/null) == 1 ]] ||
  fail "fakemx did not listen on 127.0.0.1:53 and 127.0.0.1:443 within 20 s"

show() {
  local d=$1
  printf '%-16s resolver: %s\n' "$d" "$(cat "$TMP/query.$d")"
  printf '%-16s curl:     %s (exit %s)\n' "" "$(cat "$TMP/curl.$d")" "$(cat "$TMP/curl.$d.rc")"
}

# expect_query DOMAIN RESULT [TEXT...]: the resolver's verdict for DOMAIN is
# RESULT (VALID, FETCH_ERROR, NONE) and its output or debug log holds each TEXT.
expect_query() {
  local d=$1 result=$2
  shift 2
  show "$d"
  grep -q "^(<STSFetchResult\.$result: " "$TMP/query.$d" ||
    fail "$d: mta-sts-query said $(cat "$TMP/query.$d") (log: $(tr '\n' ' ' <"$TMP/query.$d.log")), expected $result"
  local text
  for text in "$@"; do
    grep -qF -- "$text" "$TMP/query.$d" "$TMP/query.$d.log" ||
      fail "$d: mta-sts-query output lacks '$text': $(cat "$TMP/query.$d" "$TMP/query.$d.log")"
  done
}

# expect_curl DOMAIN "CODE TYPE" [EXIT]: what the policy host answered curl.
expect_curl() {
  local d=$1 want=$2 rc=${3:-0}
  [[ $(cat "$TMP/curl.$d.rc") == "$rc" ]] ||
    fail "$d: curl exited $(cat "$TMP/curl.$d.rc"), expected $rc: $(cat "$TMP/curl.$d.log")"
  [[ $(cat "$TMP/curl.$d") == "$want" ]] ||
    fail "$d: curl got '$(cat "$TMP/curl.$d")', expected '$want'"
}

# Policies the resolver accepts. It checks version, mode, max_age and that
# mx is there; matching the MX is left to Postfix at delivery, so a policy
# naming a foreign MX is VALID here.
expect_query enforce.test VALID "('enforce1', {" "'mode': 'enforce'" "'max_age': 86400" \
  "'mx': ['mx.enforce.test']"
expect_curl enforce.test "200 text/plain"
expect_query testing.test VALID "'mode': 'testing'"
expect_curl testing.test "200 text/plain"
expect_query none.test VALID "'mode': 'none'"
expect_query foreign-mx.test VALID "'mx': ['*.elsewhere.test']"
expect_query slow.test VALID "'mode': 'enforce'"
expect_curl slow.test "200 text/plain"

# Fetches that fail (RFC 8461 §3.3: only a 200 text/plain over HTTPS with a
# valid certificate counts; a redirect is not followed).
expect_query notfound.test FETCH_ERROR "STS policy fetch for domain 'notfound.test' failed"
expect_curl notfound.test "404 text/plain"
expect_query redirect.test FETCH_ERROR "STS policy fetch for domain 'redirect.test' failed"
expect_curl redirect.test "301 text/plain"
expect_query badcert.test FETCH_ERROR "certificate has expired"
expect_curl badcert.test "000 " 60
expect_query html.test FETCH_ERROR "STS policy fetch for domain 'html.test' failed"
expect_curl html.test "200 text/html"
# Served fine, refused by the resolver's own policy check (mode: sometimes).
expect_query invalid.test FETCH_ERROR "Parsed policy for domain invalid.test" "'mode': 'sometimes'"
expect_curl invalid.test "200 text/plain"
# The resolver gives up after its 4 s timeout; the answer comes at 8 s.
expect_query tooslow.test FETCH_ERROR "STS policy fetch for domain 'tooslow.test' failed"
expect_curl tooslow.test "200 text/plain"
# No _mta-sts record: no policy, and nothing fetched (no mta-sts A either).
expect_query nosts.test NONE
expect_curl nosts.test "000 " 6

grep -q "^(<STSFetchResult\.FETCH_ERROR: " "$TMP/query.untrusted" &&
  grep -q "unable to get local issuer certificate" "$TMP/query.untrusted.log" ||
  fail "without SSL_CERT_FILE the fetch should fail for want of the test root: $(cat "$TMP/query.untrusted" "$TMP/query.untrusted.log")"
echo "without SSL_CERT_FILE: $(cat "$TMP/query.untrusted") (unable to get local issuer certificate)"

echo "PASS"
