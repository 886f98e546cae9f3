"""dnspython (Debian's python3-dnspython) against fakemx's DNS listener:
dns.query.udp and dns.query.tcp get the records, faults, TC, AD and case
that fakemx/dns_listener_peers_test.sh sets up. Usage: HOST PORT."""

import sys

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

host, port = sys.argv[1], int(sys.argv[2])
failures = []


def check(what, condition):
    if not condition:
        failures.append(what)


def ask(name, rdtype, tcp, **kwargs):
    # make_query turns EDNS on whenever a payload is given.
    if "payload" in kwargs:
        kwargs["use_edns"] = 0
    query = dns.message.make_query(name, rdtype, **kwargs)
    if tcp:
        return dns.query.tcp(query, host, port=port, timeout=2)
    return dns.query.udp(query, host, port=port, timeout=2)


for tcp in (False, True):
    via = "tcp" if tcp else "udp"
    r = ask("example.test", "MX", tcp)
    check(f"{via}: MX NOERROR", r.rcode() == dns.rcode.NOERROR)
    check(f"{via}: aa ra", r.flags & dns.flags.AA and r.flags & dns.flags.RA)
    check(f"{via}: one MX", [str(rr) for rrset in r.answer for rr in rrset] == ["10 mx.example.test."])
    r = ask("wWw.example.test", "A", tcp)
    names = [rrset.name.to_text() for rrset in r.answer]
    check(f"{via}: CNAME then A, case kept {names}", names == ["wWw.example.test.", "mx.example.test."])
    check(f"{via}: question case", r.question[0].name.to_text() == "wWw.example.test.")
    for name, rcode in [("none.example.test", dns.rcode.NXDOMAIN), ("nx.example.test", dns.rcode.NXDOMAIN),
                        ("servfail.example.test", dns.rcode.SERVFAIL), ("refused.example.test", dns.rcode.REFUSED),
                        ("example.org", dns.rcode.REFUSED)]:
        r = ask(name, "A", tcp)
        check(f"{via}: {name} rcode {dns.rcode.to_text(r.rcode())}", r.rcode() == rcode)
    r = ask("none.example.test", "A", tcp)
    check(f"{via}: SOA in authority with TTL 60",
          [(rrset.rdtype, rrset.ttl) for rrset in r.authority] == [(dns.rdatatype.SOA, 60)])
    r = ask("mx.example.test", "A", tcp, want_dnssec=True)
    check(f"{via}: AD with DO", bool(r.flags & dns.flags.AD))
    check(f"{via}: DO echoed", bool(r.ednsflags & dns.flags.DO) and r.payload == 1232)
    r = ask("host.plain.test", "A", tcp, want_dnssec=True)
    check(f"{via}: no AD for plain.test", not r.flags & dns.flags.AD and len(r.answer) == 1)
    try:
        ask("timeout.example.test", "A", tcp)
        check(f"{via}: timeout fault times out", False)
    except dns.exception.Timeout:
        pass

r = ask("big.example.test", "TXT", False)
check("udp without EDNS: TC and no records", r.flags & dns.flags.TC and not r.answer)
r = ask("big.example.test", "TXT", False, payload=4096)
check("udp with EDNS 4096: fits 1232", not r.flags & dns.flags.TC and len(r.answer[0]) == 6)
r = ask("trunc.example.test", "A", False)
check("truncate fault: TC over UDP", r.flags & dns.flags.TC and not r.answer)
r = ask("trunc.example.test", "A", True)
check("truncate fault: answered over TCP", len(r.answer) == 1)

if failures:
    print("dnspython: FAILED: " + "; ".join(failures))
    sys.exit(1)
print("dnspython: all checks passed")
