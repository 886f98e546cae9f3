#!/bin/bash
# Proves that a change to fakemx's judging changed no observable output: two
# fakemx binaries (say main's and a branch's) are sent the same messages, each
# twice, under the scenarios good, broken-dmarc, no-spf, dns-timeout and good
# with `verdicts: {add_authentication_results: true}`, and what they report
# must be byte-identical:
#   - /fakemx/v1/messages JSON (every message, verdict included), without the
#     fields that differ from run to run (id, received_at, the client port);
#   - the raw stored bytes of every message (with the prepended
#     Authentication-Results field in the last scenario);
#   - the fakemx_verdicts_total and fakemx_replies_total lines of /metrics.
#
#   tests/perf/verdict_identity.sh OLD_FAKEMX NEW_FAKEMX
#
# The messages: the REFUSED sender (perf@example.org), the null sender, an
# unknown domain, no From, two authors, DKIM-signed (dkimpy, with the key
# fakemx exports and a fixed t=), signed then altered, unsigned from the
# zone, a subdomain, an upper-case domain, a display name with a comment, a
# quoted display name, and a From fakemx cannot read. Exit 0 when identical,
# 1 with the diff when not (or when a peer is missing: nothing is skipped).
set -euo pipefail
PERF_NAME=verdict_identity
# shellcheck source=tests/perf/perf_lib.sh
source "$(dirname "$0")/perf_lib.sh"

