// fakemx web UI: see fakemx/ui/README.md for the routes, data and the DOM
// hooks the browser tests rely on.
//
// Every string shown here may come from the mail or the SMTP client under
// test, so the DOM is built with createElement/textContent only: no
// innerHTML, no inline handlers (the page is served with a CSP of
// script-src 'self'; style-src 'self').

// Rows per page of the inbox and the sessions list. 25 rather than 50: on a
// cold load chromium lays out and paints every row before the first frame
// shows, and half the rows took about a third off the time to the inbox
// shown (tests/perf/web_ui_load.sh); a 1080p window shows about 25 anyway.
const PAGE_SIZE = 25;
// Long-poll for new sessions: under the API's 60 s idle close (docs/api.md).
const WAIT_TIMEOUT = "25s";
// While a shown session is still open, its row or page is refreshed this often.
const OPEN_SESSION_REFRESH_MS = 2000;
// A session's transcript is shown this many entries at a time: a kept-alive
// connection that carried 10,000 messages has 40,000 entries, which the
// browser would take seconds to lay out (docs/api.md: transcript_limit).
const TRANSCRIPT_PAGE = 500;
const TRANSCRIPT_MAX_PAGE = 10000;  // the API's bound on transcript_limit
// The session view links its first messages, not 10,000 of them.
const SESSION_MESSAGE_LINKS = 200;
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 30000;

// ---------- small DOM helpers ----------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of children) append(node, c);
  return node;
}

function append(node, child) {
  if (child === undefined || child === null || child === false) return;
  if (Array.isArray(child)) for (const c of child) append(node, c);
  else if (child instanceof Node) node.appendChild(child);
  // Anything else (a number, an API field of an unexpected shape) is shown
  // as text rather than breaking the view.
  else node.appendChild(document.createTextNode(typeof child === "object" ? JSON.stringify(child) : String(child)));
}

const $ = (sel) => document.querySelector(sel);

// ---------- formatting ----------

// Local time as YYYY-MM-DD HH:MM:SS: sortable, and the same width in every
// row. first-view.js's (inlined into the page, run before app.js is
// fetched): one home for the time format, so the inbox the server rendered
// and the views app.js builds show times alike.
const formatTime = globalThis.fakemxLocalTime;

function timeEl(iso, field) {
  return el("time", { datetime: iso || "", title: iso || "", "data-field": field, text: formatTime(iso) });
}

function formatAddress(a) {
  if (!a) return "";
  if (a.Name && a.Address) return `${a.Name} <${a.Address}>`;
  return a.Address || a.Name || "";
}

function formatAddresses(list) {
  return (list || []).map(formatAddress).filter(Boolean).join(", ");
}

// An envelope path of the delivery JSON: {"address","params"}, params as
// the [keyword, value] pairs the client sent (SIZE=, BODY=, ...).
function formatPath(p) {
  const params = (p.params || []).map((x) => (Array.isArray(x) ? (x[1] ? `${x[0]}=${x[1]}` : x[0]) : String(x)));
  return [`<${p.address || ""}>`, ...params].join(" ");
}

