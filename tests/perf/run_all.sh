#!/bin/bash
# Every performance figure of issue 9 in one command, on an idle machine:
#
#   tests/perf/run_all.sh            the full measurement (about 10-20 minutes)
#   tests/perf/run_all.sh --smoke    small counts, 1 repetition: checks that
#                                    the scripts work, not a measurement
#
# Builds //fakemx once (--config=opt) and runs, in turn:
#   smtp_throughput.sh  MESSAGES SESSIONS REPS   figures a (throughput vs
#                       smtp-sink, default and durable Maildir) and d (store
#                       count = 2xx replies)
#   idle_connections.sh IDLE                     figure b (KiB per idle
#                       connection)
#   slow_clients.sh     SLOW MESSAGES SESSIONS REPS   figure c (throughput
#                       with vs without slow clients)
# with MESSAGES=20000 SESSIONS=20 REPS=3 IDLE=10000 SLOW=1000 by default
# (PERF_MESSAGES, PERF_SESSIONS, PERF_REPS, PERF_IDLE, PERF_SLOW override).
# Each script waits for the 1-minute load to fall to the CPU count first
# (PERF_SETTLE_SECONDS, default 180) and refuses otherwise (PERF_ALLOW_LOAD=1
# measures anyway and marks every figure); the load a script leaves behind
# decays while the next one waits.
#
# Prints every script's output as it comes, then all "FIGURE" lines again as
# a summary. Exit status: 0 if every script ran cleanly (whether or not each
# target was met: the figures say that), 1 if a run was broken (wrong store
# count, a server died, a client lost its connections), 3 if a script
# refused to measure under load.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

MESSAGES=${PERF_MESSAGES:-20000}
SESSIONS=${PERF_SESSIONS:-20}
REPS=${PERF_REPS:-3}
IDLE=${PERF_IDLE:-10000}
SLOW=${PERF_SLOW:-1000}
if [[ "${1:-}" == --smoke ]]; then
  MESSAGES=2000 REPS=1 IDLE=1000 SLOW=200
elif [[ $# -gt 0 ]]; then
  echo "usage: tests/perf/run_all.sh [--smoke]" >&2
  exit 2
fi

./bazelw build --config=opt //fakemx >&2 || exit 1
FAKEMX_BIN="$(./bazelw info --config=opt bazel-bin 2>/dev/null)/fakemx/fakemx"
export FAKEMX_BIN
echo "run_all: $("$FAKEMX_BIN" --version 2>/dev/null || echo "fakemx (no --version)"), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
WORST=0
run() {
  local script=$1 rc=0
  shift
  echo "run_all: tests/perf/$script $*" >&2
  "tests/perf/$script" "$@" 2>&1 | tee -a "$LOG" || rc=$?
  # A refusal (3) is reported as such unless a broken run (1) outranks it.
  if ((rc != 0)); then
    echo "run_all: tests/perf/$script exited $rc" | tee -a "$LOG"
    if ((rc == 3 && WORST == 0)); then WORST=3; elif ((rc != 3)); then WORST=1; fi
  fi
}
run smtp_throughput.sh "$MESSAGES" "$SESSIONS" "$REPS"
run idle_connections.sh "$IDLE"
run slow_clients.sh "$SLOW" "$MESSAGES" "$SESSIONS" "$REPS"

echo
echo "run_all: summary"
grep -E '^FIGURE |^run_all: .* exited' "$LOG"
exit "$WORST"
