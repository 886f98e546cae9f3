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
  SENDER_LOGS="${SENDER_LOGS:-} $dir/fakemx.out $dir/fakemx.err"
  local i
  for ((i = 0; i < 200; i++)); do
    grep -q '^fakemx: listening on smtp ' "$dir/fakemx.out" && return 0
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
# docs/verdicts.md) or "-" for a fakemx that writes no verdict object. One
# Python start for all cases: on a loaded machine each start costs seconds.
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
# and, where the sidecar carries a verdict, its lock says the same:
# encrypted for TLS, red_lock without (docs/verdicts.md).
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
  if [[ $got_lock == - ]]; then
    echo "  fakemx: tls.used=$tls (no verdict in the sidecar) ${lines##* }"
  else
    [[ $got_lock == "$lock" ]] ||
      sender_fail "$rcpt: fakemx's verdict.summary.lock is $got_lock, expected $lock (tls.used=$tls)"
    echo "  fakemx: tls.used=$tls verdict.summary.lock=$lock ${lines##* }"
  fi
}

# sender_expect_not_stored INDEX RCPT: fakemx stored nothing for RCPT.
sender_expect_not_stored() {
  if grep -q "^$2 " "$1"; then
    sender_fail "$2: the MTA did not deliver it, yet fakemx stored: $(grep "^$2 " "$1")"
  fi
}
