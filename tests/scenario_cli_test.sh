#!/bin/bash
# fakemx's scenario command line: a bad scenario file is refused before
# anything listens ("fakemx: FILE:LINE:COLUMN: what is wrong", exit 2);
# --list-scenarios lists the catalogue; no --scenario runs `good`; and a
# command a scenario leaves unanswered (tests/scenarios/noop_no_reply.yaml)
# gets no reply at all until the idle timeout closes the connection, with no
# 421.
#
#   scenario_cli_test.sh FAKEMX BAD_UNKNOWN_KEY BAD_VALUE BAD_SYNTAX NOOP_NO_REPLY NAME...
#
# NAME...: the catalogue (FAKEMX_CATALOGUE in tests/BUILD.bazel, which also
# makes one test per entry).
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
source tests/scenario_fixture.sh
FAKEMX_BIN="$1" BAD_UNKNOWN_KEY="$2" BAD_VALUE="$3" BAD_SYNTAX="$4" NOOP_NO_REPLY="$5"
shift 5
CATALOGUE=("$@")
require_peer swaks swaks "Debian package swaks"

# expect_refused WHAT REGEX [FLAGS...]: fakemx FLAGS exits 2 with its first
# stderr line matching REGEX, and prints no listening line.
expect_refused() {
  local what="$1" regex="$2"
  shift 2
  fakemx_run_bad_scenario "$FAKEMX_BIN" --smtp=127.0.0.1:0 "$@"
  [[ $BAD_RC == 2 ]] || show_bad_run "$what: exit $BAD_RC, want 2"
  head -n 1 "$BAD_ERR" | grep -Eq -- "$regex" || show_bad_run "$what: stderr's first line does not match /$regex/"
  if grep -q 'listening' "$BAD_OUT"; then show_bad_run "$what: it printed a listening line"; fi
  echo "refused as wanted, $what: $(head -n 1 "$BAD_ERR")"
}

# 1. Bad scenario files, each named with the position of what is wrong.
# The unknown key is the typo ("dealy" for "delay"), at the key itself.
expect_refused "an unknown key" "^fakemx: ${BAD_UNKNOWN_KEY//./\\.}:8:16: .*dealy" \
  --scenario="$BAD_UNKNOWN_KEY"
expect_refused "an unknown action" "^fakemx: ${BAD_VALUE//./\\.}:9:17: .*explode" \
  --scenario="$BAD_VALUE"
# yaml-cpp's own syntax error, with the position it reports.
expect_refused "a YAML syntax error" "^fakemx: ${BAD_SYNTAX//./\\.}:[0-9]+:[0-9]+: " \
  --scenario="$BAD_SYNTAX"
# Files that are not there, or not text: the error names the file.
expect_refused "a missing file" "^fakemx: .*$FIXTURE_TMP/missing\\.yaml" \
  --scenario="$FIXTURE_TMP/missing.yaml"
printf 'name: x\nreceivers: []\n' >"$FIXTURE_TMP/no-receivers.yaml"
expect_refused "a scenario without receivers" "^fakemx: ${FIXTURE_TMP//./\\.}/no-receivers\\.yaml:[0-9]+:[0-9]+: " \
  --scenario="$FIXTURE_TMP/no-receivers.yaml"
# A name that is not in the catalogue: the error lists what is.
expect_refused "an unknown catalogue name" "no-such-scenario" --scenario=no-such-scenario
grep -q 'greylist' "$BAD_ERR" || show_bad_run "an unknown catalogue name: the catalogue's names are not listed"

# 2. --list-scenarios: one "NAME  summary" line per entry, exit 0.
LIST="$FIXTURE_TMP/list.out"
set +e
timeout 10 "$FAKEMX_BIN" --list-scenarios >"$LIST" 2>"$LIST.err"
RC=$?
set -e
[[ $RC == 0 ]] || failing "$LIST.err" "--list-scenarios exited $RC"
LISTED=$(sed -n 's/^\([a-z0-9.-]*\)  *[^ ].*$/\1/p' "$LIST" | sort)
WANT=$(printf '%s\n' "${CATALOGUE[@]}" | sort)
[[ "$LISTED" == "$WANT" ]] || {
  diff <(echo "$WANT") <(echo "$LISTED") >&2 || true
  failing "$LIST" "--list-scenarios does not list exactly the catalogue's names (diff above: want < > listed)"
}
[[ $(wc -l <"$LIST") == "${#CATALOGUE[@]}" ]] ||
  failing "$LIST" "--list-scenarios printed $(wc -l <"$LIST") lines, want ${#CATALOGUE[@]}"

