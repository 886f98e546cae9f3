"""fakemx's HTTP API (docs/api.md) through Python's urllib, http.client and
smtplib (Debian's /usr/bin/python3) against a running fakemx: every endpoint,
its errors, keep-alive, and the wait endpoint's latency after the 250 reply.

Environment: FAKEMX_PORT (SMTP), FAKEMX_API_PORT.
"""

import http.client
import json
import os
import smtplib
import ssl
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

SMTP_PORT = int(os.environ["FAKEMX_PORT"])
API_PORT = int(os.environ["FAKEMX_API_PORT"])
BASE = f"http://127.0.0.1:{API_PORT}"
FAILURES = []


def check(ok, what):
    if not ok:
        FAILURES.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def call(method, path, body=None, timeout=30):
    """(status, headers, body bytes) for one request; errors are answers too."""
    request = urllib.request.Request(BASE + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get_json(path, status=200):
    code, headers, body = call("GET", path)
    check(code == status, f"GET {path}: status {code}, expected {status}: {body[:300]!r}")
    check(headers.get("Content-Type") == "application/json", f"GET {path}: content type")
    return json.loads(body)


def messages_total():
    _, _, body = call("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith("fakemx_messages_total "):
            return int(line.split()[1])
    check(False, "no fakemx_messages_total")
    return 0


def send(to, subject, tls=False, sender="alice@sender.test"):
    message = (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nhello\r\n")
    with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=30) as smtp:
        smtp.ehlo("client.test")
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            smtp.starttls(context=context)
            smtp.ehlo("client.test")
        smtp.sendmail(sender, [to], message)
    return message


def main():
    # /healthz and /metrics.
    messages_before = messages_total()
    health = get_json("/healthz")
    check(health["status"] == "ok" and health["generation"] == 0, f"healthz {health}")

    # A plain message: wait (sent first, waited second: answered at once),
    # list with filters, one, raw.
    sent = send("bob@example.test", "plain one")
    m = get_json("/fakemx/v1/wait/message?recipient=bob@example.test&timeout=5s")
    plain_id = m["id"]
    check(m["subject"] == "plain one", f"wait: subject {m['subject']!r}")
    check(m["delivery"]["mail_from"]["address"] == "alice@sender.test", "wait: mail_from")
    check(m["delivery"]["tls"]["used"] is False, "plain: tls.used")
    check(m["verdict"]["summary"]["lock"] == "red_lock", f"plain: lock {m['verdict']}")
    check({"name": "Subject", "value": "plain one"} in m["headers"], f"headers {m['headers']}")
    check(any(e["kind"] == "command" and e["text"].upper().startswith("MAIL FROM:")
              for e in m["transcript"]), "transcript has MAIL FROM")
    code, headers, raw = call("GET", f"/fakemx/v1/messages/{plain_id}/raw")
    check(code == 200 and headers.get("Content-Type") == "message/rfc822", "raw: status/type")
    check(raw.endswith(b"hello\r\n") and b"Subject: plain one\r\n" in raw, f"raw bytes {raw!r}")

    # A STARTTLS message: TLS facts on the message and its session.
    send("carol@example.test", "over tls", tls=True)
    t = get_json("/fakemx/v1/wait/message?recipient=carol@example.test&timeout=5s")
    check(t["delivery"]["tls"]["used"] is True, f"tls: {t['delivery']['tls']}")
    check(t["delivery"]["tls"]["version"] in ("TLSv1.2", "TLSv1.3"), "tls: version")
    session = get_json(f"/fakemx/v1/wait/session?state=closed&after={t['session_id'] - 1}"
                       "&timeout=5s")
    check(session["id"] == t["session_id"], "wait/session: the TLS session")
    check(session["tls"]["used"] is True, f"session tls: {session['tls']}")
    check(session["message_ids"] == [t["id"]], "session message_ids")

    listed = get_json("/fakemx/v1/messages?recipient=bob@example.test")
    check([x["id"] for x in listed["messages"]] == [plain_id], f"filter recipient {listed}")
    listed = get_json("/fakemx/v1/messages?sender=ALICE@sender.test&limit=1")
    check(listed["total"] == 2 and listed["count"] == 1, f"paging {listed['total']}")
    listed = get_json("/fakemx/v1/messages?sender=alice@sender.test&start=1&limit=1")
    check([x["id"] for x in listed["messages"]] == [t["id"]], "paging start=1")
    sessions = get_json("/fakemx/v1/sessions?state=closed")
    check(sessions["total"] >= 2, f"sessions {sessions['total']}")
    one = get_json(f"/fakemx/v1/sessions/{m['session_id']}")
    check(one["transcript"][0]["kind"] in ("reply", "note"), "session transcript")

    # Metrics after two messages.
    code, headers, body = call("GET", "/metrics")
    text = body.decode()
    check(code == 200 and headers.get("Content-Type").startswith("text/plain; version=0.0.4"),
          "metrics type")
    check(f"# TYPE fakemx_messages_total counter\nfakemx_messages_total {messages_before + 2}\n"
          in text, f"metrics messages: {text}")
    check('fakemx_tls_handshakes_total{outcome="established"} 1' in text, "metrics tls")

    # Keep-alive: several answers on one connection.
    connection = http.client.HTTPConnection("127.0.0.1", API_PORT, timeout=10)
    for path in ("/healthz", "/fakemx/v1/messages?limit=1", "/nope"):
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        check(response.status == (404 if path == "/nope" else 200), f"keep-alive {path}")
    sock = connection.sock
    connection.request("GET", "/healthz")
    connection.getresponse().read()
    check(connection.sock is sock and sock is not None, "keep-alive: one socket")
    connection.close()

    # Errors: JSON with the right status.
    for method, path, body, status in [
        ("GET", "/fakemx/v1/nothing", None, 404),
        ("GET", "/fakemx/v1/messages/999999", None, 404),
        ("POST", "/fakemx/v1/messages", b"", 405),
        ("GET", "/fakemx/v1/messages?lock=green", None, 400),
        ("GET", "/fakemx/v1/messages?recipent=x", None, 400),
        ("GET", "/fakemx/v1/messages/abc", None, 400),
        ("GET", "/fakemx/v1/messages?x=%zz", None, 400),
        ("GET", "/fakemx/v1/wait/message?timeout=10m", None, 400),
        ("PUT", "/fakemx/v1/scenario", b"", 400),
        ("PUT", "/fakemx/v1/scenario", b"a" * ((1 << 20) + 1), 413),
        ("PUT", "/fakemx/v1/scenario", b"no-such-scenario", 400),
        ("PUT", "/fakemx/v1/scenario", b"/etc/passwd", 400),
    ]:
        code, headers, answer = call(method, path, body)
        check(code == status, f"{method} {path}: {code}, expected {status}: {answer[:200]!r}")
        error = json.loads(answer)
        check(error["status"] == status and error["error"], f"{method} {path}: error {error}")
        if status == 405:
            check(headers.get("Allow") == "GET, DELETE", f"Allow: {headers.get('Allow')}")
    scenario = get_json("/fakemx/v1/scenario")
    check(scenario["name"] == "good" and scenario["listeners"][0]["kind"] == "smtp",
          f"scenario {scenario}")

    # A wait that times out.
    start = time.monotonic()
    code, _, body = call("GET", f"/fakemx/v1/wait/message?after={t['id']}&timeout=300ms")
    took = time.monotonic() - start
    check(code == 408 and b"within 300ms" in body, f"timeout: {code} {body!r}")
    check(0.3 <= took < 3, f"timeout took {took:.3f}s")

    # The wait's latency after the 250 reply: a parked wait, then smtplib.
    latencies = []
    last = t["id"]
    for i in range(20):
        to = f"latency{i}@example.test"
        answered = {}

        def wait():
            code, _, body = call("GET", f"/fakemx/v1/wait/message?recipient={to}&timeout=10s")
            answered["at"] = time.monotonic()
            answered["code"] = code
            answered["id"] = json.loads(body).get("id")

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.1)  # the wait is parked (the test's pacing, not a wait for the result)
        with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=30) as smtp:
            smtp.ehlo("client.test")
            smtp.mail("alice@sender.test")
            smtp.rcpt(to)
            code, _ = smtp.data(f"Subject: latency {i}\r\n\r\nx\r\n".encode())
            replied = time.monotonic()
            check(code == 250, f"latency {i}: DATA answered {code}")
        waiter.join(15)
        check(answered.get("code") == 200 and answered.get("id", 0) > last,
              f"latency {i}: wait answered {answered}")
        last = answered.get("id") or last
        latencies.append((answered.get("at", replied + 10) - replied) * 1000)
    print(f"wait latency after the 250 reply over {len(latencies)} messages: "
          f"max {max(latencies):.2f} ms, median {statistics.median(latencies):.2f} ms "
          "(negative: the wait's answer was read before smtplib had read the 250)")
    check(max(latencies) < 50, f"wait latency {max(latencies):.2f} ms >= 50 ms")

    # Deletion: one, all messages (sessions stay), then every session.
    code, _, body = call("DELETE", f"/fakemx/v1/messages/{plain_id}")
    check(code == 200 and json.loads(body) == {"deleted": 1}, f"delete one {body!r}")
    get_json(f"/fakemx/v1/messages/{plain_id}", status=404)
    code, _, body = call("DELETE", "/fakemx/v1/messages")
    check(code == 200 and json.loads(body)["deleted"] == 21, f"delete all {body!r}")
    check(get_json("/fakemx/v1/messages")["total"] == 0, "no messages left")
    check(get_json("/fakemx/v1/sessions")["total"] >= 22, "sessions stay")
    code, _, body = call("DELETE", "/fakemx/v1/sessions")
    check(code == 200, "delete sessions")
    check(get_json("/fakemx/v1/sessions")["total"] == 0, "no sessions left")

    # Scenario switching (fakemx::Instance): a bad scenario changes nothing
    # and names line and column; a good one is bound on new listeners (the
    # fixture's --smtp=127.0.0.1:0 applies to it too) while the old port
    # stops accepting.
    code, _, body = call("PUT", "/fakemx/v1/scenario", b"name: x\nreceivers:\n  - name: [\n")
    check(code == 400 and b"api:" in body, f"bad switch: {code} {body!r}")
    check(get_json("/fakemx/v1/scenario")["generation"] == 0, "bad switch: generation 0")
    code, _, body = call("PUT", "/fakemx/v1/scenario", b"no-starttls")
    check(code == 200, f"switch: {code} {body!r}")
    switched = get_json("/fakemx/v1/scenario")
    check(switched["name"] == "no-starttls" and switched["generation"] == 1,
          f"switched {switched}")
    new_port = next(int(l["endpoint"].rsplit(":", 1)[1]) for l in switched["listeners"]
                    if l["kind"] == "smtp")
    check(new_port != SMTP_PORT, f"switch: new port {new_port}")
    with smtplib.SMTP("127.0.0.1", new_port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        check(not smtp.has_extn("starttls"), "no-starttls after the switch offers STARTTLS")
    try:
        smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=5).close()
        check(False, "the old scenario's port still accepts")
    except OSError:
        pass

    if FAILURES:
        print(f"{len(FAILURES)} failures", file=sys.stderr)
        return 1
    print("api_test.py: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
