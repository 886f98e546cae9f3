// fakemx's web UI in Debian's chromium (headless, through puppeteer-core),
// checked against the contract in fakemx/ui/README.md ("Hooks for tests").
// Run by tests/web_ui_test.sh after it has sent, to fakemx's scenario
// tests/scenarios/web_ui.yaml: one unsigned message over STARTTLS to `good`,
// one in plaintext to `no-starttls`, a refused handshake at `expired-cert`
// (a session without a message) and an HTML message to `no-starttls` that
// tries to run script and to reach BEACON.
//
//   node web_ui_test.js NODE_MODULES CHROMIUM BASE_URL SWITCH_BASE_URL BEACON_URL BEACON_LOG OUT_DIR PLAIN_SMTP
//
// PLAIN_SMTP (HOST:PORT, the `no-starttls` receiver) is where the live
// inbox checks send their mail, with swaks, while the page is open.
//
// Every check runs even when an earlier one failed (a broken view should not
// hide what works), and prints "ok - NAME" or "not ok - NAME: why"; the exit
// status is 1 when any failed.
"use strict";

const { execFile } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { promisify } = require("node:util");

const [nodeModules, chromium, base, switchBase, beaconURL, beaconLog, outDir, plainSmtp] =
    process.argv.slice(2);
const puppeteer = require(path.join(nodeModules, "puppeteer-core"));
const axeSource = fs.readFileSync(path.join(nodeModules, "axe-core", "axe.min.js"), "utf8");

// Every wait is bounded: a view that never renders fails its check, it does
// not hang the test.
const VIEW_TIMEOUT_MS = 10000;
const SETTLE_MS = 1000;  // how long the inert HTML gets to try something

const SUBJECT_TLS = "web-ui over STARTTLS";
const SUBJECT_PLAIN = "web-ui in plaintext";
const SUBJECT_HTML = "web-ui HTML that tries script and remote content";

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    failures++;
    console.log(`not ok - ${name}: ${e && e.message ? e.message : e}`);
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}

async function api(url, init) {
  const r = await fetch(url, init);
  const body = await r.text();
  if (!r.ok) throw new Error(`${init && init.method || "GET"} ${url}: ${r.status} ${body}`);
  return JSON.parse(body);
}

// Console errors and uncaught exceptions in the whole run. Messages about
// the HTML mail's own document (/view/ID.html) or the beacon it tries to
// reach are the mail's, logged by chromium when it blocks what the mail
// tries; they are listed, not counted: the page itself must log none.
const consoleErrors = [];
const mailConsole = [];
const pageErrors = [];
function watch(page) {
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const where = (msg.location() && msg.location().url) || "";
    const line = `${msg.text()} (at ${where || "?"})`;
    const mail = (t) => t.includes("/view/") || t.includes(beaconURL);
    if (mail(where) || mail(msg.text())) mailConsole.push(line);
    else consoleErrors.push(line);
  });
  page.on("pageerror", (err) => pageErrors.push(String(err && err.message || err)));
}

// open(page, fragment, view): a fresh load of base/#fragment, waiting until
// the page says (body[data-view]) it has rendered that view.
async function open(page, fragment, view, at = base) {
  await page.goto("about:blank");
  await page.goto(`${at}/${fragment}`, { waitUntil: "load" });
  await waitView(page, view);
}
async function waitView(page, view) {
  try {
    await page.waitForFunction((v) => document.body && document.body.dataset.view === v,
                               { timeout: VIEW_TIMEOUT_MS }, view);
  } catch (e) {
    const seen = await page.evaluate(() => ({
      view: document.body && document.body.dataset.view,
      error: (document.getElementById("error") || {}).textContent || "",
      hash: location.hash,
    }));
    throw new Error(`view "${view}" not rendered within ${VIEW_TIMEOUT_MS} ms ` +
                    `(body[data-view]=${JSON.stringify(seen.view)}, hash ${seen.hash}, #error ${JSON.stringify(seen.error)})`);
  }
}

