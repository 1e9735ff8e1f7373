/* Pipeline CRM: behaviour every page shares — toasts, refusals, the dialog. */
(function () {
  "use strict";

  // Swap 409 (current state after a stale write) and 422 (a form with its errors) bodies;
  // other 4xx/5xx answers are not swapped and their message is shown as a toast.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "409", swap: true, error: true },
    { code: "422", swap: true, error: true },
    { code: "[45]..", swap: false, error: true },
  ];

  const TOAST_MS = 6000;

  function toast(message, level) {
    const box = document.getElementById("toasts");
    if (!box || !message) return;
    const item = document.createElement("div");
    item.className = "toast " + (level || "info");
    item.setAttribute("role", level === "error" ? "alert" : "status");
    const text = document.createElement("span");
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.append(text, close);
    box.append(item);
    setTimeout(() => item.remove(), level === "error" ? TOAST_MS * 1.5 : TOAST_MS);
  }

  function fallbackMessage(status) {
    if (status === 403) return "You may see this but not change it.";
    if (status === 404) return "Not found: it was deleted, or it is not yours to see.";
    if (status >= 500) return "Something went wrong on our side. Please try again.";
    return "The request was refused (" + status + ").";
  }

  // Server-sent toasts come as an HX-Trigger event named "toast".
  document.addEventListener("toast", (e) => toast(e.detail.message, e.detail.level));

  document.addEventListener("htmx:responseError", (e) => {
    const xhr = e.detail.xhr;
    if (xhr.status === 422) return; // the form with its errors was swapped in
    const trigger = xhr.getResponseHeader("HX-Trigger") || "";
    if (trigger.indexOf('"toast"') !== -1) return; // the server said it already
    const type = xhr.getResponseHeader("Content-Type") || "";
    const text = type.indexOf("text/plain") === 0 ? xhr.responseText.trim() : "";
    toast(text || fallbackMessage(xhr.status), "error");
  });

  document.addEventListener("htmx:sendError", () =>
    toast("The server cannot be reached. Check your connection and try again.", "error")
  );

  // --- the dialog (forms the server asks for: required fields, lost reason, won amount) ---
  function dialog() {
    return document.getElementById("app-dialog");
  }

  function openDialog() {
    const d = dialog();
    if (!d) return;
    d.dataset.result = "";
    if (!d.open) d.showModal();
    const first = d.querySelector("input:not([type=hidden]), select, textarea, button");
    if (first) first.focus();
  }

  function closeDialog(result) {
    const d = dialog();
    if (!d || !d.open) return;
    d.dataset.result = result || "";
    d.close();
  }

  document.addEventListener("dialog:open", openDialog);
  document.addEventListener("dialog:close", () => closeDialog("done"));
  document.addEventListener("click", (e) => {
    if (e.target.closest("[data-close-dialog]")) closeDialog("cancel");
  });
  document.addEventListener("DOMContentLoaded", () => {
    const d = dialog();
    if (!d) return;
    d.addEventListener("close", () => {
      d.dispatchEvent(new CustomEvent("dialog:closed", { bubbles: true, detail: { result: d.dataset.result } }));
      document.getElementById("dialog-body").innerHTML = "";
    });
  });

  // The server may ask to move focus (e.g. after a keyboard reorder re-rendered the list).
  document.addEventListener("focus-element", (e) => {
    const selector = typeof e.detail === "string" ? e.detail : e.detail && e.detail.value;
    const el = selector && document.querySelector(selector);
    if (el) el.focus();
  });

  window.crm = { toast, openDialog, closeDialog };
})();
