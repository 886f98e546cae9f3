#!/bin/bash
# The capture's byte bound against one connection that outlasts it (a sender
# reusing its connection, fakemx/capture.h's eviction policy): Python's
# smtplib sends 40 messages of 100 KB over one connection to a fakemx whose
# capture holds 2 MB. Every message is answered 250 and counted on the stop
# line; the Maildir has all 40; the capture and its API hold the newest
# ones, the oldest evicted one at a time and counted on the session
# ("messages_evicted") and in /metrics, the session itself not evicted.
#
#   capture_bound_test.sh FAKEMX_BIN
source tests/fakemx_fixture.sh
source testing/conformance.sh
FAKEMX_BIN="$1"

require_peer python3 "test -x /usr/bin/python3" "Debian package python3"

fakemx_start "$FAKEMX_BIN" --api=127.0.0.1:0 --capture-max-bytes=2000000
API_PORT=$(fakemx_api_port "$FAKEMX_OUT")
[[ -n "$API_PORT" ]] || fail "no 'fakemx: api http' line"

/usr/bin/python3 - "$FAKEMX_PORT" "$API_PORT" <<'PY' || fail "the capture bound check (above)"
import json, smtplib, sys, urllib.request

smtp_port, api_port = int(sys.argv[1]), int(sys.argv[2])
COUNT, SIZE, BOUND = 40, 100_000, 2_000_000
body = ("x" * 76 + "\r\n") * (SIZE // 78)

def get(path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (api_port, path), timeout=20) as r:
        return json.load(r)

with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as s:
    s.ehlo("client.test")
    for i in range(COUNT):
        s.sendmail("alice@sender.test", ["bob@example.test"],
                   "Subject: m%d\r\n\r\n%s" % (i, body))
    # Read while the connection is still open: the session is not evicted.
    listed = get("/fakemx/v1/messages?order=oldest&limit=100")
    sessions = get("/fakemx/v1/sessions?state=open")

held = listed["total"]
problems = []
if not 0 < held < COUNT:
    problems.append("the capture holds %d of %d messages; the bound holds some, not all" % (held, COUNT))
if held * SIZE > BOUND:
    problems.append("%d messages of %d bytes are over the %d-byte bound" % (held, SIZE, BOUND))
open_sessions = sessions["sessions"]
if len(open_sessions) != 1:
    problems.append("open sessions: %r" % open_sessions)
else:
    session = open_sessions[0]
    if session["evicted"]:
        problems.append("the open session was evicted whole")
    if session["messages_evicted"] + len(session["message_ids"]) != COUNT:
        problems.append("messages_evicted %d + held %d != %d" %
                        (session["messages_evicted"], len(session["message_ids"]), COUNT))
    ids = [m["id"] for m in listed["messages"]]
    subjects = [m["subject"] for m in listed["messages"]]
    newest = ["m%d" % i for i in range(COUNT - held, COUNT)]
    if subjects != newest:
        problems.append("held %r, expected the newest %r" % (subjects, newest))
    if session["message_ids"] != ids:
        problems.append("the session's message_ids %r are not the listed %r" % (session["message_ids"], ids))
print("held %d of %d" % (held, COUNT))
for p in problems:
    print("FAIL: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

API="http://127.0.0.1:$API_PORT"
# How many are held, and the newest one's bytes, as sent.
read -r N NEWEST < <(curl -s --max-time 20 "$API/fakemx/v1/messages?order=newest&limit=1" |
  /usr/bin/python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["total"], v["messages"][0]["id"])') ||
  fail "list"
[[ -n "$N" && -n "$NEWEST" ]] || fail "list: no total or newest id"
curl -s --max-time 20 -o "$FIXTURE_TMP/newest.eml" "$API/fakemx/v1/messages/$NEWEST/raw" || fail "raw"
[[ "$(head -c 13 "$FIXTURE_TMP/newest.eml")" == $'Subject: m39\r' ]] ||
  fail "the newest held message starts $(head -c 40 "$FIXTURE_TMP/newest.eml" | od -c | head -2)"

curl -s --max-time 20 "$API/metrics" >"$FIXTURE_TMP/metrics" || fail "metrics"
grep -qx "fakemx_capture_evictions_total{kind=\"message\"} $((40 - N))" "$FIXTURE_TMP/metrics" ||
  fail "metrics: $(grep evictions "$FIXTURE_TMP/metrics")"
grep -qx 'fakemx_capture_evictions_total{kind="session"} 0' "$FIXTURE_TMP/metrics" ||
  fail "metrics: $(grep evictions "$FIXTURE_TMP/metrics")"

fakemx_stop
[[ "$FAKEMX_EXIT" == 0 ]] || fail "fakemx exited $FAKEMX_EXIT"
grep -q '^fakemx: stopped; 40 messages stored, 0 storage failures' "$FAKEMX_OUT" ||
  fail "stop line: $(grep stopped "$FAKEMX_OUT")"
[[ "$(maildir_count new)" == 40 ]] || fail "the Maildir has $(maildir_count new) of 40"
echo "PASS: capture bound: the newest $N of 40 held, $((40 - N)) evicted one at a time, 40 stored and spooled"
