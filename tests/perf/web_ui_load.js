// The web UI's load and interaction times in Debian's chromium (headless,
// puppeteer-core), for tests/perf/web_ui_load.sh, which has filled fakemx.
//
//   node web_ui_load.js NODE_MODULES CHROMIUM BASE_URL RUNS INTERACTIONS(0|1) [ROWS(1|0)]
//
// ROWS 0: the store is empty, and the inbox must show no row (the page's
// own cost, without messages).
//
// Every time is read in the page from performance marks: the page calls
// performance.mark("fakemx:rendered:" + view) when a view has rendered its
// data (fakemx/ui/README.md), so a load is navigation start (time origin) to
// that mark, and an action is performance.now() just before it to the next
// such mark. That mark is made when the view's DOM is built, before chromium
// has laid it out and painted it, so each load is also given as "shown": the
// end of the first frame after the mark (a requestAnimationFrame callback,
// then a task posted from it, which runs once that frame's style, layout and
// paint are done). The target is judged on "shown": it is what the user sees. Each figure is also given as the CPU time chromium's renderer
// processes used meanwhile (CDP SystemInfo.getProcessInfo's cpuTime, summed
// over the renderers; the other pages are idle), which other processes on a
// loaded machine inflate far less than the wall clock.
//
// With INTERACTIONS, opening the newest message (the last of 10,000 over
// one kept-alive connection) also checks that its view rendered only its
// part of the session transcript, and the session view only a page of it.
//
// Prints one line per figure: "RESULT NAME median_ms max_ms cpu_median_ms n",
// or "FAILED NAME why" for an action that did not complete (exit status 1).
"use strict";

const path = require("node:path");

const [nodeModules, chromium, base, runsArg, interactionsArg, rowsArg = "1"] = process.argv.slice(2);
const EXPECT_ROWS = rowsArg !== "0";
const puppeteer = require(path.join(nodeModules, "puppeteer-core"));
const RUNS = Number(runsArg);
const INTERACTIONS = interactionsArg === "1";
const TIMEOUT_MS = 60000;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}
function report(name, times, busy) {
  console.log(`RESULT ${name} ${median(times).toFixed(1)} ${Math.max(...times).toFixed(1)} ` +
              `${median(busy).toFixed(1)} ${times.length}`);
  // Every load in the order made: whether a max is one outlier or a trend.
  console.log(`SAMPLES ${name} ${times.map((t) => t.toFixed(0)).join(" ")}`);
}
let systemInfo;  // a browser-level CDP session
async function taskMs() {
  const { processInfo } = await systemInfo.send("SystemInfo.getProcessInfo");
  return processInfo.filter((p) => p.type === "renderer").reduce((sum, p) => sum + p.cpuTime, 0) * 1000;
}

// loadOnce(context): a fresh page in CONTEXT loads `/`; returns
// [ms from navigation start to the inbox mark, renderer busy ms,
//  ms from navigation start to the end of the first frame after the mark,
//  ms from navigation start to app.js having the view (ready)].
async function loadOnce(context) {
  const page = await context.newPage();
  try {
    await page.evaluateOnNewDocument(() => {
      new PerformanceObserver((list, obs) => {
        if (!list.getEntries().some((e) => e.name === "fakemx:rendered:inbox")) return;
        obs.disconnect();
        requestAnimationFrame(() => {
          const channel = new MessageChannel();
          channel.port1.onmessage = () => performance.mark("fakemx:shown:inbox");
          channel.port2.postMessage(0);
        });
      }).observe({ type: "mark" });
    });
    const busy0 = await taskMs();
    await page.goto(`${base}/`, { waitUntil: "domcontentloaded", timeout: TIMEOUT_MS });
    await page.waitForFunction(() => performance.getEntriesByName("fakemx:shown:inbox").length > 0,
                               { timeout: TIMEOUT_MS, polling: 5 });
    const [ms, shown] = await page.evaluate(() => [
      performance.getEntriesByName("fakemx:rendered:inbox")[0].startTime,
      performance.getEntriesByName("fakemx:shown:inbox")[0].startTime]);
    // Ready: app.js has the view (body[data-view]); for the inbox the server
    // rendered into the page that comes after it is shown, when app.js has
    // taken it over ("fakemx:ready:inbox"), else with the rendered mark.
    await page.waitForFunction(() => document.body.dataset.view === "inbox", { timeout: TIMEOUT_MS, polling: 5 });
    const ready = await page.evaluate(() =>
      (performance.getEntriesByName("fakemx:ready:inbox")[0] ||
       performance.getEntriesByName("fakemx:rendered:inbox")[0]).startTime);
    const rows = await page.$$eval("#inbox [data-message-id]", (r) => r.length);
    if (EXPECT_ROWS && rows === 0) throw new Error("the inbox rendered no rows");
    if (!EXPECT_ROWS && rows !== 0) throw new Error(`the inbox of an empty store rendered ${rows} rows`);
    return [ms, (await taskMs()) - busy0, shown, ready];
  } finally {
    await page.close();
  }
}

