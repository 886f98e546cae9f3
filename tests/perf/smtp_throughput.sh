#!/bin/bash
# SMTP throughput of fakemx against Postfix's smtp-sink, measured in the same
# run with Postfix's smtp-source as the client (issue 9: ">= 1.0x smtp-sink's
# messages/s both per connection and with reused connections", with the
# default configuration, i.e. capture in memory; and, reported without a
# target, the durable Maildir mode), and the store check of every run (issue
# 9: "the message count in the store equals the number of 250 replies").
#
#   tests/perf/smtp_throughput.sh [MESSAGES [SESSIONS [REPS]]]
#
# Defaults: 20,000 messages of 1 KiB over 20 parallel sessions, 3 repetitions
# per server, mode and configuration, alternating the servers and which goes
# first; the median is reported. Two smtp-source modes:
#   connection-per-message   smtp-source's default (connect, 1 transaction, QUIT)
#   reused-connections       smtp-source -d (many transactions per connection)
# Two fakemx configurations, one fakemx process each:
#   default          fakemx --smtp=127.0.0.1:0 (after issue 9: captured in
#                    memory, no disk; the banner's "maildir" line is printed
#                    with each figure, so a binary whose default still spools
#                    to a Maildir shows it)
#   durable-maildir  fakemx --smtp=127.0.0.1:0 --maildir=$PERF_DIR/.../maildir
#                    (every message written and fdatasync'ed before its 250;
#                    PERF_DIR defaults to /tmp, ext4 on the project VM; the
#                    file system is printed). PERF_DURABLE=0 skips it.
# FAKEMX_FLAGS adds flags to both (e.g. FAKEMX_FLAGS=--storage-threads=0).
#
# Exact commands (PORT free, chosen by the script; FLAGS empty or -d):
#   smtp-sink -u nobody 127.0.0.1:PORT 1024
#   smtp-source FLAGS -s SESSIONS -m MESSAGES -l 1024 -f perf@example.org \
#     -t sink@example.net 127.0.0.1:PORT
# The smtp-source command is the same for both servers (one function builds
# it). smtp-sink runs in its fastest mode: no -c (running counters on every
# session end), no -d/-D (no dump files: it keeps nothing), no -v, no delays;
# -u nobody only because it refuses to run as root. It offers PIPELINING,
# which smtp-source does not use, so neither server gains from it. fakemx
# keeps every message (in memory by default), so it does strictly more work
# per message than the sink; that is the comparison the target asks for.
#
# Store check, after each configuration: SIGTERM, then fakemx's stop line
# "fakemx: stopped; N messages stored, F storage failures, C connections"
# must say N = the messages smtp-source sent it and F = 0. smtp-source exits
# non-zero on any reply that is not the expected 2xx (we do not pass -A), so
# every message of a successful run was answered 250 (fakemx answers 250 to
# an accepted end of data, RFC 5321 §4.1.1.4); a failed run, a dead server or
# a mismatch ends the script with exit 1, loudly. With a Maildir, the files in
# new/ must also number N.
#
# A ratio against a peer means something only on an otherwise idle machine:
# a parallel build slows the two servers unequally (one review found a
# reported 1.05x to be 0.31x idle). So the script waits up to
# PERF_SETTLE_SECONDS (default 180) for the 1-minute load average to fall to
# the CPU count or below and refuses to measure (exit 3) if it does not; with
# PERF_ALLOW_LOAD=1 it measures anyway and marks every figure. Each figure
# line carries the load at its start and end (the end includes the load this
# measurement itself makes). Not a Bazel test: it measures, it does not judge.
set -euo pipefail
PERF_NAME=smtp_throughput
# shellcheck source=tests/perf/perf_lib.sh
source "$(dirname "$0")/perf_lib.sh"

MESSAGES=${1:-20000}
SESSIONS=${2:-20}
REPS=${3:-3}
for n in "$MESSAGES" "$SESSIONS" "$REPS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || perf_die "arguments must be positive numbers, not '$n'"
done
TARGET=1.00

perf_setup
perf_wait_idle
echo "$PERF_NAME: $MESSAGES messages of ${PERF_SIZE:-1024} bytes, $SESSIONS sessions, $REPS reps, $PERF_CPUS CPUs, load at start $(perf_loads)"