# 3. No --scenario runs `good`: STARTTLS offered, mail accepted.
fakemx_start "$FAKEMX_BIN"
grep -qx 'fakemx: scenario good' "$FAKEMX_OUT" || failing "$FAKEMX_OUT" "no 'fakemx: scenario good' line"
LOG="$FIXTURE_TMP/swaks-default.log"
set +e
timeout 60 swaks --server "127.0.0.1:$FAKEMX_PORT" --helo client.test --from a@example.org \
  --to b@example.net --timeout 30 >"$LOG" 2>&1
RC=$?
set -e
[[ $RC == 0 ]] || failing "$LOG" "swaks against fakemx without --scenario exited $RC"
grep -q '^<-  250-STARTTLS$' "$LOG" || failing "$LOG" "STARTTLS not offered"
fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
[[ $(maildir_count new) == 1 ]] || fail "expected 1 stored message, found $(maildir_count new)"

# 3b. No arguments at all: `good` on its documented 127.0.0.1:2525, capture
# in memory only (no Maildir), and the final line still counts the message.
# A fixed port collides with anything else on it (another run of this test
# included), so this runs in a network namespace of its own (unshare -rn:
# its own loopback, nothing else on it) when the kernel allows one, and
# otherwise on the host only if 2525 is free.
NO_ARGUMENTS_RUN='
bin=$1 dir=$2
ip link set lo up 2>/dev/null || true  # a new namespace starts with lo down
out=$dir/no-arguments.out
TMPDIR=$dir "$bin" >"$out" 2>"$out.err" &
pid=$!
for ((i = 0; i < 200; i++)); do
  grep -qx "fakemx: listening on smtp 127.0.0.1:2525" "$out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if grep -qx "fakemx: listening on smtp 127.0.0.1:2525" "$out"; then
  timeout 60 swaks --server 127.0.0.1:2525 --helo client.test --from a@example.org \
    --to b@example.net --timeout 30 >"$dir/swaks-no-arguments.log" 2>&1
  echo "$?" >"$dir/swaks-no-arguments.rc"
