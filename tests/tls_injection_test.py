"""STARTTLS command injection (CVE-2011-0411; Poddebniak et al., "Why TLS
is better without STARTTLS", USENIX Security 2021): a client, or a
man-in-the-middle, pipelines a command after STARTTLS in the same plaintext
write. RFC 3207 §4.2 says the server must discard it; if it survives the
handshake, the attacker's plaintext runs inside the TLS session.

Run by tls_injection_test.sh with FAKEMX_PORT, FAKEMX_MAILDIR, FAKEMX_CA and
TLS_HOSTNAME in the environment.
"""

import json
import os
import ssl
import unittest

from raw_smtp import RawSmtpClient

PORT = int(os.environ["FAKEMX_PORT"])
MAILDIR = os.environ["FAKEMX_MAILDIR"]
CA = os.environ["FAKEMX_CA"]
HOSTNAME = os.environ["TLS_HOSTNAME"]
TIMEOUT = 30
QUEUED = b"250 2.0.0 Ok: queued as "


def sidecar_tls(name):
    with open(os.path.join(MAILDIR, "envelopes", name + ".json"), "rb") as f:
        envelope = json.loads(f.read().decode("utf-8"))
    # RFC 3207 §4.2: what the client said before TLS is forgotten; the
    # envelope carries the EHLO given under TLS.
    assert envelope["helo"] == {"command": "EHLO", "domain": "after-tls.test"}, envelope["helo"]
    return envelope["tls"]


class InjectionTest(unittest.TestCase):
    def session(self, pipelined):
        """EHLO, then b"STARTTLS\\r\\n" + pipelined in one write, the
        handshake, and a message over TLS. Returns the sidecar's tls."""
        c = RawSmtpClient(PORT, timeout=TIMEOUT)
        try:
            self.assertEqual(c.codes(1), [220])
            c.send(b"EHLO before-tls.test\r\n")
            (code, lines), = c.replies(1)
            self.assertEqual(code, 250)
            self.assertIn(b"250-STARTTLS", lines)
            c.send(b"STARTTLS\r\n" + pipelined)
            code, line = c.reply()
            self.assertEqual(code, 220, line)
            # Nothing came with the 220 (starttls() asserts the buffer is
            # empty), and nothing in plaintext before the ServerHello either:
            # a plaintext "250" there would be read as a TLS record and the
            # handshake would fail (wrong version number).
            context = ssl.create_default_context(cafile=CA)
            tls = c.starttls(context, HOSTNAME)
            self.assertEqual(tls.version(), "TLSv1.3")
            # The first reply over TLS is the EHLO's: no 250 for the RSET in
            # front of it. A RCPT before MAIL must then get 503 (RFC 5321
            # §4.1.4), not a leftover 250.
            c.send(b"EHLO after-tls.test\r\n")
            (code, lines), = c.replies(1)
            self.assertEqual(code, 250, lines)
            self.assertTrue(lines[0].startswith(b"250-" + HOSTNAME.encode()), lines)
            self.assertNotIn(b"250-STARTTLS", lines)
            code, line = c.command(b"RCPT TO:<early@example.net>")
            self.assertEqual(code, 503, line)
            self.assertEqual(c.command(b"MAIL FROM:<a@example.org>")[0], 250)
            self.assertEqual(c.command(b"RCPT TO:<b@example.net>")[0], 250)
            self.assertEqual(c.command(b"DATA")[0], 354)
            c.send(b"Subject: injection\r\n\r\nafter STARTTLS\r\n.\r\n")
            code, line = c.reply()
            self.assertTrue(line.startswith(QUEUED), line)
            name = line[len(QUEUED):].decode("ascii")
            self.assertEqual(c.command(b"QUIT")[0], 221)
        finally:
            c.close()
        with open(os.path.join(MAILDIR, "new", name), "rb") as f:
            self.assertEqual(f.read(), b"Subject: injection\r\n\r\nafter STARTTLS\r\n")
        return sidecar_tls(name)

    def test_rset_pipelined_after_starttls_is_discarded_and_counted(self):
        tls = self.session(b"RSET\r\n")
        self.assertEqual(tls["used"], True)
        self.assertEqual(tls["plaintext_discarded_bytes"], len(b"RSET\r\n"))

    def test_pipelined_mail_transaction_never_reaches_the_tls_session(self):
        # The attack as published: a whole envelope in the plaintext write.
        # Had it survived, the RCPT-before-MAIL check in session() would get
        # 250 (MAIL FROM:<evil> would be open) instead of 503.
        injected = b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\n"
        tls = self.session(injected)
        self.assertEqual(tls["plaintext_discarded_bytes"], len(injected))

    def test_starttls_alone_discards_nothing(self):
        self.assertEqual(self.session(b"")["plaintext_discarded_bytes"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
