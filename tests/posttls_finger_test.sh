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
# The DANE part (at the end) runs both with fakemx's DNS as the system
# resolver, in a namespace of their own.
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
#  - weak-rsa-1024: mxkit holds the leaf to OpenSSL security level 2
#    (Debian's default; `openssl s_client -starttls smtp` says "Verify return
#    code: 66 (EE certificate key too weak)") and reports it not verified, 66.
#    posttls-finger as installed says "Verified TLS connection ... RSA-PSS
#    (1024 bits)", here with our OPENSSL_CONF and, tried by hand, with the
#    system one too: Postfix calls SSL_CTX_set_security_level itself and
#    evidently does not leave it at 2. Checked exactly: posttls-finger
#    verified with no reason, mxkit not verified with 66, the rest equal.
#
#   tests/posttls_finger_test.sh FAKEMX MXKIT
source tests/fakemx_fixture.sh
source testing/conformance.sh
FAKEMX_BIN="$1"
MXKIT_BIN="$2"
export FAKEMX_HOSTNAME=mx.example.test
require_peer posttls-finger "command -v posttls-finger || test -x /usr/sbin/posttls-finger" \
  "Debian package postfix"
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
# side by side; EXPECTED_DIFFERENCE is "" (all agree), "cipher-preference",
# "tls10-legacy-sigalg" or "weak-key-level".
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
elif expected == "weak-key-level":
    for key in ("established", "protocol", "cipher"):
        check(key)
    if not (ptf.get("verified") is True and ptf["verify_reason"] == ""):
        problems.append(f"posttls-finger was expected to verify the RSA-1024 leaf, got {ptf}")
    if not (mx.get("verified") is False and tls.get("verify_result") == 66):
        problems.append(f"mxkit was expected to refuse the RSA-1024 leaf with 66, got {tls}")
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
run weak-rsa-1024 1 weak-key-level

# DANE, with fakemx's DNS as the system resolver of both: in a network and
# mount namespace of their own (unshare -nm; we are root, so posttls-finger
# can still drop to the postfix user), fakemx serves DNS on 127.0.0.1:53 and
# SMTP on 127.0.0.1:25, a resolv.conf naming it (with glibc's trust-ad, so
# the AD bit reaches Postfix) is bind-mounted over /etc/resolv.conf, and
# both tools look up example.test's MX and TLSA themselves:
# `posttls-finger -l dane example.test` and `mxkit probe example.test`
# (c-ares reading the same resolv.conf).
if ! unshare -nm --propagation private true 2>/dev/null; then
  skip_or_fail "no network+mount namespace (unshare -nm) for the DANE part" && {
    echo "PASS: posttls-finger and mxkit probe agree (DANE part skipped)"
    exit 0
  }
  exit 1
fi
NS="$FIXTURE_TMP/ns"
mkdir -p "$NS"
printf 'nameserver 127.0.0.1\noptions trust-ad\n' >"$NS/resolv.conf"
cat >"$NS/inner.sh" <<'INNER'
set -u
ns=$1 fakemx=$2 mxkit=$3 ptf=$4 sc=$5
ip link set lo up
mount --bind "$ns/resolv.conf" /etc/resolv.conf
dir="$ns/$sc"
mkdir -p "$dir"
"$fakemx" --scenario="$sc" --smtp=127.0.0.1:25 --dns=127.0.0.1:53 --tls-dir="$dir/tls" \
  --maildir="$dir/maildir" >"$dir/fakemx.out" 2>&1 &
pid=$!
trap 'kill -KILL $pid 2>/dev/null' EXIT
for ((i = 0; i < 200; i++)); do
  grep -q '^fakemx: listening on smtp' "$dir/fakemx.out" && break
  sleep 0.1
done
timeout 60 "$ptf" -c -l dane -F "$dir/tls/ca.pem" example.test >"$dir/ptf.log" 2>&1
timeout 60 "$mxkit" probe example.test --trust="$dir/tls/ca.pem" --timeout=10 --json \
  >"$dir/probe.json" 2>"$dir/probe.err"
echo "$?" >"$dir/probe.rc"
INNER
for sc in dane-good dane-mismatch dane-unsigned; do
  unshare -nm --propagation private bash "$NS/inner.sh" "$NS" "$(realpath "$FAKEMX_BIN")" \
    "$(realpath "$MXKIT_BIN")" "$PTF" "$sc" || fail "$sc: the namespace run failed"
  [[ $(cat "$NS/$sc/probe.rc") == 0 ]] || {
    cat "$NS/$sc/fakemx.out" "$NS/$sc/probe.err" >&2
    fail "$sc: mxkit probe exited $(cat "$NS/$sc/probe.rc") in the namespace"
  }
  /usr/bin/python3 - "$sc" "$NS/$sc/probe.json" "$NS/$sc/ptf.log" <<'PY' ||
import json, re, sys
sc, json_path, log_path = sys.argv[1:4]
mx = json.load(open(json_path, encoding="utf-8"))["mx"][0]
log = open(log_path, encoding="utf-8", errors="replace").read()
dane = mx["policies"]["dane"]
tlsa = mx["tlsa"]
problems = []
if sc == "dane-good":
    # Both match the same record against the leaf.
    m = re.search(r"Matched DANE EE certificate at depth 0: (\d \d \d [0-9A-F]+)", log)
    if not m or "Verified TLS connection established" not in log:
        problems.append("posttls-finger did not verify by DANE-EE")
    elif [m.group(1).lower()] != [r.lower() for r in tlsa["records"]]:
        problems.append(f"records: posttls-finger matched {m.group(1)}, mxkit saw {tlsa['records']}")
    if not (tlsa["lookup"] == "authenticated" and dane["deliver"] and dane["authenticated"]):
        problems.append(f"mxkit dane verdict {dane}, tlsa {tlsa}")
elif sc == "dane-mismatch":
    # Authenticated TLSA, no match: Postfix's X.509 error 65, our tlsa-invalid.
    if "num=65:no matching DANE TLSA records" not in log or "Untrusted TLS connection" not in log:
        problems.append("posttls-finger did not report 'no matching DANE TLSA records'")
    if not (tlsa["lookup"] == "authenticated" and not dane["deliver"]
            and dane["result_type"] == "tlsa-invalid"):
        problems.append(f"mxkit dane verdict {dane}, tlsa {tlsa}")
else:
    # No AD: both ignore the TLSA records. Named difference: posttls-finger,
    # finding DNSSEC unavailable, falls back to its "secure" level (PKIX with
    # -F), while mxkit's dane verdict falls back to may.
    if "DANE" in log or "DNSSEC validation may be unavailable" not in log:
        problems.append("posttls-finger used the unauthenticated TLSA records")
    if not (tlsa["lookup"] == "unauthenticated" and dane["deliver"]
            and dane["result_type"] is None and not dane["authenticated"]):
        problems.append(f"mxkit dane verdict {dane}, tlsa {tlsa}")
if problems:
    print(log, file=sys.stderr)
    sys.exit("\n".join(f"{sc}: {p}" for p in problems))
print(f"{sc}: DANE agrees: tlsa {tlsa['lookup']}, mxkit dane deliver={dane['deliver']} "
      f"authenticated={dane['authenticated']} result_type={dane['result_type']}")
PY
    fail "$sc: posttls-finger -l dane and mxkit probe disagree"
done
echo "PASS: posttls-finger and mxkit probe agree"
