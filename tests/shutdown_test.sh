#!/bin/bash
# SIGTERM during a transaction (one from the null reverse path too), the
# shutdown grace, and the idle/session timeouts, driven by shutdown_test.py
# against four fakemx instances.
source tests/fakemx_fixture.sh
FAKEMX_BIN="$1"
SCRIPT="$2"

fakemx_start "$FAKEMX_BIN"
GRACEFUL=("$FAKEMX_PID" "$FAKEMX_PORT" "$FAKEMX_MAILDIR" "$FAKEMX_OUT")
fakemx_start "$FAKEMX_BIN" --shutdown-grace=1
SHORTGRACE=("$FAKEMX_PID" "$FAKEMX_PORT" "$FAKEMX_MAILDIR" "$FAKEMX_OUT")
fakemx_start "$FAKEMX_BIN" --idle-timeout=1 --session-timeout=3
TIMEOUTS=("$FAKEMX_PID" "$FAKEMX_PORT" "$FAKEMX_MAILDIR" "$FAKEMX_OUT")
fakemx_start "$FAKEMX_BIN"
BOUNCE=("$FAKEMX_PID" "$FAKEMX_PORT" "$FAKEMX_MAILDIR" "$FAKEMX_OUT")

GRACEFUL_PID=${GRACEFUL[0]} GRACEFUL_PORT=${GRACEFUL[1]} GRACEFUL_MAILDIR=${GRACEFUL[2]} \
  SHORTGRACE_PID=${SHORTGRACE[0]} SHORTGRACE_PORT=${SHORTGRACE[1]} \
  SHORTGRACE_MAILDIR=${SHORTGRACE[2]} \
  TIMEOUTS_PID=${TIMEOUTS[0]} TIMEOUTS_PORT=${TIMEOUTS[1]} TIMEOUTS_MAILDIR=${TIMEOUTS[2]} \
  BOUNCE_PID=${BOUNCE[0]} BOUNCE_PORT=${BOUNCE[1]} BOUNCE_MAILDIR=${BOUNCE[2]} \
  timeout 120 /usr/bin/python3 "$SCRIPT" || fail "shutdown_test.py failed"

# The three signalled instances have exited (the script waited); all with 0.
for inst in GRACEFUL SHORTGRACE BOUNCE; do
  declare -n info=$inst
  FAKEMX_PID=${info[0]} FAKEMX_OUT=${info[3]}
  fakemx_stop TERM  # already gone: only collects the exit status
  [[ $FAKEMX_EXIT == 0 ]] || fail "$inst fakemx exited $FAKEMX_EXIT"
done
grep -q '^fakemx: stopped; 1 messages stored' "${GRACEFUL[3]}" || fail "graceful stats"
grep -q '^fakemx: stopped; 0 messages stored' "${SHORTGRACE[3]}" || fail "short-grace stats"
grep -q '^fakemx: stopped; 1 messages stored' "${BOUNCE[3]}" || fail "bounce stats"
FAKEMX_PID=${TIMEOUTS[0]} FAKEMX_OUT=${TIMEOUTS[3]}
fakemx_stop INT
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGINT"
echo PASS
