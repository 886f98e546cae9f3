#!/bin/bash
# fakemx's web UI (issue 12, fakemx/ui/README.md "Hooks for tests") in a real
# browser: Debian's chromium, headless, driven by puppeteer-core
# (tests/web_ui_test.js). This script starts the peers and sends the mail:
#   - fakemx on tests/scenarios/web_ui.yaml (receivers good, no-starttls,
#     expired-cert on ports it picks; verdicts on; --dns=off);
#   - swaks: one unsigned message through `good` over STARTTLS (verifying the
#     chain against fakemx's test root), one through `no-starttls` in
#     plaintext, and one attempt at `expired-cert` with --tls-verify, which
#     swaks refuses, so a session without a message exists;
#   - Python's smtplib: an HTML message that tries to run script and to reach
#     the network at a beacon HTTP listener this script runs (every request
#     it gets is logged and fails the test);
#   - a second fakemx on the catalogue's `good` with --smtp=127.0.0.1:0, for
#     the scenario switcher (switching the first one would bind the
#     catalogue's fixed 127.0.0.1:2525, which parallel tests may hold).
# Screenshots go to $TEST_UNDECLARED_OUTPUTS_DIR (docs/images/ has copies).
#
#   web_ui_test.sh FAKEMX_BIN TEST_JS SCENARIO_YAML
source tests/fakemx_fixture.sh
source testing/conformance.sh
source tests/scenario_fixture.sh
FAKEMX_BIN="$1" TEST_JS="$2" YAML="$3"

require_peer node node "Debian package nodejs"
CHROMIUM="${MXKIT_CHROMIUM:-/usr/bin/chromium}"
require_peer chromium "test -x '$CHROMIUM'" "Debian package chromium"
for module in puppeteer-core axe-core; do
  require_peer "the $module npm package" \
    "test -f '${MXKIT_NODE_MODULES:-/nonexistent}/$module/package.json'" \
    "tests/npm, installed by ./bazelw into MXKIT_NODE_MODULES"
done
require_peer swaks swaks "Debian package swaks"
require_peer "swaks TLS (Net::SSLeay)" "perl -MNet::SSLeay -e 1" "Debian package libnet-ssleay-perl"
require_peer python3 /usr/bin/python3 "Debian package python3"

OUT_DIR="${TEST_UNDECLARED_OUTPUTS_DIR:-$FIXTURE_TMP/outputs}"
mkdir -p "$OUT_DIR"
BEACON_PIDS=()
_web_ui_cleanup() {
  local pid
  for pid in "${BEACON_PIDS[@]+"${BEACON_PIDS[@]}"}"; do kill -KILL "$pid" 2>/dev/null || true; done
  _fixture_cleanup
}
trap _web_ui_cleanup EXIT

