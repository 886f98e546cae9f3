#!/usr/bin/env bash
# End-to-end test of the mxkit binary: every subcommand against
# testdata/example.zone, outputs and exit codes, flag parsing, a sign/verify
# round trip, the historic DKIM corpus (auth/dkim/testdata/historic), and the
# RFC 8463 Appendix A message from $MXKIT_SHARED_DIR when it is there.
set -uo pipefail
source testing/conformance.sh

mxkit="$1"
data="tools/mxkit/testdata"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
zone="--zone=$data/example.zone"
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# expect_exit CODE DESCRIPTION -- command...   (stdin from /dev/null unless redirected)
expect_exit() {
  local want="$1" what="$2"
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ "$got" == "$want" ]]; then ok; else bad "$what: exit $got, want $want; stderr: $(cat "$tmp/err")"; fi
}

# expect_out PATTERN DESCRIPTION: the last command's stdout matches PATTERN (grep -E).
expect_out() {
  if grep -Eq -- "$1" "$tmp/out"; then ok; else bad "$2: stdout lacks /$1/:"; cat "$tmp/out" >&2; fi
}
expect_err() {
  if grep -Eq -- "$1" "$tmp/err"; then ok; else bad "$2: stderr lacks /$1/:"; cat "$tmp/err" >&2; fi
}
# expect_err_text TEXT DESCRIPTION: stderr contains TEXT literally.
expect_err_text() {
  if grep -Fq -- "$1" "$tmp/err"; then ok; else bad "$2: stderr lacks \"$1\":"; cat "$tmp/err" >&2; fi
}

# expect_usage_error_before_input DESCRIPTION -- command...: exit 2 at once
# although standard input never ends (a FIFO whose writer stays open), i.e.
# every flag is checked before the message is read.
mkfifo "$tmp/never-ending"
expect_usage_error_before_input() {
  local what="$1"
  shift 2
  sleep 60 >"$tmp/never-ending" &
  local writer=$!
  timeout 5 "$@" <"$tmp/never-ending" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  kill "$writer" 2>/dev/null
  wait "$writer" 2>/dev/null
  if [[ "$got" == 2 ]]; then ok; else bad "$what: exit $got, want 2 without reading stdin (124: timed out waiting for input)"; fi
}
# Every JSON line has a "result" holding an RFC result keyword.
expect_json_results() {
  local n
  n=$(grep -cv '"result":"\(pass\|fail\|softfail\|neutral\|none\|temperror\|permerror\|policy\)"' "$tmp/out")
  if [[ "$n" == 0 && -s "$tmp/out" ]]; then ok; else bad "$1: JSON lines without a result keyword:"; cat "$tmp/out" >&2; fi
}

# --- usage and input errors -------------------------------------------------
expect_exit 0 "help" -- "$mxkit" --help
expect_out "Exit codes" "help lists exit codes"
expect_exit 2 "no command" -- "$mxkit"
expect_exit 2 "unknown command" -- "$mxkit" frobnicate
expect_exit 2 "unknown flag" -- "$mxkit" spf --ip=192.0.2.1 --sender=a@example.com --bogus
expect_err "unknown flag --bogus" "unknown flag is named"
expect_exit 2 "bad ip" -- "$mxkit" spf "$zone" --ip=300.1.1.1 --sender=a@example.com
expect_err "--ip=300.1.1.1" "bad ip is named"
expect_exit 2 "flag twice" -- "$mxkit" spf "$zone" --ip=192.0.2.1 --ip=192.0.2.2 --sender=a@example.com
expect_exit 2 "spf without identity" -- "$mxkit" spf "$zone" --ip=192.0.2.1
expect_exit 2 "bad algorithm" -- "$mxkit" dkim sign --selector=s --domain=example.com --key=x --algorithm=rsa-sha1
expect_exit 2 "bad pct sample" -- "$mxkit" dmarc "$zone" --ip=192.0.2.1 --sender=a@example.com --helo=h.example.com --pct-sample=100
expect_exit 3 "missing zone file" -- "$mxkit" spf --zone="$tmp/nope.zone" --ip=192.0.2.1 --sender=a@example.com
printf 'bad.example. TXT "unterminated\n' >"$tmp/bad.zone"
expect_exit 3 "malformed zone" -- "$mxkit" spf --zone="$tmp/bad.zone" --ip=192.0.2.1 --sender=a@example.com
expect_err "bad.zone:1" "zone error names file and line"
expect_exit 3 "bare LF message without --crlf" -- "$mxkit" dkim verify "$zone" <"$data/plain.eml"
expect_err "--crlf" "bare LF error suggests --crlf"
expect_exit 3 "empty message" -- "$mxkit" dkim verify "$zone" </dev/null
expect_exit 3 "missing key file" -- "$mxkit" dkim sign --selector=s --domain=example.com --key="$tmp/none.pem" --crlf <"$data/plain.eml"

