#!/bin/bash
# The mailpit-api npm client against fakemx's Mailpit-compatible API
# (docs/api_mailpit.md): Python's smtplib delivers three messages, then
# tests/mailpit_api_test.js drives every endpoint of the subset through the
# client, as test code written for Mailpit would.
#
#   mailpit_api_test.sh FAKEMX_BIN TEST_JS
source tests/fakemx_fixture.sh
source testing/conformance.sh
FAKEMX_BIN="$1"
TEST_JS="$2"

require_peer node node "Debian package nodejs"
require_peer "the mailpit-api npm client" \
  "test -f '${MXKIT_NODE_MODULES:-/nonexistent}/mailpit-api/package.json'" \
  "tests/npm, installed by ./bazelw into MXKIT_NODE_MODULES"
require_peer python3 /usr/bin/python3 "Debian package python3"

fakemx_start "$FAKEMX_BIN" --api=127.0.0.1:0 --dns=off
API_PORT=$(sed -n 's/^fakemx: api http 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$FAKEMX_OUT")
[[ -n "$API_PORT" ]] || fail "no API banner line in fakemx's output"

/usr/bin/python3 - "$FAKEMX_PORT" <<'PY' || fail "smtplib delivery"
import smtplib, sys
port = int(sys.argv[1])
first = (
    b"From: Alice Example <alice@example.test>\r\n"
    b"To: bob@example.test\r\n"
    b"Subject: =?utf-8?q?first:_caf=C3=A9_order?=\r\n"
    b"Message-ID: <first@example.test>\r\n"
    b"Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
    b"\r\n"
    b"Your  order\r\nhas shipped.\r\n")
second = (
    b"From: Alice Example <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Subject: second: report attached\r\n"
    b"Message-ID: <second@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    b"\r\n"
    b"--outer\r\n"
    b"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"please see the report\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>please see the <b>report</b></p>\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Disposition: attachment; filename=\"report.txt\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"YXR0YWNoZWQgYnl0ZXMK\r\n"
    b"--outer--\r\n")
third = (
    b"From: alice@example.test\r\n"
    b"To: carol@example.test\r\n"
    b"Subject: third: for carol\r\n"
    b"Message-ID: <third@example.test>\r\n"
    b"\r\n"
    b"hi carol\r\n")
for rcpts, msg in ((["bob@example.test"], first), (["bob@example.test"], second),
                   (["carol@example.test", "dave@example.test"], third)):
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo("client.example.test")
        refused = s.sendmail("bounce@example.test", rcpts, msg)
        assert not refused, refused
PY

timeout 120 node "$TEST_JS" "$MXKIT_NODE_MODULES" "http://127.0.0.1:$API_PORT" ||
  fail "the mailpit-api client's checks (output above)"

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
echo PASS