function formatOffset(us) {
  return `+${(Number(us) / 1e6).toFixed(3)} s`;
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// ---------- the lock and sender icons ----------

// Each icon is an empty span that app.css draws from its data-lock or
// data-sender kind (no SVG: fakemx/ui/README.md says why); the span carries
// the reason as its tooltip and accessible name.
function lockIcon(lock, reason) {
  const kind = lock === "encrypted" ? "encrypted" : "red_lock";
  // The reason is composed by the server (fakemx/verdict_reasons.h).
  const text = reason || kind;
  return el("span", { class: `icon lock-${kind}`, role: "img", title: text, "aria-label": text, "data-lock": kind });
}

function senderIcon(sender, reason) {
  const kind = sender === "authenticated" || sender === "question_mark" ? sender : "unchecked";
  const text = reason || kind;
  return el("span", { class: `icon sender-${kind}`, role: "img", title: text, "aria-label": text, "data-sender": kind });
}

// ---------- API access and errors ----------

class ApiError extends Error {}

async function api(path, { method = "GET", body, signal, okStatuses = [] } = {}) {
  let res;
  try {
    res = await fetch(path, { method, body, signal, headers: body !== undefined ? { "Content-Type": "text/plain" } : {} });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(`${method} ${path}: could not reach fakemx (${e.message})`);
  }
  if (!res.ok && !okStatuses.includes(res.status)) {
    // fakemx's own API answers {"error":...}; the Mailpit API answers text.
    const text = await res.text().catch(() => "");
    let reason = text.trim();
    try {
      const j = JSON.parse(text);
      if (j && typeof j.error === "string") reason = j.error;
    } catch (_) { /* plain text reason */ }
    const err = new ApiError(`${method} ${path}: ${res.status} ${reason || res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return res;
}

async function apiJson(path, opts) {
  const res = await api(path, opts);
  if (res.status === 408) return null;
  try {
    return await res.json();
  } catch (e) {
    throw new ApiError(`${opts && opts.method || "GET"} ${path}: the answer is not JSON (${e.message})`);
  }
}

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  const box = $("#error");
  box.textContent = "";
  box.hidden = true;
}

function reportError(e) {
  if (e && e.name === "AbortError") return;
  showError(e instanceof Error ? e.message : String(e));
}

// ---------- routing ----------

function parseRoute() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?", 2);
  const params = new URLSearchParams(query);
  const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  let m;
  if ((m = /^\/message\/(\d+)$/.exec(path))) return { view: "message", id: m[1] };
  if ((m = /^\/session\/(\d+)$/.exec(path))) return { view: "session", id: m[1] };
  if (path === "/sessions") return { view: "sessions", page };
  if (path === "/" || path === "") return { view: "inbox", page, q: params.get("q") || "" };
  return { view: "unknown", path };
}

function inboxHash(q, page) {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (page > 1) params.set("page", String(page));
  const s = params.toString();
  return s ? `#/?${s}` : "#/";
}

// Each navigation gets a fresh AbortController; work for an old view stops.
let current = { route: null, controller: new AbortController() };

function rendered(view) {
  document.body.dataset.view = view;
  performance.mark(`fakemx:rendered:${view}`);
}

async function navigate() {
  current.controller.abort();
  const controller = new AbortController();
  const route = parseRoute();
  current = { route, controller };
  clearError();
  document.body.dataset.view = "loading";
  $("#nav-inbox").toggleAttribute("aria-current", route.view === "inbox" || route.view === "message");
  $("#nav-sessions").toggleAttribute("aria-current", route.view === "sessions" || route.view === "session");
  if (route.view === "inbox") $("#search").value = route.q;
  try {
    switch (route.view) {
      case "inbox": await renderInbox(route, controller.signal); break;
      case "message": await renderMessage(route, controller.signal); break;
      case "sessions": await renderSessions(route, controller.signal); break;
      case "session": await renderSession(route, controller.signal); break;
      default:
        setView(el("p", { text: "There is no such page." }));
        throw new ApiError(`no view for "#${route.path}": use #/, #/sessions, #/message/ID or #/session/ID`);
    }
  } catch (e) {
    if (controller.signal.aborted) return;
    reportError(e);
    $("#view").hidden = false;
    document.body.dataset.view = "error";
  }
}

function setView(...nodes) {
  const view = $("#view");
  view.replaceChildren(...nodes.flat().filter(Boolean));
  view.hidden = false;  // first-view.js hides the server's inbox for another route
}

function setTitle(text) {
  document.title = text ? `${text} · fakemx` : "fakemx";
}

// ---------- inbox ----------

const inboxState = { total: 0, page: 1, q: "", ids: new Set() };

// One inbox row, built once per (lock, sender) kind and cloned for each
// message: cloning a built subtree costs the page far less than making its
// eighteen elements one by one, which counts on the first load. Message
// fields still go in through textContent and attributes only.
const rowTemplates = new Map();
function rowTemplate(lockKind, senderKind) {
  const key = `${lockKind}/${senderKind}`;
  let t = rowTemplates.get(key);
  if (!t) {
    t = el("li", null, el("a", { class: "row" },
        el("span", { class: "icons" }, lockIcon(lockKind, ""), senderIcon(senderKind, "")),
        el("span", { class: "from", "data-field": "from" }),
        el("span", { class: "to", "data-field": "to" }),
        el("span", { class: "subject" },
            el("span", { class: "visually-hidden", text: "Unread: " }),
            el("span", { "data-field": "subject" }),
            el("span", { class: "snippet" })),
        el("span", { class: "receiver", "data-field": "receiver" }),
        el("time", { "data-field": "time" })));
    rowTemplates.set(key, t);
  }
  return t;
}

function inboxRow(m) {
  const fm = m.FakeMX || {};
  const lockKind = fm.Lock === "encrypted" ? "encrypted" : "red_lock";
  const senderKind = fm.Sender === "authenticated" || fm.Sender === "question_mark" ? fm.Sender : "unchecked";
  const li = rowTemplate(lockKind, senderKind).cloneNode(true);
  const row = li.firstChild;
  row.className = m.Read ? "row" : "row unread";
  row.href = `#/message/${encodeURIComponent(m.ID)}`;
  row.dataset.messageId = m.ID;
  const [icons, from, to, subject, receiver, time] = row.children;
  const [lock, sender] = icons.children;
  const lockText = fm.LockReason || lockKind;  // composed by fakemx/verdict_reasons.h
  const senderText = fm.SenderReason || senderKind;
  lock.title = lockText;
  lock.setAttribute("aria-label", lockText);
  sender.title = senderText;
  sender.setAttribute("aria-label", senderText);
  from.textContent = formatAddress(m.From) || "(no From)";
  to.textContent = formatAddresses(m.To) || formatAddresses(m.Bcc) || "(no recipient)";
  const [unread, subjectText, snippet] = subject.children;
  if (m.Read) unread.remove();
  subjectText.textContent = m.Subject || "(no subject)";
  if (m.Snippet) snippet.textContent = ` — ${m.Snippet}`;
  else snippet.remove();
  receiver.textContent = fm.Receiver || "";
  time.dateTime = m.Created || "";
  time.title = m.Created || "";
  time.textContent = formatTime(m.Created);
  return li;
}

function pageInfoText(start, count, total) {
  if (total === 0 || count === 0) return `0 of ${total}`;
  return `${start + 1}–${start + count} of ${total}`;
}

function pager(idPrefix, { start, count, total, onPage }) {
  const page = Math.floor(start / PAGE_SIZE) + 1;
  const prev = el("button", { type: "button", id: `${idPrefix}page-prev`, text: "‹ Newer" });
  const next = el("button", { type: "button", id: `${idPrefix}page-next`, text: "Older ›" });
  prev.disabled = page <= 1;
  next.disabled = start + count >= total;
  prev.addEventListener("click", () => onPage(page - 1));
  next.addEventListener("click", () => onPage(page + 1));
  const info = el("span", { id: `${idPrefix}page-info`, text: pageInfoText(start, count, total) });
  return el("nav", { class: "pager", "aria-label": "Pages" }, prev, info, next);
}

async function renderInbox(route, signal) {
  const start = (route.page - 1) * PAGE_SIZE;
  const path = route.q
    ? `/api/v1/search?query=${encodeURIComponent(route.q)}&start=${start}&limit=${PAGE_SIZE}`
    : `/api/v1/messages?start=${start}&limit=${PAGE_SIZE}`;  // page 1: also fakemx/ui_assets.h kUiFirstInboxPageTarget
  const data = await apiJson(path, { signal });
  const messages = data.messages || [];
  const total = route.q ? (data.messages_count ?? data.total) : data.total;
  inboxState.total = total;
  inboxState.page = route.page;
  inboxState.q = route.q;
  inboxState.ids = new Set(messages.map((m) => m.ID));

  setTitle(route.q ? `Search: ${route.q}` : "Inbox");
  const heading = el("h1", { text: route.q ? `Search: ${route.q}` : "Inbox" });
  const list = el("ol", { id: "inbox", class: "inbox", "aria-label": "Messages, newest first" });
  const frag = document.createDocumentFragment();
  for (const m of messages) frag.appendChild(inboxRow(m));
  list.appendChild(frag);
  const empty = el("p", { id: "inbox-empty", class: "empty",
    text: route.q ? "No message matches this search." : "No messages yet. Send one to a receiver of the running scenario." });
  empty.hidden = messages.length > 0;
  const columns = el("div", { class: "inbox-columns", "aria-hidden": "true" },
      el("span", { class: "icons", text: "" }), el("span", { class: "from", text: "From" }),
      el("span", { class: "to", text: "To" }), el("span", { class: "subject", text: "Subject" }),
      el("span", { class: "receiver", text: "Receiver" }), el("span", { class: "time", text: "Received" }));
  const pages = pager("", {
    start, count: messages.length, total,
    onPage: (p) => { location.hash = inboxHash(route.q, p); },
  });
  setView(el("section", { id: "inbox-view", "aria-labelledby": "inbox-heading" },
      el("div", { class: "view-head" }, heading, pages), columns, list, empty));
  heading.id = "inbox-heading";
  rendered("inbox");
}

// The inbox's first page as the server rendered it into the page
// (fakemx/ui_assets.h RenderUiInbox, the same DOM renderInbox builds):
// first-view.js has shown and marked it, so it is taken over, not built
// again (first-view.js wrote its times in local time). Once taken
// over it is the inbox view (body[data-view]); "fakemx:ready:inbox" marks
// that moment for the load test.
function adoptInbox(route) {
  const list = $("#inbox");
  current = { route, controller: new AbortController() };
  $("#nav-inbox").toggleAttribute("aria-current", true);
  $("#nav-sessions").toggleAttribute("aria-current", false);
  inboxState.total = Number(list.dataset.total);
  inboxState.page = 1;
  inboxState.q = "";
  inboxState.ids = new Set([...list.querySelectorAll("[data-message-id]")].map((a) => a.dataset.messageId));
  list.removeAttribute("data-total");
  $("#page-next").addEventListener("click", () => { location.hash = inboxHash("", 2); });
  setTitle("Inbox");
  document.body.dataset.view = "inbox";
  performance.mark("fakemx:ready:inbox");
}

// A `new` event from /api/events: shown at once when the user looks at the
// newest page of the unfiltered inbox; elsewhere only the count moves.
function onNewMessage(summary) {
  const route = current.route;
  if (!route || route.view !== "inbox" || route.q) return;
  if (document.body.dataset.view !== "inbox") return;
  const list = $("#inbox");
  if (!list || inboxState.ids.has(summary.ID)) return;
  inboxState.total += 1;
  if (inboxState.page === 1) {
    inboxState.ids.add(summary.ID);
    list.insertBefore(inboxRow(summary), list.firstChild);
    while (list.children.length > PAGE_SIZE) {
      const last = list.lastElementChild;
      const link = last.querySelector("[data-message-id]");
      if (link) inboxState.ids.delete(link.dataset.messageId);
      last.remove();
    }
    $("#inbox-empty").hidden = true;
  }
  const start = (inboxState.page - 1) * PAGE_SIZE;
  const count = $("#inbox").children.length;
  $("#page-info").textContent = pageInfoText(start, count, inboxState.total);
  $("#page-next").disabled = start + count >= inboxState.total;
}

// ---------- message ----------

function factList(rows, attrs) {
  const dl = el("dl", Object.assign({ class: "facts" }, attrs || {}));
  for (const [k, v] of rows) {
    if (v === undefined || v === null || v === "") continue;
    dl.append(el("dt", { text: k }), el("dd", null, v));
  }
  return dl;
}

function resultClass(result) {
  switch (result) {
    case "pass": return "res-pass";
    case "fail": case "permerror": case "policy": return "res-fail";
    case "softfail": case "temperror": return "res-warn";
    default: return "res-neutral";
  }
}

function badge(result) {
  return el("span", { class: `badge ${resultClass(result)}`, text: result || "not checked" });
}

function check(kind, label, result, details) {
  return el("li", { class: "check", "data-check": kind, "data-result": result || "" },
      badge(result), el("span", { class: "check-name", text: label }),
      details ? el("span", { class: "check-detail", text: details }) : null);
}

function joinDetails(parts) {
  return parts.filter((p) => p !== undefined && p !== null && p !== "").join(" · ");
}

function verdictSection(v) {
  const list = el("ul", { class: "checks" });
  const section = el("section", { id: "message-verdict", "aria-labelledby": "verdict-heading" },
      el("h2", { id: "verdict-heading", text: "SPF, DKIM and DMARC" }), list);
  if (!v || !v.evaluated) {
    section.appendChild(el("p", { text: "Not checked: verdicts are off for this receiver (the scenario's verdicts: {enabled: false})." }));
    return section;
  }
  const spf = v.spf || {};
  for (const [kind, label, r] of [["spf-mailfrom", "SPF (MAIL FROM)", spf.mail_from], ["spf-helo", "SPF (HELO)", spf.helo]]) {
    if (!r) continue;
    list.appendChild(check(kind, `${label} ${r.domain || ""}`.trim(), r.result,
        joinDetails([r.mechanism && `mechanism ${r.mechanism}`, r.reason])));
  }
  const sigs = v.dkim || [];
  if (sigs.length === 0) {
    list.appendChild(check("dkim", "DKIM", "none", "the message has no DKIM-Signature"));
  }
  for (const s of sigs) {
    list.appendChild(check("dkim", `DKIM d=${s.domain || "?"} s=${s.selector || "?"}`, s.result,
        joinDetails([s.algorithm, s.key_bits ? `${s.key_bits}-bit key` : "", s.reason])));
  }
  if (v.dmarc) {
    const d = v.dmarc;
    list.appendChild(check("dmarc", `DMARC ${d.author_domain || ""}`.trim(), d.result,
        joinDetails([d.disposition && `disposition ${d.disposition}`,
          d.requested_policy && `policy ${d.requested_policy}`,
          d.policy_domain && `record at ${d.policy_domain}`,
          `SPF ${d.spf_aligned ? "aligned" : "not aligned"}`, `DKIM ${d.dkim_aligned ? "aligned" : "not aligned"}`,
          d.reason])));
  }
  if (v.client_ip) section.appendChild(el("p", { class: "muted", text: `SPF checked the client address ${v.client_ip}.` }));
  return section;
}

function tlsFacts(tls, outcome, extra) {
  const rows = [];
  if (tls && tls.used) {
    rows.push(["TLS", `yes${tls.implicit ? " (implicit TLS)" : " (STARTTLS)"}`]);
    rows.push(["Version", tls.version], ["Cipher", tls.cipher], ["Key exchange", tls.group],
        ["SNI", tls.sni || "(none sent)"], ["Certificate", tls.certificate]);
    if (tls.plaintext_discarded_bytes) rows.push(["Plaintext discarded", `${tls.plaintext_discarded_bytes} bytes after STARTTLS`]);
  } else {
    rows.push(["TLS", "no"]);
  }
  if (outcome) rows.push(["Outcome", outcome]);
  return rows.concat(extra || []);
}

const TX_WHO = { command: "C:", reply: "S:", note: "note" };

function transcriptEntry(e) {
  const kind = TX_WHO[e.kind] ? e.kind : "note";
  return el("li", { class: `tx tx-${kind}`, "data-kind": kind },
      el("span", { class: "tx-offset", text: formatOffset(e.offset_us) }),
      el("span", { class: "tx-who", text: TX_WHO[kind] }),
      el("span", { class: "tx-text", text: String(e.text).replace(/\r\n$/, "").replace(/\r\n/g, "\n") }));
}

// `gap` (optional): {at, node} puts `node` before entry `at`, where a
// message's transcript left out the session's earlier transactions.
function transcriptList(id, entries, gap) {
  // tabindex: the list scrolls inside its box, and a keyboard user must be
  // able to scroll it too (WCAG 2.1.1).
  const list = el("ol", { id, class: "transcript", tabindex: "0", "aria-label": "SMTP transcript" });
  const frag = document.createDocumentFragment();
  (entries || []).forEach((e, i) => {
    if (gap && i === gap.at) frag.appendChild(gap.node);
    frag.appendChild(transcriptEntry(e));
  });
  if (gap && gap.at >= (entries || []).length) frag.appendChild(gap.node);
  list.appendChild(frag);
  if (!entries || entries.length === 0) list.appendChild(el("li", { class: "muted", text: "(no transcript kept)" }));
  return list;
}

function plural(n, word) {
  return `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
}

function tabs(defs) {
  // WAI-ARIA Authoring Practices' tabs: arrow keys move between tabs.
  const tablist = el("div", { role: "tablist", "aria-label": "Message parts", class: "tabs" });
  const panels = [];
  const buttons = [];
  defs.forEach((d, i) => {
    const tab = el("button", {
      type: "button", role: "tab", id: `tab-${d.key}`, "aria-controls": `panel-${d.key}`,
      "aria-selected": i === 0 ? "true" : "false", tabindex: i === 0 ? "0" : "-1", text: d.label,
    });
    const panel = el("div", { role: "tabpanel", id: `panel-${d.key}`, "aria-labelledby": `tab-${d.key}`, class: "panel", tabindex: "0" }, d.content);
    panel.hidden = i !== 0;
    buttons.push(tab);
    panels.push(panel);
    tablist.appendChild(tab);
  });
  const select = (i) => {
    buttons.forEach((b, j) => {
      b.setAttribute("aria-selected", i === j ? "true" : "false");
      b.tabIndex = i === j ? 0 : -1;
      panels[j].hidden = i !== j;
    });
    if (defs[i].onOpen) defs[i].onOpen();
  };
  buttons.forEach((b, i) => {
    b.addEventListener("click", () => select(i));
    b.addEventListener("keydown", (ev) => {
      let j = null;
      if (ev.key === "ArrowRight") j = (i + 1) % buttons.length;
      else if (ev.key === "ArrowLeft") j = (i - 1 + buttons.length) % buttons.length;
      else if (ev.key === "Home") j = 0;
      else if (ev.key === "End") j = buttons.length - 1;
      if (j === null) return;
      ev.preventDefault();
      select(j);
      buttons[j].focus();
    });
  });
  return el("div", { class: "tabbox" }, tablist, panels);
}

async function renderMessage(route, signal) {
  const id = route.id;
  const [m, headers] = await Promise.all([
    apiJson(`/api/v1/message/${id}`, { signal }),
    apiJson(`/api/v1/message/${id}/headers`, { signal }),
  ]);
  const fm = m.FakeMX || {};
  const v = fm.Verdict || {};
  const summary = v.summary || {};
  const delivery = fm.Delivery || {};
  const sv = fm.SessionVerdict || {};
  const lock = fm.Lock || summary.lock;
  const sender = fm.Sender !== undefined ? fm.Sender : (v.evaluated ? summary.sender : "");
  const lockReason = fm.LockReason || summary.lock_reason || "";
  const senderReason = fm.SenderReason || summary.sender_reason || "";

  setTitle(m.Subject || "(no subject)");
  const head = el("div", { class: "message-head" },
      el("h1", { text: m.Subject || "(no subject)" }),
      el("ul", { class: "verdict-line" },
          el("li", null, lockIcon(lock, lockReason), el("span", { text: lockReason || lock })),
          el("li", null, senderIcon(sender, senderReason), el("span", { text: senderReason || "sender not checked" })),
          fm.DMARC ? el("li", null, el("span", { text: `DMARC disposition: ${fm.DMARC}` })) : null),
      factList([
        ["From", formatAddress(m.From) || "(no From)"],
        ["To", formatAddresses(m.To)],
        ["Cc", formatAddresses(m.Cc)],
        ["Bcc", formatAddresses(m.Bcc)],
        ["Reply-To", formatAddresses(m.ReplyTo)],
        ["Date", timeEl(m.Date, "date")],
        ["MAIL FROM", delivery.mail_from ? formatPath(delivery.mail_from) : ""],
        ["RCPT TO", (delivery.rcpt_to || []).map(formatPath).join(", ")],
        ["HELO", delivery.helo ? `${delivery.helo.command || ""} ${delivery.helo.domain || ""}`.trim() : ""],
        ["Client", delivery.client ? `${delivery.client.address}:${delivery.client.port}` : ""],
        ["Body", [delivery.body, delivery.smtputf8 ? "SMTPUTF8" : "", delivery.via_bdat ? "via BDAT" : ""].filter(Boolean).join(", ")],
        ["Receiver", fm.Receiver ? `${fm.Receiver} (scenario ${fm.Scenario || "?"})` : ""],
        ["Session", fm.SessionID !== undefined ? el("a", { href: `#/session/${fm.SessionID}`, text: `session ${fm.SessionID}` }) : ""],
        ["Size", formatBytes(m.Size || 0)],
        ["Attachments", (m.Attachments || []).length ? (m.Attachments || []).map((a) => `${a.FileName || "(unnamed)"} (${a.ContentType}, ${formatBytes(a.Size)})`).join("; ") : ""],
        ["MIME warnings", (fm.MimeWarnings || []).join("; ")],
      ]));

  const text = el("pre", { id: "message-text", class: "body-text", text: m.Text || "" });
  const textPanel = m.Text ? text : [text, el("p", { class: "muted", text: "The message has no text part." })];

  const headerRows = el("tbody");
  for (const name of Object.keys(headers || {})) {
    for (const value of headers[name]) {
      headerRows.appendChild(el("tr", null, el("th", { scope: "row", text: name }), el("td", { text: value })));
    }
  }
  const headerTable = el("table", { id: "message-headers", class: "headers" },
      el("caption", { class: "visually-hidden", text: "Header fields" }),
      el("thead", null, el("tr", null, el("th", { scope: "col", text: "Field" }), el("th", { scope: "col", text: "Value" }))),
      headerRows);

  const raw = el("pre", { id: "message-raw", class: "raw", "aria-busy": "false" });
  let rawLoaded = false;
  const loadRaw = async () => {
    if (rawLoaded) return;
    rawLoaded = true;
    raw.setAttribute("aria-busy", "true");
    raw.textContent = "Loading…";
    try {
      const res = await api(`/api/v1/message/${id}/raw`, { signal });
      raw.textContent = await res.text();
    } catch (e) {
      rawLoaded = false;
      raw.textContent = "";
      reportError(e);
    } finally {
      raw.setAttribute("aria-busy", "false");
    }
  };

  const defs = [{ key: "text", label: "Text", content: textPanel }];
  if (m.HTML) {
    // No allow-* tokens: no script, no same origin, no forms, no popups; and
    // /view/ID.html carries its own CSP (default-src 'none') besides.
    const frame = el("iframe", {
      id: "message-html", sandbox: "", src: `/view/${encodeURIComponent(id)}.html`,
      referrerpolicy: "no-referrer", title: "HTML body (sandboxed: no scripts, no remote content)", loading: "lazy",
    });
    defs.push({ key: "html", label: "HTML", content: frame });
  }
  defs.push({ key: "headers", label: "Headers", content: headerTable });
  defs.push({ key: "raw", label: "Raw", content: raw, onOpen: loadRaw });

  const tlsRows = tlsFacts(delivery.tls, sv.encrypted ? "" : sv.tls_outcome);
  const arValue = v.authentication_results;
  setView(el("article", { id: "message-view", "data-message-id": m.ID, "aria-labelledby": "message-subject" },
      head,
      el("div", { class: "two-col" },
          verdictSection(v),
          el("section", { "aria-labelledby": "tls-heading" },
              el("h2", { id: "tls-heading", text: "TLS on this hop" }),
              factList(tlsRows, { id: "message-tls" }))),
      tabs(defs),
      el("section", { "aria-labelledby": "ar-heading" },
          el("h2", { id: "ar-heading", text: "Authentication-Results" }),
          el("pre", { id: "message-auth-results", class: "raw", tabindex: "0",
            text: arValue ? `Authentication-Results: ${arValue.replace(/\r\n/g, "\n")}` : "(none: verdicts are off for this receiver)" })),
      el("section", { "aria-labelledby": "transcript-heading" },
          el("h2", { id: "transcript-heading", text: `SMTP transcript of session ${fm.SessionID ?? ""}`.trim() }),
          messageTranscriptNote(fm),
          transcriptList("message-transcript", fm.Transcript, messageTranscriptGap(fm)))));
  $("#message-view h1").id = "message-subject";
  rendered("message");
  // The list's bold row is stale now that the message was read.
}

