#!/bin/bash
# swaks (Debian's swaks) delivers one plain message to fakemx; the Maildir
# must hold exactly its bytes and the sidecar its envelope.
source tests/fakemx_fixture.sh
FAKEMX_BIN="$1"
command -v swaks >/dev/null || fail "swaks is not installed (tools/debian-packages.txt)"

# --storage-threads=0: the inline storage path (the other tests use threads).
fakemx_start "$FAKEMX_BIN" --storage-threads=0

# The message swaks sends (--data): CRLF line ends, a line starting with a
# dot that swaks must stuff and fakemx unstuff. swaks terminates the data
# with "\r\n.\r\n" itself, so the file has no final CRLF and the stored
# message is the file plus that CRLF (RFC 5321 §4.1.1.4: the CRLF before the
# dot belongs to the message).
DATA="$FIXTURE_TMP/message.eml"
printf 'From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: swaks e2e\r\nMessage-ID: <swaks-e2e@example.org>\r\n\r\nHello Bob,\r\n.a line that starts with a dot\r\nbye' >"$DATA"
EXPECTED="$FIXTURE_TMP/expected.eml"
{ cat "$DATA"; printf '\r\n'; } >"$EXPECTED"

timeout 30 swaks --server "127.0.0.1:$FAKEMX_PORT" --helo client.example.org \
  --from alice@example.org --to bob@example.net,carol@example.net \
  --data "$DATA" >"$FIXTURE_TMP/swaks.log" 2>&1 || {
  cat "$FIXTURE_TMP/swaks.log" >&2
  fail "swaks failed"
}
grep -q '^<-  250 2.0.0 Ok: queued as ' "$FIXTURE_TMP/swaks.log" || fail "no 250 after DATA"
NAME=$(sed -n 's/^<-  250 2.0.0 Ok: queued as \(.*\)$/\1/p' "$FIXTURE_TMP/swaks.log")

[[ $(maildir_count new) == 1 ]] || fail "expected 1 message in new/, found $(maildir_count new)"
[[ -f "$FAKEMX_MAILDIR/new/$NAME" ]] || fail "new/$NAME (from the 250 reply) missing"
[[ $(maildir_count tmp) == 0 ]] || fail "tmp/ not empty"
cmp "$EXPECTED" "$FAKEMX_MAILDIR/new/$NAME" || fail "stored bytes differ from what swaks sent"

/usr/bin/python3 - "$FAKEMX_MAILDIR/envelopes/$NAME.json" "$NAME" "$(stat -c %s "$EXPECTED")" <<'PY' ||
import json, sys
path, name, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "rb") as f:
    env = json.loads(f.read().decode("utf-8"))
def check(cond, what):
    if not cond:
        sys.exit(f"sidecar {path}: {what}: {env!r}")
check(env["name"] == name, "name")
check(env["mail_from"]["address"] == "alice@example.org", "mail_from")
check([r["address"] for r in env["rcpt_to"]] == ["bob@example.net", "carol@example.net"], "rcpt_to")
check(env["helo"] == {"command": "EHLO", "domain": "client.example.org"}, "helo")
check(env["client"]["address"] == "127.0.0.1", "client address")
check(env["server_hostname"] == "mx.test", "server_hostname")
check(env["size"] == size, "size")
check(env["tls"]["used"] is False and env["via_bdat"] is False, "tls/via_bdat")
PY
  fail "sidecar check"

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
grep -q '^fakemx: stopped; 1 messages stored, 0 storage failures' "$FAKEMX_OUT" ||
  fail "final stats line"
echo PASS
