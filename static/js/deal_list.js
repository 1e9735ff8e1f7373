/* The deals list: ticking rows, "select all on the page" and "all matching the filter", the bulk
   toolbar's arguments, the delete confirmation, the Undo toast and sorting by a column heading.
   Everything else (filters, pages, the bulk POST) is plain htmx with the filters in the URL. */
(function () {
  "use strict";

  const UNDO_MS = 15000;

  function results() {
    return document.getElementById("deal-results");
  }

  function picks() {
    const box = results();
    return box ? Array.from(box.querySelectorAll(".row-pick")) : [];
  }

  function allMatching() {
    const input = document.getElementById("bulk-all-matching");
    return !!(input && input.value === "1");
  }

  function setAllMatching(on) {
    const input = document.getElementById("bulk-all-matching");
    if (input) input.value = on ? "1" : "";
  }

  // Show the count, the banner, the argument of the chosen action; enable Apply when it can run.
  function refresh() {
    const box = results();
    if (!box) return;
    const rows = picks();
    const ticked = rows.filter((r) => r.checked).length;
    const total = Number(box.dataset.total || 0);
    const whole = rows.length > 0 && ticked === rows.length;
    if (!whole) setAllMatching(false);
    const pageBox = document.getElementById("select-page");
    if (pageBox) {
      pageBox.checked = whole;
      pageBox.indeterminate = ticked > 0 && !whole;
    }
    const count = document.getElementById("selected-count");
    if (count) {
      const n = allMatching() ? total : ticked;
      count.textContent = n === 0 ? "None selected" : n + (n === 1 ? " deal selected" : " deals selected");
    }
    const banner = document.getElementById("select-all-banner");
    if (banner) {
      banner.hidden = !whole;
      const note = banner.querySelector(".all-note");
      const offer = document.getElementById("select-all-matching");
      const pageNote = banner.querySelector(".page-note");
      if (note) note.hidden = !allMatching();
      if (offer) offer.hidden = allMatching();
      if (pageNote) pageNote.hidden = allMatching();
    }
    const action = document.getElementById("bulk-action");
    const chosen = action ? action.value : "";
    box.querySelectorAll(".bulk-arg").forEach((el) => {
      el.hidden = el.dataset.for !== chosen;
    });
    const apply = document.getElementById("bulk-apply");
    if (apply) apply.disabled = !chosen || (ticked === 0 && !allMatching());
  }

  document.addEventListener("change", (e) => {
    const target = e.target;
    if (!(target instanceof HTMLElement) || !target.closest("#deal-results")) return;
    if (target.id === "select-page") {
      picks().forEach((r) => (r.checked = target.checked));
      setAllMatching(false);
    }
    refresh();
  });

  document.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    if (target.closest("#select-all-matching")) {
      setAllMatching(true);
      refresh();
    } else if (target.closest("#clear-selection")) {
      setAllMatching(false);
      picks().forEach((r) => (r.checked = false));
      refresh();
    } else if (target.closest(".undo-toast .toast-close")) {
      target.closest(".undo-toast").remove();
    } else if (target.closest("#deal-results a[data-sort]")) {
      sortByHeading(e, target.closest("a[data-sort]"));
    }
  });

  // A column heading sorts through the filter form: the sort and a search still being typed go
  // in one request, and the form's hx-sync keeps only the latest, so neither undoes the other.
  // The chosen sort rides on the form's requests until the new results (and their hidden sort
  // input) arrive; the input itself is left alone, since htmx's history snapshot is taken from
  // the page before the swap and Back must restore the sort that page showed.
  // A modified click (new tab) follows the heading's own link.
  let pendingSort = null;

  function sortByHeading(e, link) {
    const form = document.getElementById("deal-filters");
    if (!form || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    pendingSort = link.dataset.sortValue;
    htmx.trigger(form, "submit");
  }

  document.addEventListener("htmx:configRequest", (e) => {
    if (pendingSort !== null && e.target instanceof HTMLFormElement && e.target.id === "deal-filters") {
      e.detail.parameters.sort = pendingSort;
    }
  });
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.target instanceof Element && e.target.id === "deal-results") pendingSort = null;
  });

  // Deleting asks first; the other actions are undone as easily as they are made.
  document.addEventListener("htmx:confirm", (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || form.id !== "bulk-form") return;
    const action = document.getElementById("bulk-action");
    if (!action || action.value !== "delete") return;
    e.preventDefault();
    if (window.confirm(form.dataset.confirmDelete || "Delete the selected deals?")) {
      e.detail.issueRequest(true);
    }
  });

  // Undo toasts: moved into the shared toast stack, dismissed after a while or once used.
  function adoptUndoToasts() {
    const stack = document.getElementById("toasts");
    document.querySelectorAll(".undo-toast:not([data-adopted])").forEach((toast) => {
      toast.dataset.adopted = "1";
      if (stack && toast.parentElement !== stack) stack.append(toast);
      setTimeout(() => toast.remove(), UNDO_MS);
    });
  }

  document.addEventListener("htmx:afterRequest", (e) => {
    const toast = e.target instanceof Element ? e.target.closest(".undo-toast") : null;
    if (toast && e.detail.successful) toast.remove();
  });

  document.addEventListener("htmx:afterSettle", () => {
    refresh();
    adoptUndoToasts();
  });
  document.addEventListener("DOMContentLoaded", () => {
    refresh();
    adoptUndoToasts();
  });
})();
