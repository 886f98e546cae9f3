#!/bin/bash
# Postfix's smtp-source: 20 parallel sessions deliver 2,000 messages. Every
# message fakemx acknowledged with "250 ... queued as NAME" must be in new/
# exactly once under that NAME, and new/ must hold nothing else.
source tests/fakemx_fixture.sh
FAKEMX_BIN="$1"

SMTP_SOURCE=""
for candidate in /usr/sbin/smtp-source /usr/lib/postfix/sbin/smtp-source; do
  [[ -x "$candidate" ]] && SMTP_SOURCE="$candidate" && break
done
[[ -n "$SMTP_SOURCE" ]] || fail "smtp-source not found (Debian package postfix)"

fakemx_start "$FAKEMX_BIN"

# -v prints every reply ("<<< 250 2.0.0 Ok: queued as NAME"), which is how
# we count acknowledgements; -A keeps going after a non-2xx reply so a
# refusal shows up as a missing 250 rather than an abort.
LOG="$FIXTURE_TMP/smtp-source.log"
timeout 300 "$SMTP_SOURCE" -v -A -s 20 -m 2000 -l 1024 -f sender@example.org \
  -t rcpt@example.net -M client.test "127.0.0.1:$FAKEMX_PORT" >"$LOG" 2>&1 ||
  { tail -20 "$LOG" >&2; fail "smtp-source failed"; }

sed -n 's/^[^ ]*smtp-source: <<< 250 2\.0\.0 Ok: queued as //p' "$LOG" | sort >"$FIXTURE_TMP/acked"
ACKED=$(wc -l <"$FIXTURE_TMP/acked")
DISTINCT=$(uniq <"$FIXTURE_TMP/acked" | wc -l)
(cd "$FAKEMX_MAILDIR/new" && ls) | sort >"$FIXTURE_TMP/stored"

[[ $ACKED == 2000 ]] || fail "smtp-source saw $ACKED 250-acknowledged messages, want 2000"
[[ $DISTINCT == "$ACKED" ]] || fail "a queue name was acknowledged twice"
cmp -s "$FIXTURE_TMP/acked" "$FIXTURE_TMP/stored" ||
  fail "new/ ($(wc -l <"$FIXTURE_TMP/stored") files) differs from the acknowledged names: $(comm -3 "$FIXTURE_TMP/acked" "$FIXTURE_TMP/stored" | head -5)"
[[ $(maildir_count envelopes) == 2000 ]] || fail "expected 2000 sidecars"
[[ $(maildir_count tmp) == 0 ]] || fail "tmp/ not empty"

# Each stored message is a different one (smtp-source numbers its
# Message-Ids), so no message was stored twice under two names.
UNIQUE_IDS=$(cd "$FAKEMX_MAILDIR/new" && grep -h -m1 '^Message-Id:' -- * | sort -u | wc -l)
[[ $UNIQUE_IDS == 2000 ]] || fail "only $UNIQUE_IDS distinct Message-Ids in 2000 messages"

fakemx_stop TERM
[[ $FAKEMX_EXIT == 0 ]] || fail "fakemx exited $FAKEMX_EXIT"
grep -q '^fakemx: stopped; 2000 messages stored, 0 storage failures, 2000 connections' \
  "$FAKEMX_OUT" || fail "final stats line: $(tail -1 "$FAKEMX_OUT")"
echo PASS
