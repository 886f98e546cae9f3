#!/usr/bin/python3
"""Runs Debian's pyspf (python3-spf) over zones and cases for the differential
test (auth/spf/differential_test.cc) and the benchmark script.

usage: pyspf_driver.py CASES ZONES.yml [ZONES.yml ...]
       pyspf_driver.py --time ROUNDS ZONES.yml

ZONES.yml files use the RFC 7208 suite's format (a stream of documents with
`zonedata`); their documents are numbered 0.. across all files in order.
CASES has one case per line: scenario-number TAB host TAB mailfrom TAB helo,
with backslash escapes (\\\\, \\t, \\n, \\xHH). For each case one line is
printed: result TAB explanation (explanation only for fail), escaped the same
way. DNS is served from the scenario's zone with the conventions of pyspf's own
suite driver (testspf.py): SPF also served as TXT unless explicit TXT,
`TXT: NONE`, and TIMEOUT for types with no records listed before it.

--time runs every test of the suite files ROUNDS times and prints the seconds
taken and the number of checks, for auth/benchmarks/spf_vs_pyspf.sh.
"""
import re
import socket
import sys
import time

import spf
import yaml

zonedata = {}


def DNSLookup(name, qtype, strict=True, timeout=None, level=0):
    # pyspf's testspf.py fake resolver, kept as is so pyspf runs the way its
    # own authors test it.
    try:
        timeout = True
        a = []
        for label in name.split('.'):
            if label:
                if len(label) > 63:
                    raise spf.TempError('DNS label too long')
                a.append(label)
        name = '.'.join(a)
        for i in zonedata[name.lower()]:
            if i == 'TIMEOUT':
                if timeout:
                    raise spf.TempError('DNS timeout')
                return
            t, v, n = i
            if t == qtype:
                timeout = False
            if v == 'TIMEOUT':
                if t == qtype:
                    raise spf.TempError('DNS timeout')
                continue
            if t == 'AAAA':
                v = bytes(socket.inet_pton(socket.AF_INET6, v))
            elif t in ('TXT', 'SPF'):
                v = tuple([s.encode('latin-1') for s in v])
            yield ((n, t), v)
            if not level and t == 'CNAME':
                for j in DNSLookup(v, qtype, strict, timeout, 1):
                    yield j
    except KeyError:
        pass


spf.DNSLookup = DNSLookup


def getrdata(r, name):
    txt = []
    gen = True
    for m in r:
        if isinstance(m, str):
            yield m
            continue
        for t, v in list(m.items()):
            if t in ('TXT', 'SPF') and isinstance(v, str):
                v = (v,)
            if t == 'TXT':
                gen = False
            elif t == 'SPF' and gen:
                txt.append(('TXT', v, name))
            if v != ('NONE',):
                yield (t, v, name)
    if gen:
        for i in txt:
            yield i


def load_zones(paths):
    scenarios = []
    for path in paths:
        with open(path, 'rb') as fp:
            for doc in yaml.safe_load_all(fp):
                if not doc:
                    continue
                zone = dict((d.lower().rstrip('.'), list(getrdata(r, d)))
                            for d, r in (doc.get('zonedata') or {}).items())
                scenarios.append((zone, doc.get('tests') or {}))
    return scenarios


def unescape(s):
    return re.sub(r'\\(x[0-9A-Fa-f]{2}|t|n|\\)',
                  lambda m: {'t': '\t', 'n': '\n', '\\': '\\'}.get(m.group(1)) or chr(int(m.group(1)[1:], 16)),
                  s)


def escape(s):
    out = []
    for c in s:
        if c == '\\':
            out.append('\\\\')
        elif c == '\t':
            out.append('\\t')
        elif c == '\n':
            out.append('\\n')
        elif ord(c) < 0x20 or ord(c) > 0x7e:
            out.append('\\x%02X' % (ord(c) & 0xff))
        else:
            out.append(c)
    return ''.join(out)


def check(host, mailfrom, helo):
    q = spf.query(i=host, s=mailfrom, h=helo, strict=True)
    q.set_default_explanation('DEFAULT')
    res, _, exp = q.check()
    res = {'unknown': 'permerror', 'error': 'temperror'}.get(res, res)
    return res, (exp if res == 'fail' else '')


def main(argv):
    global zonedata
    if len(argv) >= 3 and argv[1] == '--time':
        rounds = int(argv[2])
        scenarios = load_zones(argv[3:])
        cases = [(zone, t) for zone, tests in scenarios for t in tests.values()]
        start = time.process_time()
        for _ in range(rounds):
            for zone, t in cases:
                zonedata = zone
                check(t['host'], t['mailfrom'], t['helo'])
        elapsed = time.process_time() - start
        print('%.6f %d' % (elapsed, rounds * len(cases)))
        return 0
    scenarios = load_zones(argv[2:])
    with open(argv[1], encoding='latin-1') as fp:
        for line in fp:
            fields = [unescape(f) for f in line.rstrip('\n').split('\t')]
            zonedata = scenarios[int(fields[0])][0]
            try:
                res, exp = check(fields[1], fields[2], fields[3])
            except Exception as e:  # a pyspf crash is a result to compare too
                res, exp = 'exception', type(e).__name__ + ': ' + str(e)
            sys.stdout.write(res + '\t' + escape(exp) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