# shellcheck disable=SC2119  # no extra smtp-sink flags: its fastest mode
perf_start_sink

# run_configuration NAME [FLAGS...]: one fakemx with FLAGS, both modes
# against the sink, then the store check.
run_configuration() {
  local config=$1 mode r first load_start
  shift
  # shellcheck disable=SC2086  # FAKEMX_FLAGS is a list of flags
  perf_start_fakemx "$config" "$@" ${FAKEMX_FLAGS:-}
  local sent=0
  for mode in connection-per-message reused-connections; do
    local flags=() fakemx_rates=() sink_rates=() fakemx_cpu=() sink_cpu=()
    [[ $mode == reused-connections ]] && flags=(-d)
    load_start=$(perf_loads)
    for ((r = 0; r < REPS; r++)); do
      for first in 0 1; do
        if (((r + first) % 2 == 0)); then
          PERF_SERVER_PID=$SINK_PID \
            perf_smtp_source smtp-sink "$SINK_PORT" "$MESSAGES" "$SESSIONS" "${flags[@]+"${flags[@]}"}"
          sink_rates+=("$RATE")
          sink_cpu+=("$SERVER_CPU_US/$CLIENT_CPU_US/$CLIENT_BUSY%")
          perf_alive "$SINK_PID" smtp-sink
        else
          PERF_SERVER_PID=$FAKEMX_PID \
            perf_smtp_source fakemx "$FAKEMX_PORT" "$MESSAGES" "$SESSIONS" "${flags[@]+"${flags[@]}"}"
          fakemx_rates+=("$RATE")
          fakemx_cpu+=("$SERVER_CPU_US/$CLIENT_CPU_US/$CLIENT_BUSY%")
          sent=$((sent + MESSAGES))
          perf_alive "$FAKEMX_PID" fakemx
        fi
      done
    done
    local f s ratio target verdict
    f=$(perf_median "${fakemx_rates[@]}")
    s=$(perf_median "${sink_rates[@]}")
    ratio=$(perf_calc "f'{$f / $s:.2f}'")
    if [[ $config == default ]]; then
      target="target >= $TARGET" verdict=$(perf_verdict "$ratio" ">=" "$TARGET")
    else
      target="no target (reported)" verdict="reported"
    fi
    perf_figure "throughput/$config/$mode" \
      "fakemx $f msg/s (runs ${fakemx_rates[*]}; $FAKEMX_STORAGE)" \
      "smtp-sink $s msg/s (runs ${sink_rates[*]})" \
      "ratio $ratio" "$target" "$verdict" "load $load_start -> $(perf_loads)"
    # Who is the bottleneck: with one CPU each, a side whose CPU time per
    # message nears the wall-clock time per message limits the rate.
    perf_figure "cpu-per-message/$config/$mode" \
      "server/client µs, client busy: fakemx runs ${fakemx_cpu[*]}" \
      "smtp-sink runs ${sink_cpu[*]}"
  done

  local maildir=$FAKEMX_MAILDIR in_new=""
  perf_stop_fakemx
  [[ -n "$maildir" ]] && in_new=$(find "$maildir/new" -type f | wc -l)
  local equal=equal
  [[ $FAKEMX_STORED == "$sent" && $FAKEMX_FAILURES == 0 ]] || equal=MISMATCH
  [[ -z "$in_new" || $in_new == "$sent" ]] || equal=MISMATCH
  perf_figure "store-count/$config" \
    "fakemx stored $FAKEMX_STORED, $FAKEMX_FAILURES storage failures${in_new:+, $in_new files in new/} ($FAKEMX_STOP_LINE)" \
    "smtp-source had $sent messages answered 2xx" "$equal"
  [[ $equal == equal ]] ||
    perf_die "MISMATCH in $config: fakemx stored $FAKEMX_STORED${in_new:+ ($in_new in new/)}, $FAKEMX_FAILURES storage failures; smtp-source had $sent answered 2xx"
}

run_configuration default
[[ ${PERF_DURABLE:-1} == 0 ]] || run_configuration durable-maildir --maildir="$PERF_WORK/maildir"
perf_stop_sink
echo "$PERF_NAME: load at end $(perf_loads) (includes this measurement's own)"
