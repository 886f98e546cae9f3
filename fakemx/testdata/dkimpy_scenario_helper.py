#!/usr/bin/python3
"""dkimpy side of //fakemx:scenario_dns_dkimpy_test.

Usage: dkimpy_scenario_helper.py WORKDIR

WORKDIR holds keys.txt ("NAME<TAB>TXT record" lines: the DKIM records fakemx's
BuildScenarioDns published, served through dnsfunc), manifest.txt (one case a
line: id, algorithm, selector, domain, key file) and ID.eml per case. The key
file is the exported PKCS#8 PEM for rsa, the base64 seed dkimpy takes for
ed25519 (RFC 8463 §3 keys). For each case dkimpy signs ID.eml with the key
(ID.dkimpy.eml) and verifies what it signed against the published record,
writing "ID<TAB>pass|fail<TAB>log" to results.txt. Exits 77 when dkimpy cannot
be imported, so the test can say so.
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
            cid, alg, selector, domain, keyfile = line.split("\t")
            with open(os.path.join(work, cid + ".eml"), "rb") as m:
                message = m.read()
            with open(os.path.join(work, keyfile), "rb") as k:
                key = k.read().strip()
            log = io.StringIO()
            logger = logging.getLogger("dkimpy-" + cid)
            logger.handlers = [logging.StreamHandler(log)]
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
            try:
                sig = dkim.sign(message, selector.encode(), domain.encode(), key,
                                signature_algorithm=(b"ed25519-sha256" if alg == "ed25519"
                                                     else b"rsa-sha256"),
                                include_headers=[b"from", b"to", b"subject"], logger=logger)
            except Exception as e:  # a key dkimpy cannot use is a failure to report
                out.append("%s\tfail\tsign: %r %s" % (cid, e, log.getvalue().replace("\n", " | ")))
                continue
            signed = sig + message
            with open(os.path.join(work, cid + ".dkimpy.eml"), "wb") as s:
                s.write(signed)
            ok = dkim.verify(signed, logger=logger, dnsfunc=dnsfunc)
            out.append("%s\t%s\t%s" % (cid, "pass" if ok else "fail",
                                       log.getvalue().replace("\n", " | ")))
    with open(os.path.join(work, "results.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
