#!/usr/bin/env bash
# Exim (Debian's exim4-daemon-light) as a second sender under test: its own
# configuration, spool and logs, delivering through dnslookup routers to the
# domains of tests/scenarios/senders.yaml inside the namespaces of
# tests/sender_netns.sh (fakemx's DNS on 127.0.0.1:53 as the system
# resolver, each receiver on port 25 of its own loopback address).
#
#   require@plain.test   transport with hosts_require_tls = *: deferred,
#                        the receiver offers no STARTTLS
#   require@good.test    the same transport delivers over TLS (so the
#                        deferral above is for want of TLS, not of a route)
#   may@plain.test       opportunistic (hosts_try_tls, Exim's default):
#                        delivered in plaintext; fakemx records no TLS
#
# Debian's exim4-daemon-light conflicts with postfix (both provide
# mail-transport-agent), and the build machine has postfix. So when
# /usr/sbin/exim4 is not installed the test runs the binary that ./bazelw
# unpacked from the package (tools/debian-unpacked.txt) into
# $MXKIT_DEBIAN_UNPACKED/exim4-daemon-light; the test itself never fetches
# anything. Its libraries are in tools/debian-packages.txt. The Exim user
# the binary was built for (Debian-exim, made by exim4-base's postinst) is
# added to a copy of /etc/passwd and /etc/group bind-mounted inside the
# test's mount namespace; the system's files are untouched.
#
# Usage: exim_sender_test.sh FAKEMX SCENARIO.yaml
# A missing Exim or namespace skips, or fails under MXKIT_REQUIRE_CONFORMANCE
# or CI=true (testing/conformance.sh).

source tests/sender_netns.sh

FAKEMX_BIN=$(realpath "$1")
SCENARIO=$(realpath "$2")

if [[ -z ${MXKIT_SENDER_NETNS:-} ]]; then
  [[ $(id -u) == 0 ]] ||
    skip_or_fail_exit "the sender tests run the MTA as root in namespaces of their own; this is uid $(id -u)"
  if [[ -x /usr/sbin/exim4 ]]; then
    export EXIM_BIN=/usr/sbin/exim4
  else
    unpacked=${MXKIT_DEBIAN_UNPACKED:-}/exim4-daemon-light/usr/sbin/exim4
    [[ -n ${MXKIT_DEBIAN_UNPACKED:-} && -x $unpacked ]] ||
      skip_or_fail_exit "exim4 is not installed, and ./bazelw has not unpacked it (MXKIT_DEBIAN_UNPACKED=${MXKIT_DEBIAN_UNPACKED:-<unset>}, no executable $unpacked): run the test through ./bazelw, which unpacks exim4-daemon-light as tools/debian-unpacked.txt lists"
    # A copy outside /root (mode 700 here, where the cache is): Exim
    # re-executes itself (exim_path) after dropping to Debian-exim.
    export EXIM_DIR
    EXIM_DIR=$(mktemp -d /tmp/mxkit-exim4.XXXXXX)
    chmod 755 "$EXIM_DIR"
    trap 'rm -rf "$EXIM_DIR"' EXIT
    cp -p "$unpacked" "$EXIM_DIR/exim4"
    export EXIM_BIN=$EXIM_DIR/exim4
  fi
  require_peer exim4 "test -x $EXIM_BIN && ! ldd $EXIM_BIN | grep -q 'not found'" \
    "Debian package exim4-daemon-light, and its libraries from tools/debian-packages.txt"
fi
sender_netns_enter "$@"
[[ -n ${MXKIT_TRACE:-} ]] && { PS4='+ $(date +%T.%N|cut -c1-12) '; set -x; }

TMP=$(mktemp -d /tmp/mxkit-exim-sender.XXXXXX)
chmod 755 "$TMP"
CONF=$TMP/exim.conf
MAINLOG=$TMP/log/mainlog
MAILDIR=$TMP/fakemx/maildir
SENDER_LOGS="$MAINLOG $TMP/log/paniclog"

