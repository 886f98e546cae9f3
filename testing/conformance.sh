# Skip or fail for sh tests, the shell half of testing/conformance.h: source
# this file, then call `skip_or_fail "what is missing, where, how to get it"`
# where the data or peer a check needs is absent. It prints "SKIP: ..." and
# returns 0, or, when conformance is required, prints "FAIL: ..." to stderr
# and returns 1. Conformance is required when MXKIT_REQUIRE_CONFORMANCE is
# set to anything but "" or "0" (.ci/run sets it) or when CI=true (what most
# CI services set): a check that did not run must not pass in CI.
#
# The one home of the sh tests' skip helpers: skip_or_fail_exit and
# require_peer below end the test; skip_or_fail lets it go on without the
# part it skipped.

conformance_required() {
  [[ "${CI:-}" == true ]] && return 0
  [[ -n "${MXKIT_REQUIRE_CONFORMANCE:-}" && "${MXKIT_REQUIRE_CONFORMANCE}" != 0 ]]
}

skip_or_fail() {
  if conformance_required; then
    echo "FAIL: $1 [failing instead of skipping because MXKIT_REQUIRE_CONFORMANCE or CI=true is set]" >&2
    return 1
  fi
  echo "SKIP: $1 [MXKIT_REQUIRE_CONFORMANCE=1 makes this a failure]"
  return 0
}

# skip_or_fail_exit MESSAGE: skip_or_fail, then end the test: exit 0 on a
# skip, 1 on a failure.
skip_or_fail_exit() {
  skip_or_fail "$1" && exit 0
  exit 1
}

# require_peer NAME PROBE HOW: ends the test (skip_or_fail_exit) unless PROBE
# works. PROBE is a program name looked up on PATH, or else a shell snippet
# run with bash -c ("test -x /usr/sbin/x", "python3 -c 'import dns'"); HOW
# says how to get it ("Debian package bind9-dnsutils").
require_peer() {
  local name="$1" probe="$2" how="$3"
  if [[ "$probe" =~ ^[A-Za-z0-9._-]+$ ]]; then
    command -v "$probe" >/dev/null 2>&1 && return 0
  else
    bash -c "$probe" >/dev/null 2>&1 && return 0
  fi
  skip_or_fail_exit "$name is not available ($how; tools/debian-packages.txt, installed by ./bazelw)"
}
