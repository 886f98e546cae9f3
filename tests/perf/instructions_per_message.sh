#!/bin/bash
# fakemx's user-space instructions per message, from callgrind: a figure that,
# unlike a ratio against smtp-sink or CPU time, does not change when other work
# shares the machine. Use it to compare two builds while others are building,
# and leave the ratios to an idle run (smtp_throughput.sh, verdict_throughput.sh).
#
#   tests/perf/instructions_per_message.sh [MESSAGES]
#
# Default 2000. Three workloads, each one fakemx under
# `valgrind --tool=callgrind` started as perf_start_fakemx starts it
# (--smtp=127.0.0.1:0 --dns=off --api=127.0.0.1:0, so the API's indexing of
# each message is counted), and one smtp-source session with reused connections:
#   refused       1 KiB from perf@example.org (issue 9's smtp_throughput.sh):
#                 SPF and DMARC lookups that fakemx's DNS refuses
#   dkim          5 KiB Ed25519-DKIM-signed from the default scenario's domain
#                 (issue 11's verdict_throughput.sh): every check passes
#   verdicts-off  1 KiB, the default scenario with `verdicts: {enabled: false}`
# Counting starts after a warm-up session of 20 messages (callgrind_control
# -z) and stops after the measured session (callgrind_control -d). The
# printed figure is the total divided by MESSAGES. Minor page faults come from
# /proc/PID/stat over the same span. Kernel time is not counted: about 40% of
# fakemx's CPU time with reused connections.
#
# The store check: fakemx's stop line must count every message sent (warm-up
# included), and in the dkim workload the API must hold every one judged spf,
# dkim and dmarc pass; else the run is BROKEN (exit 1).
set -euo pipefail
PERF_NAME=instructions_per_message
# shellcheck source=tests/perf/perf_lib.sh
source "$(dirname "$0")/perf_lib.sh"

MESSAGES=${1:-2000}
[[ "$MESSAGES" =~ ^[1-9][0-9]*$ ]] || perf_die "MESSAGES must be a positive number, not '$MESSAGES'"
WARMUP=20
for t in valgrind callgrind_control callgrind_annotate; do
  command -v "$t" >/dev/null || perf_die "$t missing (Debian package valgrind)"
done
"$PERF_PY" -c 'import dkim' 2>/dev/null || perf_die "dkimpy missing (Debian package python3-dkim)"
perf_setup
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
sed 's/^name: good$/name: good-verdicts-off/' "$REPO/fakemx/scenarios/good.yaml" >"$PERF_WORK/verdicts-off.yaml"
printf '    verdicts: {enabled: false}\n' >>"$PERF_WORK/verdicts-off.yaml"
echo "$PERF_NAME: $MESSAGES messages per workload after $WARMUP, one session, reused connections (smtp-source -d), $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"

# measure WORKLOAD [FAKEMX FLAGS...]
measure() {
  local workload=$1 dir out pid port i
  shift
  dir="$PERF_WORK/$workload"
  mkdir "$dir"
  out="$dir/fakemx.out"
  # valgrind's control FIFOs go to TMPDIR, so callgrind_control gets the same one.
  TMPDIR="$dir" valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
    "$PERF_WORK/fakemx" --smtp=127.0.0.1:0 --dns=off --api=127.0.0.1:0 "$@" >"$out" 2>&1 &
  pid=$!
  PERF_PIDS+=("$pid")
  port=""
  for ((i = 0; i < 600; i++)); do
    port=$(sed -n 's/^fakemx: listening on smtp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    [[ -n "$port" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$out" >&2; perf_die "fakemx $* exited at start"; }
    sleep 0.1
  done
  [[ -n "$port" ]] || { cat "$out" >&2; perf_die "fakemx under valgrind printed no port in 60 s"; }
  local from=perf@example.org to=sink@example.net flags=(-l 1024)
  if [[ $workload == dkim ]]; then
    local domain selector key_file
    read -r domain selector key_file < <(sed -n 's/^fakemx: dkim-key \([^ ]*\) \([^ ]*\) \(.*\)$/\1 \2 \3/p' "$out" | head -1) || true
    [[ -n "${key_file:-}" ]] || { cat "$out" >&2; perf_die "fakemx exported no DKIM key"; }
    from="perf@$domain" to="sink@$domain"
    "$PERF_PY" "$(dirname "$0")/dkim_sign.py" "$key_file" "$domain" "$selector" 5120 "$dir/signed.eml"
    flags=(-F "$dir/signed.eml")
  fi
  "$SMTP_SOURCE" -d -s 1 -m "$WARMUP" "${flags[@]}" -f "$from" -t "$to" "127.0.0.1:$port" ||
    perf_die "the warm-up session failed"
  TMPDIR="$dir" callgrind_control -z "$pid" >/dev/null 2>&1 || perf_die "callgrind_control -z failed"
  local f0 f1
  f0=$(awk '{print $10}' "/proc/$pid/stat")
  "$SMTP_SOURCE" -d -s 1 -m "$MESSAGES" "${flags[@]}" -f "$from" -t "$to" "127.0.0.1:$port" ||
    perf_die "the measured session failed"
  f1=$(awk '{print $10}' "/proc/$pid/stat")
  TMPDIR="$dir" callgrind_control -d "$pid" >/dev/null 2>&1 || perf_die "callgrind_control -d failed"
  if [[ $workload == dkim ]]; then
    # What the setup promises: every message judged pass (verdict_throughput.sh's check).
    local api judged
    api=$(sed -n 's/^fakemx: api http 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    judged=$(curl -sf "http://127.0.0.1:$api/fakemx/v1/messages?limit=1&spf=pass&dkim=pass&dmarc=pass&auth=authenticated" |
      "$PERF_PY" -c 'import json,sys; print(json.load(sys.stdin)["total"])') || perf_die "the API did not answer"
    [[ "$judged" == $((MESSAGES + WARMUP)) ]] ||
      perf_die "MISMATCH: $judged of $((MESSAGES + WARMUP)) messages judged spf, dkim and dmarc pass"
  fi
  kill -TERM "$pid"
  wait "$pid" || perf_die "fakemx exited with status $?"
  local stored
  stored=$(sed -n 's/^fakemx: stopped; \([0-9]*\) messages stored.*/\1/p' "$out")
  [[ "$stored" == $((MESSAGES + WARMUP)) ]] ||
    perf_die "MISMATCH: fakemx stored ${stored:-?} messages, smtp-source sent $((MESSAGES + WARMUP))"
  local dump total
  dump=$(ls "$dir"/callgrind.out.* 2>/dev/null | head -1)
  [[ -n "$dump" ]] || perf_die "callgrind wrote no dump"
  total=$(callgrind_annotate "$dump" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
  [[ -n "$total" ]] || perf_die "no PROGRAM TOTALS in $dump"
  echo "$PERF_NAME: $workload: $((total / MESSAGES)) instructions per message, minor faults $("$PERF_PY" -c "print('%.2f' % (($f1 - $f0) / $MESSAGES))") per message"
}

measure refused
measure dkim
measure verdicts-off --scenario="$PERF_WORK/verdicts-off.yaml"
