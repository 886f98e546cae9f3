"""fakemx's leniency flags against real clients (see leniency_test.sh).

Environment, per instance NAME: NAME_PORT, NAME_MAILDIR, NAME_ERR (stderr).
  STRICT         no leniency flag, --verbose
  LENIENT        --allow-space-before-path --allow-missing-angle-brackets
                 --allow-helo-address-literal --data-nul=pass-through
  PASS_THROUGH, BARE_LF, BARE_CR, BARE_CR_OR_LF
                 --data-bare-line-endings=<the policy of smtp/data.h>
"""

import json
import os
import re
import smtplib
import unittest

from raw_smtp import RawSmtpClient

TIMEOUT = 20  # bound on every socket wait


def port(name):
    return int(os.environ[name + "_PORT"])


def maildir(name):
    return os.environ[name + "_MAILDIR"]


def stored(name):
    return set(os.listdir(os.path.join(maildir(name), "new")))


def read_message(name, file):
    with open(os.path.join(maildir(name), "new", file), "rb") as f:
        body = f.read()
    with open(os.path.join(maildir(name), "envelopes", file + ".json"), "rb") as f:
        envelope = json.loads(f.read().decode("utf-8"))
    return body, envelope


def RawClient(name):
    return RawSmtpClient(port(name), timeout=TIMEOUT)


def smtp(name):
    return smtplib.SMTP("127.0.0.1", port(name), local_hostname="client.test", timeout=TIMEOUT)


class CommandLeniencyTest(unittest.TestCase):
    """smtplib's docmd sends a command line as given, so the client sends the
    forms a strict server refuses."""

    def mail_from(self, name, argument):
        with smtp(name) as s:
            s.ehlo()
            code, _ = s.docmd("MAIL", argument)
            if code != 250:
                return code, None
            before = stored(name)
            self.assertEqual(s.rcpt("rcpt@mx.test")[0], 250)
            self.assertEqual(s.data(b"Subject: lenient\r\n\r\nbody\r\n")[0], 250)
            (new,) = stored(name) - before
            return code, read_message(name, new)[1]["mail_from"]["address"]

    def test_space_before_path_is_refused_unless_allowed(self):
        # RFC 5321 §4.1.2: no space after "FROM:"; Postfix accepts it.
        self.assertEqual(self.mail_from("STRICT", "FROM: <a@b.test>"), (501, None))
        self.assertEqual(self.mail_from("LENIENT", "FROM: <a@b.test>"), (250, "a@b.test"))

    def test_missing_angle_brackets_are_refused_unless_allowed(self):
        self.assertEqual(self.mail_from("STRICT", "FROM:a@b.test"), (501, None))
        self.assertEqual(self.mail_from("LENIENT", "FROM:a@b.test"), (250, "a@b.test"))

    def test_helo_address_literal_is_refused_unless_allowed(self):
        for name, want in (("STRICT", 501), ("LENIENT", 250)):
            with smtp(name) as s:
                self.assertEqual(s.helo("[127.0.0.1]")[0], want, name)

    def test_nul_in_data_is_refused_unless_passed_through(self):
        message = b"Subject: nul\r\n\r\na\x00b\r\n"
        for name, want in (("STRICT", 550), ("LENIENT", 250)):
            before = stored(name)
            c = RawClient(name)
            try:
                self.assertEqual(c.reply()[0], 220)
                self.assertEqual(c.command(b"EHLO client.test")[0], 250)
                self.assertEqual(c.command(b"MAIL FROM:<a@b.test>")[0], 250)
                self.assertEqual(c.command(b"RCPT TO:<rcpt@mx.test>")[0], 250)
                self.assertEqual(c.command(b"DATA")[0], 354)
                code, line = c.command(message + b".")
                self.assertEqual(code, want, line)
            finally:
                c.close()
            new = stored(name) - before
            if want == 250:
                (file,) = new
                self.assertEqual(read_message(name, file)[0], message)
            else:
                self.assertEqual(new, set())


# What a relay in front of fakemx would forward: one message whose text
# holds an ending the relay did not take for the end of data, then a second,
# spoofed transaction (SEC Consult's SMTP smuggling, December 2023).
LEGIT = b"Subject: legit\r\n\r\nlegit"
SMUGGLED = (b"MAIL FROM:<admin@bank.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nspoofed\r\n.\r\n")

