// Live updates for the inbox: ask this agent (never the hub) every ten seconds whether
// anything changed, and if so offer to reload. The pages work without this file.
"use strict";
(function () {
  const body = document.body;
  const seen = body ? body.dataset.version : undefined;
  const banners = document.getElementById("banners");
  if (seen === undefined || !banners || !window.fetch) {
    return;
  }
  let shown = false;
  async function check() {
    try {
      const response = await fetch("/status.json", { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) {
        return;
      }
      const status = await response.json();
      if (!shown && String(status.version) !== seen) {
        shown = true;
        const note = document.createElement("div");
        note.className = "banner banner-info";
        note.setAttribute("role", "status");
        const text = document.createElement("p");
        text.textContent = "Det har kommit något nytt. ";
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "Visa";
        button.addEventListener("click", function () { window.location.reload(); });
        text.appendChild(button);
        note.appendChild(text);
        banners.appendChild(note);
      }
    } catch (error) {
      // The agent itself is gone (stopped): nothing to show.
    }
  }
  window.setInterval(check, 10000);
})();
