// Inlined by fakemx into the page, after the inbox's first page that the
// server rendered into #view (fakemx/ui/README.md, "The first load"): the
// inbox is there and shown without waiting for app.js or a fetch, so it is
// marked rendered here. For another route (#/message/7, #/?page=2) that
// inbox is not what was asked for: it stays hidden until app.js has
// rendered the view the fragment names.
"use strict";
if (document.getElementById("inbox-view")) {
  if (/^(#\/?)?$/.test(location.hash)) {
    document.body.dataset.view = "inbox";
    performance.mark("fakemx:rendered:inbox");
  } else {
    document.getElementById("view").hidden = true;
  }
}
