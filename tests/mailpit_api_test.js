// The mailpit-api npm client (tests/npm) against fakemx's Mailpit-compatible
// API: test code written for Mailpit must work against fakemx unchanged.
// Run by tests/mailpit_api_test.sh after it has delivered three messages
// (described in MESSAGES below) over SMTP with Python's smtplib.
//
//   node mailpit_api_test.js NODE_MODULES BASE_URL
"use strict";

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const path = require("node:path");

const [nodeModules, baseURL] = process.argv.slice(2);
const { MailpitClient } = require(path.join(nodeModules, "mailpit-api"));
const mailpit = new MailpitClient(baseURL);

// What tests/mailpit_api_test.sh sent, oldest first.
const ATTACHMENT = "attached bytes\n";

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    console.log(`not ok - ${name}`);
    throw e;
  }
}

function isAddress(a) {
  return typeof a === "object" && typeof a.Name === "string" && typeof a.Address === "string";
}

async function main() {
  let list;
  await step("getInfo counts the three messages, all unread", async () => {
    const info = await mailpit.getInfo();
    assert.equal(info.Messages, 3);
    assert.equal(info.Unread, 3);
    assert.equal(typeof info.Version, "string");
    assert.equal(info.RuntimeStats.SMTPAccepted, 3);
    assert.ok(info.RuntimeStats.SMTPAcceptedSize > 0);
  });

  await step("listMessages: newest first, Mailpit's wrapper and summary types", async () => {
    list = await mailpit.listMessages();
    assert.equal(list.total, 3);
    assert.equal(list.unread, 3);
    assert.equal(list.messages_count, 3);
    assert.equal(list.messages_unread, 3);
    assert.equal(list.count, 3);
    assert.equal(list.start, 0);
    assert.deepEqual(list.tags, []);
    assert.deepEqual(list.messages.map((m) => m.Subject), [
      "third: for carol",
      "second: report attached",
      "first: caf\u00e9 order",
    ]);
    const [third, second, first] = list.messages;
    for (const m of list.messages) {
      assert.equal(typeof m.ID, "string");
      assert.equal(m.Read, false);
      assert.ok(isAddress(m.From));
      assert.ok(Array.isArray(m.To) && m.To.every(isAddress));
      assert.ok(Array.isArray(m.Cc) && Array.isArray(m.Bcc) && Array.isArray(m.ReplyTo));
      assert.equal(typeof m.Attachments, "number");
      assert.equal(typeof m.Size, "number");
      assert.ok(!Number.isNaN(Date.parse(m.Created)));
      assert.ok(Array.isArray(m.Tags));
      assert.equal(typeof m.Snippet, "string");
      assert.equal(typeof m.MessageID, "string");
    }
    assert.deepEqual(first.From, { Name: "Alice Example", Address: "alice@example.test" });
    assert.equal(first.Snippet, "Your order has shipped.");
    assert.equal(first.MessageID, "first@example.test");
    assert.equal(second.Attachments, 1);
    assert.equal(third.To[0].Address, "carol@example.test");
    // Envelope-only recipients show as Bcc, as in Mailpit.
    assert.deepEqual(third.Bcc.map((a) => a.Address), ["dave@example.test"]);
    // fakemx's own facts sit beside Mailpit's, under FakeMX.
    assert.equal(first.FakeMX.Lock, "red_lock");
  });

  await step("listMessages(start, limit) pages", async () => {
    const page = await mailpit.listMessages(1, 1);
    assert.equal(page.total, 3);
    assert.equal(page.start, 1);
    assert.equal(page.count, 1);
    assert.equal(page.messages[0].ID, list.messages[1].ID);
  });

  const [thirdId, secondId, firstId] = list.messages.map((m) => m.ID);

  await step("getMessageSummary() is the latest and marks it read", async () => {
    const latest = await mailpit.getMessageSummary();
    assert.equal(latest.ID, thirdId);
    assert.equal(latest.Subject, "third: for carol");
    assert.equal((await mailpit.listMessages()).unread, 2);
  });

  await step("getMessageSummary(id): bodies, attachments with checksums, FakeMX", async () => {
    const m = await mailpit.getMessageSummary(secondId);
    assert.equal(m.ID, secondId);
    assert.match(m.HTML, /<b>report<\/b>/);
    assert.match(m.Text, /see the report/);
    assert.equal(m.Attachments.length, 1);
    const a = m.Attachments[0];
    assert.equal(a.FileName, "report.txt");
    assert.equal(a.ContentType, "text/plain");
    assert.equal(a.Size, Buffer.byteLength(ATTACHMENT));
    assert.equal(a.Checksums.SHA256, crypto.createHash("sha256").update(ATTACHMENT).digest("hex"));
    assert.equal(a.Checksums.MD5, crypto.createHash("md5").update(ATTACHMENT).digest("hex"));
    assert.deepEqual(m.Inline, []);
    assert.equal(m.ReturnPath, "bounce@example.test");
    assert.ok(!Number.isNaN(Date.parse(m.Date)));
    assert.equal(m.FakeMX.Delivery.mail_from.address, "bounce@example.test");
    assert.equal(m.FakeMX.Verdict.summary.lock, "red_lock");
    assert.ok(m.FakeMX.Transcript.some((t) => t.kind === "command" && /^ehlo client\.example\.test$/i.test(t.text)));
  });

  await step("getMessageSource and getMessageHeaders", async () => {
    const raw = await mailpit.getMessageSource(firstId);
    assert.match(raw, /^Subject: =\?utf-8\?q\?first:_caf=C3=A9_order\?=\r$/m);
    assert.match(raw, /Your  order\r\nhas shipped\.\r\n/);
    const h = await mailpit.getMessageHeaders(firstId);
    assert.deepEqual(h["Message-Id"], ["<first@example.test>"]);
    assert.deepEqual(h["To"], ["bob@example.test"]);
  });

  await step("renderMessageText and renderMessageHTML (/view)", async () => {
    assert.match(await mailpit.renderMessageText(secondId), /see the report/);
    assert.match(await mailpit.renderMessageHTML(secondId), /<b>report<\/b>/);
    await assert.rejects(mailpit.renderMessageHTML(firstId), /404/);
  });

  await step("searchMessages: terms, phrases, prefixes, negation, is:, has:", async () => {
    const ids = async (query) =>
      (await mailpit.searchMessages({ query })).messages.map((m) => m.ID);
    assert.deepEqual(await ids("has:attachment"), [secondId]);
    assert.deepEqual(await ids("to:carol"), [thirdId]);
    assert.deepEqual(await ids("-to:carol"), [secondId, firstId]);
    assert.deepEqual(await ids('"has shipped"'), [firstId]);
    assert.deepEqual(await ids("subject:caf\u00e9"), [firstId]);
    // Read so far: the latest (third) and the second, fetched above.
    assert.deepEqual(await ids("is:read"), [thirdId, secondId]);
    assert.deepEqual(await ids("is:unread from:alice"), [firstId]);
    const r = await mailpit.searchMessages({ query: "from:alice", start: 1, limit: 1 });
    assert.equal(r.total, 3);
    assert.equal(r.messages_count, 3);
    assert.equal(r.messages_unread, 1);
    assert.equal(r.start, 1);
    assert.deepEqual(r.messages.map((m) => m.ID), [secondId]);
    await assert.rejects(mailpit.searchMessages({ query: "tag:x" }), /400.*not implemented/);
  });

  await step("waitForMessage finds a delivered message", async () => {
    const m = await mailpit.waitForMessage({ query: "subject:report" }, { timeout: 5000 });
    assert.equal(m.ID, secondId);
  });

  await step("setReadStatus by IDs, by Search, and all", async () => {
    assert.equal(await mailpit.setReadStatus({ IDs: [firstId], Read: true }), "ok");
    assert.equal((await mailpit.listMessages()).unread, 0);
    await mailpit.setReadStatus({ Read: false });
    assert.equal((await mailpit.listMessages()).unread, 3);
    await mailpit.setReadStatus({ Search: "to:carol", Read: true });
    assert.equal((await mailpit.getInfo()).Unread, 2);
  });

  await step("an unknown ID is a 404", async () => {
    await assert.rejects(mailpit.getMessageSummary("999999"), /404/);
  });

  await step("deleteMessagesBySearch, deleteMessages(IDs), deleteMessages()", async () => {
    assert.equal(await mailpit.deleteMessagesBySearch({ query: "to:carol" }), "ok");
    assert.equal((await mailpit.listMessages()).total, 2);
    assert.equal(await mailpit.deleteMessages({ IDs: [firstId] }), "ok");
    assert.deepEqual((await mailpit.listMessages()).messages.map((m) => m.ID), [secondId]);
    assert.equal(await mailpit.deleteMessages(), "ok");
    assert.equal((await mailpit.listMessages()).total, 0);
    await mailpit.waitForMessages({ count: 0 }, { timeout: 2000 });
    assert.equal((await mailpit.getInfo()).RuntimeStats.MessagesDeleted, 3);
  });
}

main().then(
  () => console.log("PASS"),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
