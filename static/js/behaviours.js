/* Pipeline CRM: small behaviours declared by data-attributes, so that no template needs inline
   handlers (onclick=, hx-on) — the Content-Security-Policy allows scripts from static files only.
   Listeners are delegated from the document, so content htmx swaps in works as well. */
(function () {
  "use strict";

  // <form data-reset-on-success>: cleared after its own htmx request succeeds.
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (event.detail.successful && form instanceof HTMLFormElement && form.hasAttribute("data-reset-on-success")) {
      form.reset();
    }
  });

  // <form data-escape-cancels>: Escape clicks its .cancel button.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !(event.target instanceof Element)) return;
    const form = event.target.closest("[data-escape-cancels]");
    const cancel = form && form.querySelector(".cancel");
    if (cancel) cancel.click();
  });

  // <button data-fills="field-id">: puts its text into that field.
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element && event.target.closest("[data-fills]");
    const field = button && document.getElementById(button.getAttribute("data-fills"));
    if (field) field.value = button.textContent;
  });

  // <a data-back>: the browser's Back (its href is the fallback without history).
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element && event.target.closest("a[data-back]");
    if (link && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  // <input data-select-on-focus>: its whole text is selected on focus.
  document.addEventListener("focusin", (event) => {
    if (event.target instanceof HTMLInputElement && event.target.hasAttribute("data-select-on-focus")) {
      event.target.select();
    }
  });

  // <form data-confirm="question">: submitted only once the user agrees.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    }
  });

  // <span data-width="42">: width 42 % (set through the CSSOM, which the CSP allows).
  function sizeBars(root) {
    root.querySelectorAll("[data-width]").forEach((bar) => {
      bar.style.width = Number(bar.getAttribute("data-width")) + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", () => sizeBars(document));
  document.addEventListener("htmx:afterSettle", (event) => sizeBars(event.detail.elt || document));
})();
