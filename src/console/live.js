// Live updates: every element with data-live="URL" gets its content from
// URL every second (server-rendered HTML; paused while the tab is hidden).
// Forms with data-confirm ask first.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-live]").forEach((el) => {
    let busy = false;
    setInterval(async () => {
      if (busy || document.hidden) return;
      busy = true;
      try {
        const r = await fetch(el.dataset.live, { credentials: "same-origin" });
        if (r.ok) el.innerHTML = await r.text();
      } catch (_) { /* the next tick tries again */ }
      busy = false;
    }, 1000);
  });
  document.querySelectorAll("form[data-confirm]").forEach((f) => {
    f.addEventListener("submit", (e) => { if (!confirm(f.dataset.confirm)) e.preventDefault(); });
  });
});
