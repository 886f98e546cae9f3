#!/usr/bin/env bash
# Postfix (Debian's package) as the sender under test, delivering to the
# domains of tests/scenarios/senders.yaml under each of its TLS security
# levels, with its log lines asserted together with what fakemx received.
#
# Postfix runs as an instance of its own: main.cf and master.cf written
# here, queue and data directories under a temporary directory, no smtpd
# (mail is injected with sendmail -C), no chroot, and maillog_file written
# by its own postlogd since there is no syslog. It runs with fakemx inside
# the namespaces of tests/sender_netns.sh, so fakemx's DNS on 127.0.0.1:53
# is the resolver Postfix's smtp(8) asks for MX, A and TLSA records, and
# each receiver listens on port 25 of its own loopback address.
#
# One transport per security level, tls_LEVEL (master.cf "-o smtp_tls_security_level"),
# chosen by the recipient's local part (transport_maps), so one queue holds
# every case and the same domain is reached under two levels:
#   encrypt@plain.test      deferred: TLS required, STARTTLS not offered
#   encrypt@good.test       delivered over TLS
#   may@plain.test          delivered in plaintext (fakemx: no TLS)
#   verify@, secure@good.test                 delivered, certificate verified
#   verify@, secure@wronghost.test            deferred: certificate not verified
#   verify@, secure@expired.test              deferred: certificate not verified
#   dane@dane-match.test    delivered, TLSA matched (signed zone, AD bit)
#   dane@dane-mismatch.test deferred: TLSA does not match
#   sts@sts-match.test      delivered: MTA-STS enforce policy, MX listed
#   sts@sts-mismatch.test   deferred: the policy lists another MX
# The sts transport asks Debian's postfix-mta-sts-resolver (mta-sts-daemon)
# through smtp_tls_policy_maps = socketmap; the daemon fetches each policy
# from fakemx's policy host through fakemx's DNS and trusts the test root.
# What fakemx received is checked in its Maildir sidecars (tls.used and
# verdict.summary.lock per message) and, through its HTTP API, in the
# verdict of every session, also of those that delivered nothing.
#
# Usage: postfix_sender_test.sh FAKEMX SCENARIO.yaml
# A missing Postfix, MTA-STS daemon or namespace skips, or fails under
# MXKIT_REQUIRE_CONFORMANCE or CI=true (testing/conformance.sh).

source tests/sender_netns.sh

FAKEMX_BIN=$(realpath "$1")
SCENARIO=$(realpath "$2")

require_peer postfix "test -x /usr/sbin/postfix && test -x /usr/sbin/sendmail" "Debian package postfix"
require_peer mta-sts-daemon "test -x /usr/bin/mta-sts-daemon" "Debian package postfix-mta-sts-resolver"
sender_netns_enter "$@"
[[ -n ${MXKIT_TRACE:-} ]] && { PS4='+ $(date +%T.%N|cut -c1-12) '; set -x; }

# Postfix's daemons run as user postfix and change into the queue
# directory, so it must not lie below a directory only root can enter
# (Bazel's TEST_TMPDIR is under /root).
TMP=$(mktemp -d /tmp/mxkit-postfix-sender.XXXXXX)
chmod 755 "$TMP"
CONF=$TMP/etc
LOG=$TMP/maillog
STS_LOG=$TMP/mta-sts-daemon.log
MAILDIR=$TMP/fakemx/maildir
SENDER_LOGS="$LOG $STS_LOG"