REJECT, ONE, TWO = "refused", "one message", "smuggled"
# ending -> what each policy of smtp/data.h makes of it.
SMUGGLING = {
    b"\n.\n": {"STRICT": REJECT, "PASS_THROUGH": ONE, "BARE_LF": TWO, "BARE_CR": ONE,
               "BARE_CR_OR_LF": TWO},
    b"\n.\r\n": {"STRICT": REJECT, "PASS_THROUGH": ONE, "BARE_LF": TWO, "BARE_CR": ONE,
                 "BARE_CR_OR_LF": TWO},
    b"\r\n.\n": {"STRICT": REJECT, "PASS_THROUGH": ONE, "BARE_LF": TWO, "BARE_CR": ONE,
                 "BARE_CR_OR_LF": TWO},
    b"\r.\r\n": {"STRICT": REJECT, "PASS_THROUGH": ONE, "BARE_LF": ONE, "BARE_CR": TWO,
                 "BARE_CR_OR_LF": TWO},
    b"\r\n.\r": {"STRICT": REJECT, "PASS_THROUGH": ONE, "BARE_LF": ONE, "BARE_CR": TWO,
                 "BARE_CR_OR_LF": TWO},
}


class SmugglingPolicyTest(unittest.TestCase):
    def relay(self, name, ending):
        """Sends the message with `ending` inside; returns the reply codes
        after the 354 and the files it added to new/."""
        before = stored(name)
        c = RawClient(name)
        try:
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.command(b"EHLO relay.test")[0], 250)
            self.assertEqual(c.command(b"MAIL FROM:<relay@a.test>")[0], 250)
            self.assertEqual(c.command(b"RCPT TO:<victim@mx.test>")[0], 250)
            self.assertEqual(c.command(b"DATA")[0], 354)
            c.sock.sendall(LEGIT + ending + SMUGGLED + b"QUIT\r\n")
            codes = c.replies_until_close()
        finally:
            c.close()
        return codes, stored(name) - before

    def test_each_policy_reproduces_its_server(self):
        for ending, outcomes in SMUGGLING.items():
            for name, outcome in outcomes.items():
                with self.subTest(policy=name, ending=ending):
                    codes, new = self.relay(name, ending)
                    messages = {}
                    for file in new:
                        body, envelope = read_message(name, file)
                        messages[envelope["mail_from"]["address"]] = body
                    if outcome == REJECT:
                        # RFC 5321 §2.3.8, refused at the real end of data.
                        self.assertEqual(codes, [550, 221])
                        self.assertEqual(messages, {})
                    elif outcome == ONE:
                        # The ending is message text; the "smuggled" commands
                        # are stored, never run. A dot after CRLF is a stuffed
                        # one (RFC 5321 §4.5.2) and is removed.
                        self.assertEqual(codes, [250, 221])
                        sent = LEGIT + ending + SMUGGLED[:-len(b".\r\n")]
                        self.assertEqual(messages, {"relay@a.test": sent.replace(b"\r\n.", b"\r\n")})
                    else:
                        # Vulnerable: the data ends early and the rest runs as
                        # commands of the relay's session.
                        self.assertEqual(codes, [250, 250, 250, 354, 250, 221])
                        self.assertEqual(sorted(messages), ["admin@bank.test", "relay@a.test"])
                        self.assertTrue(messages["relay@a.test"].startswith(LEGIT))
                        self.assertNotIn(b"spoofed", messages["relay@a.test"])
                        self.assertEqual(messages["admin@bank.test"],
                                         b"Subject: smuggled\r\n\r\nspoofed\r\n")


class VerboseTest(unittest.TestCase):
    def test_verbose_logs_the_connection_and_every_reply(self):
        c = RawClient("STRICT")
        try:
            peer = "127.0.0.1:%d" % c.sock.getsockname()[1]
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.command(b"EHLO client.test")[0], 250)
            self.assertEqual(c.command(b"MAIL FROM: <a@b.test>")[0], 501)
            self.assertEqual(c.command(b"QUIT")[0], 221)
            self.assertEqual(c.replies_until_close(), [])
        finally:
            c.close()
        with open(os.environ["STRICT_ERR"], encoding="utf-8") as f:
            log = f.read().splitlines()
        prefix = re.compile(r"^fakemx: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z " + re.escape(peer) + " ")
        ours = [prefix.sub("", line) for line in log if prefix.match(line)]
        self.assertEqual(len(ours), 6, log)
        self.assertEqual(ours[0], "connected")
        self.assertTrue(ours[1].startswith("sent 220 mx.test "), ours[1])
        self.assertEqual(ours[2], "sent 250 mx.test greets client.test")  # first line only
        self.assertTrue(ours[3].startswith("sent 501 "), ours[3])
        self.assertEqual(ours[4], "sent 221 2.0.0 mx.test Service closing transmission channel")
        self.assertEqual(ours[5], "closed")

    def test_without_verbose_nothing_is_logged(self):
        with smtp("LENIENT") as s:
            s.noop()
        with open(os.environ["LENIENT_ERR"], encoding="utf-8") as f:
            self.assertEqual(f.read(), "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
