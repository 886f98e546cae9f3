"""Python smtplib (and raw sockets for RFC 2920 pipelining) against fakemx.

Run by smtplib_test.sh with /usr/bin/python3, which starts two fakemx
instances and passes them in the environment:
  FAKEMX_PORT, FAKEMX_MAILDIR            the main instance
  FAKEMX_FAIL_PORT, FAKEMX_FAIL_MAILDIR  an instance whose Maildir this test breaks

Every stored message is found by the name in fakemx's "250 ... queued as
NAME" reply and compared byte for byte with what the client meant to send.
"""

import json
import os
import random
import shutil
import smtplib
import unittest

from raw_smtp import RawSmtpClient

PORT = int(os.environ["FAKEMX_PORT"])
MAILDIR = os.environ["FAKEMX_MAILDIR"]
FAIL_PORT = int(os.environ["FAKEMX_FAIL_PORT"])
FAIL_MAILDIR = os.environ["FAKEMX_FAIL_MAILDIR"]
TIMEOUT = 30  # seconds; every socket operation is bounded
QUEUED = b"Ok: queued as "


def stored(name):
    with open(os.path.join(MAILDIR, "new", name), "rb") as f:
        message = f.read()
    with open(os.path.join(MAILDIR, "envelopes", name + ".json"), "rb") as f:
        envelope = json.loads(f.read().decode("utf-8"))
    return message, envelope


def queued_name(reply_text):
    assert reply_text.startswith(b"2.0.0 " + QUEUED), reply_text
    return reply_text[len(b"2.0.0 ") + len(QUEUED):].decode("ascii")


def crlf_message(subject, body_lines):
    lines = [f"From: a@example.org", "To: b@example.net", f"Subject: {subject}", ""]
    return ("\r\n".join(lines + body_lines) + "\r\n").encode("ascii")


def RawClient(port=PORT):
    return RawSmtpClient(port, timeout=TIMEOUT)


