# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables set here are read by the sourcing scripts
# Shared by the scripts in tests/perf/ (sourced, not run): finding Postfix's
# tools, building or reusing the fakemx binary, starting and stopping fakemx
# and smtp-sink on free loopback ports, the idle-machine gate, and the one
# line each figure is printed as.
#
# Environment (all optional):
#   FAKEMX_BIN           use this fakemx binary instead of building
#                        //fakemx with --config=opt (run_all.sh builds once)
#   PERF_DIR             where the work directory goes (default /tmp, ext4
#                        here; the durable Maildir figure is about that disk)
#   PERF_SETTLE_SECONDS  how long to wait for an idle machine (default 180)
#   PERF_ALLOW_LOAD=1    measure anyway when loaded; every figure is marked
#
# A ratio against a peer means something only on an otherwise idle machine: a
# parallel build slows the two servers unequally (one review found a reported
# 1.05x to be 0.31x idle). So before measuring, perf_wait_idle waits up to
# PERF_SETTLE_SECONDS for the 1-minute load average to fall to the CPU count
# or below, and refuses to measure (exit 3) if it does not.

set -euo pipefail

PERF_NAME=${PERF_NAME:-$(basename "$0" .sh)}
PERF_PY=/usr/bin/python3
PERF_CLIENTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/perf_clients.py"
PERF_CPUS=$(nproc)
PERF_LOADED=""
PERF_PIDS=()

perf_die() {
  echo "$PERF_NAME: BROKEN RUN: $*" >&2
  exit 1
}

perf_find_tool() {
  local t
  for t in "/usr/sbin/$1" "/usr/lib/postfix/sbin/$1"; do
    [[ -x "$t" ]] && { echo "$t"; return; }
  done
  echo "$PERF_NAME: $1 not found (Debian package postfix)" >&2
  exit 1
}

perf_cleanup() {
  local pid
  for pid in "${PERF_PIDS[@]+"${PERF_PIDS[@]}"}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true  # no "Killed" job notice
  done
  [[ -n "${PERF_WORK:-}" ]] && rm -rf "$PERF_WORK"
  return 0
}

# perf_setup: the work directory, the cleanup trap and the fakemx binary
# (copied into the work directory, so a rebuild meanwhile cannot change it).
perf_setup() {
  PERF_WORK=$(mktemp -d "${PERF_DIR:-/tmp}/perf_${PERF_NAME}.XXXXXX")
  trap perf_cleanup EXIT
  local bin=${FAKEMX_BIN:-}
  if [[ -z "$bin" ]]; then
    (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && ./bazelw build --config=opt //fakemx >&2)
    bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && ./bazelw info --config=opt bazel-bin 2>/dev/null)/fakemx/fakemx"
  fi
  [[ -x "$bin" ]] || perf_die "no fakemx binary at $bin"
  cp "$bin" "$PERF_WORK/fakemx"
  SMTP_SOURCE=$(perf_find_tool smtp-source)
  SMTP_SINK=$(perf_find_tool smtp-sink)
}

# perf_nofile N: makes sure this shell (and so both servers) may open N
# descriptors; as root the hard limit is raised too.
perf_nofile() {
  local need=$1
  if (($(ulimit -Sn) < need)); then
    if (($(ulimit -Hn) < need)); then
      ulimit -Hn "$need" 2>/dev/null ||
        perf_die "need $need file descriptors, the hard limit is $(ulimit -Hn) (run as root or raise it)"
    fi
    ulimit -Sn "$need"
  fi
}

perf_free_port() {
  "$PERF_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# perf_start_fakemx TAG [FLAGS...]: fakemx on 127.0.0.1:0 with FLAGS; sets
# FAKEMX_PID, FAKEMX_PORT, FAKEMX_OUT, FAKEMX_STORAGE (what its banner says
# about where messages go, for the figure lines) and FAKEMX_MAILDIR (empty
# when messages are captured in memory only). TMPDIR points into the work directory so a
# default temporary Maildir or TLS directory is removed with it.
perf_start_fakemx() {
  local tag=$1 i
  shift
  FAKEMX_OUT="$PERF_WORK/fakemx.$tag.out"
  : >"$FAKEMX_OUT"
  # --dns=off: the SMTP figures do not involve DNS, and 5353 may be taken;
  # the API on a free port (its default 8025 may be taken), as it runs by default.
  TMPDIR="$PERF_WORK" "$PERF_WORK/fakemx" --smtp=127.0.0.1:0 --dns=off --api=127.0.0.1:0 "$@" >"$FAKEMX_OUT" 2>&1 &
  FAKEMX_PID=$!
  PERF_PIDS+=("$FAKEMX_PID")
  FAKEMX_PORT=""
  for ((i = 0; i < 300; i++)); do
    FAKEMX_PORT=$(sed -n 's/^fakemx: listening on smtp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$FAKEMX_OUT")
    [[ -n "$FAKEMX_PORT" ]] && break
    kill -0 "$FAKEMX_PID" 2>/dev/null || { cat "$FAKEMX_OUT" >&2; perf_die "fakemx $* exited at start"; }
    sleep 0.1
  done
  [[ -n "$FAKEMX_PORT" ]] || { cat "$FAKEMX_OUT" >&2; perf_die "fakemx did not print its port in 30 s"; }
  FAKEMX_MAILDIR=$(sed -n 's/^fakemx: maildir //p' "$FAKEMX_OUT")
  case "$FAKEMX_MAILDIR" in
    none*) FAKEMX_MAILDIR="" FAKEMX_STORAGE="capture in memory only" ;;
    "") FAKEMX_STORAGE="(banner has no maildir line)" ;;
    *) FAKEMX_STORAGE="Maildir $FAKEMX_MAILDIR on $(df -T "$FAKEMX_MAILDIR" | awk 'NR==2 {print $2}')" ;;
  esac
}