cleanup() {
  sender_fakemx_stop
  [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP" ${EXIM_DIR:+"$EXIM_DIR"}
}
trap cleanup EXIT

sender_netns_setup "$TMP"
if ! getent passwd Debian-exim >/dev/null; then
  # A uid and gid nobody else has here.
  cp /etc/passwd "$TMP/passwd"
  cp /etc/group "$TMP/group"
  echo "Debian-exim:x:64990:64990:Exim (mxkit test):/nonexistent:/usr/sbin/nologin" >>"$TMP/passwd"
  echo "Debian-exim:x:64990:" >>"$TMP/group"
  mount --bind "$TMP/passwd" /etc/passwd
  mount --bind "$TMP/group" /etc/group
fi
sender_fakemx_start "$FAKEMX_BIN" "$SCENARIO" "$TMP/fakemx"

mkdir -p "$TMP/spool" "$TMP/log"
chown Debian-exim:Debian-exim "$TMP/spool" "$TMP/log"
cat >"$CONF" <<EOF
# Exim re-executes itself (-Mc) to deliver; the binary may not be at the
# compiled-in /usr/sbin/exim4 when taken from the package.
exim_path = $EXIM_BIN
primary_hostname = sender.test
qualify_domain = sender.test
spool_directory = $TMP/spool
log_file_path = $TMP/log/%slog
log_selector = +tls_peerdn +tls_certificate_verified +outgoing_port
keep_environment =
# No daemon runs; Exim only sends.
tls_advertise_hosts =
acl_not_smtp = acl_accept

begin acl
acl_accept:
  accept

begin routers
# The local part picks the transport: "require" must use TLS.
require_tls:
  driver = dnslookup
  local_parts = require
  transport = smtp_require_tls
  no_more
opportunistic:
  driver = dnslookup
  transport = smtp_opportunistic
  no_more

begin transports
smtp_require_tls:
  driver = smtp
  hosts_require_tls = *
smtp_opportunistic:
  driver = smtp

begin retry
# Judged on the first attempt; no retry while the test runs.
* * F,1d,1d
EOF

"$EXIM_BIN" -C "$CONF" -bV >"$TMP/exim-bV.log" 2>&1 ||
  sender_fail "exim4 -C $CONF -bV: $(cat "$TMP/exim-bV.log")"

# may@plain.test first: Exim keeps retry data per host, and the deferral of
# require@plain.test makes mx.plain.test "retry time not reached" for every
# transport until the (1 day) retry time.
CASES=(may@plain.test require@good.test require@plain.test)
for rcpt in "${CASES[@]}"; do
  # -odi: deliver in the foreground before returning; a deferral is not
  # an error of the submission.
  printf 'From: sender@sender.test\nTo: %s\nSubject: %s\n\nTo %s.\n' "$rcpt" "$rcpt" "$rcpt" |
    timeout 60 "$EXIM_BIN" -C "$CONF" -odi -f sender@sender.test "$rcpt" >"$TMP/exim.$rcpt.log" 2>&1 ||
    sender_fail "exim4 -odi to $rcpt: $(cat "$TMP/exim.$rcpt.log")"
done

# Exim's mainlog: "=> RCPT R=... T=... H=... [X=TLS...] ... C=..." for a
# delivery, "== RCPT R=... T=... defer (...)" for a deferral.
log_line() { grep -E " (=>|==|\*\*) $1 " "$MAINLOG" 2>/dev/null | head -n 1; }
all_attempted() {
  local rcpt
  for rcpt in "${CASES[@]}"; do
    [[ -n $(log_line "$rcpt") ]] || return 1
  done
}
sender_wait "one delivery attempt per recipient in $MAINLOG" 30 all_attempted

# The spool lists what is still queued (exim -bp).
"$EXIM_BIN" -C "$CONF" -bp >"$TMP/queue.txt" 2>&1 || sender_fail "exim4 -bp: $(cat "$TMP/queue.txt")"
queued() { grep -qE "^ +(D )?$1\$" "$TMP/queue.txt"; }
sender_envelope_index "$MAILDIR" >"$TMP/stored" || sender_fail "cannot read fakemx's envelopes"

# expect_sent RCPT TLS: Exim delivered to RCPT (with an X=TLS cipher field
# when TLS is true, without when false) and fakemx stored one message for
# it, over TLS or not accordingly.
expect_sent() {
  local rcpt=$1 tls=$2
  local line
  line=$(log_line "$rcpt")
  echo "$rcpt: ${line#* * }"
  [[ $line == *" => $rcpt "*' C="250 '* ]] || sender_fail "$rcpt: Exim did not deliver: $line"
  if [[ $tls == true ]]; then
    [[ $line == *" X=TLS"* ]] || sender_fail "$rcpt: delivered without TLS: $line"
  else
    [[ $line != *" X="* ]] || sender_fail "$rcpt: delivered over TLS: $line"
  fi
  queued "$rcpt" && sender_fail "$rcpt: delivered but still queued: $(cat "$TMP/queue.txt")"
  sender_expect_stored "$TMP/stored" "$rcpt" "$tls"
}

# expect_deferred RCPT REASON: Exim deferred RCPT with REASON in the log
# line, kept it queued, and fakemx stored nothing for it.
expect_deferred() {
  local rcpt=$1 reason=$2
  local line
  line=$(log_line "$rcpt")
  echo "$rcpt: ${line#* * }"
  [[ $line == *" == $rcpt "*" defer "*"$reason"* ]] ||
    sender_fail "$rcpt: expected a deferral (...$reason...), Exim logged: $line"
  queued "$rcpt" || sender_fail "$rcpt: deferred but not queued: $(cat "$TMP/queue.txt")"
  sender_expect_not_stored "$TMP/stored" "$rcpt"
}

expect_deferred require@plain.test "H=mx.plain.test [127.0.0.3]:25: a TLS session is required, but the server did not offer TLS support"
expect_sent require@good.test true
expect_sent may@plain.test false
# Both sessions to plain.test keep their verdicts (fakemx's API): the
# require_tls one ended without a message when STARTTLS was not offered.
sender_expect_sessions plain.test 1 1 '^false red_lock starttls not offered \| '
sender_expect_sessions good.test 1 0 .

echo PASS
