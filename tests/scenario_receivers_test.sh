#!/bin/bash
# Two receivers in one fakemx process (tests/scenarios/two_receivers.yaml):
# accept.test on 127.0.0.2 and strict.test on 127.0.0.3, each on a port
# fakemx picked and printed. The same client traffic (swaks, then smtplib)
# sent to each gets that receiver's answers: accepted and stored by one,
# refused (550 for unknown users, 451 greylisting for the rest) and never
# stored by the other. Flags that only make sense for one receiver are
# refused for this scenario with exit 2.
#
#   scenario_receivers_test.sh FAKEMX SCENARIO_YAML
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/tls_fixture.sh
source tests/scenario_fixture.sh
FAKEMX_BIN="$1" YAML="$2"
require_peer swaks swaks "Debian package swaks"

# 1. --hostname and --smtp name one receiver's settings: with two they are
# an error that says why, before anything listens.
for flag in --hostname=mx.test --smtp=127.0.0.1:0; do
  fakemx_run_bad_scenario "$FAKEMX_BIN" --scenario="$YAML" "$flag"
  [[ $BAD_RC == 2 ]] || show_bad_run "--scenario=$YAML $flag: exit $BAD_RC, want 2"
  grep -q -- "${flag%%=*}" "$BAD_ERR" || show_bad_run "$flag: stderr does not name the flag"
  grep -q 'receiver' "$BAD_ERR" || show_bad_run "$flag: stderr does not say it is about several receivers"
  if grep -q 'listening' "$BAD_OUT"; then show_bad_run "$flag: something listened"; fi
done

# 2. Start: one banner line per listener, the first receiver's last.
fakemx_start_scenario "$FAKEMX_BIN" --scenario="$YAML" --tls-dir="$FIXTURE_TMP/tls"
ACCEPT=${RECEIVER_SMTP[accept.test]:-}
STRICT=${RECEIVER_SMTP[strict.test]:-}
[[ $ACCEPT =~ ^127\.0\.0\.2:[1-9][0-9]*$ ]] || failing "$FAKEMX_OUT" "accept.test listens on '$ACCEPT', want 127.0.0.2:PORT"
[[ $STRICT =~ ^127\.0\.0\.3:[1-9][0-9]*$ ]] || failing "$FAKEMX_OUT" "strict.test listens on '$STRICT', want 127.0.0.3:PORT"
STRICT_SMTPS=$(sed -n 's/^fakemx: receiver strict\.test smtps \(127\.0\.0\.3:[1-9][0-9]*\)$/\1/p' "$FAKEMX_OUT")
[[ -n $STRICT_SMTPS && $STRICT_SMTPS != "$STRICT" ]] ||
  failing "$FAKEMX_OUT" "no 'receiver strict.test smtps 127.0.0.3:PORT' line of its own"
# Only the first receiver's smtps listener gets a "listening on smtps" line.
if grep -q '^fakemx: listening on smtps' "$FAKEMX_OUT"; then
  failing "$FAKEMX_OUT" "'listening on smtps' for an smtps listener of the second receiver"
fi
[[ "$FAKEMX_HOST:$FAKEMX_PORT" == "$ACCEPT" ]] ||
  failing "$FAKEMX_OUT" "'listening on smtp' names $FAKEMX_HOST:$FAKEMX_PORT, want the first receiver's $ACCEPT"
grep -qx 'fakemx: scenario two-receivers' "$FAKEMX_OUT" || failing "$FAKEMX_OUT" "no 'scenario two-receivers' line"
grep -qx 'fakemx: hostname mx.accept.test' "$FAKEMX_OUT" || failing "$FAKEMX_OUT" "no 'hostname mx.accept.test' line"
[[ $(tail -n 1 "$FAKEMX_OUT") == "fakemx: listening on smtp $ACCEPT" ]] ||
  failing "$FAKEMX_OUT" "'listening on smtp' is not the last banner line"

MESSAGE="$FIXTURE_TMP/message.eml"
printf 'From: a@example.org\r\nTo: b@example.net\r\nSubject: two receivers\r\n\r\nbody' >"$MESSAGE"
# swaks_to LOG HOST:PORT RCPT: sets RC.
swaks_to() {
  set +e
  timeout 60 swaks --server "$2" --helo client.test --from a@example.org --to "$3" \
    --data "@$MESSAGE" --timeout 30 >"$1" 2>&1
  RC=$?
  set -e
  echo "[swaks --server $2 --to $3 exited $RC]" >>"$1"
}

# 3. swaks, the same two commands to each receiver.
for rcpt in b@example.net unknown.user@example.net; do
  log="$FIXTURE_TMP/swaks-accept-${rcpt%%@*}.log"
  swaks_to "$log" "$ACCEPT" "$rcpt"
  [[ $RC == 0 ]] || failing "$log" "accept.test: swaks exited $RC, want 0"
  grep -q '^<-  220 mx\.accept\.test ' "$log" || failing "$log" "accept.test's greeting"
  [[ -n $(queued_name_in "$log") ]] || failing "$log" "accept.test: no 'queued as' reply"
