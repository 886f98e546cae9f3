#!/usr/bin/env bash
# Times SPF evaluation of the whole RFC 7208 suite with mxkit
# (//auth/benchmarks:spf_benchmark, --config=opt) and with Debian's pyspf
# (python3-spf under /usr/bin/python3, same zones and driver conventions, in
# the same run), and prints checks per second for each and the ratio.
# The target is mxkit >= 50x pyspf. Both sides are timed in CPU seconds
# (Google Benchmark's default; time.process_time for pyspf), so other load on
# the machine does not skew the ratio.
#
# usage: auth/benchmarks/spf_vs_pyspf.sh [PYSPF_ROUNDS]   (default 20)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
rounds="${1:-20}"
if [[ -z "${MXKIT_SHARED_DIR:-}" && -d "$root/../shared/conformance" ]]; then
  export MXKIT_SHARED_DIR="$(cd "$root/../shared" && pwd)"
fi
suite="${MXKIT_SHARED_DIR:-}/conformance/spf/rfc7208-tests.yml"
if [[ ! -f "$suite" ]]; then
  echo "spf_vs_pyspf: RFC 7208 suite not found at $suite (set MXKIT_SHARED_DIR)" >&2
  exit 2
fi
if ! /usr/bin/python3 -c 'import spf, yaml' 2>/dev/null; then
  echo "spf_vs_pyspf: /usr/bin/python3 cannot import spf and yaml (apt-get install python3-spf python3-yaml)" >&2
  exit 2
fi

json="$(mktemp)"
trap 'rm -f "$json"' EXIT
./bazelw run --config=opt //auth/benchmarks:spf_benchmark -- \
  --benchmark_filter='BM_Rfc7208Suite/' --benchmark_min_time=2 \
  --benchmark_format=json --benchmark_out="$json" --benchmark_out_format=json >/dev/null

read -r py_seconds py_checks < <(/usr/bin/python3 auth/spf/testing/pyspf_driver.py --time "$rounds" "$suite")

/usr/bin/python3 - "$json" "$py_seconds" "$py_checks" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
bench = {b["name"]: b for b in data["benchmarks"]}
cached = bench["BM_Rfc7208Suite/record_cache:1"]
uncached = bench["BM_Rfc7208Suite/record_cache:0"]
ours = cached["items_per_second"]
py = float(sys.argv[3]) / float(sys.argv[2])
per_suite = cached["checks_per_suite"]
print("mxkit: %12.0f checks/s  (%8.1f suites/s, %d checks per suite; default record cache)" % (ours, ours / per_suite, per_suite))
print("mxkit: %12.0f checks/s  (record cache off: every record parsed every time; %.1fx pyspf)" % (uncached["items_per_second"], uncached["items_per_second"] / py))
print("pyspf: %12.0f checks/s  (%8.1f suites/s; %s checks in %.3f s)" % (py, py / per_suite, sys.argv[3], float(sys.argv[2])))
ratio = ours / py
print("ratio: %.1fx (target >= 50x): %s" % (ratio, "met" if ratio >= 50 else "NOT met"))
sys.exit(0 if ratio >= 50 else 1)
PY