// The message's transcript is the session's opening and its own
// transaction (docs/api.md); this says what was left out and links to all.
function messageTranscriptNote(fm) {
  const o = fm.TranscriptOmitted;
  const link = fm.SessionID !== undefined
    ? el("a", { id: "message-session-transcript", href: `#/session/${fm.SessionID}`, text: "whole session transcript" })
    : null;
  if (!o) return link ? el("p", { class: "muted" }, link) : null;
  const left = o.entries + o.after;
  return el("p", { id: "message-transcript-omitted", class: "muted", "data-omitted": String(left), "data-session-entries": String(o.session_entries) },
      left > 0
        ? `The session's opening and this message's transaction; ${plural(left, "entry")} of other transactions left out (the session has ${plural(o.session_entries, "entry")}): `
        : "The whole session: ",
      link);
}

function messageTranscriptGap(fm) {
  const o = fm.TranscriptOmitted;
  if (!o || o.entries === 0) return null;
  return { at: o.at, node: el("li", { class: "tx tx-gap muted", "data-kind": "omitted" },
      el("span", { class: "tx-offset", text: "…" }), el("span", { class: "tx-who", text: "" }),
      el("span", { class: "tx-text", text: `${plural(o.entries, "entry")} of earlier transactions left out` })) };
}

// ---------- sessions ----------

