// Inlined by fakemx into the page, after the inbox's first page that the
// server rendered into #view (fakemx/ui/README.md, "The first load"): the
// inbox is there and shown without waiting for app.js or a fetch, so it is
// marked rendered here, its times first written in the user's time zone
// (the server knows only UTC; no frame comes before this script has run),
// and app.js is fetched and started after that first frame, so neither its
// download and compilation nor its evaluation hold the frame back; it sets
// body[data-view] when it has taken the inbox over. For
// another route (#/message/7, #/?page=2) that inbox is not what was asked
// for: it stays hidden and app.js starts at once to render the view the
// fragment names.
"use strict";
// A time as the UI shows it, "YYYY-MM-DD HH:MM:SS" in the user's time zone
// (sortable, and the same width in every row); the text itself when it is
// not a time. app.js shows every time with this function (its formatTime),
// so the served inbox and app.js's views agree.
globalThis.fakemxLocalTime = (iso) => {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};
{
  const startApp = () => {
    const script = document.createElement("script");
    script.type = "module";
    script.src = "/ui/app.js";
    document.head.appendChild(script);
  };
  if (document.getElementById("inbox-view") && /^(#\/?)?$/.test(location.hash)) {
    for (const t of document.querySelectorAll("#inbox time[data-field]")) {
      t.textContent = globalThis.fakemxLocalTime(t.dateTime);
    }
    performance.mark("fakemx:rendered:inbox");
    requestAnimationFrame(() => setTimeout(startApp, 0));
  } else {
    if (document.getElementById("inbox-view")) document.getElementById("view").hidden = true;
    startApp();
  }
}