# --- flag parsing -----------------------------------------------------------------
expect_exit 0 "version" -- "$mxkit" --version
expect_out '^mxkit [0-9]+\.[0-9]+\.[0-9]+$' "version line"
if [[ $(wc -l <"$tmp/out") == 1 ]]; then ok; else bad "--version prints one line"; fi
expect_exit 0 "version after a command" -- "$mxkit" dkim verify --version
expect_out '^mxkit [0-9]' "version after a command"
# "--flag value" never swallows the next flag as its value.
expect_exit 2 "value that is a flag" -- "$mxkit" spf "$zone" --ip --sender=a@example.com
expect_err_text '--ip needs a value, but the next argument "--sender=a@example.com" is a flag' "the swallowing flag is named"
expect_exit 2 "zone value that is a flag" -- "$mxkit" dkim verify --zone --json
expect_err_text "write --zone=--json" "the error says how to pass such a value"
expect_exit 3 "--name=--value passes the value" -- "$mxkit" spf --zone=--odd.zone --ip=192.0.2.1 --sender=a@example.com
expect_err_text "--zone=--odd.zone: cannot open the file" "a value starting with -- reaches the flag"
expect_exit 0 "two-argument form still works" -- "$mxkit" spf --zone "$data/example.zone" --ip 192.0.2.7 --sender alice@example.com --json
expect_out '"result":"pass"' "two-argument form result"
# Whole numbers: an optional "-" and digits, no "+", nothing empty, no overflow.
for bad_int in - + +5 "" 12a 1.5 99999999999999999999 9223372036854775808 -9223372036854775809; do
  expect_exit 2 "--now=$bad_int" -- "$mxkit" dkim verify "$zone" --now="$bad_int"
  expect_err_text "mxkit: --now=$bad_int: " "--now=$bad_int is named"
done
expect_err_text "out of range" "an overflowing number is out of range"
expect_exit 2 "--min-rsa-bits below the floor" -- "$mxkit" dkim verify "$zone" --min-rsa-bits=511
expect_err_text "--min-rsa-bits=511: out of range: must be between 512 and 8192" "min-rsa-bits range"
expect_exit 2 "--allow-rsa-sha1 takes no value" -- "$mxkit" dkim verify "$zone" --allow-rsa-sha1=yes
# Flags are checked before standard input is read.
expect_exit 2 "bad flag with endless /dev/zero" -- timeout 5 "$mxkit" dkim verify --bogus </dev/zero
expect_err_text "unknown flag --bogus" "the flag error, not an input error"
expect_usage_error_before_input "unknown flag, dkim verify" -- "$mxkit" dkim verify "$zone" --bogus
expect_usage_error_before_input "bad --now, dkim verify" -- "$mxkit" dkim verify "$zone" --now=-
expect_usage_error_before_input "bad --min-rsa-bits, dkim verify" -- "$mxkit" dkim verify "$zone" --min-rsa-bits=256
expect_usage_error_before_input "bad --timestamp, dkim sign" -- "$mxkit" dkim sign --selector=s --domain=example.com --key="$data/ed25519.seed" --algorithm=ed25519-sha256 --timestamp=+1
expect_usage_error_before_input "bad --now, dmarc" -- "$mxkit" dmarc "$zone" --ip=192.0.2.1 --sender=a@example.com --helo=h.example.com --now=x
expect_usage_error_before_input "swallowed flag, dmarc" -- "$mxkit" dmarc "$zone" --ip=192.0.2.1 --sender --helo=h.example.com
expect_usage_error_before_input "null sender without helo, dmarc" -- "$mxkit" dmarc "$zone" --ip=192.0.2.1 --sender=
expect_usage_error_before_input "unwritable authserv-id, dmarc" -- "$mxkit" dmarc "$zone" --ip=192.0.2.1 --sender=a@example.com --helo=h.example.com --authserv-id=$'mx\r\nX-Injected: 1'
expect_err_text "--authserv-id: " "the authserv-id error names the flag"

