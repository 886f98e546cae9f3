"""SIGTERM and timeouts against running fakemx instances (see shutdown_test.sh).

Environment (each instance: _PID, _PORT, _MAILDIR):
  GRACEFUL_*  default 30 s grace: an in-flight transaction must complete
  SHORTGRACE_*  --shutdown-grace=1: a stalled DATA gets 421, nothing stored
  TIMEOUTS_*  --idle-timeout=1 --session-timeout=3
  BOUNCE_*  default grace: a transaction from the null reverse path "<>"
"""

import os
import signal
import socket
import time
import unittest

from raw_smtp import RawSmtpClient

TIMEOUT = 20  # bound on every socket wait


def instance(prefix):
    return (int(os.environ[prefix + "_PID"]), int(os.environ[prefix + "_PORT"]),
            os.environ[prefix + "_MAILDIR"])


class Client(RawSmtpClient):
    def __init__(self, port):
        super().__init__(port, timeout=TIMEOUT)

    def start_data(self, sender, rcpt):
        assert self.reply()[0] == 220
        assert self.command(b"EHLO shutdown.test")[0] == 250
        assert self.command(b"MAIL FROM:<" + sender + b">")[0] == 250
        assert self.command(b"RCPT TO:<" + rcpt + b">")[0] == 250
        assert self.command(b"DATA")[0] == 354


def wait_exit(pid, seconds):
    """Waits for `pid` (not our child) to disappear; True if it did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except (ConnectionRefusedError, ConnectionResetError):
        return True


class ShutdownTest(unittest.TestCase):
    def test_sigterm_lets_the_transaction_in_flight_finish(self):
        pid, port, maildir = instance("GRACEFUL")
        busy = Client(port)
        idle = Client(port)
        try:
            busy.start_data(b"busy@example.org", b"rcpt@example.net")
            head = b"Subject: in flight\r\n\r\nfirst half\r\n"
            tail = b"second half\r\n"
            busy.send(head)
            self.assertEqual(idle.reply()[0], 220)
            self.assertEqual(idle.command(b"EHLO idle.test")[0], 250)

            os.kill(pid, signal.SIGTERM)
            # Between transactions: 421 at once, then the close.
            code, line = idle.reply()
            self.assertEqual(code, 421, line)
            self.assertIn(b"4.3.2", line)
            self.assertTrue(idle.closed())
            # No new connections.
            deadline = time.monotonic() + 5
            while not refused(port) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(refused(port))
            # Still alive for the transaction in progress.
            time.sleep(0.3)
            os.kill(pid, 0)
            self.assertEqual(os.listdir(os.path.join(maildir, "new")), [])

            busy.send(tail + b".\r\n")
            code, line = busy.reply()
            self.assertEqual(code, 250, line)
            name = line.split(b"queued as ")[1].decode()
            # After its transaction the client is told to go away (421), or,
            # if its QUIT arrives first, gets 221.
            busy.send(b"QUIT\r\n")
            code, line = busy.reply()
            self.assertIn(code, (221, 421), line)
            self.assertTrue(busy.closed())
        finally:
            busy.close()
            idle.close()
        self.assertTrue(wait_exit(pid, 10), "fakemx did not exit after the last transaction")
        self.assertEqual(os.listdir(os.path.join(maildir, "new")), [name])
        self.assertEqual(os.listdir(os.path.join(maildir, "tmp")), [])
        with open(os.path.join(maildir, "new", name), "rb") as f:
            self.assertEqual(f.read(), head + tail)

    def test_sigterm_lets_a_bounce_finish_from_mail_from_on(self):
        # "MAIL FROM:<>" before any RCPT leaves the envelope looking empty;
        # fakemx once took that for "between transactions" and cut the
        # bounce off with 421 (RFC 5321 §4.5.5: bounces use the null path).
        pid, port, maildir = instance("BOUNCE")
        c = Client(port)
        try:
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.command(b"EHLO bounce.test")[0], 250)
            self.assertEqual(c.command(b"MAIL FROM:<>")[0], 250)
            os.kill(pid, signal.SIGTERM)
            time.sleep(0.3)  # a 421 would be on its way by now
            code, line = c.command(b"RCPT TO:<postmaster@example.net>")
            self.assertEqual(code, 250, line)
            self.assertEqual(c.command(b"DATA")[0], 354)
            body = b"Subject: Undelivered Mail Returned to Sender\r\n\r\nbounce\r\n"
            code, line = c.command(body + b".")
            self.assertEqual(code, 250, line)
            name = line.split(b"queued as ")[1].decode()
            code, line = c.reply()  # then the shutdown's 421, unasked
            self.assertEqual(code, 421, line)
            self.assertTrue(c.closed())
        finally:
            c.close()
        self.assertTrue(wait_exit(pid, 10), "fakemx did not exit after the bounce")
        self.assertEqual(os.listdir(os.path.join(maildir, "new")), [name])
        with open(os.path.join(maildir, "new", name), "rb") as f:
            self.assertEqual(f.read(), body)

    def test_grace_expiry_answers_421_and_stores_nothing_half_done(self):
        pid, port, maildir = instance("SHORTGRACE")
        c = Client(port)
        try:
            c.start_data(b"slow@example.org", b"rcpt@example.net")
            c.send(b"Subject: never finished\r\n\r\npartial")
            started = time.monotonic()
            os.kill(pid, signal.SIGTERM)
            code, line = c.reply()
            self.assertEqual(code, 421, line)
            self.assertGreaterEqual(time.monotonic() - started, 0.5)  # the grace was given
            self.assertTrue(c.closed())
        finally:
            c.close()
        self.assertTrue(wait_exit(pid, 10))
        for sub in ("new", "tmp", "envelopes"):
            self.assertEqual(os.listdir(os.path.join(maildir, sub)), [], sub)

    def test_idle_client_gets_421_after_the_idle_timeout(self):
        _, port, _ = instance("TIMEOUTS")
        c = Client(port)
        try:
            self.assertEqual(c.reply()[0], 220)
            started = time.monotonic()
            code, line = c.reply()  # nothing sent: the idle timer (1 s) fires
            self.assertEqual(code, 421, line)
            self.assertIn(b"4.4.2", line)
            self.assertGreaterEqual(time.monotonic() - started, 0.5)
            self.assertTrue(c.closed())
        finally:
            c.close()

    def test_busy_client_gets_421_after_the_session_timeout(self):
        _, port, _ = instance("TIMEOUTS")
        c = Client(port)
        try:
            self.assertEqual(c.reply()[0], 220)
            started = time.monotonic()
            # NOOP every 0.3 s keeps the idle timer (1 s) from firing.
            while True:
                c.send(b"NOOP\r\n")
                code, line = c.reply()
                if code != 250:
                    break
                self.assertLess(time.monotonic() - started, 10, "no session timeout")
                time.sleep(0.3)
            self.assertEqual(code, 421, line)
            self.assertIn(b"session time limit", line)
            self.assertGreaterEqual(time.monotonic() - started, 2.5)
            self.assertTrue(c.closed())
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