perf_alive() {  # perf_alive PID WHAT
  kill -0 "$1" 2>/dev/null || perf_die "$2 (pid $1) died during the measurement"
}

# perf_stop_fakemx: SIGTERM, a bounded wait, and the stop line
# "fakemx: stopped; N messages stored, F storage failures, C connections";
# sets FAKEMX_STORED, FAKEMX_FAILURES, FAKEMX_CONNECTIONS, FAKEMX_STOP_LINE.
perf_stop_fakemx() {
  local i
  perf_alive "$FAKEMX_PID" "fakemx"
  kill -TERM "$FAKEMX_PID"
  for ((i = 0; i < 600; i++)); do
    kill -0 "$FAKEMX_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$FAKEMX_PID" 2>/dev/null && perf_die "fakemx did not stop within 60 s of SIGTERM"
  local rc=0
  wait "$FAKEMX_PID" || rc=$?
  ((rc == 0)) || { tail -5 "$FAKEMX_OUT" >&2; perf_die "fakemx exited with status $rc"; }
  FAKEMX_STOP_LINE=$(grep '^fakemx: stopped; ' "$FAKEMX_OUT" | tail -1) ||
    { tail -5 "$FAKEMX_OUT" >&2; perf_die "fakemx printed no 'fakemx: stopped; ...' line"; }
  read -r FAKEMX_STORED FAKEMX_FAILURES FAKEMX_CONNECTIONS < <(sed -n \
    's/^fakemx: stopped; \([0-9]*\) messages stored, \([0-9]*\) storage failures, \([0-9]*\) connections$/\1 \2 \3/p' \
    <<<"$FAKEMX_STOP_LINE") || true
  [[ -n "${FAKEMX_CONNECTIONS:-}" ]] || perf_die "cannot read the stop line: $FAKEMX_STOP_LINE"
}

# perf_start_sink [FLAGS...]: smtp-sink on a free port (it cannot report an
# ephemeral one) with FLAGS; sets SINK_PID and SINK_PORT. It discards every
# message; as root it must drop privileges (-u nobody), which it does after
# opening the socket.
perf_start_sink() {
  local i user=()
  [[ $(id -u) == 0 ]] && user=(-u nobody)
  SINK_PORT=$(perf_free_port)
  "$SMTP_SINK" "${user[@]+"${user[@]}"}" "$@" "127.0.0.1:$SINK_PORT" 1024 \
    >"$PERF_WORK/sink.out" 2>&1 &
  SINK_PID=$!
  PERF_PIDS+=("$SINK_PID")
  for ((i = 0; i < 100; i++)); do
    "$PERF_PY" -c "import socket; socket.create_connection(('127.0.0.1', $SINK_PORT), 1).close()" \
      2>/dev/null && return
    kill -0 "$SINK_PID" 2>/dev/null || { cat "$PERF_WORK/sink.out" >&2; perf_die "smtp-sink exited at start"; }
    sleep 0.1
  done
  perf_die "smtp-sink did not accept connections within 10 s"
}

perf_stop_sink() {
  perf_alive "$SINK_PID" "smtp-sink"
  kill -TERM "$SINK_PID" 2>/dev/null || true
  wait "$SINK_PID" 2>/dev/null || true
}

perf_load() { cut -d' ' -f1 /proc/loadavg; }
perf_loads() { cut -d' ' -f1-3 /proc/loadavg; }

perf_wait_idle() {
  local waited
  above() { "$PERF_PY" -c "import sys; sys.exit(0 if $(perf_load) > $PERF_CPUS else 1)"; }
  for ((waited = 0; waited < ${PERF_SETTLE_SECONDS:-180}; waited += 5)); do
    above || break
    ((waited % 30 == 0)) && echo "$PERF_NAME: load $(perf_load) above $PERF_CPUS CPUs, waiting for it to settle" >&2
    sleep 5
  done
  if above; then
    if [[ "${PERF_ALLOW_LOAD:-}" != 1 ]]; then
      echo "$PERF_NAME: refusing to measure: 1-minute load $(perf_load) is above the $PERF_CPUS CPUs" \
           "(something else is running; a ratio against the peer would not mean anything)." \
           "Stop the other work, or set PERF_ALLOW_LOAD=1 to measure anyway, marked." >&2
      exit 3
    fi
    PERF_LOADED=" | LOADED: load $(perf_load) > $PERF_CPUS CPUs at start, not a valid comparison"
  fi
}

