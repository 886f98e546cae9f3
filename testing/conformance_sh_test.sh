#!/usr/bin/env bash
# skip_or_fail (testing/conformance.sh): a skip by default, a failure under
# MXKIT_REQUIRE_CONFORMANCE, and the message names what is missing either way.
set -uo pipefail
source testing/conformance.sh
passed=0
failed=0
check() {  # check DESCRIPTION WANT_STATUS WANT_PATTERN VALUE
  local what="$1" want="$2" pattern="$3" out status
  if [[ "$4" == unset ]]; then
    out=$(unset MXKIT_REQUIRE_CONFORMANCE; skip_or_fail "suite not found at /nowhere" 2>&1)
  else
    out=$(MXKIT_REQUIRE_CONFORMANCE="$4" skip_or_fail "suite not found at /nowhere" 2>&1)
  fi
  status=$?
  if [[ "$status" == "$want" && "$out" == *"$pattern"*"suite not found at /nowhere"* ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what: status $status (want $want), output: $out" >&2
  fi
}
check "unset skips" 0 "SKIP: " unset
check "empty skips" 0 "SKIP: " ""
check "zero skips" 0 "SKIP: " 0
check "one fails" 1 "FAIL: " 1
check "any other value fails" 1 "FAIL: " yes
echo "$passed passed, $failed failed"
[[ "$failed" == 0 ]]
