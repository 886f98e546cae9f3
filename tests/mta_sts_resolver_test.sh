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
# Each domain of tests/scenarios/mta_sts_resolver.yaml is one policy case,
# and the catalogue's mta-sts-* entries run too. curl (through the same
# resolv.conf) shows the HTTP status behind each resolver verdict, and
# testing/mta_sts_check_main.cc says what our own library (//policy) makes
# of the same domain, which must agree: VALID is "valid" with the same id,
# mode and mx; FETCH_ERROR is a failure with the RFC 8460 result type the
# case calls for; NONE is "none". Where the resolver has no verdict (it leaves
# MX matching to Postfix), ours is checked on its own.
#
# Usage: mta_sts_resolver_test.sh FAKEMX SCENARIO.yaml MTA_STS_CHECK
# A missing peer or namespace skips, or fails under MXKIT_REQUIRE_CONFORMANCE
# or CI=true (testing/conformance.sh).

set -euo pipefail
source testing/conformance.sh

FAKEMX_BIN=$(realpath "$1")
SCENARIO=$(realpath "$2")
CHECK_BIN=$(realpath "$3")
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/mta_sts_resolver.XXXXXX")

fail() {
  echo "FAIL: $*" >&2
  for f in "$TMP"/*/fakemx.err "$TMP"/inner.log; do
    [[ -s $f ]] && { echo "--- $f ---" >&2; cat "$f" >&2; }
  done
  exit 1
}

QUERY=/usr/bin/mta-sts-query
require_peer mta-sts-query "test -x $QUERY" "Debian package postfix-mta-sts-resolver"
require_peer curl curl "Debian package curl"
unshare -rnm true 2>/dev/null ||
  skip_or_fail_exit "no user+network+mount namespace here (unshare -rnm true failed): the resolver needs its own /etc/resolv.conf and ports 53 and 443"

DOMAINS=(enforce.test testing.test none.test foreign-mx.test notfound.test redirect.test
  badcert.test html.test invalid.test slow.test tooslow.test nosts.test)

echo "nameserver 127.0.0.1" >"$TMP/resolv.conf"

# Everything that needs the namespace runs in here; results are files in
# $TMP/RUN, checked outside. fakemx is always stopped (trap), pass or fail.
# Runs: "RUN=SCENARIO DOMAIN..." one word list per fakemx start.
INNER='
set -u
TMP=$1 FAKEMX_BIN=$2 QUERY=$3 CHECK_BIN=$4
shift 4
ip link set lo up
mount --bind "$TMP/resolv.conf" /etc/resolv.conf
pid=
trap "[[ -n \$pid ]] && kill -KILL \$pid 2>/dev/null" EXIT
run() {
  local dir=$TMP/$1 scenario=$2
  shift 2
  mkdir -p "$dir"
  "$FAKEMX_BIN" --scenario="$scenario" --dns=127.0.0.1:53 --tls-dir="$dir/tls" \
    >"$dir/fakemx.out" 2>"$dir/fakemx.err" &
  pid=$!
  local ready=0 i
  for ((i = 0; i < 200; i++)); do
    if (exec 3<>/dev/tcp/127.0.0.1/53) 2>/dev/null &&
      (exec 3<>/dev/tcp/127.0.0.1/443) 2>/dev/null; then
      ready=1
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$ready" >"$dir/ready"
  if ((ready)); then
    for d in "$@"; do
      SSL_CERT_FILE=$dir/tls/ca.pem timeout 30 "$QUERY" -v debug "$d" >"$dir/query.$d" \
        2>"$dir/query.$d.log"
      timeout 30 curl -sS --max-time 20 --cacert "$dir/tls/ca.pem" -o "$dir/curl.$d.body" \
        -w "%{http_code} %{content_type}" "https://mta-sts.$d/.well-known/mta-sts.txt" \
        >"$dir/curl.$d" 2>"$dir/curl.$d.log"
      echo $? >"$dir/curl.$d.rc"
      # Our library with the resolver'"'"'s 4 s fetch timeout, so the two
      # verdicts compare like for like.
      timeout 30 "$CHECK_BIN" --dns=127.0.0.1:53 --ca="$dir/tls/ca.pem" --timeout-ms=4000 \
        "$d" >"$dir/check.$d" 2>"$dir/check.$d.log"
    done
    if [[ $1 == enforce.test ]]; then
      # The same fetch without the test root: refused for want of it.
      timeout 30 env -u SSL_CERT_FILE "$QUERY" -v debug enforce.test >"$dir/query.untrusted" \
        2>"$dir/query.untrusted.log"
    fi
  fi
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}
for spec in "$@"; do
  read -r -a words <<<"$spec"
  run "${words[0]}" "${words[1]}" "${words[@]:2}"
done
'
RUNS=(
  "cases $SCENARIO ${DOMAINS[*]}"
  # The catalogue's MTA-STS entries, each for example.test.
  "mta-sts-enforce mta-sts-enforce example.test"
  "mta-sts-404 mta-sts-404 example.test"
  "mta-sts-redirect mta-sts-redirect example.test"
  "mta-sts-bad-cert mta-sts-bad-cert example.test"
  "mta-sts-mismatch mta-sts-mismatch example.test"
)
timeout 900 unshare -rnm bash -c "$INNER" inner "$TMP" "$FAKEMX_BIN" "$QUERY" "$CHECK_BIN" \
  "${RUNS[@]}" >"$TMP/inner.log" 2>&1 || fail "the namespace run failed"
for spec in "${RUNS[@]}"; do
  run=${spec%% *}
  [[ $(cat "$TMP/$run/ready" 2>/dev/null) == 1 ]] ||
    fail "$run: fakemx did not listen on 127.0.0.1:53 and 127.0.0.1:443 within 20 s: $(cat "$TMP/$run/fakemx.err" 2>/dev/null)"
done

show() {
  local dir=$TMP/$1 d=$2
  printf '%-34s resolver: %s\n' "$1 $d" "$(cat "$dir/query.$d")"
  printf '%-34s ours:     %s\n' "" "$(cat "$dir/check.$d")"
  printf '%-34s curl:     %s (exit %s)\n' "" "$(cat "$dir/curl.$d")" "$(cat "$dir/curl.$d.rc")"
}

# expect RUN DOMAIN RESULT OURS "CODE TYPE" CURL_EXIT [TEXT...]:
# postfix-mta-sts-resolver's verdict is RESULT (VALID, FETCH_ERROR, NONE),
# ours starts with OURS, curl got "CODE TYPE" and exited CURL_EXIT, and the
# resolver's output or debug log holds each TEXT.
expect() {
  local run=$1 d=$2 result=$3 ours=$4 http=$5 curl_rc=$6
  shift 6
  local dir=$TMP/$run
  show "$run" "$d"
  grep -q "^(<STSFetchResult\.$result: " "$dir/query.$d" ||
    fail "$run $d: mta-sts-query said $(cat "$dir/query.$d") (log: $(tr '\n' ' ' <"$dir/query.$d.log")), expected $result"
  [[ $(cat "$dir/check.$d") == "$ours"* ]] ||
    fail "$run $d: our library said '$(cat "$dir/check.$d")' ($(cat "$dir/check.$d.log")), expected '$ours...'"
  [[ $(cat "$dir/curl.$d.rc") == "$curl_rc" ]] ||
    fail "$run $d: curl exited $(cat "$dir/curl.$d.rc"), expected $curl_rc: $(cat "$dir/curl.$d.log")"
  [[ $(cat "$dir/curl.$d") == "$http" ]] ||
    fail "$run $d: curl got '$(cat "$dir/curl.$d")', expected '$http'"
  local text
  for text in "$@"; do
    grep -qF -- "$text" "$dir/query.$d" "$dir/query.$d.log" ||
      fail "$run $d: mta-sts-query output lacks '$text': $(cat "$dir/query.$d" "$dir/query.$d.log")"
  done
}

# When both accept a policy, they read the same id, mode, max_age and mx.
same_policy() {
  local dir=$TMP/$1 d=$2
  local q c id mode max_age mx
  q=$(cat "$dir/query.$d") c=$(cat "$dir/check.$d")
  id=$(sed -n "s/^(<STSFetchResult.VALID: 1>, ('\([^']*\)'.*/\1/p" <<<"$q")
  mode=$(sed -n "s/.*'mode': '\([a-z]*\)'.*/\1/p" <<<"$q")
  max_age=$(sed -n "s/.*'max_age': \([0-9]*\).*/\1/p" <<<"$q")
  mx=$(sed -n "s/.*'mx': \[\([^]]*\)\].*/\1/p" <<<"$q" | tr -d "' ")
  [[ $c == "valid id=$id mode=$mode max_age=$max_age mx=$mx"* ]] ||
    fail "$1 $d: the resolver read id=$id mode=$mode max_age=$max_age mx=$mx, our library: $c"
}

