#!/usr/bin/python3
"""dkimpy side of //auth/dkim:dkimpy_diff_test.

Usage: dkimpy_helper.py WORKDIR

WORKDIR holds keys.txt ("NAME<TAB>TXT record" lines, served through dnsfunc),
manifest.txt (one case a line, tab-separated: id, algorithm, selector,
private key file, header canon, body canon, length 0/1, comma-separated h=
list) and per case: ID.eml (unsigned) and ID.ours.eml (signed by mxkit).

For every case it verifies ID.ours.eml with dkim.verify and signs ID.eml with
dkim.sign (same algorithm, canonicalization, h= list and l= choice), writing
ID.dkimpy.eml and a line "ID<TAB>pass|fail<TAB>log" to results.txt.
Exits 77 when dkimpy cannot be imported, so the test can skip clearly.
"""
import io
import logging
import os
import sys

try:
    import dkim
except ImportError as e:  # python3-dkim missing
    print("dkimpy unavailable: %s" % e, file=sys.stderr)
    sys.exit(77)


def main():
    work = sys.argv[1]
    keys = {}
    with open(os.path.join(work, "keys.txt"), "rb") as f:
        for line in f.read().splitlines():
            if line:
                name, record = line.split(b"\t", 1)
                keys[name.lower().rstrip(b".")] = record

    def dnsfunc(name, timeout=5):
        return keys.get(name.lower().rstrip(b"."))

    out = []
    with open(os.path.join(work, "manifest.txt")) as f:
        for line in f.read().splitlines():
            if not line:
                continue
            cid, alg, selector, keyfile, hc, bc, length, headers = line.split("\t")
            with open(os.path.join(work, cid + ".ours.eml"), "rb") as m:
                ours = m.read()
            log = io.StringIO()
            logger = logging.getLogger("dkimpy-" + cid)
            logger.handlers = [logging.StreamHandler(log)]
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
            ok = dkim.verify(ours, logger=logger, dnsfunc=dnsfunc)
            with open(os.path.join(work, cid + ".eml"), "rb") as m:
                message = m.read()
            with open(os.path.join(work, keyfile), "rb") as k:
                key = k.read()
            try:
                sig = dkim.sign(message, selector.encode(), b"example.com", key,
                                canonicalize=(hc.encode(), bc.encode()),
                                signature_algorithm=alg.encode(),
                                include_headers=[h.encode() for h in headers.split(",")],
                                length=length == "1")
                with open(os.path.join(work, cid + ".dkimpy.eml"), "wb") as m:
                    m.write(sig + message)
            except Exception as e:  # reported, the C++ side fails the case
                log.write("dkimpy sign failed: %r" % e)
            text = log.getvalue().replace("\t", " ").replace("\n", " | ")
            out.append("%s\t%s\t%s" % (cid, "pass" if ok else "fail", text))
    with open(os.path.join(work, "results.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
