"""What Python's smtplib (or, where only a raw socket can show it, a raw
socket) sees from one built-in fakemx scenario (fakemx --scenario=NAME, the
contract in docs/scenarios.md). The swaks and openssl s_client half is in
scenario_catalogue_test.sh, which starts fakemx and runs this with
/usr/bin/python3 and:
  SCENARIO        the catalogue name
  FAKEMX_PORT     fakemx's smtp port on 127.0.0.1
  FAKEMX_MAILDIR  its Maildir (--maildir)
  FAKEMX_CA       the root its certificates chain to (--tls-dir)
  TLS_HOSTNAME    the receiver's hostname, mx.example.test
Exits non-zero with the failed assertion when the scenario does not behave
as its catalogue entry says.
"""

import json
import os
import smtplib
import socket
import ssl
import sys
import time

from raw_smtp import RawSmtpClient

SCENARIO = os.environ["SCENARIO"]
PORT = int(os.environ["FAKEMX_PORT"])
MAILDIR = os.environ["FAKEMX_MAILDIR"]
CA = os.environ["FAKEMX_CA"]
HOSTNAME = os.environ["TLS_HOSTNAME"]
TIMEOUT = 30  # seconds; bounds every socket operation
QUEUED = b"2.0.0 Ok: queued as "


def connect(source=None):
    """smtplib connected to fakemx (from `source`, another loopback address,
    when given); returns (client, greeting code, greeting text). TLS verifies
    HOSTNAME: starttls() takes the name from the host it connected to."""
    s = smtplib.SMTP(local_hostname="client.test", timeout=TIMEOUT,
                     source_address=(source, 0) if source else None)
    code, text = s.connect("127.0.0.1", PORT)
    s._host = HOSTNAME
    return s, code, text


def message(subject, body="body\r\n"):
    return (f"From: a@example.org\r\nTo: b@example.net\r\nSubject: {subject}\r\n\r\n"
            + body).encode("ascii")


def stored():
    return sorted(os.listdir(os.path.join(MAILDIR, "new")))