FETCH="failure sts-policy-fetch-error"

# Policies both accept. The resolver checks version, mode, max_age and that
# mx is there, and leaves matching the MX to Postfix at delivery; ours
# matches each MX host (RFC 8461 §4.1).
expect cases enforce.test VALID "valid id=enforce1 mode=enforce max_age=86400 mx=mx.enforce.test mx.enforce.test=allowed" \
  "200 text/plain" 0 "'mode': 'enforce'"
expect cases testing.test VALID "valid " "200 text/plain" 0 "'mode': 'testing'"
expect cases none.test VALID "valid " "200 text/plain" 0 "'mode': 'none'"
expect cases foreign-mx.test VALID "valid " "200 text/plain" 0 "'mx': ['*.elsewhere.test']"
grep -q " mx.foreign-mx.test=refused$" "$TMP/cases/check.foreign-mx.test" ||
  fail "foreign-mx.test: our library should refuse mx.foreign-mx.test: $(cat "$TMP/cases/check.foreign-mx.test")"
expect cases slow.test VALID "valid " "200 text/plain" 0
for d in enforce.test testing.test none.test foreign-mx.test slow.test; do same_policy cases "$d"; done

# Fetches both refuse (RFC 8461 §3.3: only a 200 text/plain over HTTPS with
# a valid certificate counts; a redirect is not followed).
expect cases notfound.test FETCH_ERROR "$FETCH: HTTP 404" "404 text/plain" 0 \
  "STS policy fetch for domain 'notfound.test' failed"
