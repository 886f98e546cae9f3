#!/usr/bin/env bash
# fuzz/run.sh TARGET SECONDS: one libFuzzer campaign for //fuzz:TARGET.
#
# Builds the target with --config=fuzz (clang, libFuzzer, ASan, UBSan) in an
# output base of its own, so switching compilers does not throw away the
# everyday gcc build cache. New inputs go to a scratch corpus; crashes go to a
# directory printed at the end. Exit status: 0 no crash, 1 crash or leak found,
# 2 usage or build error.
#
# MXKIT_FUZZ_MERGE=1: after a clean campaign, merge the inputs that add
# coverage into the committed seed corpus (libFuzzer -merge=1 keeps only
# those), ready to commit.
set -euo pipefail

if [[ $# -ne 2 || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/run.sh TARGET SECONDS   (e.g. fuzz/run.sh command_fuzzer 60)" >&2
  exit 2
fi
target="$1"
seconds="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source "$root/fuzz/output_base.sh"

bazel_fuzz=("$root/bazelw" "--output_base=$(fuzz_output_base)")
# --symlink_prefix=/ leaves the checkout's bazel-* links alone: pointed into the
# fuzz output base, they broke the next everyday `bazel test //...` at load.
"${bazel_fuzz[@]}" build --config=fuzz --symlink_prefix=/ "//fuzz:$target" >&2 || exit 2
bin="$("${bazel_fuzz[@]}" info --config=fuzz bazel-bin 2>/dev/null)/fuzz/$target"

work="${MXKIT_FUZZ_WORKDIR:-$root/fuzz/out/$target}"
scratch="$work/corpus"
# A directory per campaign: a crash an earlier campaign left behind (already
# reported, perhaps fixed since) must not fail a clean one.
crashes="$work/crashes/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$scratch" "$crashes"

args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$crashes/"
      -timeout=10 -rss_limit_mb=2048 -max_len=65536)
[[ -s "fuzz/dict/${target%_fuzzer}.dict" ]] && args+=(-dict="fuzz/dict/${target%_fuzzer}.dict")

# The first corpus directory receives new inputs; the seeds and earlier
# regressions are read only.
seeds=("fuzz/corpus/${target%_fuzzer}")
[[ -d "fuzz/regressions/$target" ]] && seeds+=("fuzz/regressions/$target")

status=0
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
  "$bin" "${args[@]}" "$scratch" "${seeds[@]}" || status=$?

echo "fuzz/run.sh: $target ran ${seconds}s; new inputs in $scratch; crashes in $crashes" >&2
if [[ $status -ne 0 ]] || compgen -G "$crashes/*" >/dev/null; then
  echo "fuzz/run.sh: $target FAILED (exit $status); reproduce with: $bin $crashes/<file>" >&2
  exit 1
fi
if [[ "${MXKIT_FUZZ_MERGE:-0}" == 1 ]]; then
  before=$(ls "${seeds[0]}" | wc -l)
  "$bin" -merge=1 -max_len=65536 "${seeds[0]}" "$scratch" >"$work/merge.log" 2>&1 ||
    { cat "$work/merge.log" >&2; exit 1; }
  echo "fuzz/run.sh: merged into ${seeds[0]}: $before -> $(ls "${seeds[0]}" | wc -l) files" >&2
fi