function sessionTls(s) {
  const v = s.verdict || {};
  if (v.encrypted && s.tls && s.tls.used) return `${s.tls.version || "TLS"} ${s.tls.cipher || ""}`.trim();
  if (v.encrypted) return "encrypted";
  return v.tls_outcome || (s.tls_error ? `handshake failed: ${s.tls_error}` : "no TLS");
}

function sessionRow(s) {
  const v = s.verdict || {};
  const tlsText = sessionTls(s);
  const client = s.client ? `${s.client.address}:${s.client.port}` : "";
  const end = s.open ? "open" : (s.end_reason || "");
  return el("tr", { "data-session-id": s.id, class: s.open ? "open" : "" },
      el("th", { scope: "row" }, el("a", { href: `#/session/${s.id}`, text: `#${s.id}`, "aria-label": `session ${s.id}` })),
      el("td", { class: "c-started", "data-label": "Started" }, timeEl(s.started_at, "started")),
      el("td", { class: "c-client", "data-label": "Client", "data-field": "client", text: client }),
      el("td", { class: "c-receiver", "data-label": "Receiver", "data-field": "receiver", text: s.receiver }),
      el("td", { class: "c-tls", "data-label": "TLS" }, el("div", { class: "tls-cell" },
          lockIcon(v.lock, v.lock_reason || tlsText),
          el("span", { "data-field": "tls", text: tlsText }))),
      el("td", { class: "c-messages", "data-label": "Messages", "data-field": "messages", text: String((s.message_ids || []).length) }),
      el("td", { class: "c-end", "data-label": "End", "data-field": "end", text: end }));
}

