#!/usr/bin/env python3
"""A one-site HTTPS server for mta_sts_fetcher_test: Python's http.server and
ssl modules (not our code) serving /.well-known/mta-sts.txt the way MODE says.

usage: https_policy_server.py CHAIN_PEM KEY_PEM MODE
Binds 127.0.0.1:0 and prints the port on stdout, then serves until killed.
MODE: ok, testing-crlf, not-found, redirect, html, oversize, invalid, slow,
      no-length (body ended by closing the connection)
"""
import http.server
import ssl
import sys
import time

POLICY = b"version: STSv1\nmode: enforce\nmx: mx.example.test\nmx: *.example.test\nmax_age: 86400\n"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep the test log quiet
        pass

    def send(self, status, body, content_type="text/plain", extra=(), length=True):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        mode = self.server.mode
        if self.path != "/.well-known/mta-sts.txt":
            return self.send(404, b"wrong path " + self.path.encode() + b"\n")
        if self.headers.get("Host") != "mta-sts.example.test":
            return self.send(400, b"wrong host\n")
        if mode == "ok":
            return self.send(200, POLICY, "text/plain; charset=utf-8")
        if mode == "testing-crlf":
            return self.send(200, POLICY.replace(b"enforce", b"testing").replace(b"\n", b"\r\n"))
        if mode == "not-found":
            return self.send(404, b"no policy here\n")
        if mode == "redirect":
            return self.send(301, b"", extra=[("Location", "https://elsewhere.example/p.txt")])
        if mode == "html":
            return self.send(200, b"<html>" + POLICY + b"</html>", "text/html")
        if mode == "oversize":
            return self.send(200, POLICY + b"x: " + b"a" * (70 * 1024) + b"\n")
        if mode == "invalid":
            return self.send(200, b"version: STSv1\nmode: enforcing\nmx: a.example\nmax_age: 1\n")
        if mode == "slow":
            time.sleep(30)
            return self.send(200, POLICY)
        if mode == "no-length":
            self.close_connection = True
            return self.send(200, POLICY, length=False)
        return self.send(500, b"unknown mode\n")


def main():
    chain, key, mode = sys.argv[1:4]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.mode = mode
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
