# Sourced by the scenario tests (tests/scenario_*), after
# tests/fakemx_fixture.sh: starts fakemx on a scenario whose listeners come
# from the scenario itself (several receivers on 127.0.0.2, 127.0.0.3, ...),
# which fakemx_start cannot do: it always passes --smtp and --hostname, and
# fakemx refuses those flags for a scenario with several receivers.
#
#   source tests/fakemx_fixture.sh
#   source tests/scenario_fixture.sh
#   fakemx_start_scenario "$FAKEMX_BIN" --scenario=FILE.yaml
#   echo "${RECEIVER_SMTP[a.test]}"        # 127.0.0.2:40001
#   fakemx_run_bad_scenario "$FAKEMX_BIN" --scenario=bad.yaml   # sets BAD_RC/OUT/ERR
#
# Every wait is bounded, like the rest of the fixture.

# Receiver name -> "HOST:PORT" of its first smtp listener, from the
# "fakemx: receiver NAME smtp HOST:PORT" lines of the banner.
declare -A RECEIVER_SMTP=()

# fakemx_start_scenario BINARY [FLAGS...]: starts fakemx with FLAGS and a new
# --maildir (no --smtp, no --hostname), waits at most 20 s for its last
# banner line "fakemx: listening on smtp HOST:PORT", and sets FAKEMX_PID,
# FAKEMX_OUT, FAKEMX_MAILDIR, FAKEMX_HOST, FAKEMX_PORT and RECEIVER_SMTP.
fakemx_start_scenario() {
  local bin="$1"
  shift
  local n=${#FAKEMX_PIDS[@]}
  FAKEMX_MAILDIR="$FIXTURE_TMP/maildir.$n"
  FAKEMX_OUT="$FIXTURE_TMP/fakemx.$n.out"
  : >"$FAKEMX_OUT"
  "$bin" --maildir="$FAKEMX_MAILDIR" $(fakemx_dns_flag "$@") $(fakemx_api_flag "$@") "$@" >"$FAKEMX_OUT" 2>"$FAKEMX_OUT.err" &
  FAKEMX_PID=$!
  FAKEMX_PIDS+=("$FAKEMX_PID")
  local i listening=""
  for ((i = 0; i < 200; i++)); do
    listening=$(sed -n 's/^fakemx: listening on smtp \([0-9.]*:[0-9][0-9]*\)$/\1/p' "$FAKEMX_OUT")
    [[ -n "$listening" ]] && break
    kill -0 "$FAKEMX_PID" 2>/dev/null || fail "fakemx $* exited at start"
    sleep 0.1
  done
  [[ -n "$listening" ]] || fail "fakemx $* printed no 'listening on smtp' line within 20 s"
  FAKEMX_HOST=${listening%:*}
  FAKEMX_PORT=${listening##*:}
  grep -qx "fakemx: maildir $FAKEMX_MAILDIR" "$FAKEMX_OUT" || fail "maildir line missing"
  RECEIVER_SMTP=()
  local name mode address
  while read -r name mode address; do
    [[ $mode == smtp && -z "${RECEIVER_SMTP[$name]:-}" ]] && RECEIVER_SMTP[$name]=$address
  done < <(sed -n 's/^fakemx: receiver \([^ ]*\) \(smtps\{0,1\}\) \([0-9.]*:[0-9][0-9]*\)$/\1 \2 \3/p' \
    "$FAKEMX_OUT")
  return 0
}

# fakemx_run_bad_scenario BINARY [FLAGS...]: runs fakemx with FLAGS,
# expecting it to refuse them and exit; waits at most 10 s. Sets BAD_RC (124: it was
# still running) and BAD_OUT/BAD_ERR, files holding stdout and stderr.
BAD_RUNS=0
fakemx_run_bad_scenario() {
  local bin="$1"
  shift
  BAD_RUNS=$((BAD_RUNS + 1))
  BAD_OUT="$FIXTURE_TMP/bad.$BAD_RUNS.out"
  BAD_ERR="$FIXTURE_TMP/bad.$BAD_RUNS.err"
  set +e
  timeout -s KILL 10 "$bin" $(fakemx_dns_flag "$@") $(fakemx_api_flag "$@") "$@" >"$BAD_OUT" 2>"$BAD_ERR" </dev/null
  BAD_RC=$?
  set -e
  [[ $BAD_RC == 137 ]] && BAD_RC=124
  return 0
}

# show_bad_run WHAT: fails the test showing what the last bad run printed.
show_bad_run() {
  {
    echo "--- stdout ---"
    cat "$BAD_OUT"
    echo "--- stderr ---"
    cat "$BAD_ERR"
    echo "--- exit $BAD_RC ---"
  } >&2
  fail "$1"
}

# stopped_line_matches_maildir: after fakemx_stop, the final line's message
# count is the number of messages in new/ (a message answered 250 is stored
# exactly once; nothing else is stored).
stopped_line_matches_maildir() {
  local stored
  stored=$(sed -n 's/^fakemx: stopped; \([0-9]*\) messages stored, 0 storage failures, .*/\1/p' \
    "$FAKEMX_OUT")
  [[ -n "$stored" ]] || fail "no 'fakemx: stopped; N messages stored, 0 storage failures' line"
  [[ "$stored" == "$(maildir_count new)" ]] ||
    fail "fakemx says it stored $stored messages, new/ holds $(maildir_count new)"
  [[ $(maildir_count tmp) == 0 ]] || fail "tmp/ not empty"
}