// One page of sessions, newest first. The page ships inside the fakemx binary
// that serves it, so the API it calls is always the one it was built with.
function fetchSessions(start, signal) {
  return apiJson(`/fakemx/v1/sessions?order=newest&start=${start}&limit=${PAGE_SIZE}`, { signal });
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(t); reject(new DOMException("aborted", "AbortError")); }, { once: true });
  });
}

async function renderSessions(route, signal) {
  const start = (route.page - 1) * PAGE_SIZE;
  const draw = async () => {
    const data = await fetchSessions(start, signal);
    const sessions = data.sessions || [];
    const body = el("tbody");
    const frag = document.createDocumentFragment();
    for (const s of sessions) frag.appendChild(sessionRow(s));
    body.appendChild(frag);
    const table = el("table", { id: "sessions", class: "sessions" },
        el("caption", { class: "visually-hidden", text: "SMTP sessions, newest first" }),
        el("thead", null, el("tr", null,
            ["Session", "Started", "Client", "Receiver", "TLS", "Messages", "End"].map((h) => el("th", { scope: "col", text: h })))),
        body);
    const empty = el("p", { id: "sessions-empty", class: "empty", text: "No SMTP session yet." });
    empty.hidden = sessions.length > 0;
    const pages = pager("", { start, count: sessions.length, total: data.total, onPage: (p) => { location.hash = p > 1 ? `#/sessions?page=${p}` : "#/sessions"; } });
    const shown = $("#sessions");
    if (shown) {
      // A live refresh: swap the rows only, so focus and scrolling stay put.
      shown.replaceChild(body, shown.tBodies[0]);
      $("#sessions-empty").hidden = empty.hidden;
      $("#sessions-view .pager").replaceWith(pages);
      if (document.body.dataset.view !== "sessions") rendered("sessions");
      return sessions;
    }
    setTitle("Sessions");
    setView(el("section", { id: "sessions-view", "aria-labelledby": "sessions-heading" },
        el("div", { class: "view-head" }, el("h1", { id: "sessions-heading", text: "Sessions" }),
            pages),
        el("div", { class: "table-wrap" }, table), empty));
    rendered("sessions");
    return sessions;
  };
  let sessions = await draw();
  if (route.page !== 1) return;
  // Live: a long-poll for the next session id, and a slow refresh while a
  // shown session is still open (its end and TLS outcome are still coming).
  let after = sessions.reduce((mx, s) => Math.max(mx, s.id), 0);
  let backoff = RECONNECT_MIN_MS;
  let failing = false;
  (async () => {
    while (!signal.aborted) {
      try {
        const anyOpen = sessions.some((s) => s.open);
        const timeout = anyOpen ? "2s" : WAIT_TIMEOUT;
        const next = await apiJson(`/fakemx/v1/wait/session?after=${after}&timeout=${timeout}`, { signal, okStatuses: [408] });
        if (next || anyOpen) {
          if (next) after = Math.max(after, next.id);
          sessions = await draw();
          after = sessions.reduce((mx, s) => Math.max(mx, s.id), after);
        }
        backoff = RECONNECT_MIN_MS;
        if (failing) clearError();
        failing = false;
      } catch (e) {
        if (signal.aborted) return;
        failing = true;
        reportError(e);
        await sleep(backoff, signal).catch(() => {});
        backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
      }
    }
  })();
}

