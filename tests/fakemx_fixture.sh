# Sourced by the end-to-end tests: starts fakemx on an ephemeral port with a
# fresh Maildir and guarantees it is stopped when the test exits, pass or fail.
#
#   source tests/fakemx_fixture.sh
#   fakemx_start "$FAKEMX_BIN" --idle-timeout=5   # sets FAKEMX_PID/PORT/MAILDIR/OUT
#   ...
#   fakemx_stop                                  # SIGTERM, bounded wait; sets FAKEMX_EXIT
#
# fakemx is started with --hostname=mx.test, or $FAKEMX_HOSTNAME when set
# (the TLS tests need names of three labels for wildcard certificates).
#
# Every wait is bounded; nothing here can hang a test.

set -euo pipefail

FIXTURE_TMP="${TEST_TMPDIR:-$(mktemp -d)}"
FAKEMX_PIDS=()

_fixture_cleanup() {
  local pid
  for pid in "${FAKEMX_PIDS[@]+"${FAKEMX_PIDS[@]}"}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}
trap _fixture_cleanup EXIT

# fakemx_dns_flag FLAGS...: "--dns=127.0.0.1:0" unless FLAGS choose --dns:
# tests run in parallel, and fakemx's default DNS port (5353) is one port.
fakemx_dns_flag() {
  local flag
  for flag in "$@"; do
    [[ $flag == --dns || $flag == --dns=* ]] && return 0
  done
  echo --dns=127.0.0.1:0
}

# fakemx_api_flag FLAGS...: "--api=127.0.0.1:0" unless FLAGS choose --api:
# fakemx's default API address (127.0.0.1:8025) is one port too.
fakemx_api_flag() {
  local flag
  for flag in "$@"; do
    [[ $flag == --api || $flag == --api=* ]] && return 0
  done
  echo --api=127.0.0.1:0
}

# fakemx_api_port OUT: the port of the "fakemx: api http HOST:PORT" banner
# line in the file OUT (empty with --api=off).
fakemx_api_port() {
  sed -n 's/^fakemx: api http .*:\([0-9][0-9]*\)$/\1/p' "$1"
}

# fakemx_dns_port OUT: the port of the "fakemx: dns udp HOST:PORT" banner
# line in the file OUT (empty with --dns=off).
fakemx_dns_port() {
  sed -n 's/^fakemx: dns udp .*:\([0-9][0-9]*\)$/\1/p' "$1"
}

fail() {
  echo "FAIL: $*" >&2
  if [[ -n "${FAKEMX_OUT:-}" && -f "$FAKEMX_OUT" ]]; then
    echo "--- fakemx stdout/stderr ---" >&2
    cat "$FAKEMX_OUT" "$FAKEMX_OUT.err" >&2 || true
  fi
  exit 1
}

# fakemx_start BINARY [FLAGS...]: starts fakemx on 127.0.0.1:0 with a new
# Maildir under $FIXTURE_TMP and waits (at most 20 s) for its "listening" line.
fakemx_start() {
  local bin="$1"
  shift
  local n=${#FAKEMX_PIDS[@]}
  FAKEMX_MAILDIR="$FIXTURE_TMP/maildir.$n"
  FAKEMX_OUT="$FIXTURE_TMP/fakemx.$n.out"
  : >"$FAKEMX_OUT"  # exists before the background shell opens it
  "$bin" --smtp=127.0.0.1:0 --maildir="$FAKEMX_MAILDIR" --hostname="${FAKEMX_HOSTNAME:-mx.test}" \
    $(fakemx_dns_flag "$@") $(fakemx_api_flag "$@") "$@" >"$FAKEMX_OUT" 2>"$FAKEMX_OUT.err" &
  FAKEMX_PID=$!
  FAKEMX_PIDS+=("$FAKEMX_PID")
  local i
  for ((i = 0; i < 200; i++)); do
    FAKEMX_PORT=$(sed -n 's/^fakemx: listening on smtp 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
      "$FAKEMX_OUT")
    [[ -n "$FAKEMX_PORT" ]] && break
    kill -0 "$FAKEMX_PID" 2>/dev/null || fail "fakemx exited at start"
    sleep 0.1
  done
  [[ -n "$FAKEMX_PORT" ]] || fail "fakemx did not print its port within 20 s"
  grep -qx "fakemx: maildir $FAKEMX_MAILDIR" "$FAKEMX_OUT" || fail "maildir line missing"
}

# fakemx_stop [SIGNAL]: signals fakemx (default TERM) and waits at most 40 s
# (longer than the default 30 s shutdown grace) for it to exit.
fakemx_stop() {
  local sig="${1:-TERM}" i
  kill "-$sig" "$FAKEMX_PID" 2>/dev/null || true
  for ((i = 0; i < 400; i++)); do
    kill -0 "$FAKEMX_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$FAKEMX_PID" 2>/dev/null; then
    kill -KILL "$FAKEMX_PID" 2>/dev/null || true
    fail "fakemx did not exit within 40 s of SIG$sig"
  fi
  set +e
  wait "$FAKEMX_PID"
  FAKEMX_EXIT=$?
  set -e
}

# Files in a Maildir subdirectory, one per line.
maildir_count() {
  find "$FAKEMX_MAILDIR/$1" -mindepth 1 -maxdepth 1 -type f | wc -l
}
