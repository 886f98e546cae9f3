#!/bin/bash
# fakemx's HTTP API end to end: the fakemx binary on ephemeral ports
# (--api=127.0.0.1:0 --dns=127.0.0.1:0, SMTP on port 0), curl for every
# endpoint, Python's urllib/http.client/smtplib for bodies, keep-alive and the
# wait latency (tests/api_test.py), and every curl example of docs/api.md run
# as written (the port substituted) against a fresh instance.
#
#   api_test.sh FAKEMX_BIN API_TEST_PY API_MD
source tests/fakemx_fixture.sh
source testing/conformance.sh
FAKEMX_BIN="$1"
SCRIPT="$2"
API_MD="$3"

require_peer curl curl "Debian package curl"
require_peer python3 "test -x /usr/bin/python3" "Debian package python3"

fakemx_start "$FAKEMX_BIN" --api=127.0.0.1:0
API_PORT=$(fakemx_api_port "$FAKEMX_OUT")
[[ -n "$API_PORT" ]] || fail "no 'fakemx: api http' line"
API="http://127.0.0.1:$API_PORT"

# expect STATUS METHOD PATH [CURL ARGS...]: curl answers STATUS with JSON
# (or the type the endpoint serves); the body is left in $TMP_BODY.
TMP_BODY="$FIXTURE_TMP/body"
expect() {
  local status="$1" method="$2" path="$3"
  shift 3
  local got
  got=$(curl -s --max-time 20 -o "$TMP_BODY" -w '%{http_code} %{content_type}' -X "$method" \
    "$@" "$API$path") || fail "curl $method $path: exit $?"
  [[ "${got%% *}" == "$status" ]] || fail "$method $path: $got, expected $status: $(head -c 300 "$TMP_BODY")"
  CONTENT_TYPE="${got#* }"
}