class SmtplibTest(unittest.TestCase):
    def send(self, message, sender="a@example.org", rcpts=("b@example.net",), mail_options=()):
        """One transaction without pipelining; returns the stored name."""
        with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test", timeout=TIMEOUT) as s:
            s.ehlo()
            code, _ = s.mail(sender, list(mail_options))
            self.assertEqual(code, 250)
            for r in rcpts:
                code, _ = s.rcpt(r)
                self.assertEqual(code, 250)
            code, text = s.data(message)
            self.assertEqual(code, 250, text)
            return queued_name(text)

    def test_plain_message_without_pipelining_is_stored_byte_exact(self):
        message = crlf_message("plain", ["Hello.", "", "Bye."])
        name = self.send(message)
        got, env = stored(name)
        self.assertEqual(got, message)
        self.assertEqual(env["mail_from"]["address"], "a@example.org")
        self.assertEqual([r["address"] for r in env["rcpt_to"]], ["b@example.net"])
        self.assertEqual(env["helo"], {"command": "EHLO", "domain": "client.test"})
        self.assertEqual(env["size"], len(message))

    def test_helo_session_without_esmtp(self):
        message = crlf_message("helo", ["over HELO"])
        with smtplib.SMTP("127.0.0.1", PORT, local_hostname="old.client", timeout=TIMEOUT) as s:
            code, _ = s.helo()
            self.assertEqual(code, 250)
            self.assertEqual(s.mail("x@example.org")[0], 250)
            self.assertEqual(s.rcpt("y@example.net")[0], 250)
            code, text = s.data(message)
            self.assertEqual(code, 250)
        got, env = stored(queued_name(text))
        self.assertEqual(got, message)
        self.assertEqual(env["helo"], {"command": "HELO", "domain": "old.client"})

    def test_dot_stuffing_round_trips(self):
        # smtplib stuffs every line that starts with "." (RFC 5321 §4.5.2);
        # fakemx must store the original lines, dots and all.
        body = [".", "..", ".hidden", "...", "a.", ". space", "last"]
        message = crlf_message("dots", body)
        name = self.send(message)
        self.assertEqual(stored(name)[0], message)

    def test_raw_stuffed_dots_are_unstuffed(self):
        c = RawClient()
        try:
            self.assertEqual(c.codes(1), [220])
            c.send(b"HELO raw.test\r\n")
            self.assertEqual(c.codes(1), [250])
            for cmd in (b"MAIL FROM:<r@example.org>\r\n", b"RCPT TO:<s@example.net>\r\n"):
                c.send(cmd)
                self.assertEqual(c.codes(1), [250])
            c.send(b"DATA\r\n")
            self.assertEqual(c.codes(1), [354])
            c.send(b"Subject: raw\r\n\r\n..\r\n...x\r\n.y\r\nz\r\n.\r\n")
            (code, lines), = c.replies(1)
            self.assertEqual(code, 250)
            name = queued_name(lines[0][4:])
            c.send(b"QUIT\r\n")
            self.assertEqual(c.codes(1), [221])
        finally:
            c.close()
        # "..x" -> ".x"; ".y" is a lone leading dot, removed too (§4.5.2).
        self.assertEqual(stored(name)[0], b"Subject: raw\r\n\r\n.\r\n..x\r\ny\r\nz\r\n")

    def test_pipelined_commands_get_every_reply_in_order(self):
        c = RawClient()
        try:
            self.assertEqual(c.codes(1), [220])
            # RFC 2920 §3.1: EHLO may not be pipelined with what follows
            # only if the client waits for PIPELINING; we send everything in
            # one write anyway, the way aggressive clients do.
            c.send(b"EHLO pipe.test\r\nMAIL FROM:<p1@example.org>\r\nRCPT TO:<q1@example.net>\r\n"
                   b"RCPT TO:<q2@example.net>\r\nDATA\r\n")
            replies = c.replies(5)
            self.assertEqual([code for code, _ in replies], [250, 250, 250, 250, 354])
            self.assertIn(b"250-PIPELINING", replies[0][1])
            first = crlf_message("pipelined 1", ["one"])
            second = crlf_message("pipelined 2", [".two"])
            # The end of data, a whole next transaction up to DATA, in one write.
            c.send(first + b".\r\nMAIL FROM:<p2@example.org>\r\nRCPT TO:<q3@example.net>\r\n"
                   b"RSET\r\nMAIL FROM:<p3@example.org>\r\nRCPT TO:<q4@example.net>\r\nDATA\r\n")
            replies = c.replies(7)
            # end of data, MAIL, RCPT, RSET, MAIL, RCPT, DATA
            self.assertEqual([code for code, _ in replies], [250, 250, 250, 250, 250, 250, 354])
            name1 = queued_name(replies[0][1][0][4:])
            c.send(second.replace(b"\r\n.two", b"\r\n..two") + b".\r\nQUIT\r\n")
            replies = c.replies(2)
            self.assertEqual([code for code, _ in replies], [250, 221])
            name2 = queued_name(replies[0][1][0][4:])
            c.expect_closed()
        finally:
            c.close()
        msg1, env1 = stored(name1)
        msg2, env2 = stored(name2)
        self.assertEqual(msg1, first)
        self.assertEqual(msg2, second)
        self.assertEqual(env1["mail_from"]["address"], "p1@example.org")
        self.assertEqual([r["address"] for r in env1["rcpt_to"]], ["q1@example.net", "q2@example.net"])
        # The RSET discarded p2/q3.
        self.assertEqual(env2["mail_from"]["address"], "p3@example.org")
        self.assertEqual([r["address"] for r in env2["rcpt_to"]], ["q4@example.net"])

    def test_pipelined_bad_commands_are_answered_in_place(self):
        c = RawClient()
        try:
            self.assertEqual(c.codes(1), [220])
            c.send(b"EHLO pipe.test\r\nRCPT TO:<early@example.net>\r\nMAIL FROM:<x@example.org>\r\n"
                   b"RCPT TO:<bad address>\r\nRCPT TO:<ok@example.net>\r\nNOOP\r\nRSET\r\nQUIT\r\n")
            codes = c.codes(8)
            self.assertEqual(codes[0], 250)
            self.assertEqual(codes[1], 503)       # RCPT before MAIL (RFC 5321 §4.1.4)
            self.assertEqual(codes[2], 250)
            self.assertIn(codes[3], (501, 553))   # syntax error in the path
            self.assertEqual(codes[4:], [250, 250, 250, 221])
        finally:
            c.close()

    def test_ten_mib_message_is_stored_byte_exact(self):
        rng = random.Random(5321)
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-"
        lines = []
        size = 0
        while size < 10 * 1024 * 1024:
            line = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 120)))
            lines.append(line)
            size += len(line) + 2
        message = crlf_message("big", lines)
        self.assertGreaterEqual(len(message), 10 * 1024 * 1024)
        name = self.send(message, mail_options=[f"SIZE={len(message)}"])
        got, env = stored(name)
        self.assertEqual(len(got), len(message))
        self.assertEqual(got, message)
        self.assertIn(["SIZE", str(len(message))], env["mail_from"]["params"])

    def test_hundred_recipients_are_recorded_in_order(self):
        rcpts = [f"user{i:03d}@example.net" for i in range(100)]
        message = crlf_message("many", ["hi all"])
        name = self.send(message, rcpts=rcpts)
        got, env = stored(name)
        self.assertEqual(got, message)
        self.assertEqual([r["address"] for r in env["rcpt_to"]], rcpts)

    def test_recipient_101_gets_452(self):
        # RFC 5321 §4.5.3.1.10: past the recipient buffer the server says 452.
        with smtplib.SMTP("127.0.0.1", PORT, timeout=TIMEOUT) as s:
            s.ehlo()
            self.assertEqual(s.mail("a@example.org")[0], 250)
            for i in range(100):
                self.assertEqual(s.rcpt(f"u{i}@example.net")[0], 250)
            code, text = s.rcpt("one.too.many@example.net")
            self.assertEqual(code, 452, text)
            self.assertEqual(s.rset()[0], 250)

    def test_rset_mid_transaction_discards_the_envelope(self):
        message = crlf_message("after rset", ["second try"])
        with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test", timeout=TIMEOUT) as s:
            s.ehlo()
            self.assertEqual(s.mail("first@example.org")[0], 250)
            self.assertEqual(s.rcpt("gone@example.net")[0], 250)
            self.assertEqual(s.rset()[0], 250)
            self.assertEqual(s.mail("second@example.org")[0], 250)
            self.assertEqual(s.rcpt("kept@example.net")[0], 250)
            code, text = s.data(message)
            self.assertEqual(code, 250)
        got, env = stored(queued_name(text))
        self.assertEqual(got, message)
        self.assertEqual(env["mail_from"]["address"], "second@example.org")
        self.assertEqual([r["address"] for r in env["rcpt_to"]], ["kept@example.net"])

    def test_declared_size_above_the_limit_gets_552(self):
        with smtplib.SMTP("127.0.0.1", PORT, timeout=TIMEOUT) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("size"))
            limit = int(s.esmtp_features["size"])
            code, _ = s.mail("a@example.org", [f"SIZE={limit + 1}"])
            self.assertEqual(code, 552)

    def test_null_sender_is_recorded_as_empty(self):
        message = crlf_message("bounce", ["undeliverable"])
        name = self.send(message, sender="")
        self.assertEqual(stored(name)[1]["mail_from"]["address"], "")

    def test_storage_failure_answers_451_and_stores_nothing(self):
        # Removing tmp/ makes every Deliver() fail at its first step.
        shutil.rmtree(os.path.join(FAIL_MAILDIR, "tmp"))
        message = crlf_message("unstorable", ["x"])
        with smtplib.SMTP("127.0.0.1", FAIL_PORT, timeout=TIMEOUT) as s:
            s.ehlo()
            for _ in range(2):  # the session survives a failed transaction
                self.assertEqual(s.mail("a@example.org")[0], 250)
                self.assertEqual(s.rcpt("b@example.net")[0], 250)
                code, text = s.data(message)
                self.assertEqual(code, 451, text)
                self.assertTrue(text.startswith(b"4.3.0 "), text)
            self.assertEqual(s.noop()[0], 250)
        self.assertEqual(os.listdir(os.path.join(FAIL_MAILDIR, "new")), [])
        self.assertEqual(os.listdir(os.path.join(FAIL_MAILDIR, "envelopes")), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
