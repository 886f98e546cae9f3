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

The WORKDIR files are read and written by auth/dkim/testdata/dkimpy_helper.py
(a data dependency of the test), the one home of that code.
"""
import os
import sys

# In Bazel's runfiles tree and in the source tree alike, the shared helper is
# at the same place relative to this file (abspath keeps the runfiles link).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "auth", "dkim", "testdata"))
import dkimpy_helper as shared  # noqa: E402  (exits 77 without dkimpy)

dkim = shared.dkim


def main():
    work = sys.argv[1]
    dnsfunc = shared.load_dnsfunc(work)
    out = []
    for cid, alg, selector, domain, keyfile in shared.manifest(work):
        log = shared.CaseLog(cid)
        message = shared.read(work, cid + ".eml")
        try:
            sig = dkim.sign(message, selector.encode(), domain.encode(),
                            shared.read(work, keyfile).strip(),
                            signature_algorithm=(b"ed25519-sha256" if alg == "ed25519"
                                                 else b"rsa-sha256"),
                            include_headers=[b"from", b"to", b"subject"], logger=log.logger)
        except Exception as e:  # a key dkimpy cannot use is a failure to report
            log.write("sign: %r" % e)
            out.append(shared.result(cid, False, log))
            continue
        signed = sig + message
        shared.write(work, cid + ".dkimpy.eml", signed)
        out.append(shared.result(cid, dkim.verify(signed, logger=log.logger, dnsfunc=dnsfunc),
                                 log))
    shared.write_results(work, out)


if __name__ == "__main__":
    main()
