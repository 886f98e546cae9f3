// Inlined by fakemx into the page, after the inbox's first page that the
// server rendered into #view (fakemx/ui/README.md, "The first load"): the
// inbox is there and shown without waiting for app.js or a fetch, so it is
// marked rendered here, and app.js is fetched and started after that first
// frame, so neither its download and compilation nor its evaluation hold the
// frame back; it sets body[data-view] when it has taken the inbox over. For
// another route (#/message/7, #/?page=2) that inbox is not what was asked
// for: it stays hidden and app.js starts at once to render the view the
// fragment names.
"use strict";
{
  const startApp = () => {
    const script = document.createElement("script");
    script.type = "module";
    script.src = "/ui/app.js";
    document.head.appendChild(script);
  };
  if (document.getElementById("inbox-view") && /^(#\/?)?$/.test(location.hash)) {
    performance.mark("fakemx:rendered:inbox");
    requestAnimationFrame(() => setTimeout(startApp, 0));
  } else {
    if (document.getElementById("inbox-view")) document.getElementById("view").hidden = true;
    startApp();
  }
}
