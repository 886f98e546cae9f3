# Sourced by the sender-under-test tests (postfix_sender_test.sh,
# exim_sender_test.sh): a real MTA delivers to the domains of a fakemx
# scenario as it would on the Internet, looking up MX, A, TLSA and MTA-STS
# through the system resolver and connecting to port 25.
#
# Why a namespace: an MTA reads /etc/resolv.conf and connects to port 25 of
# the MX address; neither can be pointed at an ephemeral port. So the test
# re-executes itself in new network, mount and PID namespaces (unshare, as
# root): its own loopback (all of 127.0.0.0/8, ports 25, 53, 443 free), a
# resolv.conf bind-mounted over /etc/resolv.conf that names fakemx's DNS on
# 127.0.0.1:53, and a PID namespace whose end kills every process the test
# started (Postfix's master and its children, the MTA-STS daemon, fakemx),
# even when the test itself is killed. The system's own MTA is untouched.
#
#   source tests/sender_netns.sh
#   sender_netns_enter "$@"        # re-executes the script inside; returns there
#   sender_netns_setup "$TMP"      # loopback up, resolv.conf (options trust-ad)
#   sender_fakemx_start BIN SCENARIO DIR   # sets SENDER_FAKEMX_PID
#   sender_wait WHAT SECONDS CMD...        # bounded poll
#   sender_envelope_index MAILDIR >INDEX   # what fakemx stored, per recipient
#   sender_expect_stored INDEX RCPT TLS / sender_expect_not_stored INDEX RCPT
#   sender_sessions RECEIVER >LIST         # its sessions, from fakemx's API
#   sender_expect_sessions RECEIVER DELIVERED UNDELIVERED REGEX
#
# KEEP_TMP=1 keeps the test's directory (logs, spool, Maildir);
# MXKIT_TRACE=1 traces the test inside the namespace with timestamps.
#
# Every wait is bounded; nothing here can hang a test.

set -euo pipefail
source testing/conformance.sh

# MTAs install their commands in /usr/sbin (postfix, sendmail, postqueue,
# exim4), which Bazel's test PATH leaves out.
export PATH="/usr/sbin:/sbin:$PATH"

SENDER_FAKEMX_PID=
# fakemx's HTTP API (docs/api.md), HOST:PORT from its "fakemx: api http"
# banner line; empty when it printed none.
SENDER_API=
SENDER_FAKEMX_DIR=

sender_fail() {
  echo "FAIL: $*" >&2
  local f
  for f in ${SENDER_LOGS:-}; do
    [[ -s $f ]] && { echo "--- $f ---" >&2; tail -n 80 "$f" >&2; }
  done
  exit 1
}

# sender_netns_enter ARGS...: outside the namespace, checks that one can be
# made and re-executes "$0 ARGS..." inside it, then exits with its status;
# inside (MXKIT_SENDER_NETNS=1) it returns at once. Root is needed: Postfix
# and Exim change to their own users, which a user namespace mapping only
# root cannot hold.
sender_netns_enter() {
  [[ ${MXKIT_SENDER_NETNS:-} == 1 ]] && return 0
  [[ $(id -u) == 0 ]] ||
    skip_or_fail_exit "the sender tests run the MTA as root in namespaces of their own (unshare --net --mount --pid); this is uid $(id -u)"
  unshare --net --mount --pid --fork --kill-child true 2>/dev/null ||
    skip_or_fail_exit "no network+mount+PID namespace here (unshare --net --mount --pid --fork failed): the MTA needs its own port 25 and /etc/resolv.conf"
  local rc=0
  MXKIT_SENDER_NETNS=1 timeout --kill-after=10 "${SENDER_TEST_TIMEOUT:-800}" \
    unshare --net --mount --pid --fork --kill-child --mount-proc "$0" "$@" || rc=$?
  exit "$rc"
}

# sender_netns_setup DIR: inside the namespace, brings loopback up and makes
# DIR/resolv.conf the system resolver configuration. "options trust-ad"
# makes glibc pass on the AD bit of fakemx's answers (glibc 2.31 and later
# clear it otherwise), which Postfix's DANE needs (RFC 7672 §2.1: TLSA
# records count only when the resolver says they are authenticated).
sender_netns_setup() {
  local dir=$1
  ip link set lo up
  printf 'nameserver 127.0.0.1\noptions trust-ad\n' >"$dir/resolv.conf"
  mount --bind "$dir/resolv.conf" /etc/resolv.conf
}

