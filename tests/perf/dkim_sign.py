#!/usr/bin/python3
"""The DKIM-signed test message of tests/perf (verdict_throughput.sh,
instructions_per_message.sh): SIZE bytes From and To DOMAIN, signed by dkimpy
with the key fakemx exports for DOMAIN (banner line "fakemx: dkim-key DOMAIN
SELECTOR FILE"), Ed25519 when the key is one (RFC 8463), else RSA.

  dkim_sign.py KEY_FILE DOMAIN SELECTOR SIZE OUT

OUT has LF line ends: smtp-source -F sends each line with CRLF (and
dot-stuffs), so the bytes fakemx receives are the CRLF text signed here.
"""
import base64, sys, dkim
if len(sys.argv) != 6:
    sys.exit("usage: dkim_sign.py KEY_FILE DOMAIN SELECTOR SIZE OUT")
key_file, domain, selector, size, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
pem = open(key_file).read()
body = "".join(l for l in pem.splitlines() if not l.startswith("-----"))
der = base64.b64decode(body)
prefix = bytes.fromhex("302e020100300506032b657004220420")  # RFC 8410 §7 PKCS#8 Ed25519
if len(der) == 48 and der.startswith(prefix):
    key, alg = base64.b64encode(der[16:]), b"ed25519-sha256"
else:
    key, alg = pem.encode(), b"rsa-sha256"
head = ("From: Perf <perf@%s>\r\nTo: sink@%s\r\nSubject: verdict throughput\r\n"
        "Date: Sun, 29 Nov 2026 12:00:00 +0000\r\nMessage-ID: <perf@client.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" % (domain, domain))
line = "The quick brown fox jumps over the lazy dog, again and again, for the load.\r\n"
text = head + line * max(1, (size - len(head)) // len(line))
msg = text.encode()
sig = dkim.sign(msg, selector.encode(), domain.encode(), key, signature_algorithm=alg,
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
open(out, "wb").write((sig + msg).replace(b"\r\n", b"\n"))
