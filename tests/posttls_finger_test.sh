#!/bin/bash
# Postfix's posttls-finger and mxkit probe against the same fakemx receivers
# must agree on the TLS facts of a hop: STARTTLS offered, the STARTTLS reply,
# TLS established, protocol, cipher, and whether the chain verified for the MX
# name (and why not). Where they differ, the difference is named and checked
# for exactly what it is, so a change on either side fails the test.
#
# posttls-finger resolves through the system resolver (it has no flag for a
# DNS server, and /etc/resolv.conf is not ours to change in a test), so both
# connect to [127.0.0.1]:PORT and are told the MX name: posttls-finger as its
# match argument, mxkit through a zone file whose MX points at 127.0.0.1.
#
# Named differences:
#  - TLS 1.3 cipher: the server (BoringSSL) follows the client's preference;
#    OpenSSL 3 lists TLS_AES_256_GCM_SHA384 first, BoringSSL
#    TLS_AES_128_GCM_SHA256. Checked both ways: as installed they differ in
#    exactly that; with OPENSSL_CONF listing TLS_AES_128_GCM_SHA256 alone
#    they agree. Every other scenario runs with that OPENSSL_CONF.
#  - tls1.0-only: OpenSSL 3 refuses TLS 1.0's SHA-1 signed key exchange
#    ("legacy sigalg disallowed or unsupported") at the security levels
#    Postfix's cipher settings reach; mxkit offers TLS 1.0 as a sending MTA
#    does (BoringSSL allows it when asked) and reports TLSv1.
#
#   tests/posttls_finger_test.sh FAKEMX MXKIT
source tests/fakemx_fixture.sh
source testing/conformance.sh
FAKEMX_BIN="$1"
MXKIT_BIN="$2"
export FAKEMX_HOSTNAME=mx.example.test
# Under CI a missing peer fails the test instead of skipping it.
[[ "${CI:-}" == true ]] && export MXKIT_REQUIRE_CONFORMANCE=1
if ! command -v posttls-finger >/dev/null 2>&1 && [[ ! -x /usr/sbin/posttls-finger ]]; then
  skip_or_fail "posttls-finger is not available (Debian package postfix; tools/debian-packages.txt)" &&
    exit 0
  exit 1
fi
PTF=$(command -v posttls-finger || echo /usr/sbin/posttls-finger)

ZONE="$FIXTURE_TMP/probe.zone"
printf 'example.test. 300 IN MX 10 mx.example.test.\nmx.example.test. 300 IN A 127.0.0.1\n' >"$ZONE"
PINNED="$FIXTURE_TMP/openssl-aes128.cnf"
cat >"$PINNED" <<'CNF'
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = TLS_AES_128_GCM_SHA256
CNF

