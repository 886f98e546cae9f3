#!/usr/bin/env bash
# skip_or_fail (testing/conformance.sh): a skip by default, a failure under
# MXKIT_REQUIRE_CONFORMANCE or CI=true, and the message names what is missing
# either way; skip_or_fail_exit and require_peer end the test the same way.
set -uo pipefail
source testing/conformance.sh
passed=0
failed=0

# run REQUIRE CI COMMAND...: COMMAND in a subshell with
# MXKIT_REQUIRE_CONFORMANCE and CI set as given ("unset": not set at all);
# sets out (stdout and stderr) and status.
run() {
  local require="$1" ci="$2"
  shift 2
  out=$(
    unset MXKIT_REQUIRE_CONFORMANCE CI
    [[ "$require" != unset ]] && export MXKIT_REQUIRE_CONFORMANCE="$require"
    [[ "$ci" != unset ]] && export CI="$ci"
    "$@" 2>&1
  )
  status=$?
}

# check DESCRIPTION WANT_STATUS WANT_PATTERN WANT_MESSAGE: status and output
# of the last run.
check() {
  local what="$1" want="$2" pattern="$3" message="$4"
  if [[ "$status" == "$want" && "$out" == *"$pattern"*"$message"* ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what: status $status (want $want), output: $out" >&2
  fi
}

missing="suite not found at /nowhere"
# REQUIRE CI WANT_STATUS WANT_PATTERN DESCRIPTION
while read -r require ci want pattern what; do
  [[ "$require" == '""' ]] && require=""
  run "$require" "$ci" skip_or_fail "$missing"
  check "skip_or_fail: $what" "$want" "$pattern" "$missing"
  # skip_or_fail_exit ends the (sub)shell: nothing after it runs.
  run "$require" "$ci" bash -c 'source testing/conformance.sh; skip_or_fail_exit "$1"; echo ran on' \
    _ "$missing"
  check "skip_or_fail_exit: $what" "$want" "$pattern" "$missing"
  [[ "$out" != *"ran on"* ]] || check "skip_or_fail_exit: $what: ended the test" x "" ""
done <<'ROWS'
unset unset 0 SKIP: unset skips
""    unset 0 SKIP: empty skips
0     unset 0 SKIP: zero skips
1     unset 1 FAIL: one fails
yes   unset 1 FAIL: any other value fails
unset true  1 FAIL: CI=true fails
0     true  1 FAIL: CI=true fails even with zero
unset false 0 SKIP: CI=false skips
ROWS

# require_peer: a program on PATH or a snippet that works lets the test go
# on; anything else skips (exit 0) or fails (exit 1), naming the peer and how
# to get it.
peer() {  # REQUIRE PROBE
  run "$1" unset bash -c 'source testing/conformance.sh
    require_peer frobnicator "$1" "Debian package frobnicator"; echo went on' _ "$2"
}
peer unset bash
check "require_peer: a program on PATH" 0 "went on" ""
peer 1 "test -d /"
check "require_peer: a snippet that works" 0 "went on" ""
peer unset no-such-program-mxkit
check "require_peer: missing program skips" 0 "SKIP: frobnicator is not available" \
  "Debian package frobnicator"
[[ "$out" != *"went on"* ]] || check "require_peer: a skip ends the test" x "" ""
peer 1 no-such-program-mxkit
check "require_peer: missing program fails when required" 1 "FAIL: frobnicator" \
  "Debian package frobnicator"
peer 1 "test -x /no/such/file"
check "require_peer: a failing snippet fails when required" 1 "FAIL: frobnicator" \
  "Debian package frobnicator"

echo "$passed passed, $failed failed"
[[ "$failed" == 0 ]]
