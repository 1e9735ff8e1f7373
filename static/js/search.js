// The top bar's search box (templates/base.html, search/views.py): "/" focuses it, typing
// shows the dropdown htmx fetches (#search-suggestions), ArrowUp/ArrowDown move through its
// options, Enter opens the selected one (or the search page), Escape closes it. The box is an
// ARIA combobox: the selected option is its aria-activedescendant.
(function () {
  "use strict";

  function box() { return document.getElementById("topsearch-q"); }
  function dropdown() { return document.getElementById("search-suggestions"); }
  function options() {
    const list = dropdown();
    return list ? Array.from(list.querySelectorAll('[role="option"]')) : [];
  }
  function isOpen() { const list = dropdown(); return !!list && !list.hidden; }

  function typingSomewhere(target) {
    if (!(target instanceof Element)) return false;
    return target.isContentEditable || !!target.closest("input, textarea, select, [contenteditable]");
  }

  function select(index) {
    const input = box();
    const all = options();
    all.forEach(function (option, i) { option.setAttribute("aria-selected", String(i === index)); });
    if (index >= 0 && all[index]) {
      input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function selected() { return options().findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; }); }

  function open() {
    const list = dropdown();
    if (!list || !list.innerHTML.trim()) return;
    list.hidden = false;
    box().setAttribute("aria-expanded", "true");
  }

  function close() {
    const list = dropdown();
    if (list) list.hidden = true;
    const input = box();
    if (input) { input.setAttribute("aria-expanded", "false"); select(-1); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typingSomewhere(event.target)) return;
    const input = box();
    if (!input) return;
    event.preventDefault();
    input.focus();
    input.select();
  });

  document.addEventListener("keydown", function (event) {
    const input = box();
    if (!input || event.target !== input) return;
    const all = options();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) return;
      event.preventDefault();
      open();
      const step = event.key === "ArrowDown" ? 1 : -1;
      const current = selected();
      const next = current < 0 ? (step > 0 ? 0 : all.length - 1) : (current + step + all.length) % all.length;
      select(next);
    } else if (event.key === "Enter") {
      const current = selected();
      if (isOpen() && current >= 0) {
        event.preventDefault();
        window.location.assign(all[current].dataset.url);
      }
      // Otherwise the form submits: the search page for what was typed.
    } else if (event.key === "Escape") {
      if (isOpen()) { event.preventDefault(); close(); } else { input.blur(); }
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target !== dropdown()) return;
    select(-1);
    if (dropdown().innerHTML.trim() && document.activeElement === box()) open(); else close();
  });

  document.addEventListener("focusin", function (event) {
    if (event.target === box()) open();
  });

  document.addEventListener("click", function (event) {
    const form = box() && box().form;
    if (form && !form.contains(event.target)) close();
  });

  document.addEventListener("mousemove", function (event) {
    const option = event.target instanceof Element && event.target.closest('#search-suggestions [role="option"]');
    if (option) select(options().indexOf(option));
  });
})();
