#!/bin/bash
# fakemx judging every message (SPF for MAIL FROM and HELO, DKIM, DMARC:
# docs/verdicts.md) against Postfix's smtp-sink judging nothing, measured in
# the same run with smtp-source as the client, and the HTTP API's latency
# while that load runs (issue 11: ">= 0.5x smtp-sink's messages/s while
# judging every message; the API's 99th-percentile latency under that load
# <= 50 ms; messages in the API = 250 replies").
#
#   tests/perf/verdict_throughput.sh [MESSAGES [SESSIONS [REPS]]]
#
# Defaults: 20,000 messages over 20 parallel sessions, 3 repetitions per
# server and mode (connection per message, and reused connections with -d),
# alternating which server goes first; medians reported.
#
# The message: one 5 KiB message (PERF_MESSAGE_BYTES) From and MAIL FROM a
# domain fakemx's default scenario serves, DKIM-signed by dkimpy with the
# key fakemx exports for it (banner line "fakemx: dkim-key DOMAIN SELECTOR
# FILE"), sent by `smtp-source -F FILE` to both servers alike. Every
# message fakemx receives therefore costs an SPF evaluation per identity, a
# DKIM key lookup and signature verification, and a DMARC policy lookup,
# through fakemx's own DNS in process; the script checks through the API
# that the messages really got spf=pass, dkim=pass, dmarc=pass (a run whose
# verdicts are not what the setup promises measures nothing).
#
# API latency: in one more fakemx run per mode, after the measured ones,
# while fakemx receives, one client (perf_clients.py api) asks
# the API on one keep-alive connection, as a test suite polling for its mail
# would: a request, its answer, PERF_API_INTERVAL_MS (default 20) of pause,
# the next; in turn:
# the newest message by recipient and verdict (/fakemx/v1/messages with
# filters), Mailpit's newest-first list (/api/v1/messages?limit=50), and the
# session list; p50/p99/max over every request of every fakemx run.
#
# Store check, per fakemx run: the store emptied through the API first
# (DELETE /fakemx/v1/messages and /sessions), then the API's message total
# must equal the messages smtp-source had answered 2xx, and every one of
# them must have spf=pass, dkim=pass, dmarc=pass and be authenticated; the
# stop line's count must equal the sum over the runs.
#
# A ratio against a peer means something only on an otherwise idle machine:
# see perf_lib.sh (perf_wait_idle; PERF_ALLOW_LOAD=1 marks the figures).
set -euo pipefail
PERF_NAME=verdict_throughput
# shellcheck source=tests/perf/perf_lib.sh
source "$(dirname "$0")/perf_lib.sh"

MESSAGES=${1:-20000}
SESSIONS=${2:-20}
REPS=${3:-3}
for n in "$MESSAGES" "$SESSIONS" "$REPS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || perf_die "arguments must be positive numbers, not '$n'"
done
TARGET=0.50
API_TARGET_MS=50
MESSAGE_BYTES=${PERF_MESSAGE_BYTES:-5120}

perf_setup
"$PERF_PY" -c 'import dkim' 2>/dev/null || perf_die "dkimpy missing (Debian package python3-dkim)"
perf_wait_idle
echo "$PERF_NAME: $MESSAGES messages of $MESSAGE_BYTES bytes, DKIM-signed, $SESSIONS sessions, $REPS reps, $PERF_CPUS CPUs, load at start $(perf_loads)"