fi
kill -TERM "$pid" 2>/dev/null
for ((i = 0; i < 400; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$pid" 2>/dev/null
wait "$pid"
echo "$?" >"$dir/no-arguments.rc"
'
NO_ARGUMENTS_DIR="$FIXTURE_TMP/no-arguments"
mkdir -p "$NO_ARGUMENTS_DIR"
if unshare -rn ip link set lo up 2>/dev/null; then
  echo "fakemx without arguments: in a network namespace of its own"
  timeout 150 unshare -rn bash -c "$NO_ARGUMENTS_RUN" no-arguments "$FAKEMX_BIN" "$NO_ARGUMENTS_DIR"
  NO_ARGUMENTS_RAN=1
elif /usr/bin/python3 -c '
import socket
socket.socket().bind(("127.0.0.1", 2525))
socket.socket().bind(("127.0.0.1", 5353))
socket.socket(type=socket.SOCK_DGRAM).bind(("127.0.0.1", 5353))
socket.socket().bind(("127.0.0.1", 8025))' 2>/dev/null; then
  echo "fakemx without arguments: on the host's 127.0.0.1:2525, DNS 5353 and API 8025, which are free"
  timeout 150 bash -c "$NO_ARGUMENTS_RUN" no-arguments "$FAKEMX_BIN" "$NO_ARGUMENTS_DIR"
  NO_ARGUMENTS_RAN=1
else
  skip_or_fail "no network namespace (unshare -rn) and 127.0.0.1:2525, 5353 or 8025 in use: fakemx without arguments not run" ||
    exit 1
  NO_ARGUMENTS_RAN=0
fi
if ((NO_ARGUMENTS_RAN)); then
  FAKEMX_OUT="$NO_ARGUMENTS_DIR/no-arguments.out"
  grep -qx 'fakemx: listening on smtp 127.0.0.1:2525' "$FAKEMX_OUT" ||
    failing "$FAKEMX_OUT.err" "fakemx without arguments: no 'listening on smtp 127.0.0.1:2525' within 20 s"
  grep -qx 'fakemx: scenario good' "$FAKEMX_OUT" || failing "$FAKEMX_OUT" "no 'fakemx: scenario good' line"
  grep -q '^fakemx: maildir none' "$FAKEMX_OUT" || failing "$FAKEMX_OUT" "no 'fakemx: maildir none' line"
  LOG="$NO_ARGUMENTS_DIR/swaks-no-arguments.log"
  [[ $(cat "$NO_ARGUMENTS_DIR/swaks-no-arguments.rc") == 0 ]] ||
    failing "$LOG" "swaks against fakemx without arguments exited $(cat "$NO_ARGUMENTS_DIR/swaks-no-arguments.rc")"
  [[ $(cat "$NO_ARGUMENTS_DIR/no-arguments.rc") == 0 ]] ||
    failing "$FAKEMX_OUT" "fakemx without arguments exited $(cat "$NO_ARGUMENTS_DIR/no-arguments.rc") after SIGTERM"
  grep -q '^fakemx: stopped; 1 messages stored, 0 storage failures, ' "$FAKEMX_OUT" ||
    failing "$FAKEMX_OUT" "the final line does not count the message captured in memory"
fi

# 4. NOOP left unanswered: silence for a second, then, at the idle timeout
# (2 s after the NOOP), the connection closes without a 421.
IDLE_TIMEOUT=2
fakemx_start "$FAKEMX_BIN" --scenario="$NOOP_NO_REPLY" --idle-timeout="$IDLE_TIMEOUT"
FAKEMX_PORT=$FAKEMX_PORT IDLE_TIMEOUT=$IDLE_TIMEOUT PYTHONPATH=tests timeout 60 /usr/bin/python3 - <<'PY' ||
import os, socket, time
from raw_smtp import RawSmtpClient

PORT, IDLE = int(os.environ["FAKEMX_PORT"]), float(os.environ["IDLE_TIMEOUT"])


def silent_until_closed(c, what):
    """Nothing for 1 s, then EOF (or a reset) before IDLE + 3 s; returns when
    it closed, in seconds from now."""
    start = time.monotonic()
    c.sock.settimeout(1.0)
    try:
        data = c.sock.recv(65536)
        raise AssertionError(f"{what}: answered within 1 s: {data!r}")
    except socket.timeout:
        pass
    c.sock.settimeout(IDLE + 3)
    try:
        data = c.sock.recv(65536)
    except ConnectionResetError:
        data = b""
    took = time.monotonic() - start
    assert data == b"", f"{what}: sent {data!r} (a 421 at the idle timeout?) after {took:.2f} s"
    return took


c = RawSmtpClient(PORT, timeout=10)
assert c.reply()[0] == 220
assert c.command(b"EHLO client.test")[0] == 250
c.send(b"NOOP\r\n")
took = silent_until_closed(c, "NOOP")
print(f"NOOP: no reply; closed after {took:.2f} s (--idle-timeout={IDLE:g})")
assert took >= IDLE - 0.3, f"closed after {took:.2f} s, before the idle timeout"
c.close()

# Other commands are answered; once NOOP has gone unanswered the session
# hangs, and what follows it is not answered either.
c = RawSmtpClient(PORT, timeout=10)
assert c.reply()[0] == 220
assert c.command(b"EHLO client.test")[0] == 250
assert c.command(b"RSET")[0] == 250
c.send(b"NOOP\r\nRSET\r\n")
silent_until_closed(c, "NOOP, RSET")
c.close()
PY
  fail "unanswered NOOP"
fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
echo PASS