perf_median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# perf_calc EXPR: a Python expression, e.g. perf_calc "f'{4170 / 3579:.2f}'".
perf_calc() { "$PERF_PY" -c "print($1)"; }

# perf_verdict VALUE OP TARGET: "met" or "NOT MET" (OP is >= or <=).
perf_verdict() {
  if "$PERF_PY" -c "import sys; sys.exit(0 if $1 $2 $3 else 1)"; then echo met; else echo "NOT MET"; fi
}

# perf_figure NAME FIELD...: the one line a figure is printed as, fields
# joined by " | ", with the load marker when measured under load. Every
# figure line starts with "FIGURE " so run_all.sh can collect them.
perf_figure() {
  local name=$1 line
  shift
  line="FIGURE $name"
  local f
  for f in "$@"; do line+=" | $f"; done
  echo "$line$PERF_LOADED"
}

# perf_cpu_ticks PID: the CPU time (user + system, all threads, in clock
# ticks) process PID has used so far (proc(5): fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name).
perf_cpu_ticks() {
  local stat
  stat=$(<"/proc/$1/stat")
  stat=${stat##*) }
  read -r -a f <<<"$stat"
  echo $((f[11] + f[12]))
}

# perf_children_ticks: the CPU time (ticks) of this shell's waited-for
# descendants so far (fields 16 and 17, cutime + cstime): around one
# smtp-source run, the client's CPU time.
perf_children_ticks() {
  local stat
  stat=$(<"/proc/$$/stat")
  stat=${stat##*) }
  read -r -a f <<<"$stat"
  echo $((f[13] + f[14]))
}

# perf_smtp_source WHAT PORT MESSAGES SESSIONS [FLAGS...]: one smtp-source
# run of MESSAGES messages of PERF_SIZE bytes (default 1024) over SESSIONS
# parallel sessions, sender perf@example.org, recipient sink@example.net
# (PERF_FROM and PERF_TO replace them), both servers get exactly the same
# command. Sets RATE (messages/s, wall
# clock, smtp-source's start and exit included), and, when PERF_SERVER_PID
# names the server's process, SERVER_CPU_US and CLIENT_CPU_US (CPU
# microseconds per message each side used, all threads; with 2 CPUs a side
# near the wall-clock time per message is the bottleneck) and CLIENT_BUSY
# (the client's CPU time over the wall-clock time, in percent). smtp-source exits non-zero
# on any reply that is not the expected positive one (it has -A to ignore
# them; we do not pass it), so a run that succeeds had every end of data
# answered 2xx: its MESSAGES are what the server must have stored.
perf_smtp_source() {
  local what=$1 port=$2 messages=$3 sessions=$4 start end rc=0 server0=0 client0
  shift 4
  [[ -n "${PERF_SERVER_PID:-}" ]] && server0=$(perf_cpu_ticks "$PERF_SERVER_PID")
  client0=$(perf_children_ticks)
  start=$(date +%s.%N)
  # -F FILE sends that message; smtp-source refuses -l beside it.
  local size=(-l "${PERF_SIZE:-1024}") a
  for a in "$@"; do [[ $a == -F ]] && size=(); done
  timeout 600 "$SMTP_SOURCE" "$@" -s "$sessions" -m "$messages" "${size[@]+"${size[@]}"}" \
    -f "${PERF_FROM:-perf@example.org}" -t "${PERF_TO:-sink@example.net}" "127.0.0.1:$port" \
    >/dev/null 2>"$PERF_WORK/smtp-source.err" || rc=$?
  end=$(date +%s.%N)
  if ((rc != 0)); then
    head -5 "$PERF_WORK/smtp-source.err" >&2
    ((rc == 124)) && perf_die "smtp-source against $what did not finish in 600 s"
    perf_die "smtp-source against $what failed (exit $rc): a reply was not the expected 2xx/3xx, or the connection failed"
  fi
  RATE=$(perf_calc "f'{$messages / ($end - $start):.0f}'")
  local hz client1 server1=0
  hz=$(getconf CLK_TCK)
  client1=$(perf_children_ticks)
  CLIENT_CPU_US=$(perf_calc "f'{($client1 - $client0) * 1e6 / $hz / $messages:.0f}'")
  CLIENT_BUSY=$(perf_calc "f'{($client1 - $client0) * 100 / $hz / ($end - $start):.0f}'")
  SERVER_CPU_US=""
  if [[ -n "${PERF_SERVER_PID:-}" ]]; then
    server1=$(perf_cpu_ticks "$PERF_SERVER_PID")
    SERVER_CPU_US=$(perf_calc "f'{($server1 - $server0) * 1e6 / $hz / $messages:.0f}'")
  fi
}