# The capture as by default (256 MiB of messages), except that it keeps a
# session per message of one run (the connection-per-message mode makes
# one each), so each run's messages can be counted through the API; the
# store is emptied through the API before each fakemx run.
perf_start_fakemx verdicts --capture-max-sessions=$((MESSAGES + 1000))
API_PORT=$(sed -n 's/^fakemx: api http 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$FAKEMX_OUT")
[[ -n "$API_PORT" ]] || { cat "$FAKEMX_OUT" >&2; perf_die "fakemx printed no 'api http' line"; }
read -r DOMAIN SELECTOR KEY_FILE < <(sed -n 's/^fakemx: dkim-key \([^ ]*\) \([^ ]*\) \(.*\)$/\1 \2 \3/p' "$FAKEMX_OUT" | head -1) ||
  true
[[ -n "${KEY_FILE:-}" ]] || { cat "$FAKEMX_OUT" >&2; perf_die "fakemx exported no DKIM key"; }

# The signed message, LF line ends: smtp-source -F sends each line with CRLF
# (and dot-stuffs), so the bytes fakemx receives are the CRLF text signed here.
export PERF_FROM="perf@$DOMAIN" PERF_TO="sink@$DOMAIN"
MESSAGE="$PERF_WORK/signed.eml"
"$PERF_PY" "$(dirname "$0")/dkim_sign.py" "$KEY_FILE" "$DOMAIN" "$SELECTOR" "$MESSAGE_BYTES" "$MESSAGE"

# shellcheck disable=SC2119  # no extra smtp-sink flags: its fastest mode
perf_start_sink

API_OUT="$PERF_WORK/api-latency.out"
api_start() {
  "$PERF_PY" "$PERF_CLIENTS" api --port="$API_PORT" \
    --interval="$("$PERF_PY" -c "print(${PERF_API_INTERVAL_MS:-20} / 1000)")" \
    --path="/fakemx/v1/messages?recipient=sink@$DOMAIN&auth=authenticated&limit=10" \
    --path="/api/v1/messages?limit=50" \
    --path="/fakemx/v1/sessions?state=closed&limit=10" >>"$API_OUT" 2>&1 &
  API_PID=$!
  PERF_PIDS+=("$API_PID")
}
api_total() {
  curl -sf "http://127.0.0.1:$API_PORT/fakemx/v1/messages?limit=1$1" |
    "$PERF_PY" -c 'import json,sys; print(json.load(sys.stdin)["total"])'
}
api_clear() {
  curl -sf -X DELETE "http://127.0.0.1:$API_PORT/fakemx/v1/messages" >/dev/null &&
    curl -sf -X DELETE "http://127.0.0.1:$API_PORT/fakemx/v1/sessions" >/dev/null ||
    perf_die "the API did not empty the store"
}
COUNTS=()
# api_check: after a fakemx run of MESSAGES, what the API holds.
api_check() {
  local total judged
  total=$(api_total "")
  judged=$(api_total "&spf=pass&dkim=pass&dmarc=pass&auth=authenticated")
  COUNTS+=("$total/$judged")
  [[ $total == "$MESSAGES" && $judged == "$MESSAGES" ]] ||
    perf_die "MISMATCH: the API holds $total messages ($judged judged pass and authenticated) after a run of $MESSAGES answered 2xx"
}
api_stop() { kill -TERM "$API_PID"; wait "$API_PID" || perf_die "the API client failed: $(tail -5 "$API_OUT")"; }

sent=0
for mode in connection-per-message reused-connections; do
  flags=(-F "$MESSAGE")
  [[ $mode == reused-connections ]] && flags+=(-d)
  fakemx_rates=() sink_rates=() fakemx_cpu=() sink_cpu=()
  load_start=$(perf_loads)
  for ((r = 0; r < REPS; r++)); do
    for first in 0 1; do
      if (((r + first) % 2 == 0)); then
        PERF_SERVER_PID=$SINK_PID perf_smtp_source smtp-sink "$SINK_PORT" "$MESSAGES" "$SESSIONS" "${flags[@]}"
        sink_rates+=("$RATE") sink_cpu+=("$SERVER_CPU_US/$CLIENT_CPU_US/$CLIENT_BUSY%")
        perf_alive "$SINK_PID" smtp-sink
      else
        api_clear
        PERF_SERVER_PID=$FAKEMX_PID perf_smtp_source fakemx "$FAKEMX_PORT" "$MESSAGES" "$SESSIONS" "${flags[@]}"
        api_check
        fakemx_rates+=("$RATE") fakemx_cpu+=("$SERVER_CPU_US/$CLIENT_CPU_US/$CLIENT_BUSY%")
        sent=$((sent + MESSAGES))
        perf_alive "$FAKEMX_PID" fakemx
      fi
    done
  done
  f=$(perf_median "${fakemx_rates[@]}")
  s=$(perf_median "${sink_rates[@]}")
  ratio=$(perf_calc "f'{$f / $s:.2f}'")
  perf_figure "verdicts/$mode" \
    "fakemx judging every message $f msg/s (runs ${fakemx_rates[*]})" \
    "smtp-sink $s msg/s (runs ${sink_rates[*]})" \
    "ratio $ratio" "target >= $TARGET" "$(perf_verdict "$ratio" ">=" "$TARGET")" \
    "load $load_start -> $(perf_loads)"
  perf_figure "cpu-per-message/verdicts/$mode" \
    "server/client µs, client busy: fakemx runs ${fakemx_cpu[*]}" "smtp-sink runs ${sink_cpu[*]}"

  # The same load once more with the API polled throughout: its latency,
  # and what the polling costs the SMTP side.
  api_clear
  api_start
  PERF_SERVER_PID=$FAKEMX_PID perf_smtp_source fakemx "$FAKEMX_PORT" "$MESSAGES" "$SESSIONS" "${flags[@]}"
  api_stop
  api_check
  sent=$((sent + MESSAGES))
  perf_alive "$FAKEMX_PID" fakemx
  perf_figure "verdicts-with-api-polled/$mode" \
    "fakemx judging every message while the API is polled $RATE msg/s" \
    "ratio to the smtp-sink median $(perf_calc "f'{$RATE / $s:.2f}'")" \
    "server/client µs $SERVER_CPU_US/$CLIENT_CPU_US"
done

# Latency over every request of the polled runs.
read -r requests errors p99 < <("$PERF_PY" - "$API_OUT" <<'PY'
import sys
runs = [dict(l.strip().split("=", 1) for l in block.splitlines() if "=" in l and not l.startswith("perf_clients"))
        for block in open(sys.argv[1]).read().split("requests=")[1:] for block in ["requests=" + block]]
print(sum(int(r["requests"]) for r in runs), sum(int(r["errors"]) for r in runs),
      max(float(r["p99_ms"]) for r in runs))
PY
)
perf_figure "api-latency/under-load" \
  "p99 per run $(grep -o 'p99_ms=[0-9.]*' "$API_OUT" | cut -d= -f2 | tr '\n' ' ')ms, worst $p99 ms" \
  "p50 per run $(grep -o 'p50_ms=[0-9.]*' "$API_OUT" | cut -d= -f2 | tr '\n' ' ')ms" \
  "max per run $(grep -o 'max_ms=[0-9.]*' "$API_OUT" | cut -d= -f2 | tr '\n' ' ')ms" \
  "$requests requests, $errors errors" "target p99 <= $API_TARGET_MS ms" \
  "$(perf_verdict "$p99" "<=" "$API_TARGET_MS")"
((errors == 0)) || perf_die "the API answered $errors requests with an error: $(grep perf_clients "$API_OUT" | head -3)"

perf_stop_fakemx
equal=equal
[[ $FAKEMX_STORED == "$sent" ]] || equal=MISMATCH
perf_figure "api-count" "API total/judged pass per fakemx run: ${COUNTS[*]} (each must be $MESSAGES/$MESSAGES)" \
  "$FAKEMX_STOP_LINE" "smtp-source had $sent messages answered 2xx in all" "$equal"
[[ $equal == equal ]] || perf_die "MISMATCH: fakemx stored $FAKEMX_STORED, smtp-source had $sent answered 2xx"
perf_stop_sink
echo "$PERF_NAME: load at end $(perf_loads) (includes this measurement's own)"
