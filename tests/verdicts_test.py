"""fakemx's verdicts for mail from smtplib and swaks, signed by dkimpy.

Run by tests/verdicts_test.sh with FAKEMX_PORT, FAKEMX_MAILDIR, DKIM_DOMAIN,
DKIM_SELECTOR, DKIM_KEY (fakemx's exported PKCS#8 Ed25519 key) and WORK.
Each case sends one message, waits for its sidecar and checks the verdict
there and in the Authentication-Results field prepended to the stored copy;
then five messages, signed and spoofed in turn, go over one connection.
"""

import base64
import json
import os
import re
import smtplib
import ssl
import subprocess
import sys
import time

import dkim  # Debian's python3-dkim

PORT = int(os.environ["FAKEMX_PORT"])
MAILDIR = os.environ["FAKEMX_MAILDIR"]
DOMAIN = os.environ["DKIM_DOMAIN"]
SELECTOR = os.environ["DKIM_SELECTOR"]
WORK = os.environ["WORK"]

# RFC 8410 §7: a PKCS#8 Ed25519 private key is this 16-octet prefix and the
# 32-octet seed, which is what dkimpy takes (base64).
ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


def ed25519_seed(pem_path):
    with open(pem_path) as f:
        body = "".join(l for l in f.read().splitlines() if not l.startswith("-----"))
    der = base64.b64decode(body)
    if len(der) != 48 or not der.startswith(ED25519_PKCS8_PREFIX):
        sys.exit("FAIL: %s is not a PKCS#8 Ed25519 key" % pem_path)
    return base64.b64encode(der[16:])


SEED = ed25519_seed(os.environ["DKIM_KEY"])
failures = []


def check(what, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (what, got, want))


def message(subject, from_domain=DOMAIN, sign=True):
    text = (
        "From: Alice <alice@%s>\r\nTo: bob@%s\r\nSubject: %s\r\n"
        "Message-ID: <%s@client.test>\r\n\r\nHello from the verdicts test.\r\n"
        % (from_domain, DOMAIN, subject, subject)
    ).encode()
    if not sign:
        return text
    sig = dkim.sign(
        text,
        SELECTOR.encode(),
        DOMAIN.encode(),
        SEED,
        signature_algorithm=b"ed25519-sha256",
        include_headers=[b"from", b"to", b"subject", b"message-id"],
    )
    return sig + text


def names():
    return set(os.listdir(os.path.join(MAILDIR, "envelopes")))