# compare SCENARIO MXKIT_JSON PTF_LOG EXPECTED_DIFFERENCE: the facts of both,
# side by side; EXPECTED_DIFFERENCE is "" (all agree), "cipher-preference"
# or "tls10-legacy-sigalg".
compare() {
  /usr/bin/python3 - "$@" <<'PY' || fail "$1: posttls-finger and mxkit probe disagree"
import json, re, subprocess, sys
scenario, json_path, log_path, expected = sys.argv[1:5]
probe = json.load(open(json_path, encoding="utf-8"))
hop = probe["mx"][0]["hop"]
log = open(log_path, encoding="utf-8", errors="replace").read()
lines = [l.split("posttls-finger: ", 1)[-1] for l in log.splitlines()]

# posttls-finger's facts, from its chat and TLS summary lines.
ptf = {}
first_ehlo = []
for l in lines:
    if l.startswith("> STARTTLS") or l.startswith("> QUIT"):
        break
    if l.startswith("< 250"):
        first_ehlo.append(l[6:])
ptf["offered"] = "STARTTLS" in first_ehlo
m = re.search(r"^> STARTTLS\n< (\d{3})", "\n".join(lines), re.M)
r = re.search(r"STARTTLS rejected: (\d{3})", log)
ptf["starttls_code"] = int(m.group(1)) if m else (int(r.group(1)) if r else None)
e = re.search(r"(Verified|Trusted|Untrusted|Anonymous) TLS connection established to \S+: "
              r"(TLSv[0-9.]+) with cipher (\S+)", log)
ptf["established"] = bool(e)
if e:
    ptf["verified"] = e.group(1) == "Verified"
    ptf["protocol"] = {"TLSv1": "TLSv1", "TLSv1.1": "TLSv1.1"}.get(e.group(2), e.group(2))
    name = e.group(3)
    if not name.startswith("TLS_"):  # OpenSSL's name for a TLS 1.2 suite: map to IANA
        out = subprocess.run(["openssl", "ciphers", "-stdname", name], capture_output=True, text=True).stdout
        name = out.split()[0] if out else name
    ptf["cipher"] = name
v = re.search(r"(?:server )?certificate verification failed for \S+: (.*)", log)
ptf["verify_reason"] = v.group(1).strip() if v else ""

tls = hop["tls"]
mx = {"offered": hop["starttls_offered"],
      "starttls_code": hop["starttls_reply"]["code"] if hop["starttls_reply"] else None,
      "established": tls["established"]}
if tls["established"]:
    mx.update(verified=tls["verified"], protocol=tls["version"], cipher=tls["cipher"])
# OpenSSL's words for the X.509 errors fakemx's variants produce, as
# posttls-finger logs them (20 is Postfix's own "untrusted issuer").
reasons = {0: "", 10: "certificate has expired", 62: "num=62:hostname mismatch",
           18: "self-signed certificate", 20: "untrusted issuer"}
problems = []
def check(key, want_equal=True):
    a, b = ptf.get(key), mx.get(key)
    if (a == b) != want_equal:
        problems.append(f"{key}: posttls-finger {a!r}, mxkit {b!r}"
                        + ("" if want_equal else " (expected to differ)"))
for key in ("offered", "starttls_code"):
    check(key)
if expected == "tls10-legacy-sigalg":
    if "legacy sigalg disallowed or unsupported" not in log or ptf["established"]:
        problems.append("posttls-finger was expected to refuse TLS 1.0 with 'legacy sigalg'")
    if not (mx["established"] and mx.get("protocol") == "TLSv1"):
        problems.append(f"mxkit was expected to report TLSv1, got {mx}")
else:
    for key in ("established", "protocol", "verified"):
        check(key)
    if mx["established"]:
        if expected == "cipher-preference":
            if not (ptf["cipher"] == "TLS_AES_256_GCM_SHA384" and mx["cipher"] == "TLS_AES_128_GCM_SHA256"):
                problems.append(f"cipher: expected the client-preference difference, got "
                                f"{ptf['cipher']} / {mx['cipher']}")
        else:
            check("cipher")
        want = reasons.get(tls["verify_result"])
        if want is None:
            problems.append(f"no posttls-finger wording known for X.509 error {tls['verify_result']}")
        elif not ptf["verify_reason"].startswith(want) or (want == "") != (ptf["verify_reason"] == ""):
            problems.append(f"verify reason: posttls-finger {ptf['verify_reason']!r}, "
                            f"mxkit {tls['verify_result']} ({tls['verify_error']})")
if problems:
    print(f"{scenario}: posttls-finger {ptf}\n{scenario}: mxkit {mx}", file=sys.stderr)
    sys.exit("\n".join(f"{scenario}: {p}" for p in problems))
print(f"{scenario}: " + (f"agree but for the named difference {expected}: " if expected else "agree: ") + str(mx))
PY
}

# run SCENARIO PINNED(0|1) EXPECTED_DIFFERENCE
run() {
  local sc="$1" pinned="$2" expected="$3"
  local dir="$FIXTURE_TMP/tls.$sc.$pinned"
  fakemx_start "$FAKEMX_BIN" --scenario="$sc" --tls-dir="$dir"
  local json="$FIXTURE_TMP/$sc.$pinned.json" log="$FIXTURE_TMP/$sc.$pinned.ptf"
  set +e
  timeout 60 "$MXKIT_BIN" probe example.test --zone="$ZONE" --port="$FAKEMX_PORT" \
    --trust="$dir/ca.pem" --timeout=10 --json >"$json" 2>"$json.err"
  local rc=$?
  if ((pinned)); then
    OPENSSL_CONF="$PINNED" timeout 60 "$PTF" -l secure -F "$dir/ca.pem" \
      "[127.0.0.1]:$FAKEMX_PORT" mx.example.test >"$log" 2>&1
  else
    timeout 60 "$PTF" -l secure -F "$dir/ca.pem" "[127.0.0.1]:$FAKEMX_PORT" mx.example.test >"$log" 2>&1
  fi
  set -e
  [[ $rc == 0 ]] || { cat "$json" "$json.err" >&2; fail "$sc: mxkit probe exited $rc"; }
  compare "$sc" "$json" "$log" "$expected" || { cat "$log" >&2; exit 1; }
  fakemx_stop
}

run good 0 cipher-preference
run good 1 ""
for sc in expired-cert wrong-host self-signed unknown-ca no-starttls starttls-refused \
  starttls-advertised-then-502 handshake-abort; do
  run "$sc" 1 ""
done
run tls1.0-only 1 tls10-legacy-sigalg
echo "PASS: posttls-finger and mxkit probe agree"
