#!/bin/bash
# Do slow clients take throughput from normal ones? (issue 9: "1,000 clients
# sending 1 byte per second do not take normal clients below 80 % of their
# throughput"). fakemx in its default configuration; smtp-sink the same way,
# in the same run, as a reference.
#
#   tests/perf/slow_clients.sh [SLOW [MESSAGES [SESSIONS [REPS]]]]
#
# Defaults: 1,000 slow clients; smtp-source 20 sessions x 20,000 messages of
# 1 KiB; 3 repetitions. For each server and each smtp-source mode
# (connection per message, and reused connections with -d), each repetition
# measures smtp-source's messages/s without and with the slow clients,
# alternating which goes first. "With" means: perf_clients.py slow has
# opened SLOW connections and read each one's 220, has been dribbling for
# 2 s (one byte per connection per second, spread over the second: "EHLO "
# then x's, a CRLF before the 512-octet limit), and keeps dribbling until
# smtp-source has finished. The figure is median(with) / median(without).
#
# Exact commands (PORT free, chosen by the script; FLAGS empty or -d):
#   fakemx --smtp=127.0.0.1:0                        (default configuration)
#   smtp-sink -u nobody -m SLOW+SESSIONS+100 -t 900 127.0.0.1:PORT 1024
#     (-m: smtp-sink serves 256 connections by default, so 1,000 slow
#      clients would leave normal ones in the listen queue; -t: its 100 s
#      command timeout)
#   perf_clients.py slow --port=PORT --count=SLOW
#   smtp-source FLAGS -s SESSIONS -m MESSAGES -l 1024 -f perf@example.org \
#     -t sink@example.net 127.0.0.1:PORT
# The run is broken (exit 1) if a slow client is closed before smtp-source
# finishes (the condition measured did not hold), if smtp-source sees a
# reply that is not 2xx, or if fakemx's stop line does not count every
# message smtp-source sent. The slow-client process's own CPU time is
# printed: it runs on the same machine.
#
# Not a Bazel test: it measures, it does not judge. It waits for an idle
# machine first (perf_lib.sh: PERF_SETTLE_SECONDS, PERF_ALLOW_LOAD).
set -euo pipefail
PERF_NAME=slow_clients
# shellcheck source=tests/perf/perf_lib.sh
source "$(dirname "$0")/perf_lib.sh"

SLOW=${1:-1000}
MESSAGES=${2:-20000}
SESSIONS=${3:-20}
REPS=${4:-3}
for n in "$SLOW" "$MESSAGES" "$SESSIONS" "$REPS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || perf_die "arguments must be positive numbers, not '$n'"
done
TARGET=0.80
WARM_SECONDS=2

perf_setup
perf_nofile $((SLOW + SESSIONS + 256))

kv() { sed -n "s/^$2=//p" "$1"; }

# slow_start PORT: slow clients against PORT, returns once all are greeted.
slow_start() {
  local i
  SLOW_OUT="$PERF_WORK/slow.out"
  : >"$SLOW_OUT"
  "$PERF_PY" "$PERF_CLIENTS" slow --port="$1" --count="$SLOW" >"$SLOW_OUT" &
  SLOW_PID=$!
  PERF_PIDS+=("$SLOW_PID")
  for ((i = 0; i < 600; i++)); do
    grep -q '^ready ' "$SLOW_OUT" && break
    kill -0 "$SLOW_PID" 2>/dev/null || { cat "$SLOW_OUT" >&2; perf_die "the slow clients could not all connect and be greeted"; }
    sleep 0.1
  done
  grep -q '^ready ' "$SLOW_OUT" || perf_die "the slow clients were not all greeted within 60 s"
  sleep "$WARM_SECONDS"
}

# slow_stop: ends the slow clients; a lost one breaks the run.
slow_stop() {
  local rc=0
  kill -0 "$SLOW_PID" 2>/dev/null || { cat "$SLOW_OUT" >&2; perf_die "the slow-client process ended early"; }
  kill -TERM "$SLOW_PID"
  wait "$SLOW_PID" || rc=$?
  ((rc == 0)) || { cat "$SLOW_OUT" >&2; perf_die "slow clients were closed during the measurement ($(kv "$SLOW_OUT" lost) of $SLOW)"; }
  SLOW_NOTE="$(kv "$SLOW_OUT" still_open) slow clients open throughout, $(kv "$SLOW_OUT" bytes_per_second) B/s, their CPU $(kv "$SLOW_OUT" client_cpu_seconds) s in $(kv "$SLOW_OUT" dribble_seconds) s"
}

# measure WHAT PORT PID MODE: sets RATIO, WITH, WITHOUT, RUNS, NOTE.
measure() {
  local what=$1 port=$2 pid=$3 mode=$4 r first
  local flags=() with=() without=()
  [[ $mode == reused-connections ]] && flags=(-d)
  for ((r = 0; r < REPS; r++)); do
    for first in 0 1; do
      if (((r + first) % 2 == 0)); then
        perf_smtp_source "$what" "$port" "$MESSAGES" "$SESSIONS" "${flags[@]+"${flags[@]}"}"
        without+=("$RATE")
      else
        slow_start "$port"
        perf_smtp_source "$what with $SLOW slow clients" "$port" "$MESSAGES" "$SESSIONS" \
          "${flags[@]+"${flags[@]}"}"
        slow_stop
        with+=("$RATE")
      fi
      [[ $what == fakemx ]] && SENT=$((SENT + MESSAGES))
      perf_alive "$pid" "$what"
    done
  done
  WITH=$(perf_median "${with[@]}") WITHOUT=$(perf_median "${without[@]}")
  RATIO=$(perf_calc "f'{$WITH / $WITHOUT:.2f}'")
  RUNS="runs with ${with[*]}; without ${without[*]}"
}

perf_wait_idle
echo "$PERF_NAME: $SLOW slow clients; smtp-source $SESSIONS sessions x $MESSAGES messages of ${PERF_SIZE:-1024} bytes; $REPS reps; $PERF_CPUS CPUs; load at start $(perf_loads)"

perf_start_fakemx slow
perf_start_sink -m $((SLOW + SESSIONS + 100)) -t 900
SENT=0
for mode in connection-per-message reused-connections; do
  load_start=$(perf_loads)
  measure smtp-sink "$SINK_PORT" "$SINK_PID" "$mode"
  sink_ratio=$RATIO sink_runs=$RUNS
  measure fakemx "$FAKEMX_PORT" "$FAKEMX_PID" "$mode"
  perf_figure "slow-clients/$mode" \
    "fakemx with $SLOW slow clients $WITH msg/s, without $WITHOUT msg/s ($RUNS; $FAKEMX_STORAGE)" \
    "smtp-sink ratio $sink_ratio (reference; $sink_runs)" \
    "ratio $RATIO" \
    "target >= $TARGET" \
    "$(perf_verdict "$RATIO" ">=" "$TARGET")" \
    "load $load_start -> $(perf_loads)" \
    "last slow run: $SLOW_NOTE"
done
perf_stop_sink
perf_stop_fakemx
echo "$PERF_NAME: $FAKEMX_STOP_LINE; smtp-source sent it $SENT messages, each answered 2xx"
((FAKEMX_STORED == SENT && FAKEMX_FAILURES == 0)) ||
  perf_die "MISMATCH: fakemx stored $FAKEMX_STORED messages ($FAKEMX_FAILURES storage failures), smtp-source had $SENT answered 2xx"
