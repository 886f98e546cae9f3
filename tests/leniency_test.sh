#!/bin/bash
# fakemx's parser leniency flags against real clients (leniency_test.py):
# strict by default, each leniency when asked, and each SMTP smuggling policy
# of smtp/data.h reproduced. Also --verbose, --version and the rule that a
# flag's separate value must not be the next flag.
source tests/fakemx_fixture.sh
FAKEMX_BIN="$1"
SCRIPT="$2"

# --version prints one line and exits 0 without listening.
VERSION=$("$FAKEMX_BIN" --version) || fail "--version exited $?"
[[ "$VERSION" =~ ^fakemx\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed '$VERSION'"

# "--maildir --smtp=..." once created a directory named "--smtp=...".
WORK="$FIXTURE_TMP/cwd"
mkdir -p "$WORK"
set +e
BIN_ABS=$(realpath "$FAKEMX_BIN")
(cd "$WORK" && "$BIN_ABS" --maildir --smtp=127.0.0.1:0 >"$FIXTURE_TMP/swallow.out" 2>&1)
RC=$?
set -e
[[ $RC == 2 ]] || fail "--maildir --smtp=...: exit $RC, expected 2"
grep -q -- '^fakemx: --maildir needs a value, but the next argument --smtp=127.0.0.1:0 is a flag' \
  "$FIXTURE_TMP/swallow.out" || fail "--maildir --smtp=...: $(cat "$FIXTURE_TMP/swallow.out")"
[[ -z "$(ls -A "$WORK")" ]] || fail "--maildir --smtp=... created $(ls -A "$WORK")"

declare -A PORTS MAILDIRS ERRS PIDS
start() {  # start NAME FLAGS...
  local name="$1"
  shift
  fakemx_start "$FAKEMX_BIN" "$@"
  PORTS[$name]=$FAKEMX_PORT MAILDIRS[$name]=$FAKEMX_MAILDIR ERRS[$name]=$FAKEMX_OUT.err
  PIDS[$name]=$FAKEMX_PID
}
start STRICT --verbose
start LENIENT --allow-space-before-path --allow-missing-angle-brackets \
  --allow-helo-address-literal --data-nul=pass-through
start PASS_THROUGH --data-bare-line-endings=pass-through
start BARE_LF --data-bare-line-endings=accept-bare-lf-as-line-end
start BARE_CR --data-bare-line-endings=accept-bare-cr-as-line-end
start BARE_CR_OR_LF --data-bare-line-endings=accept-bare-cr-or-lf-as-line-end

# A vulnerable policy is announced; the strict default is not.
grep -q '^fakemx: warning: --data-bare-line-endings=accept-bare-lf-as-line-end makes this server vulnerable to SMTP smuggling' \
  "${ERRS[BARE_LF]}" || fail "no smuggling warning for accept-bare-lf-as-line-end"
if grep -q 'warning' "${ERRS[PASS_THROUGH]}"; then fail "warning for pass-through"; fi

ENV=()
for name in "${!PORTS[@]}"; do
  ENV+=("${name}_PORT=${PORTS[$name]}" "${name}_MAILDIR=${MAILDIRS[$name]}"
    "${name}_ERR=${ERRS[$name]}")
done
env "${ENV[@]}" timeout 120 /usr/bin/python3 "$SCRIPT" || fail "leniency_test.py failed"

for name in "${!PIDS[@]}"; do
  FAKEMX_PID=${PIDS[$name]}
  fakemx_stop TERM
  [[ $FAKEMX_EXIT == 0 ]] || fail "$name fakemx exited $FAKEMX_EXIT"
done
echo PASS