done
log="$FIXTURE_TMP/swaks-strict-b.log"
swaks_to "$log" "$STRICT" b@example.net
[[ $RC == 24 ]] || failing "$log" "strict.test: swaks exited $RC, want 24 (no RCPT accepted)"
grep -q '^<-  220 mx\.strict\.test ' "$log" || failing "$log" "strict.test's greeting"
grep -q '^<\*\* 451 4\.7\.1 Greylisted, try again later$' "$log" || failing "$log" "strict.test: no 451 greylisting"
log="$FIXTURE_TMP/swaks-strict-unknown.log"
swaks_to "$log" "$STRICT" unknown.user@example.net
[[ $RC == 24 ]] || failing "$log" "strict.test: swaks exited $RC, want 24"
grep -q '^<\*\* 550 5\.1\.1 No such user at strict\.test$' "$log" || failing "$log" "strict.test: no 550 from its rule"

# 4. smtplib, the same traffic to each; and each address answers only on its
# own port (the listeners are bound to their addresses, not to all).
ACCEPT=$ACCEPT STRICT=$STRICT STRICT_SMTPS=$STRICT_SMTPS MAILDIR=$FAKEMX_MAILDIR CA="$FIXTURE_TMP/tls/ca.pem" \
  timeout 60 /usr/bin/python3 - <<'PY' ||
import json, os, smtplib, socket, ssl

MAILDIR = os.environ["MAILDIR"]


def address(name):
    host, port = os.environ[name].rsplit(":", 1)
    return host, int(port)


def traffic(name):
    """The same session against either receiver: what it answered."""
    host, port = address(name)
    s = smtplib.SMTP(local_hostname="client.test", timeout=30)
    out = {"greeting": s.connect(host, port)}
    out["ehlo"] = s.ehlo()[0]
    out["mail"] = s.mail("a@example.org")
    out["rcpt b"] = s.rcpt("b@example.net")
    out["rcpt unknown"] = s.rcpt("unknown-2@example.net")
    s.rset()
    try:
        s.sendmail("a@example.org", ["c@example.net"], b"Subject: smtplib two receivers\r\n\r\nx\r\n")
        out["sendmail"] = "delivered"
    except smtplib.SMTPRecipientsRefused as e:
        out["sendmail"] = e.recipients["c@example.net"]
    s.quit()
    return out


accept, strict = traffic("ACCEPT"), traffic("STRICT")
print("accept.test:", accept)
print("strict.test:", strict)
assert accept["greeting"][0] == 220 and accept["greeting"][1].startswith(b"mx.accept.test "), accept
assert strict["greeting"][0] == 220 and strict["greeting"][1].startswith(b"mx.strict.test "), strict
assert accept["mail"][0] == strict["mail"][0] == 250
assert accept["rcpt b"][0] == 250 and accept["rcpt unknown"][0] == 250, accept
assert strict["rcpt b"] == (451, b"4.7.1 Greylisted, try again later"), strict
assert strict["rcpt unknown"] == (550, b"5.1.1 No such user at strict.test"), strict
assert accept["sendmail"] == "delivered", accept
assert strict["sendmail"] == (451, b"4.7.1 Greylisted, try again later"), strict

# Each receiver's certificate names its own hostname, and only that.
for name, hostname, other in (("ACCEPT", "mx.accept.test", "mx.strict.test"),
                              ("STRICT", "mx.strict.test", "mx.accept.test")):
    for verify, ok in ((hostname, True), (other, False)):
        s = smtplib.SMTP(local_hostname="client.test", timeout=30)
        s.connect(*address(name))
        s._host = verify  # the name starttls() verifies
        s.ehlo()
        try:
            s.starttls(context=ssl.create_default_context(cafile=os.environ["CA"]))
            assert ok, f"{name}: the certificate passed as {verify}"
            s.quit()
        except ssl.SSLCertVerificationError as e:
            assert not ok and e.verify_code == 62, f"{name} verified as {verify}: {e}"
            s.close()

# strict.test over implicit TLS: the same receiver, the same answers.
s = smtplib.SMTP_SSL(local_hostname="client.test", timeout=30,
                     context=ssl.create_default_context(cafile=os.environ["CA"]))
s._host = "mx.strict.test"
host, port = address("STRICT_SMTPS")
greeting = s.connect(host, port)
assert greeting[0] == 220 and greeting[1].startswith(b"mx.strict.test "), greeting
s.ehlo()
assert not s.has_extn("starttls"), "STARTTLS offered over implicit TLS"
assert s.mail("a@example.org")[0] == 250
assert s.rcpt("b@example.net") == (451, b"4.7.1 Greylisted, try again later")
assert s.rcpt("unknown-3@example.net") == (550, b"5.1.1 No such user at strict.test")
s.quit()

for mine, other in (("ACCEPT", "STRICT"), ("STRICT", "ACCEPT")):
    host, _ = address(mine)
    _, port = address(other)
    try:
        socket.create_connection((host, port), timeout=5).close()
        raise AssertionError(f"{host}:{port} accepted a connection: bound to all addresses?")
    except ConnectionRefusedError:
        pass

# Everything stored came through accept.test (server_hostname in the sidecar).
names = sorted(os.listdir(os.path.join(MAILDIR, "new")))
assert len(names) == 3, names
for name in names:
    with open(os.path.join(MAILDIR, "envelopes", name + ".json"), "rb") as f:
        env = json.loads(f.read().decode("utf-8"))
    assert env["server_hostname"] == "mx.accept.test", env
PY
  fail "smtplib against the two receivers"

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
stopped_line_matches_maildir
[[ $(maildir_count new) == 3 ]] || fail "expected 3 messages (all via accept.test), found $(maildir_count new)"
echo PASS
