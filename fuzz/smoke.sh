#!/usr/bin/env bash
# fuzz/smoke.sh [SECONDS_EACH]: a short ASan+UBSan libFuzzer campaign for every
# fuzz target, as CI runs it. Any crash fails the step. The total is bounded:
# SECONDS_EACH (default 20) times the number of targets, plus the build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source "$root/fuzz/output_base.sh"
seconds="${1:-20}"

# Targets are every *_fuzzer.cc in fuzz/ (one file per target, by convention).
mapfile -t targets < <(cd fuzz && ls *_fuzzer.cc | sed 's/\.cc$//' | sort)
if ((${#targets[@]} == 0)); then
  echo "fuzz/smoke.sh: no fuzz targets found" >&2
  exit 1
fi

# One build of them all first, so each campaign gets its full time.
"$root/bazelw" "--output_base=$(fuzz_output_base)" \
  build --config=fuzz --symlink_prefix=/ "${targets[@]/#/\/\/fuzz:}"

failed=()
export MXKIT_FUZZ_WORKDIR
for t in "${targets[@]}"; do
  MXKIT_FUZZ_WORKDIR="$(mktemp -d)"
  if fuzz/run.sh "$t" "$seconds" >"$MXKIT_FUZZ_WORKDIR/log" 2>&1; then
    echo "fuzz smoke: $t ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$MXKIT_FUZZ_WORKDIR/log" | grep -Eo '[0-9]+$' || echo '?') execs)"
  else
    echo "fuzz smoke: $t FAILED; log follows"
    tail -n 60 "$MXKIT_FUZZ_WORKDIR/log"
    failed+=("$t")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz smoke: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
  exit 1
fi
echo "fuzz smoke: all ${#targets[@]} targets ran ${seconds}s each without a crash"