def wait_new(before):
    """The sidecar and stored message of the one message added since `before`."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        added = names() - before
        if added:
            if len(added) != 1:
                sys.exit("FAIL: %d messages arrived, expected 1" % len(added))
            name = added.pop()
            with open(os.path.join(MAILDIR, "envelopes", name)) as f:
                sidecar = json.load(f)
            with open(os.path.join(MAILDIR, "new", sidecar["name"]), "rb") as f:
                stored = f.read()
            return sidecar, stored
        time.sleep(0.05)
    sys.exit("FAIL: no message within 20 s")


def field_results(stored):
    """method -> [result] from the first Authentication-Results field."""
    head = stored.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    m = re.match(r"Authentication-Results:((?:[^\r\n]|\r\n[ \t])*)", head)
    if not m:
        return None
    value = re.sub(r"\r\n[ \t]", " ", m.group(1))
    out = {}
    # A method starts a resinfo, after ";" (RFC 8601 §2.2); "policy.dmarc="
    # inside one is a property, not a method.
    for method, result in re.findall(r"(?:^|;)\s*(spf|dkim|dmarc)=([a-z]+)", value):
        out.setdefault(method, []).append(result)
    return out, value


def expect(case, sidecar, stored, spf, dkim_results, dmarc, disposition, sender, lock):
    v = sidecar.get("verdict")
    if v is None:
        failures.append("%s: the sidecar has no verdict: %s" % (case, sidecar))
        return
    check(case + " evaluated", v["evaluated"], True)
    check(case + " client_ip", v["client_ip"], "127.0.0.1")
    check(case + " spf mail_from", v["spf"]["mail_from"]["result"], spf)
    check(case + " dkim", [d["result"] for d in v["dkim"]], dkim_results)
    check(case + " dmarc", v["dmarc"]["result"], dmarc)
    check(case + " disposition", v["dmarc"]["disposition"], disposition)
    check(case + " summary", v["summary"], {"lock": lock, "sender": sender, "dmarc": disposition})
    parsed = field_results(stored)
    if parsed is None:
        failures.append("%s: no Authentication-Results field first in the stored copy" % case)
        return
    results, value = parsed
    check(case + " field authserv-id", value.split(";", 1)[0].strip(), "mx.example.test")
    check(case + " field spf", results.get("spf", [None])[0], spf)
    check(case + " field dkim", results.get("dkim"), dkim_results or ["none"])
    check(case + " field dmarc", results.get("dmarc"), [dmarc])


def via_smtplib(msg, mail_from, starttls):
    with smtplib.SMTP("127.0.0.1", PORT, timeout=20) as s:
        s.ehlo("client.example.test")
        if starttls:
            # The receiver's certificate is for mx.example.test from fakemx's
            # test root; trust is not what this test is about.
            s.starttls(context=ssl._create_unverified_context())
            s.ehlo("client.example.test")
        s.sendmail(mail_from, ["bob@" + DOMAIN], msg)


def via_swaks(msg, mail_from, starttls):
    path = os.path.join(WORK, "swaks-%d.eml" % time.monotonic_ns())
    with open(path, "wb") as f:
        f.write(msg)
    cmd = ["swaks", "--server", "127.0.0.1", "--port", str(PORT), "--helo",
           "client.example.test", "--from", mail_from, "--to", "bob@" + DOMAIN,
           "--data", "@" + path, "--timeout", "20"]
    if starttls:
        cmd.append("-tls")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit("FAIL: swaks exited %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))


CASES = [
    # name, sender, signed, MAIL FROM, STARTTLS, spf, dkim, dmarc, disposition, sender word, lock
    ("smtplib signed plaintext", via_smtplib, True, "alice@" + DOMAIN, False,
     "pass", ["pass"], "pass", "none", "authenticated", "red_lock"),
    ("smtplib signed starttls", via_smtplib, True, "alice@" + DOMAIN, True,
     "pass", ["pass"], "pass", "none", "authenticated", "encrypted"),
    ("swaks signed starttls", via_swaks, True, "alice@" + DOMAIN, True,
     "pass", ["pass"], "pass", "none", "authenticated", "encrypted"),
    ("swaks signed plaintext", via_swaks, True, "alice@" + DOMAIN, False,
     "pass", ["pass"], "pass", "none", "authenticated", "red_lock"),
    # Unsigned mail claiming the p=reject domain in From, with a MAIL FROM
    # domain fakemx's DNS does not serve: SPF cannot pass for it, nothing
    # aligned passes, so DMARC fails with the owner's reject.
    ("swaks unsigned spoofed From", via_swaks, False, "bounce@elsewhere.test", False,
     "temperror", [], "fail", "reject", "question_mark", "red_lock"),
    ("smtplib unsigned spoofed From", via_smtplib, False, "bounce@elsewhere.test", True,
     "temperror", [], "fail", "reject", "question_mark", "encrypted"),
]

for (case, send, signed, mail_from, starttls, spf, dkim_results, dmarc, disposition,
     sender, lock) in CASES:
    before = names()
    send(message(case.replace(" ", "-"), sign=signed), mail_from, starttls)
    sidecar, stored = wait_new(before)
    expect(case, sidecar, stored, spf, dkim_results, dmarc, disposition, sender, lock)

# Several messages on one connection: fakemx lets a message share the
# previous one's verdict when the two are equal (fakemx/server.cc,
# ShareVerdict), so a signed message after a spoofed one, and a spoofed one
# after a signed one, must each still get their own.
ONE_CONNECTION = [
    # subject, signed, MAIL FROM, spf, dkim, dmarc, disposition, sender word
    ("one-connection-1-signed", True, "alice@" + DOMAIN,
     "pass", ["pass"], "pass", "none", "authenticated"),
    ("one-connection-2-spoofed", False, "bounce@elsewhere.test",
     "temperror", [], "fail", "reject", "question_mark"),
    ("one-connection-3-signed", True, "alice@" + DOMAIN,
     "pass", ["pass"], "pass", "none", "authenticated"),
    ("one-connection-4-signed", True, "alice@" + DOMAIN,
     "pass", ["pass"], "pass", "none", "authenticated"),
    ("one-connection-5-spoofed", False, "bounce@elsewhere.test",
     "temperror", [], "fail", "reject", "question_mark"),
]
with smtplib.SMTP("127.0.0.1", PORT, timeout=20) as s:
    s.ehlo("client.example.test")
    for (subject, signed, mail_from, spf, dkim_results, dmarc, disposition,
         sender) in ONE_CONNECTION:
        before = names()
        # With --maildir the sidecar is written before the 250 that ends
        # sendmail(), so it is there to be read before the next message.
        s.sendmail(mail_from, ["bob@" + DOMAIN], message(subject, sign=signed))
        sidecar, stored = wait_new(before)
        check(subject + " subject", b"Subject: " + subject.encode() in stored, True)
        expect("smtplib " + subject, sidecar, stored, spf, dkim_results, dmarc,
               disposition, sender, "red_lock")

if failures:
    print("\n".join("FAIL: " + f for f in failures), file=sys.stderr)
    sys.exit(1)
print("verdicts_test.py: %d cases and %d messages on one connection passed"
      % (len(CASES), len(ONE_CONNECTION)))
