#!/bin/bash
# Runs smtplib_test.py (Debian's /usr/bin/python3) against two fresh fakemx
# instances: one to store into, one whose Maildir the test breaks.
source tests/fakemx_fixture.sh
FAKEMX_BIN="$1"
SCRIPT="$2"

# 10 MiB of message plus headers is above the 10 MiB default.
fakemx_start "$FAKEMX_BIN" --max-message-size=20971520
MAIN_PID=$FAKEMX_PID MAIN_PORT=$FAKEMX_PORT MAIN_MAILDIR=$FAKEMX_MAILDIR MAIN_OUT=$FAKEMX_OUT
# Storing on the network thread (--storage-threads=0) for this one, so
# the inline path's 451 is covered too.
fakemx_start "$FAKEMX_BIN" --storage-threads=0
FAIL_PORT=$FAKEMX_PORT FAIL_MAILDIR=$FAKEMX_MAILDIR

FAKEMX_PORT=$MAIN_PORT FAKEMX_MAILDIR=$MAIN_MAILDIR \
  FAKEMX_FAIL_PORT=$FAIL_PORT FAKEMX_FAIL_MAILDIR=$FAIL_MAILDIR \
  timeout 240 /usr/bin/python3 "$SCRIPT" || fail "smtplib_test.py failed"

# Both exit cleanly; the broken one reports its failures.
fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx (broken Maildir) exited $FAKEMX_EXIT"
grep -q '^fakemx: stopped; 0 messages stored, 2 storage failures' "$FAKEMX_OUT" ||
  fail "broken instance stats"
FAKEMX_PID=$MAIN_PID FAKEMX_OUT=$MAIN_OUT FAKEMX_MAILDIR=$MAIN_MAILDIR
fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT"
STORED=$(sed -n 's/^fakemx: stopped; \([0-9]*\) messages stored, 0 storage failures.*/\1/p' "$FAKEMX_OUT")
[[ -n "$STORED" && "$STORED" == "$(maildir_count new)" ]] ||
  fail "fakemx says it stored '$STORED' messages, new/ has $(maildir_count new)"
[[ $(maildir_count tmp) == 0 ]] || fail "tmp/ not empty"
echo PASS