# The beacon: an HTTP listener on a free loopback port that logs every
# request line to BEACON_LOG and answers 200 (a 1x1 GIF, whatever was asked),
# so nothing the HTML mail asks for fails for want of an answer.
BEACON_LOG="$FIXTURE_TMP/beacon.log"
BEACON_PORT_FILE="$FIXTURE_TMP/beacon.port"
: >"$BEACON_LOG"
/usr/bin/python3 - "$BEACON_LOG" "$BEACON_PORT_FILE" <<'PY' &
import http.server, sys
log, port_file = sys.argv[1], sys.argv[2]
GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
class Beacon(http.server.BaseHTTPRequestHandler):
    def answer(self):
        with open(log, "a") as f:
            f.write(f"{self.command} {self.path} from {self.headers.get('Referer', '-')}\n")
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.send_header("Content-Length", str(len(GIF)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(GIF)
    do_GET = do_POST = do_HEAD = do_OPTIONS = answer
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Beacon)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
PY
BEACON_PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
  [[ -s "$BEACON_PORT_FILE" ]] && break
  sleep 0.1
done
BEACON_PORT=$(cat "$BEACON_PORT_FILE" 2>/dev/null || true)
[[ -n "$BEACON_PORT" ]] || fail "the beacon listener did not start within 10 s"

fakemx_start_scenario "$FAKEMX_BIN" --scenario="$YAML" --dns=off --tls-dir="$FIXTURE_TMP/tls"
MAIN_OUT="$FAKEMX_OUT"
GOOD=${RECEIVER_SMTP[good]:-}
PLAIN=${RECEIVER_SMTP[no-starttls]:-}
EXPIRED=${RECEIVER_SMTP[expired-cert]:-}
[[ -n $GOOD && -n $PLAIN && -n $EXPIRED ]] ||
  fail "no 'receiver good|no-starttls|expired-cert smtp HOST:PORT' lines in the banner"
API_PORT=$(fakemx_api_port "$FAKEMX_OUT")
[[ -n "$API_PORT" ]] || fail "no API banner line in fakemx's output"
CA="$FIXTURE_TMP/tls/ca.pem"
[[ -s "$CA" ]] || fail "no test root at $CA"

# run_swaks LOG SERVER [FLAGS...]: sets RC.
run_swaks() {
  local log="$1" server="$2"
  shift 2
  set +e
  timeout 60 swaks --server "$server" --helo client.test --from alice@example.org \
    --to bob@example.net --timeout 30 "$@" >"$log" 2>&1
  RC=$?
  set -e
}
failing() {
  echo "--- $1 ---" >&2
  cat "$1" >&2
  fail "$2"
}

# 1. Over STARTTLS to `good`, the chain verified: the lock.
LOG="$FIXTURE_TMP/swaks-good.log"
run_swaks "$LOG" "$GOOD" --tls --tls-verify --tls-ca-path "$CA" \
  --header "Subject: web-ui over STARTTLS" --body "Sent over STARTTLS to the good receiver."
[[ $RC == 0 ]] || failing "$LOG" "swaks --tls to good exited $RC"
grep -q '^=== TLS started with cipher TLSv1\.[23]' "$LOG" || failing "$LOG" "swaks did not start TLS"

# 2. Plaintext to `no-starttls`: the red lock.
LOG="$FIXTURE_TMP/swaks-plain.log"
run_swaks "$LOG" "$PLAIN" \
  --header "Subject: web-ui in plaintext" --body "Sent in plaintext to the no-starttls receiver."
[[ $RC == 0 ]] || failing "$LOG" "swaks to no-starttls exited $RC"
if grep -q 'STARTTLS' "$LOG"; then failing "$LOG" "no-starttls offered STARTTLS"; fi

# 3. A refused certificate: swaks verifies the chain, the leaf has expired,
# the handshake fails (exit 29) and nothing is sent.
LOG="$FIXTURE_TMP/swaks-expired.log"
run_swaks "$LOG" "$EXPIRED" --tls --tls-verify --tls-ca-path "$CA" \
  --header "Subject: web-ui never delivered"
[[ $RC == 29 ]] || failing "$LOG" "swaks --tls-verify to expired-cert exited $RC, want 29 (TLS failed)"

# 4. The HTML mail that tries everything (tests/web_ui_test.js checks that
# none of it ran). __fakemxScriptRan is the marker the browser side looks
# for in every frame; every attempt also names itself in a beacon URL.
/usr/bin/python3 - "${PLAIN%:*}" "${PLAIN##*:}" "$BEACON_PORT" <<'PY' || fail "smtplib delivery of the HTML mail"
import smtplib, sys
host, port, beacon = sys.argv[1], int(sys.argv[2]), f"http://127.0.0.1:{sys.argv[3]}/beacon"
html = f"""<!doctype html>
<html><head>
<link rel="stylesheet" href="{beacon}/link-stylesheet.css">
<style>body {{ background-image: url("{beacon}/css-url.png"); }}</style>
<script>window.__fakemxScriptRan = "inline script"; try {{ parent.__fakemxScriptRan = "inline script"; }} catch (e) {{}} fetch("{beacon}/inline-script");</script>
</head><body>
<p id="inert-marker">This HTML mail tries to run script and to reach the network.</p>
<img src="{beacon}/img.gif" alt="remote image">
<img src="data:," onerror="window.__fakemxScriptRan='onerror'; new Image().src='{beacon}/onerror'" alt="broken image">
<a id="js-link" href="javascript:window.__fakemxScriptRan='javascript link';fetch('{beacon}/javascript-link')">a javascript: link</a>
<iframe src="{beacon}/iframe" title="remote frame"></iframe>
<form action="{beacon}/form" method="post"><button id="form-button">send</button></form>
</body></html>
"""
msg = ("From: Mallory <mallory@example.org>\r\n"
       "To: bob@example.net\r\n"
       "Subject: web-ui HTML that tries script and remote content\r\n"
       "MIME-Version: 1.0\r\n"
       "Content-Type: multipart/alternative; boundary=\"b\"\r\n"
       "\r\n"
       "--b\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n"
       "\r\n"
       "The text part of the HTML mail.\r\n"
       "--b\r\n"
       "Content-Type: text/html; charset=utf-8\r\n"
       "\r\n" + html.replace("\n", "\r\n") + "\r\n"
       "--b--\r\n").encode()
with smtplib.SMTP(host, port, timeout=20) as s:
    s.ehlo("client.test")
    refused = s.sendmail("mallory@example.org", ["bob@example.net"], msg)
    assert not refused, refused
PY

# 5. The second fakemx, for the scenario switcher.
fakemx_start "$FAKEMX_BIN" --scenario=good --dns=off --tls-dir="$FIXTURE_TMP/tls2"
SWITCH_API_PORT=$(fakemx_api_port "$FAKEMX_OUT")
[[ -n "$SWITCH_API_PORT" ]] || fail "no API banner line in the second fakemx's output"

set +e
timeout 300 node "$TEST_JS" "$MXKIT_NODE_MODULES" "$CHROMIUM" "http://127.0.0.1:$API_PORT" \
  "http://127.0.0.1:$SWITCH_API_PORT" "http://127.0.0.1:$BEACON_PORT/" "$BEACON_LOG" "$OUT_DIR" \
  "$PLAIN"
RC=$?
set -e
FAKEMX_OUT="$MAIN_OUT"
((RC == 0)) || fail "the browser checks (tests/web_ui_test.js, output above) exited $RC"
[[ ! -s "$BEACON_LOG" ]] || failing "$BEACON_LOG" "the HTML mail reached the network"
echo PASS
