/* Stage settings: drag a stage by its handle to reorder (the ↑ ↓ buttons do it by keyboard). */
(function () {
  "use strict";

  function init(root) {
    const list = (root.querySelector && root.querySelector("#stage-list")) || null;
    if (!list || list.dataset.sortable) return;
    list.dataset.sortable = "1";
    Sortable.create(list, {
      handle: ".handle",
      animation: 150,
      ghostClass: "stage-ghost",
      onEnd(evt) {
        if (evt.oldIndex === evt.newIndex) return;
        const panel = document.getElementById("stage-panel");
        const ids = Array.from(list.querySelectorAll(":scope > .stage-row")).map((li) => li.dataset.stageId);
        htmx.ajax("POST", panel.dataset.orderUrl, {
          source: panel,
          target: "#stage-panel",
          swap: "outerHTML",
          values: { stage_ids: ids },
        });
      },
    });
  }

  htmx.onLoad(init);
})();