cleanup() {
  postfix -c "$CONF" stop >/dev/null 2>&1 || true
  [[ -n ${STS_PID:-} ]] && kill -TERM "$STS_PID" 2>/dev/null
  sender_fakemx_stop
  # Everything else dies with the PID namespace.
  [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"
}
trap cleanup EXIT

sender_netns_setup "$TMP"
sender_fakemx_start "$FAKEMX_BIN" "$SCENARIO" "$TMP/fakemx"
install -m 644 "$TMP/fakemx/tls/ca.pem" "$TMP/ca.pem"

# postfix-mta-sts-resolver: a socketmap server answering "secure
# match=MX... servername=hostname" for a domain with an enforce policy
# (its README's Postfix setup). SSL_CERT_FILE: Python's ssl trusts the test
# root that issued the policy hosts' certificates, and nothing else.
cat >"$TMP/mta-sts-daemon.yml" <<EOF
host: 127.0.0.1
port: 8461
reuse_port: true
shutdown_timeout: 5
cache:
  type: internal
  options:
    cache_size: 100
default_zone:
  strict_testing: false
  timeout: 4
EOF
SSL_CERT_FILE=$TMP/ca.pem mta-sts-daemon -v debug -c "$TMP/mta-sts-daemon.yml" \
  >"$STS_LOG" 2>&1 &
STS_PID=$!
sts_listening() { (exec 3<>/dev/tcp/127.0.0.1/8461) 2>/dev/null; }
sender_wait "mta-sts-daemon on 127.0.0.1:8461" 20 sts_listening

mkdir -p "$CONF" "$TMP/spool" "$TMP/data"
chown postfix "$TMP/data"
cat >"$CONF/main.cf" <<EOF
compatibility_level = 3.6
myhostname = sender.test
mydomain = sender.test
myorigin = sender.test
mydestination =
relayhost =
inet_interfaces = loopback-only
inet_protocols = ipv4
queue_directory = $TMP/spool
data_directory = $TMP/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $LOG
maillog_file_prefixes = $TMP
alias_maps =
alias_database =
biff = no
# Each case is judged on the first attempt; no retries while the test runs.
minimal_backoff_time = 1h
maximal_backoff_time = 1h
queue_run_delay = 1h
# Deferred mail never bounces while the test runs.
bounce_queue_lifetime = 1d
maximal_queue_lifetime = 1d
transport_maps = regexp:$CONF/transport
default_transport = error:no transport for this local part
smtp_tls_CAfile = $TMP/ca.pem
smtp_tls_loglevel = 1
smtp_tls_session_cache_database =
smtp_connect_timeout = 10s
# fakemx answers no root NS query; the probe would only log a warning.
dnssec_probe =
EOF

# Every service without chroot (the spool holds no copy of /etc).
cat >"$CONF/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
tls_encrypt unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/encrypt
  -o smtp_tls_security_level=encrypt
tls_may   unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/may
  -o smtp_tls_security_level=may
tls_verify unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/verify
  -o smtp_tls_security_level=verify
tls_secure unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/secure
  -o smtp_tls_security_level=secure
tls_dane  unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/dane
  -o smtp_dns_support_level=dnssec
  -o smtp_tls_security_level=dane
tls_sts   unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/sts
  -o smtp_tls_security_level=may
  -o smtp_tls_policy_maps=socketmap:inet:127.0.0.1:8461:postfix
EOF
# The local part names the transport (the security level under test).
# trivial-rewrite(8) allows no $1 substitution into a transport, so one
# line each.
for level in encrypt may verify secure dane sts; do
  echo "/^$level@/ tls_$level:"
done >"$CONF/transport"

# "postfix start" runs "postfix check" first, which makes the queue's
# subdirectories with their owners and modes.
postfix -c "$CONF" start >"$TMP/postfix-start.log" 2>&1 ||
  sender_fail "postfix start: $(cat "$TMP/postfix-start.log")"

CASES=(
  encrypt@plain.test encrypt@good.test may@plain.test
  verify@good.test secure@good.test
  verify@wronghost.test secure@wronghost.test verify@expired.test secure@expired.test
  dane@dane-match.test dane@dane-mismatch.test
  sts@sts-match.test sts@sts-mismatch.test
)
for rcpt in "${CASES[@]}"; do
  printf 'From: sender@sender.test\nTo: %s\nSubject: %s\nMessage-ID: <%s.%s@sender.test>\n\nTo %s.\n' \
    "$rcpt" "$rcpt" "${rcpt/@/.}" "$$" "$rcpt" |
    sendmail -C "$CONF" -f sender@sender.test "$rcpt" ||
    sender_fail "sendmail -C $CONF rejected the message to $rcpt"
done

# The status line of RCPT's one delivery attempt.
status_line() { grep -F " to=<$1>," "$LOG" 2>/dev/null | grep -E ' status=(sent|deferred|bounced) ' | head -n 1; }
all_attempted() {
  local rcpt
  for rcpt in "${CASES[@]}"; do
    [[ -n $(status_line "$rcpt") ]] || return 1
  done
}
sender_wait "one delivery attempt per recipient in $LOG" 180 all_attempted

# postqueue's JSON (postqueue(1) -j, one object per line) says which
# recipients are still queued; a deferred case must still be there.
postqueue -c "$CONF" -j >"$TMP/queue.json" 2>"$TMP/postqueue.err" ||
  sender_fail "postqueue -j: $(cat "$TMP/postqueue.err")"
queued() { grep -q "\"address\": *\"$1\"" "$TMP/queue.json"; }
sender_envelope_index "$MAILDIR" >"$TMP/stored" || sender_fail "cannot read fakemx's envelopes"

# has_log RCPT TEXT: the smtp(8) of RCPT's transport (syslog_name
# postfix/LEVEL, LEVEL being RCPT's local part) logged a line holding TEXT.
has_log() {
  grep -F -- "$2" "$LOG" | grep -q "postfix/${1%@*}/smtp\[[0-9]*\]: " ||
    sender_fail "$1: no line from postfix/${1%@*}/smtp with '$2'"
}

# expect_sent RCPT TLS [LOGTEXT]: Postfix logged status=sent for RCPT (and a
# line holding LOGTEXT), and fakemx stored exactly one message for RCPT, over
# TLS when TLS is true, in plaintext when false.
expect_sent() {
  local rcpt=$1 tls=$2 text=${3:-}
  local line
  line=$(status_line "$rcpt")
  echo "$rcpt: ${line#*: }"
  [[ $line == *" status=sent (250 "* ]] || sender_fail "$rcpt: Postfix did not deliver: $line"
  [[ -z $text ]] || has_log "$rcpt" "$text"
  queued "$rcpt" && sender_fail "$rcpt: delivered but still in the queue"
  sender_expect_stored "$TMP/stored" "$rcpt" "$tls"
}

# expect_deferred RCPT REASON [LOGTEXT]: Postfix logged status=deferred for
# RCPT with REASON (its parenthesised reason) and a line holding LOGTEXT,
# kept it in the queue, and fakemx stored nothing for it.
expect_deferred() {
  local rcpt=$1 reason=$2 text=${3:-}
  local line
  line=$(status_line "$rcpt")
  echo "$rcpt: ${line#*: }"
  [[ $line == *" status=deferred ($reason)" ]] ||
    sender_fail "$rcpt: expected status=deferred ($reason), Postfix logged: $line"
  [[ -z $text ]] || has_log "$rcpt" "$text"
  queued "$rcpt" || sender_fail "$rcpt: deferred but not in the queue: $(cat "$TMP/queue.json")"
  sender_expect_not_stored "$TMP/stored" "$rcpt"
}

NOT_VERIFIED="Server certificate not verified"
VERIFIED="Verified TLS connection established to"
FAILED="server certificate verification failed for"

# encrypt: TLS or nothing (RFC 3207 §4: a client that requires TLS gives
# up when the server does not offer it). "Trusted": the chain verified
# against smtp_tls_CAfile, the name not checked at this level.
expect_deferred encrypt@plain.test "TLS is required, but was not offered by host mx.plain.test[127.0.0.3]"
expect_sent encrypt@good.test true "Trusted TLS connection established to mx.good.test[127.0.0.2]:25"
# may: opportunistic (RFC 7435): plaintext where TLS is not offered.
expect_sent may@plain.test false
# verify/secure: the certificate must chain to smtp_tls_CAfile and name the
# MX host (verify) or the next-hop domain or a subdomain (secure).
expect_sent verify@good.test true "$VERIFIED mx.good.test[127.0.0.2]:25"
expect_sent secure@good.test true "$VERIFIED mx.good.test[127.0.0.2]:25"
expect_deferred verify@wronghost.test "$NOT_VERIFIED" "$FAILED mx.wronghost.test[127.0.0.4]:25: num=62:hostname mismatch"
expect_deferred secure@wronghost.test "$NOT_VERIFIED" "$FAILED mx.wronghost.test[127.0.0.4]:25: num=62:hostname mismatch"
expect_deferred verify@expired.test "$NOT_VERIFIED" "$FAILED mx.expired.test[127.0.0.5]:25: certificate has expired"
expect_deferred secure@expired.test "$NOT_VERIFIED" "$FAILED mx.expired.test[127.0.0.5]:25: certificate has expired"
# dane (RFC 7672): the signed zone's TLSA 3 1 1 binds the leaf; no CA
# is involved, so only the TLSA record can have verified it.
expect_sent dane@dane-match.test true "$VERIFIED mx.dane-match.test[127.0.0.6]:25"
expect_deferred dane@dane-mismatch.test "$NOT_VERIFIED" "$FAILED mx.dane-mismatch.test[127.0.0.7]:25: num=65:no matching DANE TLSA records"
# MTA-STS (RFC 8461 §4.1): the resolver hands Postfix "secure match=MX"
# with the policy's mx patterns; an MX the policy does not list fails the
# name check.
expect_sent sts@sts-match.test true "$VERIFIED mx.sts-match.test[127.0.0.8]:25"
expect_deferred sts@sts-mismatch.test "$NOT_VERIFIED" "$FAILED mx.sts-mismatch.test[127.0.0.9]:25: num=62:hostname mismatch"

# Sessions keep their verdicts, also those that never delivered (issue 11;
# docs/verdicts.md "Session verdicts"), read from fakemx's API.
# encrypt to plain.test: fakemx offered no STARTTLS, so Postfix gave up in
# plaintext; the may session beside it delivered, also in plaintext.
sender_expect_sessions plain.test 1 1 '^false red_lock starttls not offered \| quit \| -$'
# A refused certificate (wrong host, expired, no matching TLSA, an MX the
# MTA-STS policy does not list) is not a failed handshake: Postfix's
# OpenSSL completes it and Postfix checks the peer afterwards, then says
# QUIT over TLS (smtp(8) "Server certificate not verified"). So fakemx
# records an encrypted session that ended with QUIT and delivered nothing;
# the failed verification is visible only on the sender's side.
SESSION_REFUSED_AFTER_HANDSHAKE='^true encrypted - \| quit \| -$'
sender_expect_sessions wronghost.test 0 2 "$SESSION_REFUSED_AFTER_HANDSHAKE"
sender_expect_sessions expired.test 0 2 "$SESSION_REFUSED_AFTER_HANDSHAKE"
sender_expect_sessions dane-mismatch.test 0 1 "$SESSION_REFUSED_AFTER_HANDSHAKE"
sender_expect_sessions sts-mismatch.test 0 1 "$SESSION_REFUSED_AFTER_HANDSHAKE"
# And the deliveries, one session each (encrypt, verify, secure to good.test).
sender_expect_sessions good.test 3 0 .
sender_expect_sessions dane-match.test 1 0 .
sender_expect_sessions sts-match.test 1 0 .

for answer in "OK secure match=mx.sts-match.test servername=hostname" \
  "OK secure match=mx.elsewhere.test servername=hostname"; do
  grep -qF "Wrote: b'${#answer}:$answer,'" "$STS_LOG" ||
    sender_fail "mta-sts-daemon did not answer Postfix '$answer'"
  echo "mta-sts-daemon: $answer"
done

echo PASS
