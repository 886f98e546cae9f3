"""Delivers one message to fakemx's implicit-TLS listener through
`openssl s_client -connect` (RFC 8314 §3.3: TLS from the first byte, as on
port 465), speaking SMTP over s_client's stdin and stdout one command at a
time, the way a person at a terminal would. Prints the stored name.

  tls_smtps_openssl.py PORT CA_FILE HOSTNAME MESSAGE_FILE

s_client verifies the chain and the name and aborts on failure
(-verify_return_error), so a delivery also means the certificate passed.
"""

import os
import select
import subprocess
import sys

from raw_smtp import RawSmtpClient

TIMEOUT = 30  # seconds for each reply


class PipeSocket:
    """s_client's stdin/stdout as the socket RawSmtpClient reads from."""

    def __init__(self, proc):
        self.proc = proc
        self.timeout = TIMEOUT

    def settimeout(self, timeout):
        self.timeout = timeout

    def recv(self, size):
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], self.timeout)
        if not ready:
            raise TimeoutError(f"no reply from s_client within {self.timeout} s")
        return os.read(fd, size)

    def sendall(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close(self):
        self.proc.stdin.close()


def main():
    port, cafile, hostname, message_file = sys.argv[1:]
    with open(message_file, "rb") as f:
        message = f.read()
    # -quiet: only the server's bytes on stdout (and it implies -ign_eof);
    # -nocommands: a line starting with Q or R is SMTP, not an s_client
    # command. No -crlf: the commands below carry their own CRLF.
    proc = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", hostname,
         "-CAfile", cafile, "-verify_hostname", hostname, "-verify_return_error",
         "-quiet", "-nocommands"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    c = RawSmtpClient.over(PipeSocket(proc), timeout=TIMEOUT)
    try:
        code, line = c.reply()
        assert code == 220, line
        c.send(b"EHLO client.test\r\n")
        (code, lines), = c.replies(1)
        assert code == 250, lines
        # Inside TLS already: nothing to upgrade (RFC 3207 §4.2, RFC 8314 §3.3).
        assert not any(l[4:].upper() == b"STARTTLS" for l in lines), lines
        for command in (b"MAIL FROM:<alice@example.org>", b"RCPT TO:<bob@example.net>"):
            code, line = c.command(command)
            assert code == 250, (command, line)
        code, line = c.command(b"DATA")
        assert code == 354, line
        c.send(message + b".\r\n")
        code, line = c.reply()
        assert code == 250 and line.startswith(b"250 2.0.0 Ok: queued as "), line
        name = line[len(b"250 2.0.0 Ok: queued as "):].decode("ascii")
        code, line = c.command(b"QUIT")
        assert code == 221, line
        c.sock.close()
        proc.wait(timeout=TIMEOUT)
    except BaseException:
        proc.kill()
        _, err = proc.communicate(timeout=TIMEOUT)
        sys.stderr.write("--- s_client stderr ---\n" + err.decode("utf-8", "replace"))
        raise
    err = proc.stderr.read().decode("utf-8", "replace")
    # s_client exits 0 once the server closes after 221.
    assert proc.returncode == 0, f"s_client exited {proc.returncode}: {err}"
    print(name)


if __name__ == "__main__":
    main()
