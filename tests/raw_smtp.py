"""A raw SMTP client for the end-to-end tests: it sends exactly the bytes it
is given (pipelined batches, bare LFs, smuggling endings) and reads replies as
they come, which smtplib cannot do. Every socket wait is bounded."""

import socket


class RawSmtpClient:
    def __init__(self, port, timeout=20):
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    @classmethod
    def over(cls, sock, timeout=20):
        """A client over an already connected socket-like object (an
        ssl.SSLSocket for implicit TLS, or anything with recv, sendall,
        settimeout and close)."""
        client = cls.__new__(cls)
        client.timeout = timeout
        client.sock = sock
        client.buf = b""
        return client

    def starttls(self, context, server_hostname):
        """Runs the TLS handshake on the connection after the server's 220
        to STARTTLS; returns the ssl.SSLSocket. Refuses (AssertionError) when
        bytes the server sent after its 220 are already buffered: they would
        have arrived in plaintext, which RFC 3207 §4.2 forbids."""
        assert self.buf == b"", f"plaintext after the 220 to STARTTLS: {self.buf!r}"
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)
        return self.sock

    def send(self, data):
        self.sock.sendall(data)

    def replies(self, count):
        """Reads exactly `count` complete replies: [(code, [lines])].
        EOFError if the server closes first."""
        out = []
        lines = []
        while len(out) < count:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError(f"closed after replies {out!r}; pending {self.buf!r}")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if len(line) == 3 or line[3:4] == b" ":
                out.append((int(line[:3]), lines))
                lines = []
        return out

    def reply(self):
        """One complete reply as (code, last line)."""
        code, lines = self.replies(1)[0]
        return code, lines[-1]

    def codes(self, count):
        return [code for code, _ in self.replies(count)]

    def command(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def replies_until_close(self):
        """The codes of every reply until the server closes."""
        codes = []
        while True:
            try:
                codes.append(self.reply()[0])
            except EOFError:
                return codes

    def closed(self):
        """True when the server closed the connection (EOF or reset) in time."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def expect_closed(self):
        """Asserts the server sends nothing more and closes."""
        self.sock.settimeout(self.timeout)
        rest = self.sock.recv(65536)
        assert rest == b"", rest

    def close(self):
        self.sock.close()