expect cases redirect.test FETCH_ERROR "$FETCH: HTTP 301" "301 text/plain" 0 \
  "STS policy fetch for domain 'redirect.test' failed"
expect cases badcert.test FETCH_ERROR "failure sts-webpki-invalid: " "000 " 60 \
  "certificate has expired"
expect cases html.test FETCH_ERROR "$FETCH: " "200 text/html" 0 \
  "STS policy fetch for domain 'html.test' failed"
# Served fine, refused as a policy (mode: sometimes).
expect cases invalid.test FETCH_ERROR "failure sts-policy-invalid: " "200 text/plain" 0 \
  "Parsed policy for domain invalid.test" "'mode': 'sometimes'"
# Both give up after 4 s; the answer comes at 8 s.
expect cases tooslow.test FETCH_ERROR "$FETCH: " "200 text/plain" 0 \
  "STS policy fetch for domain 'tooslow.test' failed"
# No _mta-sts record: no policy, nothing fetched (and no mta-sts A record).
expect cases nosts.test NONE "none: _mta-sts.nosts.test TXT: NXDOMAIN" "000 " 6

grep -q "^(<STSFetchResult\.FETCH_ERROR: " "$TMP/cases/query.untrusted" &&
  grep -q "unable to get local issuer certificate" "$TMP/cases/query.untrusted.log" ||
  fail "without SSL_CERT_FILE the fetch should fail for want of the test root: $(cat "$TMP/cases/query.untrusted" "$TMP/cases/query.untrusted.log")"
echo "without SSL_CERT_FILE: $(cat "$TMP/cases/query.untrusted") (unable to get local issuer certificate)"

# The catalogue entries.
expect mta-sts-enforce example.test VALID "valid " "200 text/plain" 0 "'mode': 'enforce'" \
  "'mx': ['mx.example.test']"
same_policy mta-sts-enforce example.test
grep -q " mx.example.test=allowed$" "$TMP/mta-sts-enforce/check.example.test" ||
  fail "mta-sts-enforce: our library should allow mx.example.test"
expect mta-sts-404 example.test FETCH_ERROR "$FETCH: HTTP 404" "404 text/plain" 0
expect mta-sts-redirect example.test FETCH_ERROR "$FETCH: HTTP 301" "301 text/plain" 0
expect mta-sts-bad-cert example.test FETCH_ERROR "failure sts-webpki-invalid: " "000 " 60 \
  "certificate has expired"
expect mta-sts-mismatch example.test VALID "valid " "200 text/plain" 0 "'mx': ['mx.elsewhere.test']"
same_policy mta-sts-mismatch example.test
grep -q " mx.example.test=refused$" "$TMP/mta-sts-mismatch/check.example.test" ||
  fail "mta-sts-mismatch: our library should refuse mx.example.test"

echo "PASS"