# --- spf ---------------------------------------------------------------------
expect_exit 0 "spf pass" -- "$mxkit" spf "$zone" --ip=192.0.2.7 --sender=alice@example.com --json
expect_out '"result":"pass"' "spf pass result"
expect_json_results "spf pass json"
expect_exit 0 "spf fail" -- "$mxkit" spf "$zone" --ip=198.51.100.1 --sender=alice@example.com
expect_out "^spf mailfrom=alice@example.com: fail" "spf fail text"
expect_exit 0 "spf mailfrom and helo" -- "$mxkit" spf "$zone" --ip=192.0.2.25 --sender=a@example.com --helo=mail.example.com --json
if [[ $(wc -l <"$tmp/out") == 2 ]]; then ok; else bad "mailfrom+helo gives two evaluations"; fi
expect_out '"identity":"helo".*"result":"pass"' "helo pass"
expect_exit 0 "spf temperror" -- "$mxkit" spf "$zone" --ip=192.0.2.7 --sender=a@servfail.example.com --json
expect_out '"result":"temperror"' "SERVFAIL is temperror"
expect_exit 0 "spf none" -- "$mxkit" spf "$zone" --ip=192.0.2.7 --sender=a@nothing.example.com --json
expect_out '"result":"none"' "no record is none"

# --- dmarc -------------------------------------------------------------------
dmarc() { "$mxkit" dmarc "$zone" --crlf --helo=mail.example.com --authserv-id=mx.test.example "$@"; }
expect_exit 0 "dmarc relaxed spf pass" -- dmarc --ip=192.0.2.7 --sender=b@bounces.example.com <"$data/plain.eml"
expect_out "^Authentication-Results: mx.test.example;" "AR field names the authserv-id"
expect_out "spf=pass smtp.mailfrom=b@bounces.example.com" "AR spf"
expect_out "dkim=none" "AR dkim none"
expect_out "dmarc=pass header.from=example.com policy.dmarc=none" "AR dmarc pass"
expect_exit 0 "dmarc fail" -- dmarc --ip=198.51.100.1 --sender=b@bounces.example.com <"$data/plain.eml"
expect_out "dmarc=fail .*header.from=example.com policy.dmarc=reject" "dmarc fail rejects"
expect_exit 0 "dmarc strict spf pass exact" -- dmarc --ip=192.0.2.7 --sender=a@strict.example.com --json <"$data/strict.eml"
expect_out '"method":"dmarc","result":"pass"' "strict exact aligns"
expect_json_results "dmarc json"
expect_exit 0 "dmarc strict subdomain" -- dmarc --ip=192.0.2.7 --sender=a@bounce.strict.example.com --json <"$data/strict.eml"
expect_out '"method":"dmarc","result":"fail".*"spf_aligned":false' "aspf=s: a subdomain does not align even with the PSL loaded"
expect_exit 0 "dmarc pct=0" -- dmarc --ip=198.51.100.1 --sender=a@pct0.example.com --json --pct-sample=0 <"$data/pct0.eml"
expect_out '"result":"fail","disposition":"quarantine"' "pct=0 takes reject one step down"
expect_exit 0 "dmarc two records" -- dmarc --ip=198.51.100.1 --sender=a@twice.example.com --json <"$data/twice.eml"
expect_out '"method":"dmarc","result":"none"' "two DMARC records: none"
expect_exit 0 "dmarc servfail" -- dmarc --ip=198.51.100.1 --sender=a@broken.example.com --json <"$data/broken.eml"
expect_out '"method":"dmarc","result":"temperror"' "SERVFAIL on _dmarc is temperror"
expect_exit 0 "dmarc two From fields" -- dmarc --ip=192.0.2.7 --sender=a@example.com --json <"$data/two_from.eml"
expect_out '"method":"dmarc","result":"permerror".*From fields' "two From fields rejected by default"
expect_exit 0 "dmarc two From fields evaluated" -- dmarc --ip=192.0.2.7 --sender=a@example.com --json --multiple-from=evaluate <"$data/two_from.eml"
if [[ $(grep -c '"method":"dmarc"' "$tmp/out") == 2 ]]; then ok; else bad "two From fields evaluated: two dmarc objects"; cat "$tmp/out" >&2; fi
expect_exit 0 "dmarc two authors" -- dmarc --ip=198.51.100.1 --sender=a@example.com --json <"$data/two_authors.eml"
expect_out '"method":"dmarc","result":"permerror".*mailboxes' "two authors rejected by default"
expect_exit 0 "dmarc two authors evaluated" -- dmarc --ip=198.51.100.1 --sender=a@example.com --multiple-from=evaluate --pct-sample=0 <"$data/two_authors.eml"
expect_out "dmarc=fail .*header.from=example.com policy.dmarc=reject" "the strictest failing author decides (RFC 7489 §6.6.1)"
expect_exit 0 "dmarc tree walk" -- dmarc --ip=192.0.2.7 --sender=b@bounces.example.com --discovery=tree-walk --json <"$data/plain.eml"
expect_out '"method":"dmarc","result":"pass".*"organizational_domain":"example.com"' "tree walk without a PSL"
# RFC 8616: U-labels in MAIL FROM and From are evaluated as A-labels, so they
# find the zone's xn-- records and align strictly with each other.
expect_exit 0 "dmarc internationalized domains" -- dmarc --ip=192.0.2.7 --sender=$'j\xc3\xb6rg@b\xc3\xbccher.example.com' --json <"$data/idn.eml"
expect_out '"method":"spf".*"domain":"xn--bcher-kva.example.com".*"result":"pass"' "SPF looks up the A-label"
expect_out '"method":"dmarc","result":"pass".*"author_domain":"xn--bcher-kva.example.com".*"spf_aligned":true' "U-label author aligns strictly with U-label MAIL FROM"
expect_exit 0 "spf invalid UTF-8 domain" -- "$mxkit" spf "$zone" --ip=192.0.2.7 --sender=$'a@b\xffcher.example.com' --json
expect_out '"result":"none".*internationalized domain name' "an invalid IDN is a malformed domain: none"
if iconv -f UTF-8 -t UTF-8 "$tmp/out" >/dev/null 2>&1; then ok; else bad "JSON output with invalid input bytes is still UTF-8"; fi
expect_exit 3 "missing psl" -- dmarc --ip=192.0.2.7 --sender=b@example.com --psl="$tmp/none.dat" <"$data/plain.eml"