async function renderSession(route, signal) {
  // How many transcript entries are shown: a page at first, more on "Show
  // more"; a redraw of an open session keeps what was shown.
  let wanted = TRANSCRIPT_PAGE;
  const draw = async () => {
    const s = await apiJson(`/fakemx/v1/sessions/${route.id}?transcript_start=0&transcript_limit=${Math.min(wanted, TRANSCRIPT_MAX_PAGE)}`, { signal });
    const list = transcriptList("session-transcript", s.transcript);
    let shown = (s.transcript || []).length;
    const total = s.transcript_total ?? shown;
    const status = el("p", { id: "session-transcript-status", class: "muted", "aria-live": "polite" });
    const more = el("button", { id: "session-transcript-more", type: "button" });
    const update = () => {
      status.dataset.shown = String(shown);
      status.dataset.total = String(total);
      status.textContent = shown < total ? `Showing entries 1–${shown.toLocaleString("en")} of ${total.toLocaleString("en")}.` : `All ${plural(total, "entry")}.`;
      more.hidden = shown >= total;
      more.textContent = `Show ${Math.min(TRANSCRIPT_PAGE, total - shown).toLocaleString("en")} more`;
    };
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        const page = await apiJson(`/fakemx/v1/sessions/${route.id}?transcript_start=${shown}&transcript_limit=${TRANSCRIPT_PAGE}`, { signal });
        const frag = document.createDocumentFragment();
        for (const e of page.transcript || []) frag.appendChild(transcriptEntry(e));
        list.appendChild(frag);
        shown += (page.transcript || []).length;
        wanted = Math.max(wanted, shown);
        update();
      } catch (e) {
        reportError(e);
      } finally {
        more.disabled = false;
      }
    });
    update();
    const v = s.verdict || {};
    const client = s.client ? `${s.client.address}:${s.client.port}` : "";
    const local = s.local ? `${s.local.address}:${s.local.port}` : "";
    const msgs = s.message_ids || [];
    setTitle(`Session ${s.id}`);
    const tlsRows = tlsFacts(s.tls, v.encrypted ? "" : (v.tls_outcome || ""),
        [["Handshake error", s.tls_error || ""]]);
    setView(el("article", { id: "session-view", "data-session-id": s.id, "aria-labelledby": "session-heading" },
        el("h1", { id: "session-heading", text: `Session ${s.id}` }),
        el("ul", { class: "verdict-line" },
            el("li", null, lockIcon(v.lock, v.lock_reason || sessionTls(s)), el("span", { text: v.lock_reason || sessionTls(s) }))),
        el("div", { class: "two-col" },
            el("section", { "aria-labelledby": "session-facts-heading" },
                el("h2", { id: "session-facts-heading", text: "Connection" }),
                factList([
                  ["Receiver", `${s.receiver} (scenario ${s.scenario})`],
                  ["Client", client], ["Listener", local],
                  ["Started", timeEl(s.started_at, "started")],
                  ["Ended", s.ended_at ? timeEl(s.ended_at, "ended") : "still open"],
                  ["End", s.end_reason || (s.open ? "open" : "")],
                  ["Evicted", s.evicted ? "yes: the capture bound dropped its messages"
                      : s.messages_evicted ? `its ${s.messages_evicted} oldest messages, over the capture bound` : ""],
                  ["Transcript dropped", s.transcript_dropped ? `${s.transcript_dropped} entries over the capture bound` : ""],
                ])),
            el("section", { "aria-labelledby": "session-tls-heading" },
                el("h2", { id: "session-tls-heading", text: "TLS" }),
                factList(tlsRows, { id: "session-tls" }))),
        el("section", { "aria-labelledby": "session-messages-heading" },
            el("h2", { id: "session-messages-heading", text: `Messages delivered (${msgs.length})` }),
            msgs.length
              ? el("ul", { id: "session-messages", class: "links" }, msgs.slice(0, SESSION_MESSAGE_LINKS).map((mid) => el("li", null, el("a", { href: `#/message/${mid}`, text: `message ${mid}` }))),
                  msgs.length > SESSION_MESSAGE_LINKS ? el("li", { class: "muted", text: `and ${plural(msgs.length - SESSION_MESSAGE_LINKS, "more message")} (the inbox lists them all)` }) : null)
              : el("p", { id: "session-messages", class: "muted", text: "This session delivered no message." })),
        el("section", { "aria-labelledby": "session-transcript-heading" },
            el("h2", { id: "session-transcript-heading", text: "SMTP transcript" }),
            el("p", { class: "muted", text: "C: what the client sent, S: what fakemx replied, note: the scenario rule or driver event that decided." }),
            status, list, more)));
    rendered("session");
    return s;
  };
  let s = await draw();
  while (s.open && !signal.aborted) {
    await sleep(OPEN_SESSION_REFRESH_MS, signal);
    s = await draw();
  }
}

