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

/* Filters and the URL agree. <form data-url-filters>: its controls always show the URL's
   query. htmx's history snapshot is the page's HTML, whose controls carry the values the page
   was first drawn with (a control the user changed keeps its old attribute), so after Back or
   Forward the controls are set again from the URL. Its [data-clear-filters] link shows while
   any visible control differs from its neutral value (first option, empty, unticked). */
(function () {
  "use strict";

  function controls(form) {
    return Array.from(form.elements).filter((el) => el.name && el.type !== "hidden" && !(el instanceof HTMLButtonElement));
  }

  function setFromUrl(el, params) {
    const values = params.getAll(el.name);
    if (el.type === "checkbox" || el.type === "radio") {
      el.checked = values.includes(el.value);
    } else if (el instanceof HTMLSelectElement) {
      const wanted = values.length ? values[0] : null;
      Array.from(el.options).forEach((option) => {
        option.selected = wanted === null ? option.defaultSelected : option.value === wanted;
      });
      if (el.selectedIndex < 0 && el.options.length) el.selectedIndex = 0;
    } else {
      el.value = values.length ? values[0] : el.defaultValue;
    }
  }

  function isNeutral(el) {
    if (el.type === "checkbox" || el.type === "radio") return !el.checked;
    if (el instanceof HTMLSelectElement) return el.selectedIndex <= 0;
    return el.value === "";
  }

  function showClear(form) {
    const link = form.querySelector("[data-clear-filters]");
    if (link) link.hidden = controls(form).every(isNeutral);
  }

  function syncAll() {
    const params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[data-url-filters]").forEach((form) => {
      controls(form).forEach((el) => setFromUrl(el, params));
      showClear(form);
    });
  }

  document.addEventListener("htmx:historyRestore", syncAll);
  window.addEventListener("popstate", () => setTimeout(syncAll, 0));
  window.addEventListener("pageshow", (event) => event.persisted && syncAll());
  // A filter applied in place: the clear link follows at once.
  document.addEventListener("htmx:pushedIntoHistory", () =>
    document.querySelectorAll("form[data-url-filters]").forEach(showClear)
  );
})();

/* <button data-menu-toggle aria-controls="id">: on a phone the main navigation is a menu that
   this button opens and closes (Escape closes it too, focus back on the button). */
(function () {
  "use strict";

  function setOpen(button, open) {
    button.setAttribute("aria-expanded", String(open));
    const menu = document.getElementById(button.getAttribute("aria-controls"));
    if (menu) menu.classList.toggle("open", open);
  }

  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element && event.target.closest("[data-menu-toggle]");
    if (button) setOpen(button, button.getAttribute("aria-expanded") !== "true");
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    document.querySelectorAll("[data-menu-toggle][aria-expanded='true']").forEach((button) => {
      setOpen(button, false);
      button.focus();
    });
  });
})();
