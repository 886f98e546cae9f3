# Skip or fail for sh tests, the shell half of testing/conformance.h: source
# this file, then call `skip_or_fail "what is missing, where, how to get it"`
# where the data or peer a check needs is absent. It prints "SKIP: ..." and
# returns 0, or, when MXKIT_REQUIRE_CONFORMANCE is set to anything but "" or
# "0" (CI: .ci/run), prints "FAIL: ..." to stderr and returns 1.

conformance_required() {
  [[ -n "${MXKIT_REQUIRE_CONFORMANCE:-}" && "${MXKIT_REQUIRE_CONFORMANCE}" != 0 ]]
}

skip_or_fail() {
  if conformance_required; then
    echo "FAIL: $1 [failing instead of skipping because MXKIT_REQUIRE_CONFORMANCE is set]" >&2
    return 1
  fi
  echo "SKIP: $1 [MXKIT_REQUIRE_CONFORMANCE=1 makes this a failure]"
  return 0
}
