#!/bin/bash
# Chaos is replayable: tests/scenarios/chaos.yaml (a seed, probability 0.5 at
# MAIL, RCPT and the end of data) run twice in two separate fakemx processes
# gives the same replies, in the same order, to the same client traffic (30
# smtplib transactions, one connection each; scenario_chaos_test.py). A copy
# with another seed gives other replies.
#
# The chance that the other seed gives the same 30 outcomes by luck: one
# transaction ends at MAIL with one of 5 fault replies (p 1/2 each run), at
# RCPT (1/4), at the message (1/8), or is delivered (1/8). Two independent
# runs agree on a transaction with probability 5(1/10)^2 + 5(1/20)^2 +
# 5(1/40)^2 + (1/8)^2 = 0.08125, on all 30 with 0.08125^30 < 1e-32.
#
# Each run also checks the capture: a message answered 250 is in the Maildir
# exactly once, and a refused one never (see scenario_chaos_test.py).
#
#   scenario_chaos_test.sh FAKEMX SCRIPT CHAOS_YAML
source tests/fakemx_fixture.sh
source tests/scenario_fixture.sh
FAKEMX_BIN="$1" SCRIPT="$2" YAML="$3"

OTHER_SEED_YAML="$FIXTURE_TMP/chaos-other-seed.yaml"
sed 's/^\( *seed: \)20261129$/\1977/' "$YAML" >"$OTHER_SEED_YAML"
grep -q '^ *seed: 977$' "$OTHER_SEED_YAML" || fail "$YAML has no 'seed: 20261129' line to change"

# run_traffic NAME YAML: a fresh fakemx on YAML, the traffic, its replies in
# $FIXTURE_TMP/NAME.json; stops fakemx and checks its final count.
run_traffic() {
  local name="$1" yaml="$2"
  fakemx_start "$FAKEMX_BIN" --scenario="$yaml"
  timeout 120 /usr/bin/python3 "$SCRIPT" "$FAKEMX_PORT" "$FAKEMX_MAILDIR" "$FIXTURE_TMP/$name.json" ||
    fail "$name: the traffic or the capture check failed"
  fakemx_stop TERM
  [[ $FAKEMX_EXIT == 0 ]] || fail "$name: fakemx exited $FAKEMX_EXIT after SIGTERM"
  stopped_line_matches_maildir
}

run_traffic first "$YAML"
run_traffic second "$YAML"
run_traffic other-seed "$OTHER_SEED_YAML"

cmp -s "$FIXTURE_TMP/first.json" "$FIXTURE_TMP/second.json" || {
  diff "$FIXTURE_TMP/first.json" "$FIXTURE_TMP/second.json" >&2 || true
  fail "the same seed and the same traffic gave different replies (diff above: first < > second)"
}
if cmp -s "$FIXTURE_TMP/first.json" "$FIXTURE_TMP/other-seed.json"; then
  cat "$FIXTURE_TMP/first.json" >&2
  fail "seeds 20261129 and 977 gave the same 30 outcomes (chance < 1e-32): is the seed used?"
fi
echo "--- replies (seed 20261129, both runs) ---"
/usr/bin/python3 -c '
import json, sys
for i, steps in enumerate(json.load(open(sys.argv[1]))):
    print(i, " | ".join(f"{s} {c} {t}" for s, c, t in steps[2:]))' "$FIXTURE_TMP/first.json"
echo PASS
