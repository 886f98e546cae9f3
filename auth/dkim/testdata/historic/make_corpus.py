#!/usr/bin/python3
"""Builds the historic DKIM corpus in this directory (see README.md).

Usage: make_corpus.py [--new-keys]

Signs each message of CASES with dkimpy (Debian's python3-dkim), using RSA
keys made by `openssl genrsa`, so that neither the signatures nor the keys
come from mxkit's own code. Writes:
  keys/<selector>.pem   the private keys (test-only; reused unless --new-keys)
  <selector>.eml        the signed messages, CRLF line endings as signed
  historic.zone         the key records, plus SPF and DMARC for the domain

dkimpy's t= is the signing time; it is pinned to each case's Date so the
corpus looks like the archive it stands for, and so a rerun with the same
keys writes the same bytes (RSASSA-PKCS1-v1_5 is deterministic). Every
signed message is verified back with dkimpy (minkey=512) before it is
written, so a corpus that dkimpy itself rejects is never committed.
"""
import base64
import email.utils
import os
import subprocess
import sys
import types

import dkim

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = b"archive.example"

# selector, a=, key bits, c=, Date, Subject, body. The selector names what
# the case exercises; the body differs per case so no two share a bh=.
CASES = [
    ("sha1-1024", b"rsa-sha1", 1024, (b"relaxed", b"simple"),
     "Tue, 02 Feb 2010 09:15:00 +0000", "Quarterly figures",
     "Hello team,\n\nThe Q4 figures are attached.  Please review\nbefore Friday.\n\n-- \nFinance\n"),
    ("sha1-2048", b"rsa-sha1", 2048, (b"simple", b"simple"),
     "Wed, 14 Mar 2012 17:40:00 +0000", "Re: build farm",
     "> Is the build farm back up?\n\nYes, since this morning. Jobs are queued\nin the usual order.\n"),
    ("sha256-512", b"rsa-sha256", 512, (b"relaxed", b"relaxed"),
     "Mon, 08 Oct 2012 11:02:00 +0000", "Password reset notice",
     "We reset your password on request.\r\nIf this was not you, reply to this message.\r\n"),
    ("sha256-768", b"rsa-sha256", 768, (b"relaxed", b"simple"),
     "Thu, 21 May 2015 06:30:00 +0000", "Newsletter, May 2015",
     "This month:\n  * the new office\n  * the summer schedule\n\nUnsubscribe: reply with STOP\n"),
    ("sha1-768", b"rsa-sha1", 768, (b"relaxed", b"relaxed"),
     "Sat, 03 Sep 2016 22:05:00 +0000", "Invoice 2016-0917",
     "Invoice 2016-0917 is due on 1 October 2016.\n\nThank you for your business.\n"),
]


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def message(selector, date, subject, body):
    return crlf(
        "Received: from mail.archive.example (mail.archive.example [192.0.2.10])\n"
        "\tby mx.example.net with ESMTP; %s\n"
        "From: Archive Sender <%s@archive.example>\n"
        "To: Reader <reader@example.net>\n"
        "Subject: %s\n"
        "Date: %s\n"
        "Message-ID: <%s@archive.example>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n" % (date, selector, subject, date, selector)) + crlf(body)


def key_path(selector):
    return os.path.join(HERE, "keys", selector + ".pem")


def make_key(selector, bits):
    # -traditional: PKCS#1 "RSA PRIVATE KEY", the form dkimpy reads.
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", key_path(selector), str(bits)],
                   check=True, stderr=subprocess.DEVNULL)


def public_key_base64(selector):
    der = subprocess.run(["openssl", "rsa", "-in", key_path(selector), "-pubout",
                          "-outform", "DER"], check=True, capture_output=True).stdout
    return base64.b64encode(der).decode()


def zone_txt(owner, record):
    # RFC 1035 §3.3: character-strings of at most 255 bytes.
    parts = [record[i:i + 255] for i in range(0, len(record), 255)]
    return "%-24s TXT ( %s )\n" % (owner, "\n                             ".join(
        '"%s"' % p for p in parts))


def main():
    new_keys = "--new-keys" in sys.argv[1:]
    os.makedirs(os.path.join(HERE, "keys"), exist_ok=True)
    records = {}
    for selector, algorithm, bits, canon, date, subject, body in CASES:
        if new_keys or not os.path.exists(key_path(selector)):
            make_key(selector, bits)
        with open(key_path(selector), "rb") as f:
            private_key = f.read()
        record = "v=DKIM1; k=rsa; p=" + public_key_base64(selector)
        records[selector] = record
        unsigned = message(selector, date, subject, body)
        signing_time = email.utils.mktime_tz(email.utils.parsedate_tz(date))
        # dkimpy stamps t= from time.time(); give it the message's Date.
        saved_time = dkim.time
        dkim.time = types.SimpleNamespace(time=lambda: signing_time)
        try:
            field = dkim.sign(unsigned, selector.encode(), DOMAIN, private_key,
                              canonicalize=canon, signature_algorithm=algorithm,
                              include_headers=[b"from", b"to", b"subject", b"date",
                                               b"message-id"])
        finally:
            dkim.time = saved_time
        signed = field + unsigned

        def dnsfunc(name, timeout=5, selector=selector, record=record):
            want = b"%s._domainkey.%s." % (selector.encode(), DOMAIN)
            return record.encode() if name.rstrip(b".") == want.rstrip(b".") else None

        if not dkim.verify(signed, dnsfunc=dnsfunc, minkey=512):
            sys.exit("dkimpy does not verify its own %s signature" % selector)
        with open(os.path.join(HERE, selector + ".eml"), "wb") as f:
            f.write(signed)

    with open(os.path.join(HERE, "historic.zone"), "w") as f:
        f.write("; Generated by make_corpus.py: keys for the historic DKIM corpus.\n"
                "$ORIGIN archive.example.\n$TTL 300\n"
                "@                        TXT \"v=spf1 ip4:192.0.2.10 -all\"\n"
                "_dmarc                   TXT \"v=DMARC1; p=reject\"\n")
        for selector, *_ in CASES:
            f.write(zone_txt(selector + "._domainkey", records[selector]))


if __name__ == "__main__":
    main()
