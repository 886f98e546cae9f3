#!/usr/bin/env bash
# Times DKIM verification of the same signed 5 KiB message (rsa-sha256,
# 2048-bit key, relaxed/relaxed) with mxkit (//auth/benchmarks:dkim_benchmark,
# --config=opt) and with Debian's dkimpy (python3-dkim under /usr/bin/python3,
# key served through dkim.verify's dnsfunc), in the same run, and prints
# verifications per second for each and the ratio. The target is mxkit >= 20x
# dkimpy. Both sides are timed in CPU seconds (Google Benchmark's default;
# time.process_time for dkimpy), so other load on the machine does not skew
# the ratio. The message and key come from the benchmark binary itself
# (DKIM_BENCH_DUMP_DIR), so both verify exactly the same bytes.
#
# usage: auth/benchmarks/dkim_vs_dkimpy.sh [DKIMPY_ROUNDS]   (default 300)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
rounds="${1:-300}"
if ! /usr/bin/python3 -c 'import dkim' 2>/dev/null; then
  echo "dkim_vs_dkimpy: /usr/bin/python3 cannot import dkim (apt-get install python3-dkim)" >&2
  exit 2
fi

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
DKIM_BENCH_DUMP_DIR="$dir" ./bazelw run --config=opt //auth/benchmarks:dkim_benchmark -- \
  --benchmark_filter='BM_DkimVerifyRsa2048Relaxed5KiB|BM_BoringSslRsa2048Verify' \
  --benchmark_min_time=2 \
  --benchmark_format=json --benchmark_out="$dir/ours.json" --benchmark_out_format=json >/dev/null

/usr/bin/python3 - "$dir" "$rounds" <<'PY'
import json, sys, time
import dkim

work, rounds = sys.argv[1], int(sys.argv[2])
message = open(work + "/message.eml", "rb").read()
name, record = open(work + "/key.txt", "rb").read().rstrip(b"\n").split(b"\t", 1)

def dnsfunc(qname, timeout=5):
    return record if qname.lower().rstrip(b".") == name.lower() else None

if not dkim.verify(message, dnsfunc=dnsfunc):
    print("dkimpy does not verify the benchmark message: the comparison is void")
    sys.exit(1)
start = time.process_time()
for _ in range(rounds):
    ok = dkim.verify(message, dnsfunc=dnsfunc)
elapsed = time.process_time() - start
py = rounds / elapsed

bench = {b["name"]: b for b in json.load(open(work + "/ours.json"))["benchmarks"]}
cached = bench["BM_DkimVerifyRsa2048Relaxed5KiB/key_cache:1"]
uncached = bench["BM_DkimVerifyRsa2048Relaxed5KiB/key_cache:0"]
rsa = bench["BM_BoringSslRsa2048Verify"]
ours = cached["items_per_second"]
print("message: %d bytes, rsa-sha256 2048-bit, relaxed/relaxed" % len(message))
print("mxkit:   %10.0f verifications/s per core  (crypto bound %.0f/s, ratio %.2f; target >= 0.7)"
      % (ours, cached["crypto_bound_per_s"], cached["crypto_bound_ratio"]))
print("mxkit:   %10.0f verifications/s per core  (key cache off: record parsed every time, ratio %.2f)"
      % (uncached["items_per_second"], uncached["crypto_bound_ratio"]))
print("BoringSSL RSA-2048 verify alone: %.0f/s" % rsa["items_per_second"])
print("dkimpy:  %10.1f verifications/s  (%d in %.3f CPU s)" % (py, rounds, elapsed))
ratio = ours / py
print("ratio:   %.0fx (key cache off: %.0fx); target >= 20x: %s"
      % (ratio, uncached["items_per_second"] / py, "met" if ratio >= 20 else "NOT met"))
sys.exit(0 if ratio >= 20 else 1)
PY
