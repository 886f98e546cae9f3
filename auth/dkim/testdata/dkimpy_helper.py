#!/usr/bin/python3
"""dkimpy side of //auth/dkim:dkimpy_diff_test, and the shared half of every
dkimpy helper (fakemx/testdata/dkimpy_scenario_helper.py imports it): the
WORKDIR files both read and write.

Usage: dkimpy_helper.py WORKDIR

WORKDIR holds keys.txt ("NAME<TAB>TXT record" lines, served through dnsfunc),
manifest.txt (one case a line, tab-separated: id, algorithm, selector,
private key file, header canon, body canon, length 0/1, comma-separated h=
list) and per case: ID.eml (unsigned) and ID.ours.eml (signed by mxkit).

For every case it verifies ID.ours.eml with dkim.verify and signs ID.eml with
dkim.sign (same algorithm, canonicalization, h= list and l= choice), writing
ID.dkimpy.eml and a line "ID<TAB>pass|fail<TAB>log" to results.txt.
Exits 77 when dkimpy cannot be imported (also when imported by another
helper), so the test can skip clearly.
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


def load_dnsfunc(work):
    """A dkimpy dnsfunc answering from WORKDIR/keys.txt, names compared
    case-insensitively and without the root dot (RFC 4343 §2)."""
    keys = {}
    with open(os.path.join(work, "keys.txt"), "rb") as f:
        for line in f.read().splitlines():
            if line:
                name, record = line.split(b"\t", 1)
                keys[name.lower().rstrip(b".")] = record

    def dnsfunc(name, timeout=5):
        return keys.get(name.lower().rstrip(b"."))

    return dnsfunc


def manifest(work):
    """The cases of WORKDIR/manifest.txt, each a list of its tab-separated
    fields."""
    with open(os.path.join(work, "manifest.txt")) as f:
        return [line.split("\t") for line in f.read().splitlines() if line]


def read(work, name):
    with open(os.path.join(work, name), "rb") as f:
        return f.read()


def write(work, name, data):
    with open(os.path.join(work, name), "wb") as f:
        f.write(data)


class CaseLog:
    """dkimpy's debug log for one case, kept to report with its result."""

    def __init__(self, cid):
        self.text = io.StringIO()
        self.logger = logging.getLogger("dkimpy-" + cid)
        self.logger.handlers = [logging.StreamHandler(self.text)]
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False

    def write(self, text):
        self.text.write(text)

    def line(self):
        """The log on one line, with no tab to break a results.txt line."""
        return self.text.getvalue().replace("\t", " ").replace("\n", " | ")


def result(cid, ok, log):
    return "%s\t%s\t%s" % (cid, "pass" if ok else "fail", log.line())


def write_results(work, lines):
    with open(os.path.join(work, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    work = sys.argv[1]
    dnsfunc = load_dnsfunc(work)
    out = []
    for cid, alg, selector, keyfile, hc, bc, length, headers in manifest(work):
        log = CaseLog(cid)
        ok = dkim.verify(read(work, cid + ".ours.eml"), logger=log.logger, dnsfunc=dnsfunc)
        message = read(work, cid + ".eml")
        try:
            sig = dkim.sign(message, selector.encode(), b"example.com", read(work, keyfile),
                            canonicalize=(hc.encode(), bc.encode()),
                            signature_algorithm=alg.encode(),
                            include_headers=[h.encode() for h in headers.split(",")],
                            length=length == "1")
            write(work, cid + ".dkimpy.eml", sig + message)
        except Exception as e:  # reported, the C++ side fails the case
            log.write("dkimpy sign failed: %r" % e)
        out.append(result(cid, ok, log))
    write_results(work, out)


if __name__ == "__main__":
    main()