# sender_fakemx_start BIN SCENARIO DIR [FLAGS...]: starts fakemx with the
# scenario, its DNS on 127.0.0.1:53, certificates in DIR/tls and a Maildir
# in DIR/maildir; waits (at most 20 s) for its last banner line, "listening
# on smtp", which comes once every listener, the DNS server and the policy
# hosts accept.
sender_fakemx_start() {
  local bin=$1 scenario=$2 dir=$3
  shift 3
  mkdir -p "$dir"
  : >"$dir/fakemx.out"
  "$bin" --scenario="$scenario" --dns=127.0.0.1:53 --tls-dir="$dir/tls" \
    --maildir="$dir/maildir" "$@" >"$dir/fakemx.out" 2>"$dir/fakemx.err" &
  SENDER_FAKEMX_PID=$!
  SENDER_FAKEMX_DIR=$dir
  SENDER_LOGS="${SENDER_LOGS:-} $dir/fakemx.out $dir/fakemx.err"
  local i
  for ((i = 0; i < 200; i++)); do
    if grep -q '^fakemx: listening on smtp ' "$dir/fakemx.out"; then
      SENDER_API=$(sed -n 's/^fakemx: api http //p' "$dir/fakemx.out" | head -n 1)
      return 0
    fi
    kill -0 "$SENDER_FAKEMX_PID" 2>/dev/null || sender_fail "fakemx exited at start"
    sleep 0.1
  done
  sender_fail "fakemx did not print its listening line within 20 s"
}

# sender_fakemx_stop: SIGTERM, then at most 40 s (beyond the 30 s grace).
sender_fakemx_stop() {
  [[ -n $SENDER_FAKEMX_PID ]] || return 0
  kill -TERM "$SENDER_FAKEMX_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 400; i++)); do
    kill -0 "$SENDER_FAKEMX_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$SENDER_FAKEMX_PID" 2>/dev/null || true
  wait "$SENDER_FAKEMX_PID" 2>/dev/null || true
  SENDER_FAKEMX_PID=
}

# sender_wait WHAT SECONDS CMD...: runs CMD every 0.2 s until it succeeds;
# fails the test naming WHAT after SECONDS.
sender_wait() {
  local what=$1 seconds=$2
  shift 2
  local i
  for ((i = 0; i < seconds * 5; i++)); do
    "$@" && return 0
    sleep 0.2
  done
  sender_fail "timed out after ${seconds}s waiting for $what"
}

