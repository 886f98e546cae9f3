#!/bin/bash
# Resident memory per idle connection: fakemx in its default configuration
# against Postfix's smtp-sink, in the same run (issue 9: "10,000 concurrent
# idle connections with resident memory growth <= 32 KiB per connection").
#
#   tests/perf/idle_connections.sh [CONNECTIONS]      (default 10000)
#
# For each server in turn, tests/perf/perf_clients.py idle:
#   1. opens and closes 20 greeted connections (warm-up: what a server
#      allocates once is not a per-connection cost), waits 2 s, and reads the
#      server's VmRSS and socket count from /proc/PID/status and /proc/PID/fd;
#   2. opens CONNECTIONS connections one after another and reads each one's
#      220 (so every connection is accepted, greeted and held by the server,
#      not queued in the kernel's listen backlog), waits 2 s, checks that none
#      was closed, and reads VmRSS and the socket count again.
# The figure is (VmRSS after - VmRSS before) / CONNECTIONS, in KiB, and its
# ratio to the 32 KiB budget; smtp-sink's figure is a reference (it keeps
# next to nothing per session). The run is broken (exit 1) if a connection
# was not greeted, was closed before the reading, or the server's socket
# count did not grow by CONNECTIONS.
#
# Exact commands (PORT free, chosen by the script):
#   fakemx --smtp=127.0.0.1:0                        (default configuration)
#   smtp-sink -u nobody -m CONNECTIONS+100 -t 900 127.0.0.1:PORT 1024
#     (-m: smtp-sink serves at most 256 connections by default and leaves
#      the rest in the listen queue, ungreeted; -t: its 100 s default
#      command timeout would close idle connections during a slow run)
#   perf_clients.py idle --port=PORT --count=CONNECTIONS --server-pid=PID
# fakemx's idle timeout (300 s by default) is far longer than the run.
#
# Not a Bazel test: it measures, it does not judge. It waits for an idle
# machine first (perf_lib.sh: PERF_SETTLE_SECONDS, PERF_ALLOW_LOAD).
set -euo pipefail
PERF_NAME=idle_connections
# shellcheck source=tests/perf/perf_lib.sh
source "$(dirname "$0")/perf_lib.sh"

COUNT=${1:-10000}
[[ "$COUNT" =~ ^[1-9][0-9]*$ ]] || perf_die "CONNECTIONS must be a positive number, not '$COUNT'"
BUDGET_KIB=32
WARMUP=20

perf_setup
# Each server holds COUNT sockets plus its listeners and files.
perf_nofile $((COUNT + 256))

kv() { sed -n "s/^$2=//p" "$1"; }

# measure WHAT PORT PID: runs the client, prints its findings, and leaves
# KIB_PER_CONNECTION set; a broken run ends the script.
measure() {
  local what=$1 port=$2 pid=$3 out="$PERF_WORK/idle.$1" rc=0
  "$PERF_PY" "$PERF_CLIENTS" idle --port="$port" --count="$COUNT" --server-pid="$pid" \
    --warmup="$WARMUP" >"$out" || rc=$?
  perf_alive "$pid" "$what"
  echo "$PERF_NAME: $what: $(tr '\n' ' ' <"$out")" >&2
  ((rc == 0)) || perf_die "$what: not every connection was established, greeted and still open (see above)"
  local before after sb sa
  before=$(kv "$out" rss_before_kib) after=$(kv "$out" rss_after_kib)
  sb=$(kv "$out" server_sockets_before) sa=$(kv "$out" server_sockets_after)
  ((sa - sb >= COUNT)) ||
    perf_die "$what holds $((sa - sb)) more sockets, not $COUNT: connections were not all accepted"
  KIB_PER_CONNECTION=$(perf_calc "f'{($after - $before) / $COUNT:.2f}'")
  RSS_LINE="VmRSS $before -> $after KiB"
}

perf_wait_idle
LOAD_START=$(perf_loads)
echo "$PERF_NAME: $COUNT idle connections, $PERF_CPUS CPUs, load at start $LOAD_START"

perf_start_fakemx idle
STORAGE=$FAKEMX_STORAGE
measure fakemx "$FAKEMX_PORT" "$FAKEMX_PID"
FAKEMX_KIB=$KIB_PER_CONNECTION FAKEMX_RSS=$RSS_LINE
perf_stop_fakemx
((FAKEMX_CONNECTIONS >= COUNT + WARMUP)) ||
  perf_die "fakemx counted $FAKEMX_CONNECTIONS connections, expected at least $((COUNT + WARMUP))"

perf_start_sink -m $((COUNT + 100)) -t 900
measure smtp-sink "$SINK_PORT" "$SINK_PID"
SINK_KIB=$KIB_PER_CONNECTION SINK_RSS=$RSS_LINE
perf_stop_sink

LOAD_END=$(perf_loads)
perf_figure "idle-connections/$COUNT" \
  "fakemx $FAKEMX_KIB KiB/connection ($FAKEMX_RSS; $STORAGE)" \
  "smtp-sink $SINK_KIB KiB/connection ($SINK_RSS)" \
  "ratio to budget $(perf_calc "f'{$FAKEMX_KIB / $BUDGET_KIB:.2f}'")" \
  "target <= $BUDGET_KIB KiB/connection" \
  "$(perf_verdict "$FAKEMX_KIB" "<=" "$BUDGET_KIB")" \
  "load $LOAD_START -> $LOAD_END"