// Sends one plain message with SUBJECT to the no-starttls receiver (swaks,
// as web_ui_test.sh does), and waits until the API lists it.
async function sendPlain(subject) {
  try {
    await promisify(execFile)("swaks", [
      "--server", plainSmtp, "--helo", "client.test", "--from", "alice@example.org",
      "--to", "bob@example.net", "--timeout", "30", "--header", `Subject: ${subject}`,
      "--body", "Sent while the web UI was open."], { timeout: 60000 });
  } catch (e) {
    throw new Error(`swaks to ${plainSmtp}: ${e.message} ${e.stdout || ""}`);
  }
  const listed = await api(`${base}/api/v1/search?query=${encodeURIComponent(`subject:"${subject}"`)}`);
  expect(listed.messages.length === 1, `the API lists ${listed.messages.length} messages with subject "${subject}"`);
}

async function waitRowWithSubject(page, subject) {
  await page.waitForFunction((s) => [...document.querySelectorAll('#inbox [data-field="subject"]')]
                                       .some((e) => e.textContent.trim() === s),
                             { timeout: VIEW_TIMEOUT_MS }, subject)
      .catch(() => { throw new Error(`no inbox row with subject "${subject}" within ${VIEW_TIMEOUT_MS} ms`); });
}

// The inbox rows as the page shows them.
function inboxRows(page) {
  return page.$$eval("#inbox [data-message-id]", (rows) => rows.map((r) => {
    const field = (f) => { const e = r.querySelector(`[data-field="${f}"]`); return e ? e.textContent.trim() : null; };
    const icon = (attr) => {
      const e = r.querySelector(`[${attr}]`);
      return e ? { value: e.getAttribute(attr), title: e.getAttribute("title"), aria: e.getAttribute("aria-label") } : null;
    };
    return {
      id: r.getAttribute("data-message-id"),
      from: field("from"), to: field("to"), subject: field("subject"), time: field("time"),
      receiver: field("receiver"), lock: icon("data-lock"), sender: icon("data-sender"),
    };
  }));
}

async function noHorizontalScroll(page, what) {
  const m = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,
    viewport: document.documentElement.clientWidth,
  }));
  expect(m.doc <= m.viewport && m.body <= m.viewport,
         `${what} at 360 px scrolls sideways: scrollWidth ${m.doc} (body ${m.body}) > ${m.viewport}`);
}

