// Forecast dashboard charts. The figures come from the JSON block that the server renders in
// the swapped body, so the charts are (re)drawn on load and after every htmx swap.
(function () {
  "use strict";
  const charts = [];
  const palette = {
    won: "#2f9e44", commit: "#3b5bdb", best: "#74c0fc", pipeline: "#ced4da",
    weighted: "#f08c00", quota: "#d6336c", lost: "#e8590c", p90: "#adb5bd",
  };

  function money(value) {
    return value === null || value === undefined ? "—" : Number(value).toLocaleString();
  }

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign(
      { responsive: true, maintainAspectRatio: false, animation: false },
      config.options || {}
    );
    charts.push(new window.Chart(canvas, config));
  }

  function render() {
    const source = document.getElementById("forecast-charts");
    if (!source || !window.Chart) return;
    while (charts.length) charts.pop().destroy();
    const data = JSON.parse(source.textContent);
    const f = data.forecast;
    draw("chart-forecast", {
      data: {
        labels: f.labels,
        datasets: [
          { type: "bar", label: "Won", data: f.won, backgroundColor: palette.won, stack: "s" },
          { type: "bar", label: "Commit", data: f.commit, backgroundColor: palette.commit, stack: "s" },
          { type: "bar", label: "Best case", data: f.best_case, backgroundColor: palette.best, stack: "s" },
          { type: "bar", label: "Pipeline", data: f.pipeline, backgroundColor: palette.pipeline, stack: "s" },
          { type: "line", label: "Weighted", data: f.weighted, borderColor: palette.weighted, backgroundColor: palette.weighted },
          { type: "line", label: "Quota", data: f.quota, borderColor: palette.quota, backgroundColor: palette.quota, borderDash: [6, 4], spanGaps: true },
        ],
      },
      options: {
        scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: money } } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${money(c.raw)}` } } },
      },
    });
    draw("chart-funnel", {
      type: "bar",
      data: {
        labels: data.funnel.labels,
        datasets: [
          { label: "Entered", data: data.funnel.entered, backgroundColor: palette.commit },
          { label: "Lost here", data: data.funnel.lost, backgroundColor: palette.lost },
        ],
      },
      options: { indexAxis: "y" },
    });
    draw("chart-time", {
      type: "bar",
      data: {
        labels: data.time_in_stage.labels,
        datasets: [
          { label: "Median days", data: data.time_in_stage.median, backgroundColor: palette.commit },
          { label: "90th percentile days", data: data.time_in_stage.p90, backgroundColor: palette.p90 },
        ],
      },
    });
    draw("chart-lost", {
      type: "bar",
      data: {
        labels: data.lost_reasons.labels,
        datasets: [{ label: "Deals lost", data: data.lost_reasons.counts, backgroundColor: palette.lost }],
      },
      options: { indexAxis: "y", plugins: { legend: { display: false } } },
    });
    draw("chart-accuracy", {
      type: "bar",
      data: {
        labels: data.accuracy.labels,
        datasets: [
          { label: "Forecast at period start", data: data.accuracy.forecast, backgroundColor: palette.weighted },
          { label: "Won", data: data.accuracy.won, backgroundColor: palette.won },
        ],
      },
      options: { scales: { y: { ticks: { callback: money } } } },
    });
    document.body.dataset.chartsReady = String(charts.length);
  }

  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.querySelector("#forecast-charts")) render();
    else if (document.getElementById("forecast-charts") && event.detail.target.id === "forecast-body") render();
  });
  // After an outerHTML swap the old target is detached: redraw once the new body settles.
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.elt && event.detail.elt.id === "forecast-body") render();
  });
})();
