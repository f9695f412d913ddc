// Drafts saved while typing: two seconds after the person stops typing, and when the page is
// hidden, the compose form (without its files) goes to this agent's /ny/autospara with the
// CSRF token the form carries. The agent keeps it encrypted as a draft; a status line says
// when. Without this file, the form's own "Spara utkast" button does the same.
"use strict";
(function () {
  const form = document.querySelector("form[data-autosave]");
  const status = document.getElementById("autosave-status");
  if (!form || !status || !window.fetch || !window.FormData) {
    return;
  }
  const url = form.dataset.autosave;
  const QUIET_MS = 2000;
  let timer = null;
  let dirty = false; // typed since the last save began
  let saving = false;
  let leaving = false; // the form is being submitted: the agent saves it itself
  let gone = false; // the draft was sent or deleted elsewhere: never bring it back

  function draftField() {
    let field = form.querySelector("input[name='draft_id']");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "draft_id";
      form.appendChild(field);
    }
    return field;
  }

  function body() {
    const data = new FormData(form);
    data.delete("attachments"); // files stay in the form; they are not sent on every pause
    return data;
  }

  function say(text) {
    status.textContent = text;
  }

  async function send(keepalive) {
    const response = await fetch(url, {
      method: "POST",
      body: body(),
      credentials: "same-origin",
      cache: "no-store",
      keepalive: keepalive,
    });
    if (response.status === 410) {
      gone = true;
      say("Utkastet finns inte längre: det har skickats eller tagits bort.");
      return;
    }
    if (!response.ok) {
      throw new Error(String(response.status));
    }
    const saved = await response.json();
    if (!draftField().value) {
      draftField().value = saved.draft_id;
      // A reload now opens this draft instead of an empty form.
      window.history.replaceState(null, "", "/ny?utkast=" + encodeURIComponent(saved.draft_id));
    }
    say("Utkastet sparades " + saved.saved_at);
  }

  async function save() {
    timer = null;
    if (!dirty || leaving || gone) {
      return;
    }
    if (saving) {
      later();
      return;
    }
    saving = true;
    dirty = false;
    try {
      await send(false);
    } catch (error) {
      dirty = true;
      say("Utkastet kunde inte sparas automatiskt. Välj Spara utkast för att spara det.");
    } finally {
      saving = false;
    }
  }

  function later() {
    if (timer !== null) {
      window.clearTimeout(timer);
    }
    timer = window.setTimeout(save, QUIET_MS);
  }

  function now() {
    // The page is going away or out of sight: save at once, and let the request outlive it.
    // (While the very first save is still on its way there is no draft id yet to send.)
    if (!dirty || leaving || gone || (saving && !draftField().value)) {
      return;
    }
    if (timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
    dirty = false;
    send(true).catch(function () {
      dirty = true;
    });
  }

  function typed() {
    dirty = true;
    later();
  }

  form.addEventListener("input", typed);
  form.addEventListener("change", typed);
  // Last of the submit listeners: a post another script stopped (upload.js refusing files
  // that are too large) leaves the form here; one it sends itself is marked aria-busy.
  window.addEventListener("submit", function (event) {
    if (event.target !== form || (event.defaultPrevented && form.getAttribute("aria-busy") !== "true")) {
      return;
    }
    leaving = true;
    if (timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
  });
  // Back from the review page (the browser's back button): the form is live again.
  window.addEventListener("pageshow", function () {
    leaving = false;
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      now();
    }
  });
  window.addEventListener("pagehide", now);
})();