# --- dkim sign / verify round trip --------------------------------------------
expect_exit 0 "sign json" -- "$mxkit" dkim sign --selector=cli --domain=example.com --key="$data/ed25519.seed" --algorithm=ed25519-sha256 --crlf --json <"$data/plain.eml"
key_record=$(sed -e 's/.*"key_record":"\([^"]*\)".*/\1/' "$tmp/out")
{ cat "$data/example.zone"; echo "cli._domainkey.example.com. TXT \"$key_record\""; } >"$tmp/signed.zone"
expect_exit 0 "sign" -- "$mxkit" dkim sign --selector=cli --domain=example.com --key="$data/ed25519.seed" --algorithm=ed25519-sha256 --crlf <"$data/plain.eml"
cp "$tmp/out" "$tmp/signed.eml"
expect_out "^DKIM-Signature: v=1; a=ed25519-sha256" "signed message starts with the signature"
expect_exit 0 "verify signed" -- "$mxkit" dkim verify --zone="$tmp/signed.zone" --json <"$tmp/signed.eml"
expect_out '"result":"pass".*"domain":"example.com","selector":"cli"' "our signature verifies"
expect_json_results "dkim json"
sed 's/^Hello\./Hullo./' "$tmp/signed.eml" >"$tmp/tampered.eml"
expect_exit 0 "verify tampered" -- "$mxkit" dkim verify --zone="$tmp/signed.zone" <"$tmp/tampered.eml"
expect_out ": fail" "a changed body fails"
expect_exit 0 "dmarc with dkim" -- "$mxkit" dmarc --zone="$tmp/signed.zone" --ip=198.51.100.1 --sender=x@elsewhere.example --helo=h.elsewhere.example <"$tmp/signed.eml"
expect_out "dkim=pass header.d=example.com.*header.s=cli" "AR dkim pass with header.s"
expect_out "dmarc=pass" "aligned DKIM alone passes DMARC"
expect_exit 0 "verify unsigned" -- "$mxkit" dkim verify "$zone" --crlf --json <"$data/plain.eml"
expect_out '"result":"none"' "no signature is none"