# Every endpoint with curl.
expect 200 GET /healthz
grep -q '"status":"ok"' "$TMP_BODY" || fail "healthz body"
expect 200 GET /metrics
[[ $CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8" ]] || fail "metrics type $CONTENT_TYPE"
grep -qx 'fakemx_messages_total 0' "$TMP_BODY" || fail "metrics: $(cat "$TMP_BODY")"

swaks_or_python_send() {
  /usr/bin/python3 - "$FAKEMX_PORT" "$1" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as s:
    s.sendmail("alice@sender.test", [sys.argv[2]], "Subject: curl\r\n\r\nbody\r\n")
PY
}
swaks_or_python_send "dave@example.test" || fail "smtplib send"
expect 200 GET "/fakemx/v1/wait/message?recipient=dave@example.test&timeout=5s"
ID=$(sed -n 's/^{"id":\([0-9]*\),.*/\1/p' "$TMP_BODY")
SID=$(sed -n 's/^{"id":[0-9]*,"session_id":\([0-9]*\),.*/\1/p' "$TMP_BODY")
[[ -n "$ID" && -n "$SID" ]] || fail "wait body: $(cat "$TMP_BODY")"
expect 200 GET "/fakemx/v1/messages?recipient=dave@example.test&lock=red_lock&limit=5"
grep -q "\"total\":1," "$TMP_BODY" || fail "list: $(cat "$TMP_BODY")"
expect 200 GET "/fakemx/v1/messages/$ID"
grep -q '"headers":\[{"name":"Subject","value":"curl"}\]' "$TMP_BODY" || fail "one: $(cat "$TMP_BODY")"
expect 200 GET "/fakemx/v1/messages/$ID/raw"
[[ $CONTENT_TYPE == message/rfc822 ]] || fail "raw type $CONTENT_TYPE"
[[ "$(cat "$TMP_BODY")" == $'Subject: curl\r\n\r\nbody\r' ]] || fail "raw: $(od -c "$TMP_BODY" | head)"
expect 200 GET "/fakemx/v1/sessions?state=closed"
expect 200 GET "/fakemx/v1/sessions/$SID"
grep -q '"transcript":\[' "$TMP_BODY" || fail "session transcript"
expect 200 GET "/fakemx/v1/wait/session?state=closed&timeout=5s"
# The icons' reasons (fakemx/verdict_reasons.h): smtplib did not use the
# STARTTLS that the good receiver offers; the sender reason names SPF's
# result for the MAIL FROM domain.
expect 200 GET "/fakemx/v1/messages/$ID"
grep -q '"lock":"red_lock","sender":"[a-z_]*","dmarc":"[a-z]*","lock_reason":"no TLS: client did not use starttls","sender_reason":"SPF [a-z]* for sender.test (MAIL FROM), DKIM none (no signature)' "$TMP_BODY" ||
  fail "message reasons: $(cat "$TMP_BODY")"
expect 200 GET "/fakemx/v1/sessions/$SID"
grep -q '"lock_reason":"no TLS: client did not use starttls"' "$TMP_BODY" || fail "session reason: $(cat "$TMP_BODY")"
expect 408 GET "/fakemx/v1/wait/message?after=$ID&timeout=200ms"
expect 200 GET /fakemx/v1/scenario
grep -q '"name":"good"' "$TMP_BODY" || fail "scenario: $(cat "$TMP_BODY")"
# A bad scenario is refused with its line and column and changes nothing;
# api_test.py switches for real as its last step (the SMTP port moves).
expect 400 PUT /fakemx/v1/scenario --data-binary $'name: x\nreceivers:\n  - name: [\n'
grep -q '"error":"scenario not switched: api:[0-9]*:[0-9]*: ' "$TMP_BODY" || fail "bad switch: $(cat "$TMP_BODY")"
expect 200 GET /healthz
grep -q '"generation":0' "$TMP_BODY" || fail "bad switch changed the generation: $(cat "$TMP_BODY")"
# Mailpit's paths reach its handler on the same port.
expect 200 GET "/api/v1/messages?limit=10"
grep -q '"messages_count":1' "$TMP_BODY" || fail "mailpit list: $(cat "$TMP_BODY")"
expect 405 POST /healthz
expect 404 GET /fakemx/v1/nothing
expect 400 GET "/fakemx/v1/messages?limit=0"
grep -q 'limit=' "$TMP_BODY" || fail "400 does not name the parameter"
expect 200 DELETE "/fakemx/v1/messages/$ID"
expect 404 GET "/fakemx/v1/messages/$ID"
expect 200 DELETE /fakemx/v1/messages
expect 200 DELETE /fakemx/v1/sessions
echo "curl: every endpoint answered as documented"

# The web UI (fakemx/ui/README.md): the page, composed per request with
# app.css and first-view.js inline (allowed by their CSP hashes) and the
# inbox's first page rendered in, never cached; its files with their types
# and headers, HEAD, a revalidation answered 304, an unknown file 404.
HEADERS="$FIXTURE_TMP/headers"
expect 200 GET / -D "$HEADERS"
[[ $CONTENT_TYPE == "text/html; charset=utf-8" ]] || fail "/ type $CONTENT_TYPE"
grep -q '<link rel="expect" href="#first-view-end" blocking="render">' "$TMP_BODY" || fail "/ is not the UI page: $(head -c 300 "$TMP_BODY")"
grep -q '<section id="inbox-view"' "$TMP_BODY" || fail "/ carries no rendered inbox: $(head -c 300 "$TMP_BODY")"
! grep -q '<!--fakemx:' "$TMP_BODY" || fail "/ has a marker left unfilled"
HASH="'sha256-[A-Za-z0-9+/]{43}='"
grep -Eqi "^content-security-policy: default-src 'none'; script-src 'self' $HASH; style-src 'self' $HASH; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"$'\r'"\$" "$HEADERS" ||
  fail "/ CSP: $(cat "$HEADERS")"
grep -qi $'^x-content-type-options: nosniff\r$' "$HEADERS" || fail "/ nosniff: $(cat "$HEADERS")"
grep -qi $'^referrer-policy: no-referrer\r$' "$HEADERS" || fail "/ referrer: $(cat "$HEADERS")"
grep -qi $'^cache-control: no-store\r$' "$HEADERS" || fail "/ cache-control: $(cat "$HEADERS")"
! grep -qi '^etag:' "$HEADERS" || fail "/ has an ETag, but it shows the store as it was: $(cat "$HEADERS")"
PAGE_BYTES=$(stat -c %s "$TMP_BODY")
expect 200 GET /index.html
expect 200 GET /ui/app.css -D "$HEADERS"
[[ $CONTENT_TYPE == "text/css; charset=utf-8" ]] || fail "app.css type $CONTENT_TYPE"
ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: \("[0-9a-f]*"\)\r$/\1/p' "$HEADERS")
[[ -n "$ETAG" ]] || fail "/ui/app.css has no ETag: $(cat "$HEADERS")"
expect 200 GET /ui/app.js
[[ $CONTENT_TYPE == "text/javascript; charset=utf-8" ]] || fail "app.js type $CONTENT_TYPE"
# curl --head writes the header block as its output and reads no content.
expect 200 HEAD / --head
grep -qi "^content-length: $PAGE_BYTES"$'\r$' "$TMP_BODY" || fail "HEAD / length, want $PAGE_BYTES: $(cat "$TMP_BODY")"
! grep -qi '<html' "$TMP_BODY" || fail "HEAD / sent the page"
rm -f "$TMP_BODY"  # curl creates no output file when nothing arrives
expect 304 GET /ui/app.css -H "If-None-Match: $ETAG"
[[ ! -s "$TMP_BODY" ]] || fail "304 sent a body: $(head -c 300 "$TMP_BODY")"
expect 200 GET /ui/app.css -H 'If-None-Match: "stale"'
expect 200 GET / -H "If-None-Match: $ETAG"
expect 404 GET /ui/nope.js
grep -q 'no such UI file' "$TMP_BODY" || fail "/ui/nope.js: $(cat "$TMP_BODY")"
echo "curl: the web UI is served with its headers, HEAD, 304 and 404"

# Python: bodies, TLS facts, keep-alive, errors, the wait's latency.
FAKEMX_PORT=$FAKEMX_PORT FAKEMX_API_PORT=$API_PORT timeout 300 /usr/bin/python3 "$SCRIPT" || fail "api_test.py failed"
fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT"

# docs/api.md's curl examples, as written, on a fresh instance holding one
# message (so message 1 and session 1 exist). Each must answer 200, except
# the one the page says does not: the wait that shows the timeout (408).
# The switch to no-starttls moves the SMTP port; the examples after it
# need only the API.
fakemx_start "$FAKEMX_BIN" --api=127.0.0.1:0
API_PORT=$(fakemx_api_port "$FAKEMX_OUT")
swaks_or_python_send "bob@example.test" || fail "smtplib send (docs)"
mapfile -t EXAMPLES < <(awk '/^```sh$/ {in_sh = 1; next} /^```/ {in_sh = 0} in_sh && /^curl / {print}' "$API_MD")
(( ${#EXAMPLES[@]} >= 15 )) || fail "only ${#EXAMPLES[@]} curl examples found in $API_MD"
for example in "${EXAMPLES[@]}"; do
  command="${example//localhost:8025/127.0.0.1:$API_PORT}"
  [[ $command != "$example" ]] || fail "example does not use localhost:8025: $example"
  status=$(bash -c "$command -o '$TMP_BODY' -w '%{http_code}' --max-time 20") ||
    fail "docs example failed (exit $?): $example"
  want=200
  [[ $example == *"timeout=250ms"* ]] && want=408
  [[ $status == "$want" ]] || fail "docs example answered $status, expected $want: $example: $(head -c 300 "$TMP_BODY")"
  [[ -s "$TMP_BODY" ]] || fail "docs example answered nothing: $example"
done
echo "docs/api.md: ${#EXAMPLES[@]} curl examples ran as documented"
fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT"
echo PASS
