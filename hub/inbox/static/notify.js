// New items on the inbox list: the tab title's "(3)" kept current, and, only if the person
// allows it with the button, a desktop notification that says "Nytt i inkorgen" and nothing
// more: no municipality, no case, no text, so a screen someone else sees tells nothing.
// It asks this agent (never the hub) every ten seconds. The page works without this file.
"use strict";
(function () {
  const box = document.getElementById("notify");
  const state = document.getElementById("notify-state");
  const allow = document.getElementById("notify-allow");
  const stop = document.getElementById("notify-stop");
  if (!box || !state || !allow || !stop || !window.fetch) {
    return;
  }
  const OFF_KEY = "inkorg-notiser-av";  // the person turned them off here
  const TEXT = "Nytt i inkorgen";
  const supported = "Notification" in window;
  const bareTitle = document.title.replace(/^\(\d+\) /, "");
  let unread = null;

  function wanted() {
    return supported && Notification.permission === "granted" &&
      window.localStorage.getItem(OFF_KEY) !== "1";
  }

  function show() {
    box.hidden = !supported;
    if (!supported) {
      return;
    }
    allow.hidden = wanted() || Notification.permission === "denied";
    stop.hidden = !wanted();
    if (wanted()) {
      state.textContent = "Notiser är på: när något nytt kommer visar datorn ”" + TEXT +
        "”, utan något om ärendet.";
    } else if (Notification.permission === "denied") {
      state.textContent = "Webbläsaren tillåter inte notiser från inkorgen. Du kan ändra det " +
        "i webbläsarens inställningar för den här sidan.";
    } else {
      state.textContent = "Vill du få en notis när något nytt kommer? Den säger bara ”" + TEXT +
        "”, utan något om ärendet.";
    }
  }

  allow.addEventListener("click", async function () {
    window.localStorage.removeItem(OFF_KEY);
    if (Notification.permission !== "granted") {
      await Notification.requestPermission();
    }
    show();
    (wanted() ? stop : state).focus();
  });
  stop.addEventListener("click", function () {
    window.localStorage.setItem(OFF_KEY, "1");
    show();
    allow.focus();
  });
  state.tabIndex = -1;

  async function check() {
    try {
      const response = await fetch("/status.json", { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) {
        return;
      }
      const status = await response.json();
      const count = Number(status.unread) || 0;
      document.title = (count ? "(" + count + ") " : "") + bareTitle;
      if (unread !== null && count > unread && wanted()) {
        new Notification(TEXT);
      }
      unread = count;
    } catch (error) {
      // The agent itself is gone (stopped or locked): nothing to show.
    }
  }

  show();
  check();
  window.setInterval(check, 10000);
})();