# --- historic DKIM corpus (RFC 8301 refusals and the opt-ins) -------------------
historic="auth/dkim/testdata/historic"
hzone="--zone=$historic/historic.zone"
both=(--allow-rsa-sha1 --min-rsa-bits=512)
# file, reason by default (dots for spaces), result with --allow-rsa-sha1
# alone, result with --min-rsa-bits=512 alone
while read -r name reason sha1_only min512_only; do
  expect_exit 0 "historic $name by default" -- "$mxkit" dkim verify "$hzone" --json <"$historic/$name.eml"
  expect_out "\"result\":\"policy\",\"reason\":\"$reason" "historic $name: policy with its reason"
  expect_exit 0 "historic $name, --allow-rsa-sha1" -- "$mxkit" dkim verify "$hzone" --json --allow-rsa-sha1 <"$historic/$name.eml"
  expect_out "\"result\":\"$sha1_only\"" "historic $name, --allow-rsa-sha1 alone: $sha1_only"
  expect_exit 0 "historic $name, --min-rsa-bits=512" -- "$mxkit" dkim verify "$hzone" --json --min-rsa-bits=512 <"$historic/$name.eml"
  expect_out "\"result\":\"$min512_only\"" "historic $name, --min-rsa-bits=512 alone: $min512_only"
  expect_exit 0 "historic $name, both opt-ins" -- "$mxkit" dkim verify "$hzone" --json "${both[@]}" <"$historic/$name.eml"
  expect_out "\"result\":\"pass\",.*\"selector\":\"$name\"" "historic $name passes with both opt-ins"
  sed 's/^Subject: /Subject: Fwd: /' "$historic/$name.eml" >"$tmp/tampered-$name.eml"
  expect_exit 0 "historic $name tampered" -- "$mxkit" dkim verify "$hzone" "${both[@]}" <"$tmp/tampered-$name.eml"
  expect_out "^dkim d=archive.example s=$name: fail \(signature did not verify" "historic $name tampered fails"
done <<'CASES'
sha1-1024 rsa-sha1.refused:.RFC.8301.§3.1 pass policy
sha1-2048 rsa-sha1.refused:.RFC.8301.§3.1 pass policy
sha256-512 RSA.key.of.512.bits.below.the.1024-bit.minimum,.RFC.8301.§3.2 policy pass
sha256-768 RSA.key.of.768.bits.below.the.1024-bit.minimum,.RFC.8301.§3.2 policy pass
sha1-768 rsa-sha1.refused:.RFC.8301.§3.1;.RSA.key.of.768.bits policy policy
CASES
expect_exit 0 "historic min-rsa-bits=768" -- "$mxkit" dkim verify "$hzone" --min-rsa-bits=768 <"$historic/sha256-512.eml"
expect_out ": policy \(RSA key of 512 bits below the 768-bit minimum" "a 512-bit key under --min-rsa-bits=768"
expect_exit 0 "historic text output" -- "$mxkit" dkim verify "$hzone" <"$historic/sha1-1024.eml"
expect_out "^dkim d=archive.example s=sha1-1024: policy \(rsa-sha1 refused: RFC 8301 §3.1\)$" "text output names the refusal"
# The policy result flows into Authentication-Results (RFC 8601 §2.7.1) and
# is no DKIM pass for DMARC; with the opt-ins the same message aligns.
hdmarc() { "$mxkit" dmarc "$hzone" --ip=198.51.100.1 --sender=x@archive.example --helo=mail.archive.example --authserv-id=mx.test.example "$@"; }
expect_exit 0 "historic dmarc by default" -- hdmarc <"$historic/sha1-1024.eml"
expect_out 'dkim=policy reason="rsa-sha1 refused: RFC 8301 §3.1" header.d=archive.example .*header.a=rsa-sha1' "AR dkim=policy with reason"
expect_out "dmarc=fail .*policy.dmarc=reject" "a policy DKIM result does not pass DMARC"
expect_exit 0 "historic dmarc with opt-ins" -- hdmarc "${both[@]}" <"$historic/sha1-768.eml"
expect_out "dkim=pass header.d=archive.example .*header.s=sha1-768" "AR dkim=pass with the opt-ins"
expect_out "dmarc=pass header.from=archive.example" "an opted-in pass aligns"