// timed(page, mark, action): ms from just before ACTION to the next MARK
// (a performance mark named MARK made after the start), and busy ms.
async function timed(page, mark, action) {
  await page.evaluate((m, timeout) => {
    window.__perfStart = performance.now();
    window.__perfDone = new Promise((resolve, reject) => {
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (e.name === m && e.startTime >= window.__perfStart) {
            obs.disconnect();
            resolve(e.startTime - window.__perfStart);
          }
        }
      });
      obs.observe({ type: "mark" });
      // The page shows a failure as body[data-view="error"] and #error.
      new MutationObserver(() => {
        if (document.body.dataset.view === "error") {
          reject(new Error(`the page shows an error instead of ${m}: ${(document.getElementById("error") || {}).textContent}`));
        }
      }).observe(document.body, { attributes: true, attributeFilter: ["data-view"] });
      setTimeout(() => reject(new Error(`no mark ${m} within ${timeout} ms`)), timeout);
    });
  }, mark, TIMEOUT_MS);
  const busy0 = await taskMs();
  await action();
  const ms = await page.evaluate(() => window.__perfDone);
  return [ms, (await taskMs()) - busy0];
}

// The newest message came last over one kept-alive connection of COUNT
// messages (a session of about 4 entries per message): its view must show
// the session's opening and its own transaction, not the whole session
// (a DOM check of what was rendered, not a timing).
const MAX_MESSAGE_TRANSCRIPT = 40;
async function checkMessageTranscript(page) {
  const v = await page.evaluate(() => {
    const note = document.getElementById("message-transcript-omitted");
    return {
      entries: document.querySelectorAll('#message-transcript [data-kind]:not([data-kind="omitted"])').length,
      gap: document.querySelectorAll('#message-transcript [data-kind="omitted"]').length,
      session: note ? Number(note.dataset.sessionEntries) : -1,
      link: !!document.getElementById("message-session-transcript"),
    };
  });
  if (v.entries === 0 || v.entries > MAX_MESSAGE_TRANSCRIPT) {
    throw new Error(`the message view rendered ${v.entries} transcript entries, want 1 to ${MAX_MESSAGE_TRANSCRIPT}`);
  }
  if (v.session < 1000 || v.gap !== 1 || !v.link) {
    throw new Error(`no marker of the left-out session transcript (${JSON.stringify(v)})`);
  }
}
// The session view renders a page of its transcript, not 40,000 entries.
async function checkSessionTranscriptPaged(page) {
  const v = await page.evaluate(() => {
    const status = document.getElementById("session-transcript-status");
    return {
      entries: document.querySelectorAll("#session-transcript [data-kind]").length,
      total: status ? Number(status.dataset.total) : -1,
      more: !!document.querySelector("#session-transcript-more:not([hidden])"),
    };
  });
  if (v.entries > 500 || v.total < 1000 || !v.more) {
    throw new Error(`the session view is not paged: ${JSON.stringify(v)}`);
  }
}

// A cold load opens a new browser context, and chromium (156) opens a new
// window for it whose toolbar preloads its omnibox popup: a WebUI page
// (chrome://omnibox-popup.top-chrome) in a renderer of its own that parses
// and runs several hundred KB of script while our page loads, on a machine
// of 2 CPUs. That is the cost of opening a browser window, not of loading
// the page in one (a user opens fakemx in a window that is already open),
// so it is turned off here. MXKIT_WEB_UI_BROWSER_DEFAULTS=1 keeps chromium's
// defaults; web_ui_load.sh reports one such run beside the others.
const BROWSER_DEFAULTS = process.env.MXKIT_WEB_UI_BROWSER_DEFAULTS === "1";
const NO_WINDOW_UI_PRELOAD = "--disable-features=WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup";

