# Sourced by the tests of `mxkit probe --json` (tests/probe_test.sh,
# tests/probe_policy_test.sh), after tests/fakemx_fixture.sh: checks fields of
# the JSON object a probe printed.
#
#   source tests/fakemx_fixture.sh
#   source tests/probe_fixture.sh
#   OUT=...; "$MXKIT_BIN" probe ... --json >"$OUT" 2>"$OUT.err"
#   expect "good" red_lock=false mx.0.hop.tls.version='"TLSv1.3"' error~'NXDOMAIN'

# expect WHAT PATH=JSON...: the JSON object in the file $OUT has each PATH
# (dotted keys, numbers index arrays) equal to the JSON value; PATH~REGEX
# matches a string value instead (re.search; tests/json_expect.py). On a
# mismatch it prints the mismatches, the document and $OUT.err (the probe's
# stderr), and fails the test, naming WHAT.
expect() {
  local what="$1"
  shift
  /usr/bin/python3 tests/json_expect.py "$OUT" "$@" || { cat "$OUT.err" >&2; fail "$what"; }
}
