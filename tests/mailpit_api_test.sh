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

# The /api/events websocket (RFC 6455) announces the next message as
# Mailpit does: {"Type":"new","Data":<summary>}. The npm client has no
# websocket, so Python speaks the handshake and reads one unmasked frame.
/usr/bin/python3 - "$FAKEMX_PORT" "$API_PORT" <<'PY' || fail "/api/events websocket"
import base64, json, os, smtplib, socket, struct, sys
smtp_port, api_port = int(sys.argv[1]), int(sys.argv[2])
ws = socket.create_connection(("127.0.0.1", api_port), timeout=20)
key = base64.b64encode(os.urandom(16)).decode()
ws.sendall((f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{api_port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    chunk = ws.recv(4096)
    assert chunk, f"connection closed during the handshake: {head!r}"
    head += chunk
assert head.startswith(b"HTTP/1.1 101"), head
buf = head.split(b"\r\n\r\n", 1)[1]
with smtplib.SMTP("127.0.0.1", smtp_port, timeout=20) as s:
    s.sendmail("bounce@example.test", ["bob@example.test"],
               b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: fourth\r\n\r\nhi\r\n")
def need(n):
    global buf
    while len(buf) < n:
        chunk = ws.recv(65536)
        assert chunk, "connection closed before the event"
        buf += chunk
while True:
    need(2)
    opcode, length = buf[0] & 0x0F, buf[1] & 0x7F
    assert not buf[1] & 0x80, "server frames must not be masked (RFC 6455 §5.1)"
    off = 2
    if length == 126:
        need(4); length = struct.unpack(">H", buf[2:4])[0]; off = 4
    elif length == 127:
        need(10); length = struct.unpack(">Q", buf[2:10])[0]; off = 10
    need(off + length)
    payload, buf = buf[off:off + length], buf[off + length:]
    if opcode != 1:  # skip pings and the like; the event is a text frame
        continue
    event = json.loads(payload)
    if event.get("Type") != "new":
        continue
    data = event["Data"]
    assert data["Subject"] == "fourth", event
    assert isinstance(data["ID"], str) and data["Attachments"] == 0, event
    assert data["From"] == {"Name": "", "Address": "alice@example.test"}, event
    break
print("ok - /api/events announced the new message")
PY

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT after SIGTERM"
echo PASS
