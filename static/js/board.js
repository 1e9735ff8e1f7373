/* The pipeline board: drag and drop (SortableJS), keyboard moves, live refresh.
 *
 * Every change is a POST to the server, which answers with the card and both column headers as
 * out-of-band swaps. A refused drop puts the card back where it came from; the server's message
 * arrives as a toast (see app.js). A drop that needs more fields (422) keeps the card where it
 * was dropped while the dialog asks for them; cancelling the dialog puts it back.
 */
(function () {
  "use strict";

  const state = {
    version: 0,
    dragging: false,
    pending: null, // {card, from, oldIndex}: a drop waiting for the server or for the dialog
    staleColumns: new Set(),
    staleBoard: false,
    focusAfter: null, // deal id whose menu button gets focus after a keyboard move
  };

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  function body() {
    return document.getElementById("board-body");
  }

  function data(name) {
    const b = body();
    return b ? b.dataset[name] || "" : "";
  }

  /** The board's filters as "?…" (or ""), so every answer keeps to what this board shows. */
  function qs() {
    return data("qs");
  }

  function qsTail() {
    const q = qs();
    return q ? "&" + q.slice(1) : "";
  }

  function urlFor(name, id) {
    return data(name).replace("/0/", "/" + id + "/");
  }

  function dialogOpen() {
    const d = document.getElementById("app-dialog");
    return !!(d && d.open);
  }

  // --- sending changes ---------------------------------------------------------------------

  function post(url, values, source) {
    return htmx.ajax("POST", url + qs(), { source: source, values: values, swap: "none" });
  }

  // One drop at a time: while the server (or the dialog) decides, no other card can be dragged,
  // so a refusal always puts back the card it belongs to.
  const sortables = [];

  function lockDragging(locked) {
    sortables.forEach((s) => s.el.isConnected && s.option("disabled", locked));
  }

  function rollback() {
    const p = state.pending;
    state.pending = null;
    lockDragging(false);
    if (!p || !p.card.isConnected) return;
    p.card.remove();
    const siblings = $$(":scope > .card", p.from);
    p.from.insertBefore(p.card, siblings[p.oldIndex] || null);
    p.card.classList.remove("is-saving");
  }

  function settle() {
    if (state.pending) state.pending.card.classList.remove("is-saving");
    state.pending = null;
    lockDragging(false);
  }

  function siblingCardId(card, direction) {
    let other = card[direction];
    while (other && !other.classList.contains("card")) other = other[direction];
    return other ? other.dataset.dealId : "";
  }

  /** Where a drop landed: the card above it (the server places the deal right below that card,
   * whatever the column holds that this board hides). At the top of another column nothing
   * more: a deal entering a column goes on top. At the top of its own column, the card below
   * it (without an anchor a deal keeps its place in its own column). */
  function dropNeighbours(card, sameColumn) {
    const after = siblingCardId(card, "previousElementSibling");
    if (after || !sameColumn) return { after: after };
    return { after: "", before: siblingCardId(card, "nextElementSibling") };
  }

  function openLostDialog(card, source) {
    const url = urlFor("lostUrl", card.dataset.dealId) + "?version=" + card.dataset.version + qsTail();
    return htmx.ajax("GET", url, { source: source || card, target: "#dialog-body", swap: "innerHTML" });
  }

  function onDrop(evt) {
    const card = evt.item;
    const to = evt.to;
    if (evt.from === to && evt.oldIndex === evt.newIndex) return;
    state.pending = { card: card, from: evt.from, oldIndex: evt.oldIndex };
    card.classList.add("is-saving");
    lockDragging(true);
    const id = card.dataset.dealId;
    const version = card.dataset.version;
    const zone = to.dataset.zone;
    if (zone === "lost") {
      openLostDialog(card);
    } else if (zone === "won") {
      post(urlFor("wonUrl", id), { version: version }, card);
    } else {
      post(urlFor("moveUrl", id), Object.assign({ stage: to.dataset.stageId, version: version }, dropNeighbours(card, evt.from === to)), card);
    }
  }

  // The answer to a drop arrives before its swaps: put a refused card back first, so the
  // out-of-band card (its current state) then lands where it really is.
  document.addEventListener("htmx:beforeOnLoad", (e) => {
    const p = state.pending;
    if (!p) return;
    const xhr = e.detail.xhr;
    const elt = e.detail.elt;
    const fromDialog = !!(elt && elt.closest && elt.closest("#app-dialog"));
    if (elt !== p.card && !fromDialog) return;
    if (xhr.status === 422 || xhr.getResponseHeader("HX-Redirect")) return; // the dialog asks for more
    const ok = xhr.status >= 200 && xhr.status < 300;
    if (!ok) {
      rollback();
      if (fromDialog) window.crm.closeDialog("failed");
      return;
    }
    const isGet = e.detail.requestConfig && e.detail.requestConfig.verb === "get";
    if (!fromDialog && !isGet) settle(); // a drop the server accepted at once
    // A GET (the lost-reason form) or a dialog answer: the dialog's close decides.
  });

  function isZone(el) {
    return !!(el && el.dataset && el.dataset.zone);
  }

  document.addEventListener("dialog:closed", (e) => {
    if (e.detail.result !== "done") rollback();
    else settle();
    flush();
  });

  // --- keyboard path: the "⋯" menu of every card --------------------------------------------

  /** Fill a card's menu from the page's template the first time it opens (before it shows). */
  function fillMenu(card) {
    const menu = $(".menu", card);
    if (!menu || menu.childElementCount) return;
    const lost = card.dataset.status === "lost";
    const source = document.getElementById(lost ? "card-menu-lost-template" : "card-menu-template");
    menu.append(source.content.cloneNode(true));
    $$('[data-action="move"]', menu).forEach((b) => {
      if (b.dataset.stage === card.dataset.stageId) b.remove();
    });
    if (card.dataset.status !== "open") $$('[data-action="won"]', menu).forEach((b) => b.remove());
    const link = $("[data-open-deal]", menu);
    if (link) link.href = $(".card-title", card).href;
  }

  // A click on the summary (or Enter / Space on it) comes before the menu opens.
  document.addEventListener(
    "click",
    (e) => {
      const summary = e.target.closest && e.target.closest(".card-menu > summary");
      if (summary) fillMenu(summary.closest(".card"));
    },
    true
  );

  document.addEventListener("click", (e) => {
    const button = e.target.closest(".card-menu [data-action]");
    if (!button) return;
    const card = button.closest(".card");
    const menu = button.closest("details");
    if (menu) menu.open = false;
    const id = card.dataset.dealId;
    state.focusAfter = id;
    const action = button.dataset.action;
    if (action === "move") {
      post(urlFor("moveUrl", id), { stage: button.dataset.stage, version: card.dataset.version }, card);
    } else if (action === "won") {
      post(urlFor("wonUrl", id), { version: card.dataset.version }, card);
    } else if (action === "lost") {
      openLostDialog(card);
    }
  });

  // Escape closes an open card menu and gives focus back to its button.
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    const menu = e.target.closest && e.target.closest("details.card-menu[open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });

  // Only one card menu open at a time.
  document.addEventListener(
    "toggle",
    (e) => {
      const opened = e.target;
      if (!(opened.matches && opened.matches("details.card-menu") && opened.open)) return;
      $$("details.card-menu[open]").forEach((d) => {
        if (d !== opened) d.open = false;
      });
    },
    true
  );

  // A keyboard change confirms itself; a drag only when it closed the deal (a drop on the Won or
  // Lost zone), since a card moved by hand shows where it went.
  document.addEventListener("deal:changed", (e) => {
    const detail = e.detail || {};
    const closed = detail.status === "won" || detail.status === "lost";
    if (detail.message && (state.focusAfter || closed)) window.crm.toast(detail.message, "success");
  });

  // --- view-only cards: say why they do not move ---------------------------------------------

  function explainReadonly(card) {
    const reason = card && card.dataset.readonlyReason;
    if (!reason) return;
    const shown = $$("#toasts .toast").some((t) => t.textContent.indexOf(reason) !== -1);
    if (!shown) window.crm.toast(reason, "info");
  }

  // Its "View only" marker is a button: a click, Enter or Space on it explains.
  document.addEventListener("click", (e) => {
    const marker = e.target.closest && e.target.closest("[data-explain-readonly]");
    if (marker) explainReadonly(marker.closest(".card"));
  });

  // A drag attempt (Sortable leaves these cards alone): a press on the card moved a few pixels.
  // Not for touch, where the same gesture scrolls the board.
  let press = null;
  document.addEventListener("pointerdown", (e) => {
    const card = e.target.closest && e.target.closest(".card.readonly");
    const onControl = card && e.target.closest("button, summary, input, select");
    press = card && !onControl && e.button === 0 && e.pointerType !== "touch" ? { card: card, x: e.clientX, y: e.clientY } : null;
  });
  document.addEventListener("pointermove", (e) => {
    if (!press || Math.abs(e.clientX - press.x) + Math.abs(e.clientY - press.y) < 8) return;
    explainReadonly(press.card);
    press = null;
  });
  document.addEventListener("pointerup", () => {
    press = null;
  });
  document.addEventListener("dragstart", (e) => {
    const card = e.target.closest && e.target.closest(".card.readonly");
    if (!card) return;
    e.preventDefault();
    explainReadonly(card);
    press = null;
  });

  // --- after every swap: cards whose stage changed go to their column --------------------

  function relocate() {
    $$(".card[data-deal-id]").forEach((card) => {
      const list = card.parentElement;
      if (!list) return;
      if (list.dataset.stageId === card.dataset.stageId) return;
      if (state.pending && state.pending.card === card && !isZone(list)) return;
      const target = document.getElementById("cards-" + card.dataset.stageId);
      const twin = target && $$('[id="' + card.id + '"]', target).find((c) => c !== card);
      if (!target || twin) {
        card.remove();
        return;
      }
      target.insertBefore(card, target.firstElementChild);
    });
    if (state.focusAfter && (!document.activeElement || document.activeElement === document.body)) {
      const summary = document.getElementById("menu-" + state.focusAfter);
      const title = document.getElementById("title-" + state.focusAfter);
      const el = summary || title;
      if (el) {
        el.focus();
        el.scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    }
  }

  document.addEventListener("htmx:afterRequest", (e) => {
    relocate();
    const verb = e.detail.requestConfig && e.detail.requestConfig.verb;
    if (verb === "post") state.focusAfter = null;
  });

  // --- live updates --------------------------------------------------------------------------

  document.addEventListener("htmx:configRequest", (e) => {
    if (e.detail.elt && e.detail.elt.id === "live") e.detail.parameters.v = state.version;
  });
  // A hidden tab skips its polls (an hx-trigger filter would need eval, which the CSP forbids).
  document.addEventListener("htmx:beforeRequest", (e) => {
    if (e.detail.elt && e.detail.elt.id === "live" && document.visibilityState !== "visible") e.preventDefault();
  });

  document.addEventListener("board:changed", (e) => {
    const detail = e.detail || {};
    state.version = detail.version;
    if (detail.stages && detail.stages !== data("stages")) {
      state.staleBoard = true;
    } else if (detail.columns === "*") {
      $$(".cards[data-stage-id]").forEach((list) => state.staleColumns.add(list.dataset.stageId));
    } else {
      (detail.columns || []).forEach((id) => state.staleColumns.add(String(id)));
    }
    flush();
  });

  function busy() {
    return state.dragging || state.pending || dialogOpen();
  }

  /** Reload the columns others changed, unless the user is in the middle of something there. */
  function flush() {
    if (busy()) return;
    if (state.staleBoard) {
      if ($(".quick-add[open]") || $(".card-menu[open]")) return;
      state.staleBoard = false;
      state.staleColumns.clear();
      refreshBoard();
      return;
    }
    state.staleColumns.forEach((id) => {
      const list = document.getElementById("cards-" + id);
      if (!list) {
        state.staleColumns.delete(id);
        return;
      }
      if ($("details.card-menu[open]", list)) return; // wait until the menu closes
      state.staleColumns.delete(id);
      refreshColumn(list);
    });
  }

  function refreshColumn(list) {
    const loaded = $$(":scope > .card", list).length;
    const limit = Math.max(Number(data("pageSize")) || 30, loaded);
    const url = urlFor("cardsUrl", list.dataset.stageId) + "?refresh=1&limit=" + limit + qsTail();
    htmx.ajax("GET", url, { source: list, target: list, swap: "innerHTML" });
  }

  function refreshBoard() {
    const scroller = document.getElementById("board-scroller");
    const left = scroller ? scroller.scrollLeft : 0;
    htmx.ajax("GET", data("boardUrl") + qs(), { source: body(), target: "#board-body", swap: "outerHTML" }).then(() => {
      if (scroller) scroller.scrollLeft = left;
    });
  }

  setInterval(flush, 1000);

  // --- drag and drop ----------------------------------------------------------------------------

  const sortableOptions = {
    group: "board",
    animation: 150,
    draggable: ".card",
    filter: ".readonly, .card-menu, button, input, select",
    preventOnFilter: false,
    delay: 200,
    delayOnTouchOnly: true,
    ghostClass: "card-ghost",
    chosenClass: "card-chosen",
    dragClass: "card-drag",
    scrollSensitivity: 80,
    onStart() {
      state.dragging = true;
      document.body.classList.add("dragging");
    },
    onEnd(evt) {
      state.dragging = false;
      document.body.classList.remove("dragging");
      onDrop(evt);
    },
  };

  function init(root) {
    const lists = $$(".cards:not([data-sortable])", root);
    if (root.classList && root.classList.contains("cards") && !root.dataset.sortable) lists.push(root);
    lists.forEach((list) => {
      list.dataset.sortable = "1";
      sortables.push(Sortable.create(list, sortableOptions));
    });
    // Forget the lists a swap removed.
    for (let i = sortables.length - 1; i >= 0; i--) if (!sortables[i].el.isConnected) sortables.splice(i, 1);
    if (root.id === "board-body" || root === document.body) {
      state.version = Number(data("liveVersion")) || 0;
      state.staleColumns.clear();
    }
  }

  function initZones() {
    $$(".zone-list:not([data-sortable])").forEach((zone) => {
      zone.dataset.sortable = "1";
      sortables.push(
        Sortable.create(zone, { group: { name: "board", pull: false, put: true }, ghostClass: "card-ghost" })
      );
    });
  }

  // Back/forward restores the board from htmx's history snapshot: plain HTML, without the
  // Sortable instances, so set them up again.
  document.addEventListener("htmx:historyRestore", () => {
    $$("[data-sortable]").forEach((el) => delete el.dataset.sortable);
    init(document.body);
    initZones();
  });

  // Sortable's drag uses the card's title link as a handle too: a click still opens the deal.
  document.addEventListener("DOMContentLoaded", initZones);
  htmx.onLoad(init);
})();