[[ $# == 2 ]] || perf_die "usage: $0 OLD_FAKEMX NEW_FAKEMX"
OLD=$1 NEW=$2
[[ -x "$OLD" && -x "$NEW" ]] || perf_die "both binaries must be executable: $OLD $NEW"
"$PERF_PY" -c 'import dkim' 2>/dev/null || perf_die "dkimpy missing (Debian package python3-dkim)"
command -v curl >/dev/null || perf_die "curl missing (Debian package curl)"
PERF_WORK=$(mktemp -d "${PERF_DIR:-/tmp}/perf_${PERF_NAME}.XXXXXX")
trap perf_cleanup EXIT
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
sed 's/^name: good$/name: good-ar/' "$REPO/fakemx/scenarios/good.yaml" >"$PERF_WORK/good-ar.yaml"
printf '    verdicts: {add_authentication_results: true}\n' >>"$PERF_WORK/good-ar.yaml"
SCENARIOS=(good broken-dmarc no-spf dns-timeout "$PERF_WORK/good-ar.yaml")

# The sender: every message twice, each in its own session (HELO
# client.example.test), then the API's view of them, normalized.
cat >"$PERF_WORK/send.py" <<'EOF'
import base64, json, smtplib, sys, time, urllib.request
import dkim
smtp_port, api_port, key_file, domain, selector, out = sys.argv[1:7]

def sign(msg):
    pem = open(key_file).read()
    der = base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----")))
    prefix = bytes.fromhex("302e020100300506032b657004220420")  # RFC 8410 §7
    if len(der) == 48 and der.startswith(prefix):
        key, alg = base64.b64encode(der[16:]), b"ed25519-sha256"
    else:
        key, alg = pem.encode(), b"rsa-sha256"
    real_time = time.time
    time.time = lambda: 1796040000  # a fixed t=: both binaries get the same bytes
    try:
        sig = dkim.sign(msg, selector.encode(), domain.encode(), key, signature_algorithm=alg,
                        include_headers=[b"from", b"to", b"subject"])
    finally:
        time.time = real_time
    return sig + msg

def m(frm, subject="identity", extra=b""):
    head = b"" if frm is None else b"From: " + frm.encode() + b"\r\n"
    return head + b"To: sink@example.test\r\nSubject: " + subject.encode() + b"\r\n" + extra + \
        b"\r\nThe body.\r\n"

d = domain
signed = sign(m("Signer <s@%s>" % d, "signed"))
altered = signed.replace(b"The body.", b"The b0dy.")
messages = [
    ("perf@example.org", m("perf@example.org", "refused")),
    ("", m("a@%s" % d, "null sender")),
    ("x@no-such-domain.test", m("x@no-such-domain.test", "unknown domain")),
    ("a@%s" % d, m(None, "no from")),
    ("a@%s" % d, m("a@%s, b@example.org" % d, "two authors")),
    ("s@%s" % d, signed),
    ("s@%s" % d, altered),
    ("u@%s" % d, m("u@%s" % d, "unsigned from the zone")),
    ("a@sub.%s" % d, m("a@sub.%s" % d, "subdomain")),
    ("A@%s" % d.upper(), m("A@%s" % d.upper(), "upper case")),
    ("c@%s" % d, m("Name (comment) <c@%s> (trailing)" % d, "display name and comments")),
    ("q@%s" % d, m('"Last, First" <q@%s>' % d, "quoted display name")),
    ("z@%s" % d, m("<<broken@", "unreadable from")),
]
for _ in range(2):
    for sender, data in messages:
        s = smtplib.SMTP("127.0.0.1", int(smtp_port), local_hostname="client.example.test", timeout=30)
        s.sendmail(sender, ["sink@%s" % d], data)
        s.quit()

api = "http://127.0.0.1:%s" % api_port
listing = json.load(urllib.request.urlopen(api + "/fakemx/v1/messages?limit=1000", timeout=30))
want = 2 * len(messages)
if listing["total"] != want:
    sys.exit("the API holds %d messages, %d were sent" % (listing["total"], want))
def scrub(v):
    if isinstance(v, dict):
        return {k: ("*" if k in ("id", "received_at", "port") else scrub(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v
with open(out, "w") as f:
    for msg in listing["messages"]:
        raw = urllib.request.urlopen("%s/fakemx/v1/messages/%s/raw" % (api, msg["id"]), timeout=30).read()
        f.write(json.dumps(scrub(msg), sort_keys=True, ensure_ascii=True) + "\n")
        f.write(repr(raw) + "\n")
    metrics = urllib.request.urlopen(api + "/metrics", timeout=30).read().decode()
    for line in metrics.splitlines():
        if line.startswith(("fakemx_verdicts_total", "fakemx_replies_total")):
            f.write(line + "\n")
EOF

# run BIN TAG SCENARIO: the normalized report in $PERF_WORK/TAG.<scenario>.
run() {
  local bin=$1 tag=$2 scenario=$3 name out pid smtp api key i
  name=$(basename "$scenario" .yaml)
  mkdir -p "$PERF_WORK/$tag.$name.tmp"
  out="$PERF_WORK/$tag.$name.out"
  : >"$out"  # before fakemx starts: the wait below reads it at once
  TMPDIR="$PERF_WORK/$tag.$name.tmp" "$bin" --scenario="$scenario" --smtp=127.0.0.1:0 --dns=off \
    --api=127.0.0.1:0 >"$out" 2>&1 &
  pid=$!
  PERF_PIDS+=("$pid")
  smtp="" api=""
  for ((i = 0; i < 300; i++)); do
    smtp=$(sed -n 's/^fakemx: listening on smtp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    api=$(sed -n 's/^fakemx: api http 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    [[ -n "$smtp" && -n "$api" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$out" >&2; perf_die "$tag fakemx exited at start ($name)"; }
    sleep 0.1
  done
  [[ -n "$smtp" && -n "$api" ]] || { cat "$out" >&2; perf_die "$tag fakemx printed no ports ($name)"; }
  key=$(sed -n 's/^fakemx: dkim-key \(.*\)$/\1/p' "$out" | head -1)
  [[ -n "$key" ]] || { cat "$out" >&2; perf_die "$tag fakemx exported no DKIM key ($name)"; }
  # shellcheck disable=SC2086 # DOMAIN SELECTOR FILE
  set -- $key
  "$PERF_PY" "$PERF_WORK/send.py" "$smtp" "$api" "$3" "$1" "$2" "$PERF_WORK/$tag.$name" ||
    perf_die "$tag: sending or reading back failed ($name)"
  kill -TERM "$pid"
  wait "$pid" || perf_die "$tag fakemx exited with status $? ($name)"
}

status=0
for scenario in "${SCENARIOS[@]}"; do
  name=$(basename "$scenario" .yaml)
  run "$OLD" old "$scenario"
  run "$NEW" new "$scenario"
  n=$(grep -c '^{' "$PERF_WORK/old.$name")
  if diff -u "$PERF_WORK/old.$name" "$PERF_WORK/new.$name" >"$PERF_WORK/$name.diff"; then
    echo "$PERF_NAME: $name: $n messages, verdict JSON, raw bytes and /metrics lines identical:" \
      "$(sed -n 's/^fakemx_verdicts_total{\(.*\)="\(.*\)"} \([0-9]*\)$/\1=\2:\3/p' "$PERF_WORK/old.$name" | tr '\n' ' ')"
  else
    echo "$PERF_NAME: $name: DIFFERENT" >&2
    head -60 "$PERF_WORK/$name.diff" >&2
    status=1
  fi
done
exit $status