// ---------- header: search, scenario, delete all ----------

function normaliseCatalogue(data) {
  // {"scenarios":[{"name","summary"}]} (docs/api.md, the scenario catalogue).
  return ((data && data.scenarios) || []).map((x) => ({ name: x.name, description: x.summary || "" })).filter((x) => x.name);
}

async function loadScenario() {
  const select = $("#scenario-select");
  const [running, catalogue] = await Promise.all([
    apiJson("/fakemx/v1/scenario"),
    apiJson("/fakemx/v1/scenarios").catch((e) => { reportError(e); return null; }),
  ]);
  $("#scenario-name").textContent = running.name;
  const items = normaliseCatalogue(catalogue);
  if (!items.some((x) => x.name === running.name)) items.unshift({ name: running.name, description: `running (${running.source})` });
  select.replaceChildren(...items.map((x) => el("option", { value: x.name, title: x.description || null, text: x.name })));
  select.value = running.name;
}

async function applyScenario(ev) {
  ev.preventDefault();
  const name = $("#scenario-select").value;
  if (!name) return;
  const button = $("#scenario-apply");
  button.disabled = true;
  try {
    const s = await apiJson("/fakemx/v1/scenario", { method: "PUT", body: name });
    $("#scenario-name").textContent = s.name;
    clearError();
  } catch (e) {
    reportError(e);
  } finally {
    button.disabled = false;
  }
}

