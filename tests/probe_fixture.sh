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
# matches a string value instead (re.search). On a mismatch it prints $OUT
# and $OUT.err (the probe's stderr) and fails the test, naming WHAT.
expect() {
  local what="$1"
  shift
  /usr/bin/python3 - "$OUT" "$@" <<'PY' || { cat "$OUT" "$OUT.err" >&2; fail "$what"; }
import json, re, sys
path, checks = sys.argv[1], sys.argv[2:]
try:
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
except (OSError, ValueError) as e:
    sys.exit(f"{path}: not a JSON document: {e}")
bad = []
for check in checks:
    m = re.match(r"^([^=~]+)([=~])(.*)$", check, re.S)
    if not m:
        sys.exit(f"expect: malformed check {check!r} (want PATH=JSON or PATH~REGEX)")
    key, op, want = m.groups()
    v = doc
    try:
        for part in key.split("."):
            v = v[int(part)] if isinstance(v, list) else v[part]
    except (KeyError, IndexError, TypeError, ValueError):
        bad.append(f"{key}: missing")
        continue
    if op == "=" and v != json.loads(want):
        bad.append(f"{key}: {json.dumps(v)}, want {want}")
    if op == "~" and not (isinstance(v, str) and re.search(want, v)):
        bad.append(f"{key}: {json.dumps(v)} does not match {want}")
if bad:
    sys.exit("\n".join(bad))
PY
}
