// How far a form's sending has got. Two stages, each with a <progress> bar, its percentage
// and a line of text (the form's .send-progress box, hidden until used):
//   1. the files going from this browser to the agent (a form marked data-upload, with files
//      chosen): the request's upload events count the bytes;
//   2. the agent encrypting and uploading to the hub (a form marked data-sending): it says how
//      far it has got in /status.json, counts only.
// Such a form is sent by XMLHttpRequest, so that the page stays to show this, and the agent's
// answer then replaces the page. A form with data-max-bytes refuses files that weigh more,
// before sending anything. Without this file the forms post as usual, and the agent checks
// the size itself.
"use strict";
(function () {
  const POLL_MS = 250;

  function megabytes(bytes) {
    return (bytes / (1024 * 1024)).toFixed(1).replace(".", ",");
  }

  function filesSize(form) {
    let total = 0;
    // The draft's saved attachments that stay ticked count towards the limit too.
    for (const kept of form.querySelectorAll("input[name='keep_attachment']:checked")) {
      total += Number(kept.dataset.size || 0);
    }
    for (const input of form.querySelectorAll("input[type='file']")) {
      for (const file of input.files || []) {
        total += file.size;
      }
    }
    return total;
  }

  // The size check: says what is too much next to the file field, or clears the message.
  function sizeOk(form) {
    const max = Number(form.dataset.maxBytes || 0);
    const note = form.querySelector("[data-size-error]");
    const input = form.querySelector("input[type='file']");
    const total = filesSize(form);
    if (!max || !note || !input) {
      return true;
    }
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    const others = described.filter(function (id) { return id !== note.id; });
    if (total <= max) {
      if (note.dataset.byScript) {
        note.hidden = true;
        note.textContent = "";
        delete note.dataset.byScript;
        input.removeAttribute("aria-invalid");
        input.setAttribute("aria-describedby", others.join(" "));
      }
      return true;
    }
    note.dataset.byScript = "1";
    note.textContent = "";
    const strong = document.createElement("strong");
    strong.textContent = "Fel:";
    note.appendChild(strong);
    note.appendChild(document.createTextNode(
      " Bilagorna är för stora: " + megabytes(total) + " MB. Högst " +
      Math.floor(max / (1024 * 1024)) + " MB sammanlagt går att skicka."
    ));
    note.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", others.concat([note.id]).join(" "));
    return false;
  }

  function view(form) {
    // The form's own box, or the one it names (data-progress) when the layout wants it apart.
    const named = form.dataset.progress ? document.getElementById(form.dataset.progress) : null;
    const box = named || form.querySelector(".send-progress");
    if (!box) {
      return null;
    }
    const bar = box.querySelector("progress");
    const number = box.querySelector(".send-percent");
    const line = box.querySelector(".send-stage");
    return {
      show: function () {
        box.hidden = false;
      },
      set: function (fraction, text) {
        const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
        bar.value = percent;
        number.textContent = percent + " %";
        if (text && line.textContent !== text) {
          line.textContent = text;
        }
      },
    };
  }

  // Stage 2: ask the agent how far it has got, until stopped (the page then moves on).
  function followAgent(shown) {
    let stopped = false;
    async function poll() {
      if (stopped) {
        return;
      }
      try {
        const response = await fetch("/status.json", { credentials: "same-origin", cache: "no-store" });
        const status = response.ok ? await response.json() : null;
        const sending = status && status.sending;
        if (!stopped && sending && sending.envelopes > 0) {
          const part = sending.stage === "uploading" && sending.size > 0 ? sending.sent / sending.size : 0;
          const which = Math.min(sending.done + 1, sending.envelopes);
          const doing = sending.stage === "uploading" ? "Skickar krypterat till hubben" : "Krypterar på din dator";
          shown.set(
            (sending.done + part) / sending.envelopes,
            doing + ": mottagare " + which + " av " + sending.envelopes + "."
          );
        }
      } catch (error) {
        // The agent answers the post itself when it is done; nothing to add here.
      }
      window.setTimeout(poll, POLL_MS);
    }
    poll();
    return function () {
      stopped = true;
    };
  }

  // The agent's answer replaces this page, as the plain post would have.
  function showAnswer(xhr, action) {
    const redirected = xhr.responseURL && xhr.responseURL !== new URL(action, window.location.href).href;
    document.open();
    document.write(xhr.responseText);
    document.close();
    if (redirected) {
      window.history.replaceState(null, "", xhr.responseURL);
    }
  }

  // The form goes by XMLHttpRequest, so that this page stays and can show how far it has got;
  // the agent's answer then replaces it, as the plain post would have.
  function post(form, submitter, shown, withFiles) {
    const action = submitter && submitter.hasAttribute("formaction") ? submitter.formAction : form.action;
    const data = new FormData(form, submitter || undefined);
    const buttons = form.querySelectorAll("button[type='submit'], button:not([type])");
    const xhr = new XMLHttpRequest();
    let stopAgent = null;
    buttons.forEach(function (b) { b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    shown.show();
    if (withFiles) {
      shown.set(0, "Bilagorna förs över till inkorgen på din dator.");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable && event.total > 0) {
          shown.set(event.loaded / event.total, "Bilagorna förs över till inkorgen på din dator.");
        }
      });
      xhr.upload.addEventListener("load", function () {
        shown.set(1, "Bilagorna har kommit fram till inkorgen på din dator.");
        if (form.dataset.sending !== undefined) {
          stopAgent = followAgent(shown);
        }
      });
    } else {
      shown.set(0, "Krypterar på din dator.");
      stopAgent = followAgent(shown);
    }
    xhr.addEventListener("load", function () {
      if (stopAgent) {
        stopAgent();
      }
      showAnswer(xhr, action);
    });
    function failed() {
      if (stopAgent) {
        stopAgent();
      }
      buttons.forEach(function (b) { b.disabled = false; });
      form.removeAttribute("aria-busy");
      shown.set(0, "Det gick inte att skicka till inkorgen på din dator. Försök igen.");
    }
    xhr.addEventListener("error", failed);
    xhr.addEventListener("abort", failed);
    xhr.open("POST", action);
    xhr.send(data);
  }

  document.addEventListener("change", function (event) {
    const input = event.target;
    const counted = input instanceof HTMLInputElement &&
      (input.type === "file" || input.name === "keep_attachment");
    if (counted && input.form) {
      sizeOk(input.form);
    }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    const uploads = form.dataset.upload !== undefined;
    if (uploads && !sizeOk(form)) {
      event.preventDefault();
      form.querySelector("[data-size-error]").scrollIntoView({ block: "center" });
      return;
    }
    const withFiles = uploads && filesSize(form) > 0;
    const shown = view(form);
    if ((withFiles || form.dataset.sending !== undefined) && shown && window.fetch) {
      event.preventDefault();
      post(form, event.submitter, shown, withFiles);
    }
  });
})();