function setupDeleteAll() {
  const dialog = $("#confirm-dialog");
  $("#delete-all").addEventListener("click", () => {
    dialog.returnValue = "";
    dialog.showModal();
    $("#confirm-cancel").focus();
  });
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "ok") return;
    try {
      await api("/api/v1/messages", { method: "DELETE" });
      await navigate();
    } catch (e) {
      reportError(e);
    }
  });
}

// ---------- live status: the /api/events websocket ----------

function setLive(state, text) {
  const s = $("#live-status");
  s.dataset.state = state;
  s.textContent = text;
}

let eventsConnectedBefore = false;

// Reloads the unfiltered inbox when the store holds another number of
// messages than the inbox counts (inboxState.total, which `new` events keep
// up to date once the socket is open). A search gets no live updates, so
// it is left alone.
async function reloadInboxIfBehind() {
  const route = current.route;
  if (!route || route.view !== "inbox" || route.q) return;
  const data = await apiJson("/api/v1/messages?start=0&limit=1");
  if (!data || current.route !== route || document.body.dataset.view !== "inbox") return;
  if (data.total !== inboxState.total) navigate();
}

function connectEvents(delay = RECONNECT_MIN_MS) {
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/api/events`;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch (e) {
    setLive("offline", "Offline");
    showError(`live updates: ${e.message}`);
    return;
  }
  let opened = false;
  ws.addEventListener("open", () => {
    opened = true;
    setLive("live", "Live");
    // Mail that arrived while the socket was down sent no event: reload the
    // inbox once instead of showing a list with holes. Before the first
    // open there was no socket either: mail captured after the inbox's data
    // (the page the server rendered, or renderInbox's fetch) and before now
    // is caught by comparing the store's count with the one shown.
    if (eventsConnectedBefore) {
      if (current.route && current.route.view === "inbox") navigate();
    } else {
      reloadInboxIfBehind().catch(reportError);
    }
    eventsConnectedBefore = true;
  });
  ws.addEventListener("message", (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (_) {
      return; // not one of ours; Mailpit sends other event types too.
    }
    if (msg && msg.Type === "new" && msg.Data) onNewMessage(msg.Data);
  });
  ws.addEventListener("close", () => {
    // Back off from 1 s to 30 s while fakemx is away; reset once connected.
    const next = opened ? RECONNECT_MIN_MS : Math.min(delay * 2, RECONNECT_MAX_MS);
    const wait = opened ? RECONNECT_MIN_MS : delay;
    setLive("offline", `Offline, retrying in ${Math.round(wait / 1000)} s`);
    setTimeout(() => connectEvents(next), wait);
  });
}

// ---------- start ----------

function start() {
  $("#search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const hash = inboxHash($("#search").value.trim(), 1);
    // The same search again is a refresh: no hashchange fires for it.
    if (location.hash === hash || (hash === "#/" && location.hash === "")) navigate();
    else location.hash = hash;
  });
  $("#scenario-form").addEventListener("submit", applyScenario);
  setupDeleteAll();
  window.addEventListener("hashchange", navigate);
  // The view's data first: it is what the user waits for. The scenario list
  // and the event stream start once it is shown, so their requests and the
  // websocket's set-up do not compete with the first frame.
  const route = parseRoute();
  const adopt = route.view === "inbox" && route.page === 1 && !route.q && !$("#view").hidden &&
      $("#inbox")?.dataset.total !== undefined;
  if (adopt) adoptInbox(route);
  (adopt ? Promise.resolve() : navigate()).finally(() => setTimeout(() => {
    loadScenario().catch(reportError);
    connectEvents();
  }, 0));
}

start();