# --- RFC 8463 Appendix A --------------------------------------------------------
vectors="${MXKIT_SHARED_DIR:-}/conformance/dkim/rfc8463-appendix-a.txt"
if [[ -r "$vectors" ]]; then
  # "NAME VALUE" lines, a blank line, then the message (LF line endings).
  awk 'm == 0 && /^$/ { m = 1; next }
       m == 0 { name = $1; $1 = ""; sub(/^ /, ""); gsub(/"/, "\\\""); print name ". TXT \"" $0 "\""; next }' \
    "$vectors" >"$tmp/rfc8463.zone"
  awk 'm == 1 { print } /^$/ { m = 1 }' "$vectors" >"$tmp/rfc8463.eml"
  expect_exit 0 "rfc8463 verify" -- "$mxkit" dkim verify --zone="$tmp/rfc8463.zone" --crlf --now=1528637909 --json <"$tmp/rfc8463.eml"
  if [[ $(grep -c '"result":"pass"' "$tmp/out") == 2 ]]; then ok; else bad "RFC 8463: both signatures pass"; cat "$tmp/out" >&2; fi
  expect_out '"algorithm":"ed25519-sha256"' "RFC 8463 ed25519 signature"
  expect_exit 0 "rfc8463 dmarc" -- "$mxkit" dmarc --zone="$tmp/rfc8463.zone" --crlf --ip=192.0.2.1 --sender=joe@football.example.com --helo=football.example.com <"$tmp/rfc8463.eml"
  expect_out 'header.b="/gCrinpc"' "AR header.b is the first 8 characters of b="
  expect_out "dmarc=none" "no DMARC record for football.example.com: none"
else
  skip_or_fail "RFC 8463 vectors not found at '$vectors' (run through ./bazelw with ../shared beside the checkout, or set MXKIT_SHARED_DIR)" ||
    failed=$((failed + 1))
fi

# --- tlsrpt (RFC 8460 §4 reports) -------------------------------------------
report="$data/tlsrpt_report.json"
expect_exit 0 "tlsrpt summary" -- "$mxkit" tlsrpt "$report"
expect_out '^policy sts example.test \(mx mx.example.test\): 40 successful, 7 failed$' "tlsrpt sts totals"
expect_out '^  certificate-expired: 6 sessions$' "tlsrpt sums failures by result type"
expect_out '^  future-result-type: 1 session \(a result type RFC 8460 does not define\)$' "tlsrpt keeps unknown types"
expect_out '^policy tlsa example.test: 12 successful, 0 failed$' "tlsrpt tlsa totals"
expect_exit 0 "tlsrpt from standard input, --json" -- bash -c "\"$mxkit\" tlsrpt - --json < \"$report\""
expect_out '"failures_by_result_type":\{"certificate-expired":6,"future-result-type":1\}' "tlsrpt --json"
expect_exit 3 "tlsrpt: a field of the wrong type" -- bash -c \
  "sed 's/\"total-failure-session-count\": 7/\"total-failure-session-count\": \"7\"/' \"$report\" | \"$mxkit\" tlsrpt -"
expect_err_text 'policies[0].summary.total-failure-session-count' "tlsrpt names the JSON path"
expect_exit 3 "tlsrpt: not JSON" -- bash -c "printf '{\"organization-name\":' | \"$mxkit\" tlsrpt -"
expect_err 'not JSON' "tlsrpt says the input is not JSON"
expect_exit 3 "tlsrpt: missing file" -- "$mxkit" tlsrpt "$tmp/no-such-report.json"
expect_exit 2 "tlsrpt: no file" -- "$mxkit" tlsrpt

# --- probe exit codes that need no server (tests/probe_test.sh has the rest) --
printf 'nomail.test. 300 IN MX 0 .\nnxd.test. 300 IN TXT "x"\n' >"$tmp/probe.zone"
expect_exit 9 "probe: a null MX (RFC 7505) has its own exit code" -- \
  "$mxkit" probe nomail.test --zone="$tmp/probe.zone" --trust=/dev/null --json
expect_out '"result":"null-mx"' "probe: null MX in the JSON"
expect_exit 5 "probe: no such name is not a null MX" -- \
  "$mxkit" probe nowhere.test --zone="$tmp/probe.zone" --trust=/dev/null
expect_exit 0 "help lists exit code 9" -- "$mxkit" --help
expect_out '^  9  probe: the domain publishes a null MX' "help documents the null MX exit code"

echo "$passed passed, $failed failed"
[[ "$failed" == 0 ]]