# sender_envelope_index MAILDIR: one line per recipient of each message
# fakemx stored, from its envelope sidecar (envelopes/NAME.json,
# fakemx/README.md): "RCPT TLS_USED MAIL_FROM HELO_DOMAIN LOCK NAME", LOCK
# being the sidecar's verdict.summary.lock (encrypted or red_lock,
# docs/verdicts.md), or "-" where the sidecar has no verdict object, which
# sender_expect_stored refuses. One Python start for all cases: on a loaded
# machine each start costs seconds.
sender_envelope_index() {
  python3 - "$1/envelopes" <<'PY'
import json, os, sys
d = sys.argv[1]
for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    if not name.endswith(".json"):
        continue
    with open(os.path.join(d, name), "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
    verdict = doc.get("verdict")
    lock = verdict["summary"]["lock"] if verdict is not None else "-"
    for r in doc["rcpt_to"]:
        print(r["address"], "true" if doc["tls"]["used"] else "false",
              doc["mail_from"]["address"] or "<>", doc["helo"]["domain"], lock, name)
PY
}

# sender_expect_stored INDEX RCPT TLS: fakemx stored exactly one message for
# RCPT (INDEX from sender_envelope_index), from sender@sender.test after
# EHLO sender.test, over TLS when TLS is true and in plaintext when false;
# and the sidecar's verdict says the same: summary.lock encrypted for TLS,
# red_lock without (docs/verdicts.md). A sidecar without a verdict fails:
# the fakemx binary judges every message it stores.
sender_expect_stored() {
  local index=$1 rcpt=$2 tls=$3
  local lines lock=red_lock
  [[ $tls == true ]] && lock=encrypted
  lines=$(grep "^$rcpt " "$index" || true)
  [[ -n $lines ]] || sender_fail "$rcpt: the MTA says delivered, fakemx stored nothing for it"
  [[ $(wc -l <<<"$lines") == 1 ]] || sender_fail "$rcpt: fakemx stored several messages: $lines"
  [[ $lines == "$rcpt $tls sender@sender.test sender.test "* ]] ||
    sender_fail "$rcpt: fakemx's envelope (RCPT TLS_USED FROM HELO LOCK NAME) is '$lines', expected '$rcpt $tls sender@sender.test sender.test ...'"
  local got_lock=${lines#"$rcpt $tls sender@sender.test sender.test "}
  got_lock=${got_lock%% *}
  [[ $got_lock != - ]] ||
    sender_fail "$rcpt: fakemx's sidecar ${lines##* } has no verdict object (docs/verdicts.md); expected verdict.summary.lock=$lock"
  [[ $got_lock == "$lock" ]] ||
    sender_fail "$rcpt: fakemx's verdict.summary.lock is $got_lock, expected $lock (tls.used=$tls)"
  echo "  fakemx: tls.used=$tls verdict.summary.lock=$lock ${lines##* }"
}

# sender_expect_not_stored INDEX RCPT: fakemx stored nothing for RCPT.
sender_expect_not_stored() {
  if grep -q "^$2 " "$1"; then
    sender_fail "$2: the MTA did not deliver it, yet fakemx stored: $(grep "^$2 " "$1")"
  fi
}

# sender_sessions RECEIVER: every session RECEIVER served, from fakemx's API
# (GET /fakemx/v1/sessions?receiver=, docs/api.md), once none is still
# open, so each verdict is final (a session's verdict is updated at close).
# One line per session, tab-separated: ID MESSAGES ENCRYPTED LOCK
# TLS_OUTCOME END_REASON TLS_ERROR, "-" for a null. Fails the test when
# the API is not there or answers anything but the list.
sender_sessions() {
  local receiver=$1
  [[ -n $SENDER_API ]] || sender_fail "fakemx printed no 'fakemx: api http' line; its API is needed for the session verdicts"
  local url="http://$SENDER_API/fakemx/v1/sessions?receiver=$receiver"
  local out=$SENDER_FAKEMX_DIR/sessions.$receiver.json
  SENDER_LOGS="${SENDER_LOGS:-} $out.err $out"
  sessions_closed() {
    curl -sS --max-time 10 -o "$out" -w '%{http_code}' "$url" >"$out.status" 2>"$out.err" || return 1
    [[ $(cat "$out.status") == 200 ]] || return 1
    ! grep -q '"open":true' "$out"
  }
  sender_wait "fakemx's sessions of $receiver to close ($url)" 30 sessions_closed
  python3 - "$out" <<'PY' || sender_fail "$url: unexpected answer: $(cat "$out")"
import json, sys
doc = json.load(open(sys.argv[1], "rb"))
if doc["total"] != doc["count"]:
    sys.exit(f"{doc['total']} sessions, {doc['count']} listed")
show = lambda v: "-" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
for s in doc["sessions"]:
    v = s["verdict"]
    print("\t".join(show(x) for x in (s["id"], v["messages"], v["encrypted"], v["lock"],
                                     v.get("tls_outcome"), s["end_reason"], s["tls_error"])))
PY
}

# sender_expect_sessions RECEIVER DELIVERED UNDELIVERED REGEX: RECEIVER
# served DELIVERED sessions that delivered a message and UNDELIVERED that
# delivered none, and each of the latter's verdict, as "ENCRYPTED LOCK
# TLS_OUTCOME | END_REASON | TLS_ERROR", matches REGEX (bash =~, anchored by
# the caller). Prints every session.
sender_expect_sessions() {
  local receiver=$1 delivered=$2 undelivered=$3 regex=$4
  local list id messages encrypted lock outcome end_reason tls_error got
  local n_delivered=0 n_undelivered=0
  list=$(sender_sessions "$receiver") || exit 1
  while IFS=$'\t' read -r id messages encrypted lock outcome end_reason tls_error; do
    [[ -n $id ]] || continue
    got="$encrypted $lock $outcome | $end_reason | $tls_error"
    echo "  fakemx session $id of $receiver: messages=$messages encrypted=$encrypted lock=$lock tls_outcome=$outcome end_reason=$end_reason tls_error=$tls_error"
    if ((messages > 0)); then
      n_delivered=$((n_delivered + 1))
    else
      n_undelivered=$((n_undelivered + 1))
      [[ $got =~ $regex ]] ||
        sender_fail "$receiver: session $id delivered nothing and its verdict '$got' does not match /$regex/"
    fi
  done <<<"$list"
  [[ $n_delivered == "$delivered" && $n_undelivered == "$undelivered" ]] ||
    sender_fail "$receiver: fakemx served $n_delivered sessions that delivered and $n_undelivered that did not, expected $delivered and $undelivered"
}