// axe-core in the page (evaluated over the DevTools protocol, which the
// page's CSP does not govern). The mail's sandboxed iframe is the mail's
// content, not the UI's, so frames are left out.
async function axeSeriousOrWorse(page, view) {
  const shown = await page.evaluate(() => document.body.dataset.view);
  expect(shown === view, `the ${view} view is not shown (body[data-view]=${JSON.stringify(shown)}), nothing to check`);
  await page.evaluate(axeSource + "\n;0");
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { iframes: false, resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                     nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.length === 0, bad.map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(", ")}`).join("; "));
}

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(outDir, name), fullPage: false });
}

async function main() {
  // What the API says, for comparing with what the page shows.
  const list = await api(`${base}/api/v1/messages?limit=50`);
  const bySubject = new Map(list.messages.map((m) => [m.Subject, m]));
  for (const s of [SUBJECT_TLS, SUBJECT_PLAIN, SUBJECT_HTML]) {
    expect(bySubject.has(s), `the API lists no message with subject "${s}"`);
  }
  const tlsMsg = bySubject.get(SUBJECT_TLS);
  const plainMsg = bySubject.get(SUBJECT_PLAIN);
  const htmlMsg = bySubject.get(SUBJECT_HTML);
  const failedSessions = (await api(`${base}/fakemx/v1/sessions?receiver=expired-cert`)).sessions;
  expect(failedSessions.length === 1, `want one session at expired-cert, the API lists ${failedSessions.length}`);
  const failed = failedSessions[0];
  expect(failed.message_ids.length === 0 && failed.verdict.tls_outcome,
         `the expired-cert session should have no message and a tls_outcome: ${JSON.stringify(failed)}`);

  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    // Root in a container: chromium's sandbox needs user namespaces it may
    // not get. The page under test is ours; the mail's HTML is confined by
    // the iframe sandbox and its CSP, which this flag does not change.
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"],
  });
  try {
    const page = await browser.newPage();
    watch(page);
    await page.setViewport({ width: 1280, height: 800 });

    let rows = [];
    await check("inbox renders every message, newest first", async () => {
      await open(page, "", "inbox");
      rows = await inboxRows(page);
      const want = list.messages.map((m) => m.ID);
      expect(JSON.stringify(rows.map((r) => r.id)) === JSON.stringify(want),
             `rows ${JSON.stringify(rows.map((r) => r.id))}, the API's newest-first order ${JSON.stringify(want)}`);
      const marks = await page.evaluate(() => performance.getEntriesByName("fakemx:rendered:inbox").length);
      expect(marks >= 1, 'no performance.mark("fakemx:rendered:inbox")');
    });
    const row = (m) => rows.find((r) => r.id === m.ID);

    // fakemx renders the inbox's first page into `/` (fakemx/ui_assets.h
    // RenderUiInbox) and app.js takes it over; the same page built by
    // app.js (an empty search: renderInbox) must be the same DOM, so the
    // two renders cannot drift apart.
    await check("the inbox the server renders into the page is the one app.js renders", async () => {
      const html = await (await fetch(`${base}/`)).text();
      expect(html.includes('<section id="inbox-view"') && html.includes(`data-message-id="${tlsMsg.ID}"`),
             `/ does not carry the inbox's first page: ${html.slice(0, 300)}`);
      await open(page, "", "inbox");
      await page.waitForFunction(() => document.title === "Inbox · fakemx", { timeout: VIEW_TIMEOUT_MS });
      const served = await page.evaluate(() => document.getElementById("view").innerHTML);
      const marks = await page.evaluate(() => performance.getEntriesByName("fakemx:rendered:inbox").length);
      await page.click("#search", { count: 3 });
      await page.keyboard.press("Enter");
      await page.waitForFunction((n) => performance.getEntriesByName("fakemx:rendered:inbox").length > n,
                                 { timeout: VIEW_TIMEOUT_MS }, marks);
      const built = await page.evaluate(() => document.getElementById("view").innerHTML);
      if (served !== built) {
        let i = 0;
        while (i < served.length && served[i] === built[i]) i++;
        throw new Error(`they differ at ${i}: served ${JSON.stringify(served.slice(Math.max(0, i - 80), i + 80))}, ` +
                        `app.js ${JSON.stringify(built.slice(Math.max(0, i - 80), i + 80))}`);
      }
    });

    await check("the served inbox shows its times in the user's time zone from the first frame", async () => {
      // UTC+05:30: no user's zone agrees with the server's UTC there by
      // accident. The times are read when first-view.js marks the inbox
      // rendered; no frame comes before that (api_test checks the page's
      // order), so this is what the first frame shows.
      const zoned = await browser.newPage();
      watch(zoned);
      try {
        await zoned.emulateTimezone("Asia/Kolkata");
        await zoned.evaluateOnNewDocument(() => {
          new PerformanceObserver((list, obs) => {
            if (!list.getEntries().some((e) => e.name === "fakemx:rendered:inbox")) return;
            obs.disconnect();
            window.__timesAtMark = [...document.querySelectorAll("#inbox time[data-field]")]
                .map((t) => ({ iso: t.dateTime, text: t.textContent }));
          }).observe({ type: "mark" });
        });
        await open(zoned, "", "inbox");
        const seen = await zoned.evaluate(() => window.__timesAtMark);
        expect(seen && seen.length > 0, `no times captured at the rendered mark: ${JSON.stringify(seen)}`);
        const want = await zoned.evaluate((times) => times.map(({ iso }) => {
          const d = new Date(iso);
          const p = (n) => String(n).padStart(2, "0");
          return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
        }), seen);
        seen.forEach((t, i) => expect(t.text === want[i], `time ${t.iso} shown as ${JSON.stringify(t.text)}, want ${JSON.stringify(want[i])} (Asia/Kolkata)`));
        const html = await (await fetch(`${base}/`)).text();
        const served = html.match(/<time data-field="time" datetime="[^"]*" title="[^"]*">([^<]*)<\/time>/);
        expect(served && served[1] !== seen[0].text,
               `the server's text ${JSON.stringify(served && served[1])} is what the page showed: the zone made no difference`);
      } finally {
        await zoned.close();
      }
    });

    await check("a fresh load of another view shows that view, not the served inbox", async () => {
      await open(page, "#/sessions", "sessions");
      const v = await page.evaluate(() => ({
        hidden: document.getElementById("view").hidden,
        inbox: !!document.getElementById("inbox-view"),
        sessions: document.querySelectorAll("#sessions [data-session-id]").length,
      }));
      expect(!v.hidden && !v.inbox && v.sessions > 0, `after loading #/sessions: ${JSON.stringify(v)}`);
    });
    await open(page, "", "inbox");  // the checks below look at the inbox

    await check("each row shows sender, recipients, subject, time and receiver", async () => {
      for (const [m, receiver] of [[tlsMsg, "good"], [plainMsg, "no-starttls"]]) {
        const r = row(m);
        expect(r, `no row for message ${m.ID}`);
        expect(r.subject === m.Subject, `row ${m.ID} subject ${JSON.stringify(r.subject)}, want ${JSON.stringify(m.Subject)}`);
        expect(r.from && r.from.includes("alice@example.org"), `row ${m.ID} from ${JSON.stringify(r.from)}`);
        expect(r.to && r.to.includes("bob@example.net"), `row ${m.ID} to ${JSON.stringify(r.to)}`);
        expect(r.time, `row ${m.ID} has no time`);
        expect(r.receiver === receiver, `row ${m.ID} receiver ${JSON.stringify(r.receiver)}, want ${receiver}`);
      }
    });

    await check("one lock and one red lock among the two plain messages, tooltips say why", async () => {
      const a = row(tlsMsg), b = row(plainMsg);
      expect(a && b, "rows missing");
      const locks = [a.lock && a.lock.value, b.lock && b.lock.value];
      expect(locks.filter((l) => l === "encrypted").length === 1 && locks.filter((l) => l === "red_lock").length === 1,
             `locks ${JSON.stringify(locks)}, want one encrypted and one red_lock`);
      expect(a.lock.value === "encrypted", `the STARTTLS message shows ${a.lock.value}`);
      expect(b.lock.value === "red_lock", `the plaintext message shows ${b.lock.value}`);
      expect(/TLS/.test(a.lock.title || ""), `lock tooltip ${JSON.stringify(a.lock.title)} does not name TLS`);
      expect(/STARTTLS/i.test(b.lock.title || "") && /no-starttls/.test(b.lock.title || ""),
             `red lock tooltip ${JSON.stringify(b.lock.title)} does not say STARTTLS was not offered by no-starttls`);
      for (const [r, m] of [[a, tlsMsg], [b, plainMsg]]) {
        expect(r.lock.aria === r.lock.title, `row ${r.id} lock aria-label ${JSON.stringify(r.lock.aria)} != title`);
        const want = m.FakeMX && m.FakeMX.LockReason;
        expect(want && r.lock.title === want, `row ${r.id} lock title ${JSON.stringify(r.lock.title)}, the API's LockReason ${JSON.stringify(want)}`);
      }
    });

    await check('"?" for the unsigned mail, tooltip says why', async () => {
      for (const m of [tlsMsg, plainMsg, htmlMsg]) {
        const r = row(m);
        expect(r && r.sender, `row ${m.ID} has no [data-sender]`);
        expect(r.sender.value === "question_mark", `row ${m.ID} sender ${r.sender.value}, want question_mark`);
        expect(/SPF/.test(r.sender.title || "") && /DKIM/.test(r.sender.title || ""),
               `row ${m.ID} sender tooltip ${JSON.stringify(r.sender.title)} names neither SPF nor DKIM`);
        expect(r.sender.aria === r.sender.title, `row ${m.ID} sender aria-label != title`);
        const want = m.FakeMX && m.FakeMX.SenderReason;
        expect(want && r.sender.title === want, `row ${m.ID} sender title ${JSON.stringify(r.sender.title)}, the API's SenderReason ${JSON.stringify(want)}`);
      }
    });

    await screenshot(page, "web-ui-inbox.png").catch((e) => console.log(`# inbox screenshot: ${e.message}`));

    await check("axe-core: inbox has no serious or critical violations", () => axeSeriousOrWorse(page, "inbox"));

    await check("keyboard: Tab reaches a row and Enter opens it", async () => {
      await open(page, "", "inbox");
      await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
      let reached = null;
      for (let i = 0; i < 60 && !reached; i++) {
        await page.keyboard.press("Tab");
        reached = await page.evaluate(() => {
          const a = document.activeElement;
          const r = a && a.closest && a.closest("#inbox [data-message-id]");
          return r ? r.getAttribute("data-message-id") : null;
        });
      }
      expect(reached, "60 presses of Tab never focused a row of #inbox (or an element inside one)");
      await page.keyboard.press("Enter");
      await waitView(page, "message");
      const shown = await page.$eval("#message-view", (e) => e.getAttribute("data-message-id")).catch(() => null);
      expect(shown === reached, `Enter on row ${reached} opened #message-view[data-message-id=${shown}]`);
    });

    await check("message view: headers, text, TLS, verdict and transcript of the STARTTLS message", async () => {
      await open(page, `#/message/${tlsMsg.ID}`, "message");
      const v = await page.evaluate(() => {
        const t = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; };
        const transcript = [...document.querySelectorAll("#message-transcript [data-kind]")]
          .map((e) => ({ kind: e.getAttribute("data-kind"), text: e.textContent }));
        const checks = [...document.querySelectorAll("#message-verdict [data-check]")]
          .map((e) => ({ check: e.getAttribute("data-check"), result: e.getAttribute("data-result") }));
        return {
          id: (document.getElementById("message-view") || { getAttribute: () => null }).getAttribute("data-message-id"),
          headers: t("#message-headers"), text: t("#message-text"), tls: t("#message-tls"),
          textTag: (document.getElementById("message-text") || {}).tagName,
          html: !!document.getElementById("message-html"), transcript, checks,
          tabs: [...document.querySelectorAll('[role="tab"]')].map((e) => e.getAttribute("aria-controls")),
        };
      });
      expect(v.id === tlsMsg.ID, `#message-view[data-message-id] is ${v.id}, want ${tlsMsg.ID}`);
      expect(v.headers && v.headers.includes("Subject") && v.headers.includes(SUBJECT_TLS),
             `#message-headers lacks the Subject field: ${JSON.stringify(v.headers && v.headers.slice(0, 200))}`);
      expect(v.textTag === "PRE" && v.text && v.text.includes("Sent over STARTTLS to the good receiver."),
             `#message-text (${v.textTag}) lacks the body: ${JSON.stringify(v.text && v.text.slice(0, 200))}`);
      expect(!v.html, "#message-html present for a message without an HTML part");
      expect(v.tls && /TLS/.test(v.tls), `#message-tls says nothing about TLS: ${JSON.stringify(v.tls)}`);
      const kinds = new Set(v.checks.map((c) => c.check));
      for (const k of ["spf-mailfrom", "spf-helo", "dmarc"]) {
        expect(kinds.has(k), `#message-verdict has no [data-check=${k}] (has ${[...kinds].join(", ")})`);
      }
      expect(v.checks.every((c) => c.result), "a [data-check] without data-result");
      expect(v.tabs.length > 0 && v.tabs.every((c) => c), "tabs ([role=tab]) missing or without aria-controls");
      const commands = v.transcript.filter((e) => e.kind === "command").map((e) => e.text);
      const replies = v.transcript.filter((e) => e.kind === "reply");
      const at = (re) => commands.findIndex((c) => re.test(c));
      expect(at(/EHLO/i) >= 0, `no EHLO command in the transcript: ${JSON.stringify(commands)}`);
      expect(at(/STARTTLS/i) > at(/EHLO/i), `no STARTTLS command after EHLO: ${JSON.stringify(commands)}`);
      expect(replies.length >= 3, `only ${replies.length} reply entries`);
    });
    await screenshot(page, "web-ui-message.png").catch((e) => console.log(`# message screenshot: ${e.message}`));
    await check("axe-core: message view has no serious or critical violations", () => axeSeriousOrWorse(page, "message"));

    await check("message view of the plaintext message: transcript without STARTTLS", async () => {
      await open(page, `#/message/${plainMsg.ID}`, "message");
      const commands = await page.$$eval('#message-transcript [data-kind="command"]', (es) => es.map((e) => e.textContent));
      expect(commands.some((c) => /EHLO/i.test(c)), `no EHLO: ${JSON.stringify(commands)}`);
      expect(!commands.some((c) => /STARTTLS/i.test(c)), `a STARTTLS command in a plaintext session: ${JSON.stringify(commands)}`);
    });

    await check("message view: its part of the session transcript, what was left out, and a link to the whole", async () => {
      await open(page, `#/message/${tlsMsg.ID}`, "message");
      const m = await page.evaluate(() => {
        const note = document.getElementById("message-transcript-omitted");
        return {
          entries: document.querySelectorAll('#message-transcript [data-kind]:not([data-kind="omitted"])').length,
          omitted: note ? Number(note.dataset.omitted) : -1,
          session: note ? Number(note.dataset.sessionEntries) : -1,
          last: [...document.querySelectorAll('#message-transcript [data-kind="reply"]')].map((e) => e.textContent).pop() || "",
        };
      });
      // swaks sends one message then QUIT: the slice ends with the 250 to its
      // data, and QUIT and its 221 are what was left out.
      expect(/250/.test(m.last), `the message's transcript does not end with its 250: ${JSON.stringify(m.last)}`);
      expect(m.omitted === 2, `left out ${m.omitted} entries, want 2 (QUIT, 221)`);
      expect(m.entries + m.omitted === m.session, `${m.entries} shown + ${m.omitted} left out != ${m.session} in the session`);
      await page.click("#message-session-transcript");
      await waitView(page, "session");
      const s = await page.evaluate(() => {
        const status = document.getElementById("session-transcript-status");
        return {
          entries: document.querySelectorAll("#session-transcript [data-kind]").length,
          total: status ? Number(status.dataset.total) : -1,
          more: !!document.querySelector("#session-transcript-more:not([hidden])"),
        };
      });
      expect(s.entries === m.session && s.total === m.session && !s.more,
             `the session view shows ${s.entries} of ${s.total} entries (more: ${s.more}), want all ${m.session}`);
    });

    await check("HTML mail is inert: sandboxed iframe without allow-scripts, no script ran, nothing fetched", async () => {
      await open(page, `#/message/${htmlMsg.ID}`, "message");
      const frameEl = await page.$("#message-html");
      expect(frameEl, "no #message-html for a message with an HTML part");
      const attrs = await frameEl.evaluate((e) => ({ tag: e.tagName, sandbox: e.getAttribute("sandbox"), src: e.getAttribute("src") }));
      expect(attrs.tag === "IFRAME", `#message-html is a ${attrs.tag}, want IFRAME`);
      expect(attrs.sandbox !== null, "#message-html has no sandbox attribute");
      const tokens = attrs.sandbox.split(/\s+/).filter(Boolean);
      expect(!tokens.includes("allow-scripts"), `sandbox="${attrs.sandbox}" allows scripts`);
      expect(!tokens.includes("allow-same-origin"), `sandbox="${attrs.sandbox}" allows same origin`);
      // Open the tab whose panel holds the iframe, as a reader would (the
      // frame may load lazily, only once shown).
      const tab = await page.evaluateHandle(() => {
        const panel = document.getElementById("message-html").closest('[role="tabpanel"]');
        return panel ? document.querySelector(`[role="tab"][aria-controls="${panel.id}"]`) : null;
      });
      if (tab.asElement()) await tab.asElement().click();
      let frame = null;
      for (let i = 0; i < VIEW_TIMEOUT_MS / 100 && !(frame && frame.url().includes("/view/")); i++) {
        frame = await frameEl.contentFrame();
        if (!(frame && frame.url().includes("/view/"))) await new Promise((r) => setTimeout(r, 100));
      }
      expect(frame && frame.url().includes("/view/"),
             `the iframe did not load /view/${htmlMsg.ID}.html within ${VIEW_TIMEOUT_MS} ms (frame url ${JSON.stringify(frame && frame.url())})`);
      await frame.waitForSelector("#inert-marker", { timeout: VIEW_TIMEOUT_MS });
      // Click the javascript: link and the form button: neither may do anything.
      await frame.click("#js-link").catch(() => {});
      await frame.click("#form-button").catch(() => {});
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      for (const f of page.frames()) {
        const ran = await f.evaluate(() => window.__fakemxScriptRan).catch(() => undefined);
        expect(ran === undefined, `script ran in frame ${f.url()}: __fakemxScriptRan=${JSON.stringify(ran)}`);
      }
      const hits = fs.readFileSync(beaconLog, "utf8").trim();
      expect(hits === "", `the beacon got requests:\n${hits}`);
    });

    await check("sessions view shows the failed handshake with its TLS outcome", async () => {
      await open(page, "#/sessions", "sessions");
      const r = await page.$(`#sessions [data-session-id="${failed.id}"]`);
      expect(r, `no #sessions row [data-session-id="${failed.id}"]`);
      const tls = await r.$eval('[data-field="tls"]', (e) => e.textContent.trim()).catch(() => null);
      expect(tls && tls.includes(failed.verdict.tls_outcome),
             `[data-field=tls] is ${JSON.stringify(tls)}, want it to show ${JSON.stringify(failed.verdict.tls_outcome)}`);
      const lock = await r.$eval("[data-lock]", (e) => e.getAttribute("data-lock")).catch(() => null);
      expect(lock === "red_lock", `the failed session's [data-lock] is ${lock}`);
      const messages = await r.$eval('[data-field="messages"]', (e) => e.textContent.trim()).catch(() => null);
      expect(messages !== null && /^0\b|^none$|^—$|^-$/i.test(messages),
             `[data-field=messages] of a session without messages is ${JSON.stringify(messages)}`);
      const ids = await page.$$eval("#sessions [data-session-id]", (es) => es.map((e) => Number(e.getAttribute("data-session-id"))));
      expect(ids.length >= 4 && ids.every((id, i) => i === 0 || ids[i - 1] > id), `sessions not newest first: ${JSON.stringify(ids)}`);
    });
    await screenshot(page, "web-ui-sessions.png").catch((e) => console.log(`# sessions screenshot: ${e.message}`));
    await check("axe-core: sessions view has no serious or critical violations", () => axeSeriousOrWorse(page, "sessions"));

    await check("session view of the failed handshake: TLS outcome and transcript", async () => {
      await open(page, `#/session/${failed.id}`, "session");
      const v = await page.evaluate(() => ({
        id: (document.getElementById("session-view") || { getAttribute: () => null }).getAttribute("data-session-id"),
        tls: (document.getElementById("session-tls") || {}).textContent || "",
        commands: [...document.querySelectorAll('#session-transcript [data-kind="command"]')].map((e) => e.textContent),
      }));
      expect(v.id === String(failed.id), `#session-view[data-session-id] is ${v.id}`);
      expect(v.tls.includes(failed.verdict.tls_outcome), `#session-tls ${JSON.stringify(v.tls)} lacks ${JSON.stringify(failed.verdict.tls_outcome)}`);
      expect(v.commands.some((c) => /STARTTLS/i.test(c)), `no STARTTLS command in the transcript: ${JSON.stringify(v.commands)}`);
    });

    await check("narrow screen (360x740): no horizontal scroll on inbox and message view", async () => {
      await page.setViewport({ width: 360, height: 740 });
      try {
        await open(page, "", "inbox");
        await noHorizontalScroll(page, "the inbox");
        await open(page, `#/message/${tlsMsg.ID}`, "message");
        await noHorizontalScroll(page, "the message view");
      } finally {
        await page.setViewport({ width: 1280, height: 800 });
      }
    });

    await check("search narrows the inbox", async () => {
      await open(page, "", "inbox");
      const before = (await inboxRows(page)).length;
      await page.click("#search", { count: 3 });
      await page.type("#search", 'subject:"in plaintext"');
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => {
        const n = document.querySelectorAll("#inbox [data-message-id]").length;
        return /[?&]q=/.test(location.hash) && document.body.dataset.view === "inbox" && n > 0 && n < 3;
      }, { timeout: VIEW_TIMEOUT_MS }).catch(() => {});
      const after = await inboxRows(page);
      const hash = await page.evaluate(() => location.hash);
      expect(/[?&]q=/.test(hash), `the search did not reach the URL fragment (${hash})`);
      expect(after.length === 1 && after[0].id === plainMsg.ID,
             `after the search ${after.length} rows (${after.map((r) => r.subject).join(" | ")}), want only "${SUBJECT_PLAIN}"; ${before} before`);
    });

    await check("scenario switcher switches (GET /fakemx/v1/scenario agrees)", async () => {
      const before = await api(`${switchBase}/fakemx/v1/scenario`);
      expect(before.name === "good", `the second fakemx runs ${before.name}, want good`);
      await open(page, "", "inbox", switchBase);
      await page.waitForFunction(() => document.querySelectorAll('#scenario-select option[value="no-starttls"]').length === 1,
                                 { timeout: VIEW_TIMEOUT_MS }).catch(() => {});
      const shown = await page.$eval("#scenario-name", (e) => e.textContent).catch(() => null);
      expect(shown && shown.includes("good"), `#scenario-name is ${JSON.stringify(shown)}, want it to name good`);
      const picked = await page.select("#scenario-select", "no-starttls");
      expect(picked.includes("no-starttls"), "#scenario-select has no option no-starttls");
      await page.click("#scenario-apply");
      await page.waitForFunction(() => ((document.getElementById("scenario-name") || {}).textContent || "").includes("no-starttls"),
                                 { timeout: VIEW_TIMEOUT_MS }).catch(() => {});
      const after = await api(`${switchBase}/fakemx/v1/scenario`);
      expect(after.name === "no-starttls" && after.generation === before.generation + 1,
             `after apply the API runs ${after.name} generation ${after.generation} (was ${before.generation})`);
      const now = await page.$eval("#scenario-name", (e) => e.textContent).catch(() => null);
      expect(now && now.includes("no-starttls"), `#scenario-name still ${JSON.stringify(now)} after the switch`);
    });

    await check("live: a message sent while the inbox is open appears at its top without a reload", async () => {
      await open(page, "", "inbox");
      await page.waitForSelector('#live-status[data-state="live"]', { timeout: VIEW_TIMEOUT_MS });
      const marks = await page.evaluate(() => performance.getEntriesByName("fakemx:rendered:inbox").length);
      const subject = "web-ui live: sent while the inbox is open";
      await sendPlain(subject);
      await waitRowWithSubject(page, subject);
      const top = (await inboxRows(page))[0];
      expect(top && top.subject === subject, `the top row is ${JSON.stringify(top)}`);
      const after = await page.evaluate(() => performance.getEntriesByName("fakemx:rendered:inbox").length);
      expect(after === marks, `the inbox was rendered again (${marks} -> ${after} marks), not updated in place`);
    });

    await check("live: a message captured after the page loaded but before the event stream connected appears", async () => {
      // The event stream's websocket is held back (a stand-in WebSocket that
      // opens the real one only when told) so that the mail certainly
      // arrives in that gap; no event is ever sent for it.
      const gated = await browser.newPage();
      watch(gated);
      try {
        await gated.evaluateOnNewDocument(() => {
          const Real = window.WebSocket;
          let release;
          const gate = new Promise((resolve) => { release = resolve; });
          window.__releaseEvents = release;
          window.WebSocket = class extends EventTarget {
            constructor(url) {
              super();
              gate.then(() => {
                const ws = new Real(url);
                for (const type of ["open", "close", "error"]) {
                  ws.addEventListener(type, () => this.dispatchEvent(new Event(type)));
                }
                ws.addEventListener("message", (e) => this.dispatchEvent(new MessageEvent("message", { data: e.data })));
              });
            }
          };
        });
        await open(gated, "", "inbox");
        const subject = "web-ui live: sent before the event stream connected";
        await sendPlain(subject);
        await gated.evaluate(() => window.__releaseEvents());
        await gated.waitForSelector('#live-status[data-state="live"]', { timeout: VIEW_TIMEOUT_MS });
        await waitRowWithSubject(gated, subject);
      } finally {
        await gated.close();
      }
    });

    await check("delete all empties the inbox", async () => {
      await open(page, "", "inbox");
      await page.click("#delete-all");
      await page.waitForSelector("#confirm-dialog[open]", { timeout: VIEW_TIMEOUT_MS });
      await page.click("#confirm-ok");
      await page.waitForFunction(() => document.querySelectorAll("#inbox [data-message-id]").length === 0,
                                 { timeout: VIEW_TIMEOUT_MS }).catch(() => {});
      const left = (await inboxRows(page)).length;
      expect(left === 0, `${left} rows left after delete all`);
      const empty = await page.$eval("#inbox-empty", (e) => e.checkVisibility ? e.checkVisibility() : e.offsetParent !== null).catch(() => false);
      expect(empty, "#inbox-empty is not shown");
      const stored = await api(`${base}/api/v1/messages`);
      expect(stored.total === 0 && stored.messages.length === 0, `the API still lists ${stored.total} messages`);
    });

    await check("no console errors and no page errors in the whole run", async () => {
      expect(consoleErrors.length === 0 && pageErrors.length === 0,
             `console errors: ${JSON.stringify(consoleErrors)}; page errors: ${JSON.stringify(pageErrors)}`);
    });
    for (const line of mailConsole) console.log(`# blocked in the HTML mail's frame: ${line}`);
  } finally {
    await browser.close();
  }
  if (failures) console.log(`# ${failures} check(s) failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.log(`not ok - the test itself: ${e && e.stack || e}`);
  process.exit(1);
});