def sidecar(name):
    with open(os.path.join(MAILDIR, "envelopes", name + ".json"), "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def stored_bytes(name):
    with open(os.path.join(MAILDIR, "new", name), "rb") as f:
        return f.read()


def queued_name(code, text):
    assert code == 250 and text.startswith(QUEUED), (code, text)
    return text[len(QUEUED):].decode("ascii")


def expect(got, want, what):
    assert got == want, f"{what}: got {got!r}, want {want!r}"


def deliver(s, subject, sender="a@example.org", rcpts=("b@example.net",)):
    """MAIL, RCPT..., DATA on an open session, each expected to succeed;
    checks the stored copy and returns its name."""
    expect(s.mail(sender)[0], 250, "MAIL")
    for r in rcpts:
        expect(s.rcpt(r)[0], 250, f"RCPT {r}")
    body = message(subject)
    name = queued_name(*s.data(body))
    expect(stored_bytes(name), body, f"stored copy of {subject!r}")
    return name


def verifying_context():
    return ssl.create_default_context(cafile=CA)


def non_verifying_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def unknown_verb_reply(s):
    """What the receiver answers to a verb no SMTP server knows."""
    return s.docmd("XYZZY")


# ---------------------------------------------------------------------------
# One function per catalogue entry.


def good():
    s, code, text = connect()
    expect(code, 220, "greeting")
    assert text.startswith(HOSTNAME.encode() + b" "), f"greeting names {text!r}, want {HOSTNAME}"
    expect(s.ehlo()[0], 250, "EHLO")
    assert s.has_extn("starttls"), s.esmtp_features
    assert not s.has_extn("auth"), f"AUTH offered: {s.esmtp_features}"
    plain = deliver(s, "good, plaintext")
    expect(s.starttls(context=verifying_context())[0], 220, "STARTTLS")
    expect(s.ehlo()[0], 250, "EHLO over TLS")
    assert not s.has_extn("starttls"), "STARTTLS offered inside TLS (RFC 3207 §4.2)"
    over_tls = deliver(s, "good, over TLS")
    s.quit()
    expect(sidecar(plain)["tls"]["used"], False, "sidecar tls.used of the plaintext message")
    tls = sidecar(over_tls)["tls"]
    expect((tls["used"], tls["certificate"]), (True, "good"), "sidecar tls of the TLS message")


def no_starttls():
    s, code, _ = connect()
    expect(code, 220, "greeting")
    s.ehlo()
    assert not s.has_extn("starttls"), f"STARTTLS advertised: {s.esmtp_features}"
    try:
        s.starttls(context=verifying_context())
        raise AssertionError("smtplib.starttls() went ahead without the extension")
    except smtplib.SMTPNotSupportedError:
        pass  # smtplib's own diagnosis: "STARTTLS extension not supported by server."
    code, text = s.docmd("STARTTLS")
    expect(code, 502, f"the reply to STARTTLS ({text!r})")
    assert text.startswith(b"5.5.1 "), text
    deliver(s, "no-starttls, plaintext")
    s.quit()


def starttls_refused(code, text):
    s, greeting, _ = connect()
    expect(greeting, 220, "greeting")
    s.ehlo()
    assert s.has_extn("starttls"), f"STARTTLS not advertised: {s.esmtp_features}"
    try:
        s.starttls(context=verifying_context())
        raise AssertionError("STARTTLS accepted")
    except smtplib.SMTPResponseException as e:
        expect((e.smtp_code, e.smtp_error), (code, text), "smtplib.starttls()")
    # The refusal leaves the session in plaintext, where mail still goes.
    s.ehlo()
    deliver(s, f"after STARTTLS {code}")
    s.quit()


def handshake_abort():
    s, _, _ = connect()
    s.ehlo()
    assert s.has_extn("starttls"), s.esmtp_features
    try:
        s.starttls(context=verifying_context())
        raise AssertionError("a TLS session was negotiated")
    except ssl.SSLZeroReturnError:
        pass  # the 220 came, then the connection closed before any handshake byte
    s.close()
    expect(stored(), [], "stored messages")


# (certificate variant, first verification error (code, message) a verifying
# client stops at, as Debian 12's OpenSSL 3.0 reports it).
CERTIFICATES = {
    "expired-cert": ("expired", 10, "certificate has expired"),
    "self-signed": ("self-signed", 18, "self-signed certificate"),
    "wrong-host": ("wrong-host", 62,
                   f"Hostname mismatch, certificate is not valid for '{HOSTNAME}'."),
    "unknown-ca": ("unknown-ca", 20, "unable to get local issuer certificate"),
    "weak-rsa-1024": ("rsa-1024", 66, "EE certificate key too weak"),
}


def bad_certificate():
    variant, code, reason = CERTIFICATES[SCENARIO]
    s, _, _ = connect()
    s.ehlo()
    try:
        s.starttls(context=verifying_context())
        raise AssertionError(f"a verifying client accepted --cert={variant}")
    except ssl.SSLCertVerificationError as e:
        expect((e.verify_code, e.verify_message), (code, reason), "verification error")
    s.close()
    # A client that does not verify (most MTAs, opportunistic TLS) delivers.
    s, _, _ = connect()
    s.ehlo()
    expect(s.starttls(context=non_verifying_context())[0], 220, "STARTTLS")
    s.ehlo()
    name = deliver(s, f"{SCENARIO}, not verified")
    s.quit()
    tls = sidecar(name)["tls"]
    expect((tls["used"], tls["certificate"]), (True, variant), "sidecar tls")


def tls10_only():
    s, _, _ = connect()
    s.ehlo()
    try:
        s.starttls(context=verifying_context())
        raise AssertionError(f"the default context negotiated {s.sock.version()}")
    except ssl.SSLError as e:
        assert "legacy sigalg disallowed or unsupported" in str(e), e
    s.close()
    context = verifying_context()
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    s, _, _ = connect()
    s.ehlo()
    expect(s.starttls(context=context)[0], 220, "STARTTLS")
    expect(s.sock.version(), "TLSv1", "negotiated version")
    s.ehlo()
    name = deliver(s, "TLS 1.0")
    s.quit()
    expect(sidecar(name)["tls"]["version"], "TLSv1", "sidecar tls.version")


def non_esmtp():
    # "Answered as unknown" is checked as what it means: the same reply as a
    # verb no server knows. The catalogue text says 500 5.5.2; the session
    # answers unknown verbs 500 5.5.1 (smtp/command.cc), and so EHLO here.
    s, _, _ = connect()
    unknown = unknown_verb_reply(s)
    expect(unknown[0], 500, f"an unknown verb ({unknown!r})")
    code, text = s.ehlo()
    expect((code, text), unknown, "EHLO (answered as an unknown verb)")
    assert not s.does_esmtp
    expect(s.helo()[0], 250, "HELO")
    deliver(s, "non-esmtp after HELO")
    s.quit()
    # sendmail() tries EHLO, falls back to HELO by itself, and delivers.
    s, _, _ = connect()
    expect(s.sendmail("a@example.org", ["b@example.net"], message("non-esmtp sendmail")), {},
           "sendmail")
    assert not s.does_esmtp
    s.quit()
    expect(len(stored()), 2, "stored messages")


AUTH_MECHANISMS = ["PLAIN", "LOGIN", "CRAM-MD5"]


def auth_methods(s):
    return sorted(s.esmtp_features.get("auth", "").split())


def auth_required():
    s, _, _ = connect()
    s.ehlo()
    expect(auth_methods(s), sorted(AUTH_MECHANISMS), "AUTH before TLS")
    expect(s.mail("a@example.org"), (530, b"5.7.0 Authentication required"), "MAIL before AUTH")
    # sendmail() sees the same refusal as SMTPSenderRefused.
    try:
        s.sendmail("a@example.org", ["b@example.net"], message("no auth"))
        raise AssertionError("sendmail() without AUTH succeeded")
    except smtplib.SMTPSenderRefused as e:
        expect((e.smtp_code, e.smtp_error), (530, b"5.7.0 Authentication required"), "sendmail")
    s.close()
    # Wrong password, each mechanism: 535 5.7.8 (RFC 4954 §6).
    for mechanism in AUTH_MECHANISMS:
        s, _, _ = connect()
        s.ehlo()
        s.user, s.password = "test", "wrong"
        try:
            s.auth(mechanism, getattr(s, "auth_" + mechanism.lower().replace("-", "_")))
            raise AssertionError(f"AUTH {mechanism} accepted a wrong password")
        except smtplib.SMTPAuthenticationError as e:
            expect(e.smtp_code, 535, f"AUTH {mechanism} with a wrong password ({e.smtp_error!r})")
            assert e.smtp_error.startswith(b"5.7.8 "), e.smtp_error
        s.close()
    # test/test with each mechanism, with and without an initial response
    # (RFC 4954 §4; CRAM-MD5 has none), then mail goes.
    for mechanism, initial in [("PLAIN", True), ("PLAIN", False), ("LOGIN", False),
                               ("LOGIN", True), ("CRAM-MD5", False)]:
        s, _, _ = connect()
        s.ehlo()
        s.user, s.password = "test", "test"
        code, text = s.auth(mechanism, getattr(s, "auth_" + mechanism.lower().replace("-", "_")),
                            initial_response_ok=initial)
        expect(code, 235, f"AUTH {mechanism} (initial response: {initial}) {text!r}")
        deliver(s, f"after AUTH {mechanism}")
        s.quit()
    # Offered the same after STARTTLS; login() picks a mechanism and works.
    s, _, _ = connect()
    s.ehlo()
    expect(s.starttls(context=verifying_context())[0], 220, "STARTTLS")
    s.ehlo()
    expect(auth_methods(s), sorted(AUTH_MECHANISMS), "AUTH after TLS")
    expect(s.mail("a@example.org")[0], 530, "MAIL before AUTH, over TLS")
    s.rset()
    expect(s.login("test", "test")[0], 235, "login() over TLS")
    deliver(s, "after AUTH over TLS")
    s.quit()
    expect(len(stored()), 6, "stored messages")


GREYLIST_DELAY = 2.0  # seconds, the catalogue's
GREYLISTED = (451, b"4.7.1 Greylisted, try again later")


def greylist_attempt(sender, rcpt, subject, source=None):
    """One delivery attempt with smtplib.sendmail(), as an MTA retries: a new
    connection each time. Returns the RCPT reply: (451, text) when refused,
    (250, stored name) when delivered."""
    s, _, _ = connect(source)
    try:
        s.sendmail(sender, [rcpt], message(subject))
    except smtplib.SMTPRecipientsRefused as e:
        expect(list(e.recipients), [rcpt], "refused recipients")
        return e.recipients[rcpt]
    finally:
        s.close()
    names = [n for n in stored() if f"Subject: {subject}\r\n".encode() in stored_bytes(n)]
    expect(len(names), 1, f"stored copies of {subject!r}")
    return 250, names[0]


def greylist():
    start = time.monotonic()
    expect(greylist_attempt("a@example.org", "b@example.net", "first"), GREYLISTED,
           "first attempt")
    expect(greylist_attempt("a@example.org", "b@example.net", "early retry"), GREYLISTED,
           "a retry before the delay")
    early = time.monotonic() - start
    assert early < GREYLIST_DELAY - 0.5, f"the early retry came {early:.2f} s after the first: test too slow"
    # Each of sender, recipient and client address is part of the triplet:
    # changing one starts over, even though (a, b, 127.0.0.1) is known.
    expect(greylist_attempt("c@example.org", "b@example.net", "other sender"), GREYLISTED,
           "another sender")
    expect(greylist_attempt("a@example.org", "d@example.net", "other recipient"), GREYLISTED,
           "another recipient")
    expect(greylist_attempt("a@example.org", "b@example.net", "other client", source="127.0.0.2"),
           GREYLISTED, "another client address (127.0.0.2)")
    expect(stored(), [], "stored messages while greylisted")
    time.sleep(max(0.0, start + GREYLIST_DELAY + 0.7 - time.monotonic()))
    code, name = greylist_attempt("a@example.org", "b@example.net", "after the delay")
    expect(code, 250, "a retry after the delay")
    expect(sidecar(name)["rcpt_to"][0]["address"], "b@example.net", "sidecar rcpt_to")
    # Once passed, the triplet stays accepted; a new one still starts over.
    expect(greylist_attempt("a@example.org", "b@example.net", "again")[0], 250, "the next message")
    expect(greylist_attempt("e@example.org", "b@example.net", "new sender late"), GREYLISTED,
           "a new triplet after others passed")
    expect(len(stored()), 2, "stored messages")


TARPIT = 1.0  # seconds before every reply


def timed(what, call):
    start = time.monotonic()
    result = call()
    took = time.monotonic() - start
    print(f"tarpit: {what} answered after {took:.2f} s")
    return result, took


def tarpit():
    # Each reply waits 1 s; a reply that came sooner is not tarpitted, and
    # one much later would mean delays add up across replies.
    s = smtplib.SMTP(local_hostname="client.test", timeout=TIMEOUT)
    steps = [
        ("greeting", lambda: s.connect("127.0.0.1", PORT), 220, 1),
        ("EHLO", s.ehlo, 250, 1),
        ("MAIL", lambda: s.mail("a@example.org"), 250, 1),
        ("RCPT", lambda: s.rcpt("b@example.net"), 250, 1),
        ("DATA (354, then 250)", lambda: s.data(message("tarpit")), 250, 2),
        ("QUIT", s.quit, 221, 1),
    ]
    for what, call, code, replies in steps:
        (got, _), took = timed(what, call)
        expect(got, code, what)
        assert took >= replies * TARPIT - 0.1, f"{what}: answered after {took:.2f} s, want >= {replies * TARPIT}"
        assert took < replies * TARPIT + 2.0, f"{what}: answered after {took:.2f} s"


NO_SUCH_USER = (550, b"5.1.1 No such user here")
TOO_MANY = (452, b"4.5.3 Too many recipients")


def reject_rcpt():
    s, _, _ = connect()
    s.ehlo()
    expect(s.mail("a@example.org")[0], 250, "MAIL")
    expect(s.rcpt("unknown@example.test"), NO_SUCH_USER, "RCPT unknown@")
    expect(s.rcpt("Unknown.Someone@example.net"), NO_SUCH_USER, "RCPT Unknown.Someone@ (glob is case-insensitive)")
    expect(s.rcpt("b@example.net")[0], 250, "RCPT 1")
    expect(s.rcpt("known-unknown@example.net")[0], 250, "RCPT 2 (local part does not start with unknown)")
    expect(s.rcpt("c@example.net"), TOO_MANY, "RCPT 3")
    expect(s.rcpt("d@example.net"), TOO_MANY, "RCPT 4")
    name = queued_name(*s.data(message("two recipients")))
    expect([r["address"] for r in sidecar(name)["rcpt_to"]],
           ["b@example.net", "known-unknown@example.net"], "sidecar rcpt_to")
    s.quit()
    # sendmail(): an unknown user alone is SMTPRecipientsRefused, and nothing
    # is sent; beside a known one it is listed as refused and the rest goes.
    s, _, _ = connect()
    try:
        s.sendmail("a@example.org", ["unknown-x@example.test"], message("unknown only"))
        raise AssertionError("sendmail() to an unknown user succeeded")
    except smtplib.SMTPRecipientsRefused as e:
        expect(e.recipients, {"unknown-x@example.test": NO_SUCH_USER}, "refused recipients")
    refused = s.sendmail("a@example.org", ["unknown-y@example.test", "e@example.net", "f@example.net",
                                           "g@example.net"], message("mixed"))
    expect(refused, {"unknown-y@example.test": NO_SUCH_USER, "g@example.net": TOO_MANY},
           "sendmail() refused")
    s.quit()
    expect(len(stored()), 2, "stored messages")


def disconnect_after_data():
    s, _, _ = connect()
    s.ehlo()
    expect(s.mail("a@example.org")[0], 250, "MAIL")
    expect(s.rcpt("b@example.net")[0], 250, "RCPT")
    try:
        got = s.data(message("dropped"))
        raise AssertionError(f"a reply after the final dot: {got!r}")
    except smtplib.SMTPServerDisconnected:
        pass  # "Connection unexpectedly closed"
    s.close()
    # The same with a raw socket: every byte up to the final dot is read, then
    # the connection closes with not one byte of reply.
    c = RawSmtpClient(PORT, timeout=TIMEOUT)
    expect(c.reply()[0], 220, "greeting")
    expect(c.command(b"EHLO raw.test")[0], 250, "EHLO")
    expect(c.command(b"MAIL FROM:<a@example.org>")[0], 250, "MAIL")
    expect(c.command(b"RCPT TO:<b@example.net>")[0], 250, "RCPT")
    expect(c.command(b"DATA")[0], 354, "DATA")
    c.send(message("dropped, raw") + b".\r\n")
    c.expect_closed()
    c.close()
    expect(stored(), [], "stored messages")


BUSY = (421, b"4.3.2 mx.example.test Too busy, try again later")


def busy_421():
    try:
        smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test", timeout=TIMEOUT)
        raise AssertionError("smtplib connected")
    except smtplib.SMTPConnectError as e:
        expect((e.smtp_code, e.smtp_error), BUSY, "SMTPConnectError")
    c = RawSmtpClient(PORT, timeout=TIMEOUT)
    code, lines = c.replies(1)[0]
    expect((code, lines), (421, [b"421 " + BUSY[1]]), "greeting")
    c.expect_closed()
    c.close()


SIZE_LIMIT = 65536


def sized_message(size):
    """A message of exactly `size` octets: lines of at most 998 (RFC 5321
    §4.5.3.1.6), no dot at a line start."""
    data = message(f"{size} octets", body="")
    remaining = size - len(data)
    assert remaining >= 2, size
    while remaining > 0:
        n = min(998, remaining - 2)
        if remaining - (n + 2) == 1:
            n -= 1  # never leave one octet, which no line can be
        data += b"x" * n + b"\r\n"
        remaining -= n + 2
    assert len(data) == size
    return data


def size_limit():
    s, _, _ = connect()
    s.ehlo()
    expect(s.esmtp_features.get("size"), str(SIZE_LIMIT), "SIZE advertised")
    code, text = s.mail("a@example.org", [f"SIZE={SIZE_LIMIT + 1}"])
    expect(code, 552, f"MAIL SIZE={SIZE_LIMIT + 1} ({text!r})")
    assert text.startswith(b"5.3.4 "), text
    expect(s.mail("a@example.org", [f"SIZE={SIZE_LIMIT}"])[0], 250, f"MAIL SIZE={SIZE_LIMIT}")
    s.rset()
    # A message of exactly the limit goes; one octet more is refused after
    # the data, when the client did not declare its size.
    fits = sized_message(SIZE_LIMIT)
    expect(s.mail("a@example.org")[0], 250, "MAIL")
    expect(s.rcpt("b@example.net")[0], 250, "RCPT")
    name = queued_name(*s.data(fits))
    expect(stored_bytes(name), fits, "stored message of the limit")
    expect(s.mail("a@example.org")[0], 250, "MAIL")
    expect(s.rcpt("b@example.net")[0], 250, "RCPT")
    code, text = s.data(sized_message(SIZE_LIMIT + 1))
    expect(code, 552, f"the end of a {SIZE_LIMIT + 1}-octet message ({text!r})")
    assert text.startswith(b"5.3.4 "), text
    # sendmail() declares the size itself (RFC 1870) and is refused at MAIL.
    try:
        s.sendmail("a@example.org", ["b@example.net"], sized_message(SIZE_LIMIT + 1000))
        raise AssertionError("sendmail() of an oversized message succeeded")
    except smtplib.SMTPSenderRefused as e:
        expect(e.smtp_code, 552, f"sendmail() ({e.smtp_error!r})")
    s.quit()
    expect(stored(), [name], "stored messages")


def smuggling_vulnerable():
    # RFC 5321 §4.1.1.4 ends data only at CRLF.CRLF; this receiver also takes
    # LF.LF, so the text after it runs as commands of a second transaction
    # (CVE-2023-51764). smtplib.data() would turn LF into CRLF: send raw.
    s, _, _ = connect()
    s.ehlo()
    expect(s.mail("a@example.org")[0], 250, "MAIL")
    expect(s.rcpt("b@example.net")[0], 250, "RCPT")
    expect(s.docmd("DATA")[0], 354, "DATA")
    s.send(b"Subject: outer\r\n\r\nouter body\n.\n"
           b"MAIL FROM:<admin@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
           b"Subject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")
    s.sock.settimeout(5)  # a strict receiver sends one reply, not five: fail fast
    replies = [s.getreply()[0] for _ in range(5)]
    expect(replies, [250, 250, 250, 354, 250], "replies (outer message, MAIL, RCPT, DATA, smuggled)")
    s.quit()
    messages = {sidecar(n)["mail_from"]["address"]: stored_bytes(n) for n in stored()}
    expect(sorted(messages), ["a@example.org", "admin@example.org"], "senders of stored messages")
    outer = messages["a@example.org"]
    assert outer.startswith(b"Subject: outer\r\n\r\nouter body") and b"smuggled" not in outer, outer
    expect(messages["admin@example.org"], b"Subject: smuggled\r\n\r\nsmuggled body\r\n",
           "the smuggled message")


def read_exactly(c, want, what):
    """Reads `want` (raw bytes, not necessarily a reply) and then checks that
    nothing more arrives for 0.3 s."""
    deadline = time.monotonic() + 10
    while len(c.buf) < len(want) and time.monotonic() < deadline:
        c.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = c.sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        c.buf += chunk
    c.sock.settimeout(0.3)
    try:
        c.buf += c.sock.recv(65536)
    except socket.timeout:
        pass
    c.sock.settimeout(TIMEOUT)
    got, c.buf = c.buf, b""
    expect(got, want, what)


def garbage_replies():
    # Bytes no client should accept as replies; only a raw socket shows them
    # as sent. Two connections: DATA's garbage may leave the session in data
    # mode, so it comes last.
    c = RawSmtpClient(PORT, timeout=TIMEOUT)
    expect(c.reply()[0], 220, "greeting")
    for command, want in [
        (b"EHLO raw.test", b"250-mx.example.test\r\n250-PIPELINING\r\n251 broken continuation\r\n"),
        (b"HELO raw.test", b"hello there\r\n"),
        (b"NOOP", b"\x00\xff\r\n"),
    ]:
        c.send(command + b"\r\n")
        read_exactly(c, want, command.decode())
    expect(c.command(b"RSET")[0], 250, "RSET")
    expect(c.command(b"QUIT")[0], 221, "QUIT")
    c.expect_closed()
    c.close()
    c = RawSmtpClient(PORT, timeout=TIMEOUT)
    expect(c.reply()[0], 220, "greeting")
    for command, want in [
        (b"EHLO raw.test", b"250-mx.example.test\r\n250-PIPELINING\r\n251 broken continuation\r\n"),
        (b"MAIL FROM:<a@example.org>", b"25\r\n"),
        (b"RCPT TO:<b@example.net>", b"250 Ok\n"),
        (b"DATA", b"999 what\r\n"),
    ]:
        c.send(command + b"\r\n")
        read_exactly(c, want, command.decode())
    c.close()
    # smtplib reads the broken EHLO reply up to its first line without a
    # hyphen, "251 broken continuation", and takes 251 for the code.
    s, _, _ = connect()
    code, text = s.ehlo()
    expect((code, text), (251, b"mx.example.test\nPIPELINING\nbroken continuation"), "smtplib's EHLO")
    s.close()


CHECKS = {
    "good": good,
    "no-starttls": no_starttls,
    "starttls-refused":
        lambda: starttls_refused(454, b"4.7.0 TLS not available due to temporary reason"),
    "starttls-advertised-then-502":
        lambda: starttls_refused(502, b"5.5.1 Command not implemented"),
    "handshake-abort": handshake_abort,
    "expired-cert": bad_certificate,
    "self-signed": bad_certificate,
    "wrong-host": bad_certificate,
    "unknown-ca": bad_certificate,
    "tls1.0-only": tls10_only,
    "weak-rsa-1024": bad_certificate,
    "non-esmtp": non_esmtp,
    "auth-required": auth_required,
    "greylist": greylist,
    "tarpit": tarpit,
    "reject-rcpt": reject_rcpt,
    "disconnect-after-data": disconnect_after_data,
    "busy-421": busy_421,
    "size-limit": size_limit,
    "smuggling-vulnerable": smuggling_vulnerable,
    "garbage-replies": garbage_replies,
}
# The DNS and MTA-STS entries differ from good only in what fakemx's DNS
# server and policy host publish; their SMTP receiver is good's.
CHECKS.update({name: good for name in (
    "no-mx", "no-spf", "broken-dmarc", "dns-timeout", "mta-sts-enforce", "mta-sts-mismatch",
    "mta-sts-testing-mismatch", "mta-sts-bad-cert", "mta-sts-404", "mta-sts-redirect",
    "dane-good", "dane-mismatch", "dane-unsigned")})

if __name__ == "__main__":
    if SCENARIO not in CHECKS:
        sys.exit(f"no smtplib check for scenario {SCENARIO!r}")
    CHECKS[SCENARIO]()
    print(f"PASS: smtplib against --scenario={SCENARIO}")
