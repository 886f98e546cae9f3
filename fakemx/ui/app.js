// fakemx web UI: see fakemx/ui/README.md for the routes, data and test hooks.
// Being written for issue 12; until then the page only shows that it loaded.
document.querySelector("#app").textContent = "fakemx web UI: not built yet.";