let failed = 0;
async function main() {
  const browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           ...(BROWSER_DEFAULTS ? [] : [NO_WINDOW_UI_PRELOAD])],
  });
  systemInfo = await browser.target().createCDPSession();
  try {
    // Whether the switch above still does what it says: the omnibox popup
    // pages among the browser's targets once a context has loaded a page
    // (with chromium's defaults there are some: printed, not asserted).
    {
      const ctx = await browser.createBrowserContext();
      const page = await ctx.newPage();
      await page.goto(`${base}/ui/app.css`, { waitUntil: "load", timeout: TIMEOUT_MS });
      const { targetInfos } = await systemInfo.send("Target.getTargets");
      const ui = targetInfos.filter((t) => t.url.startsWith("chrome://omnibox-popup"));
      await ctx.close();
      if (!BROWSER_DEFAULTS && ui.length) {
        throw new Error(`${NO_WINDOW_UI_PRELOAD} no longer keeps chromium from preloading ${ui[0].url}`);
      }
      console.log(`WINDOW_UI ${ui.length} omnibox popup pages with ${BROWSER_DEFAULTS ? "chromium's defaults" : NO_WINDOW_UI_PRELOAD}`);
    }
    // Cold: a new incognito context per load, so nothing is cached. One
    // load first, not timed: the first page a freshly launched chromium
    // loads also pays for starting the browser's own machinery (its first
    // renderer of the site, the network service's first request), which a
    // user's running browser has done long before. Cold here means the
    // page's cache is empty, not the browser; the returning-user series
    // below starts with an untimed load too.
    {
      const ctx = await browser.createBrowserContext();
      await loadOnce(ctx);
      await ctx.close();
    }
    const cold = [], coldBusy = [], coldShown = [], coldReady = [];
    for (let i = 0; i < RUNS; i++) {
      const ctx = await browser.createBrowserContext();
      const [ms, busy, shown, ready] = await loadOnce(ctx);
      cold.push(ms); coldBusy.push(busy); coldShown.push(shown); coldReady.push(ready);
      await ctx.close();
    }
    report("load_cold", cold, coldBusy);
    report("shown_cold", coldShown, coldBusy);
    report("ready_cold", coldReady, coldBusy);

    // What a fresh page costs chromium itself, whatever the page: the same
    // cold navigation to a small document of the same origin (app.css, shown
    // as text), navigation start to its load event. The inbox figures above
    // include this.
    const base0 = [], base0Busy = [];
    for (let i = 0; i < RUNS; i++) {
      const c = await browser.createBrowserContext();
      const page = await c.newPage();
      const busy0 = await taskMs();
      await page.goto(`${base}/ui/app.css`, { waitUntil: "load", timeout: TIMEOUT_MS });
      const ms = await page.evaluate(() => performance.getEntriesByType("navigation")[0].loadEventEnd);
      base0.push(ms); base0Busy.push((await taskMs()) - busy0);
      await c.close();
    }
    report("baseline_cold", base0, base0Busy);

    // Returning user: one context whose HTTP cache one load has filled; a
    // fresh page (tab) per load.
    const ctx = await browser.createBrowserContext();
    await loadOnce(ctx);
    const warm = [], warmBusy = [], warmShown = [], warmReady = [];
    for (let i = 0; i < RUNS; i++) {
      const [ms, busy, shown, ready] = await loadOnce(ctx);
      warm.push(ms); warmBusy.push(busy); warmShown.push(shown); warmReady.push(ready);
    }
    report("load_warm", warm, warmBusy);
    report("shown_warm", warmShown, warmBusy);
    report("ready_warm", warmReady, warmBusy);

    if (INTERACTIONS) {
      // Each action is timed RUNS times; one that fails is reported as
      // FAILED with the reason and the others still run.
      const page = await ctx.newPage();
      const inbox = async () => {
        await page.goto("about:blank");
        await page.goto(`${base}/`, { waitUntil: "domcontentloaded", timeout: TIMEOUT_MS });
        await page.waitForFunction(() => document.body.dataset.view === "inbox", { timeout: TIMEOUT_MS });
      };
      const actions = {
        next_page: async () => {
          await inbox();
          return timed(page, "fakemx:rendered:inbox", () => page.click("#page-next"));
        },
        open_message: async () => {
          await inbox();
          const row = await page.$("#inbox a[data-message-id], #inbox [data-message-id] a[href]");
          if (!row) throw new Error("no link in an inbox row to open");
          const r = await timed(page, "fakemx:rendered:message", () => row.click());
          await checkMessageTranscript(page);
          return r;
        },
        open_session: async () => {
          await inbox();
          const row = await page.$("#inbox a[data-message-id], #inbox [data-message-id] a[href]");
          if (!row) throw new Error("no link in an inbox row to open");
          await timed(page, "fakemx:rendered:message", () => row.click());
          const r = await timed(page, "fakemx:rendered:session", () => page.click("#message-session-transcript"));
          await checkSessionTranscriptPaged(page);
          return r;
        },
        back_to_inbox: async () => {
          await inbox();
          const row = await page.$("#inbox a[data-message-id], #inbox [data-message-id] a[href]");
          if (!row) throw new Error("no link in an inbox row to open");
          await timed(page, "fakemx:rendered:message", () => row.click());
          return timed(page, "fakemx:rendered:inbox", () => page.goBack());
        },
        search: async (i) => {
          await inbox();
          await page.click("#search", { count: 3 });
          await page.type("#search", `subject:"perf message ${String(1000 + i).padStart(5, "0")}"`);
          const r = await timed(page, "fakemx:rendered:inbox", () => page.keyboard.press("Enter"));
          const n = await page.$$eval("#inbox [data-message-id]", (rows) => rows.length);
          if (n !== 1) throw new Error(`the search for one subject shows ${n} rows`);
          return r;
        },
      };
      for (const [name, action] of Object.entries(actions)) {
        const times = [], busy = [];
        try {
          for (let i = 0; i < RUNS; i++) {
            const [ms, b] = await action(i);
            times.push(ms); busy.push(b);
          }
          report(name, times, busy);
        } catch (e) {
          failed++;
          console.log(`FAILED ${name} ${String(e && e.message || e).split("\n")[0]}`);
        }
      }
      await page.close();
    }
    await ctx.close();
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(`web_ui_load.js: ${e && e.stack || e}`);
  process.exit(1);
});
