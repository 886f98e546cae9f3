"""Client traffic for scenario_chaos_test.sh: 30 transactions with Python's
smtplib, each on a new connection (EHLO, MAIL, RCPT, DATA), stopping a
transaction at its first refusal as an MTA would. Writes what fakemx
answered, in order, as JSON to OUT, and checks the capture: every message
answered 250 is in the Maildir exactly once, no other message is.

  scenario_chaos_test.py PORT MAILDIR OUT
"""

import json
import os
import re
import smtplib
import sys

PORT, MAILDIR, OUT = int(sys.argv[1]), sys.argv[2], sys.argv[3]
TRANSACTIONS = 30
TIMEOUT = 30


def subject(i):
    return f"chaos transaction {i}"


def transaction(i):
    """[(step, code, text)] of transaction i. The queued-as name, which
    differs between runs, is replaced below. What happens after the last
    reply (QUIT, or the server closing after a 421) is not recorded: whether
    our QUIT meets a closed socket or a reset is a race, not a reply."""
    steps = []
    s = smtplib.SMTP(local_hostname="client.test", timeout=TIMEOUT)
    try:
        steps.append(("greeting",) + s.connect("127.0.0.1", PORT))
        steps.append(("EHLO", s.ehlo()[0], b""))
        for step, call in [
            ("MAIL", lambda: s.mail(f"sender{i}@example.org")),
            ("RCPT", lambda: s.rcpt(f"rcpt{i}@example.net")),
            ("message", lambda: s.data(f"Subject: {subject(i)}\r\n\r\nbody {i}\r\n".encode())),
        ]:
            code, text = call()
            steps.append((step, code, text))
            if code != 250:
                break
    except smtplib.SMTPServerDisconnected:
        steps.append(("closed", 0, b""))
    except smtplib.SMTPDataError as e:  # DATA itself refused (no 354)
        steps.append(("DATA", e.smtp_code, e.smtp_error))
    try:
        s.quit()
    except (smtplib.SMTPException, OSError):
        pass
    s.close()
    return steps


def stored_subjects():
    """Subject of every message in new/, with the file names."""
    found = {}
    for name in os.listdir(os.path.join(MAILDIR, "new")):
        with open(os.path.join(MAILDIR, "new", name), "rb") as f:
            m = re.match(rb"Subject: (.*)\r\n", f.read())
        assert m, f"new/{name} does not start with our Subject"
        found.setdefault(m.group(1).decode(), []).append(name)
    return found


replies = []
delivered = {}
for i in range(TRANSACTIONS):
    steps = transaction(i)
    last = steps[-1]
    if last[0] == "message" and last[1] == 250:
        m = re.fullmatch(rb"2\.0\.0 Ok: queued as (\S+)", last[2])
        assert m, f"transaction {i}: 250 without a queued-as name: {last[2]!r}"
        delivered[subject(i)] = m.group(1).decode()
        steps[-1] = ("message", 250, b"2.0.0 Ok: queued as NAME")
    replies.append([[step, code, text.decode("utf-8", "replace")] for step, code, text in steps])

stored = stored_subjects()
for subj, name in delivered.items():
    assert stored.get(subj) == [name], f"{subj!r}: answered 250 as {name}, stored as {stored.get(subj)}"
extra = sorted(set(stored) - set(delivered))
assert not extra, f"stored without a 250: {extra}"

with open(OUT, "w", encoding="utf-8") as f:
    json.dump(replies, f, indent=1)
# The scenario's probabilities are 0.5 at three stages: all 30 transactions
# untouched would happen with probability 8**-30, none getting past MAIL
# with 2**-30. Either means chaos is not running (or not as configured).
refused = [steps for steps in replies if steps[-1][1] != 250]
passed_mail = [steps for steps in replies if len(steps) > 2 and steps[2][:2] == ["MAIL", 250]]
assert refused, "no transaction met a fault"
assert passed_mail, "every MAIL was refused"
print(f"{len(delivered)} of {TRANSACTIONS} delivered, {len(refused)} refused; replies in {OUT}")
