// Forecast dashboard charts. Each panel carries its figures as JSON ([data-charts] > script);
// panels arrive with the page or later through htmx, so drawing runs on load and after every
// swap, draws each JSON block once and drops charts whose canvas has left the page.
(function () {
  "use strict";
  const charts = [];
  const palette = {
    won: "#2f9e44", commit: "#3b5bdb", best: "#74c0fc", pipeline: "#ced4da",
    weighted: "#f08c00", quota: "#d6336c", lost: "#e8590c", p90: "#adb5bd",
    band: "#f59f00", bandFill: "rgba(245, 159, 0, 0.18)",
  };

  // How the charts write numbers: the page's language and currency (data-locale and
  // data-currency on #forecast-body), the same formats as the tables ("$98,600", "12.5 days",
  // "25.9 %"); a missing figure reads "—".
  function figures(host) {
    const locale = (host && host.dataset.locale) || undefined;
    const currency = (host && host.dataset.currency) || "USD";
    const cache = {};
    function format(key, options) {
      if (!cache[key]) {
        try {
          cache[key] = new Intl.NumberFormat(locale, options);
        } catch (error) { // an unknown currency code or locale: plain grouped figures
          cache[key] = new Intl.NumberFormat(undefined, { maximumFractionDigits: options.maximumFractionDigits });
        }
      }
      return cache[key];
    }
    function shown(fn) {
      return (value) => (value === null || value === undefined || value === "" ? "—" : fn(Number(value)));
    }
    const places = (value) => (Number.isInteger(value) ? 0 : 2);
    const decimal = (value, digits) => format(`n${digits}`, { maximumFractionDigits: digits }).format(value);
    return {
      money: shown((value) => format(`m${places(value)}`, {
        style: "currency", currency, currencyDisplay: "narrowSymbol",
        minimumFractionDigits: places(value), maximumFractionDigits: places(value),
      }).format(value)),
      count: shown((value) => decimal(value, 0)),
      days: shown((value) => `${decimal(value, 1)} ${value === 1 ? "day" : "days"}`),
      percent: shown((value) => `${format("p", { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value * 100)} %`),
    };
  }

  // A chart's options with its value axis ("x" or "y") and tooltips in one format, merged into
  // `options` (scales and plugins one level deep). Counts tick at whole numbers only.
  const WHOLE = { ticks: { precision: 0 } };
  function formatted(format, axis, options) {
    const merged = Object.assign({}, options || {});
    merged.scales = Object.assign({}, merged.scales);
    const scale = merged.scales[axis] || {};
    const ticks = Object.assign({}, scale.ticks, { callback: (value) => format(value) });
    merged.scales[axis] = Object.assign({}, scale, { ticks });
    merged.plugins = Object.assign({}, merged.plugins, {
      tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${format(c.raw)}` } },
    });
    return merged;
  }

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    const old = window.Chart.getChart(canvas);
    if (old) old.destroy();
    config.options = Object.assign(
      { responsive: true, maintainAspectRatio: false, animation: false },
      config.options || {}
    );
    charts.push(new window.Chart(canvas, config));
  }

  const builders = {
    forecast(f, number) {
      draw("chart-forecast", {
        data: {
          labels: f.labels,
          datasets: [
            { type: "bar", label: "Won", data: f.won, backgroundColor: palette.won, stack: "s" },
            { type: "bar", label: "Commit", data: f.commit, backgroundColor: palette.commit, stack: "s" },
            { type: "bar", label: "Best case", data: f.best_case, backgroundColor: palette.best, stack: "s" },
            { type: "bar", label: "Pipeline", data: f.pipeline, backgroundColor: palette.pipeline, stack: "s" },
            // The y axis stacks the bars; each line gets a stack of its own so it is drawn at
            // its own value (without one, Chart.js stacks every line on the others).
            { type: "line", label: "Weighted", data: f.weighted, borderColor: palette.weighted, backgroundColor: palette.weighted, stack: "weighted" },
            { type: "line", label: "Quota", data: f.quota, borderColor: palette.quota, backgroundColor: palette.quota, borderDash: [6, 4], spanGaps: true, stack: "quota" },
          ].concat(f.p10 && f.p90 ? [
            // Learned probabilities: the range the open deals bring in 80 % of the time, a band
            // filled between its low (p10) and high (p90) lines.
            { type: "line", label: "Low (p10)", data: f.p10, borderColor: palette.band, backgroundColor: palette.band, pointRadius: 0, borderWidth: 1, fill: false, stack: "p10" },
            { type: "line", label: "High (p90)", data: f.p90, borderColor: palette.band, backgroundColor: palette.bandFill, pointRadius: 0, borderWidth: 1, fill: "-1", stack: "p90" },
          ] : []),
        },
        // grace: a line at the highest value stays inside the chart instead of on its edge.
        options: formatted(number.money, "y", {
          scales: { x: { stacked: true }, y: { stacked: true, grace: "5%" } },
        }),
      });
    },
    funnel(f, number) {
      draw("chart-funnel", {
        type: "bar",
        data: {
          labels: f.labels,
          datasets: [
            { label: "Entered", data: f.entered, backgroundColor: palette.commit },
            { label: "Lost here", data: f.lost, backgroundColor: palette.lost },
          ],
        },
        options: formatted(number.count, "x", { indexAxis: "y", scales: { x: WHOLE } }),
      });
    },
    time_in_stage(t, number) {
      draw("chart-time", {
        type: "bar",
        data: {
          labels: t.labels,
          datasets: [
            { label: "Median days", data: t.median, backgroundColor: palette.commit },
            { label: "90th percentile days", data: t.p90, backgroundColor: palette.p90 },
          ],
        },
        options: formatted(number.days, "y"),
      });
    },
    lost_reasons(l, number) {
      draw("chart-lost", {
        type: "bar",
        data: { labels: l.labels, datasets: [{ label: "Deals lost", data: l.counts, backgroundColor: palette.lost }] },
        options: formatted(number.count, "x", {
          indexAxis: "y", scales: { x: WHOLE }, plugins: { legend: { display: false } },
        }),
      });
    },
    accuracy(a, number) {
      draw("chart-accuracy", {
        type: "bar",
        data: {
          labels: a.labels,
          datasets: [
            { label: "Configured forecast", data: a.configured, backgroundColor: palette.weighted },
            { label: "Learned forecast", data: a.learned, backgroundColor: palette.commit },
            { label: "Won", data: a.won, backgroundColor: palette.won },
            { type: "line", label: "Learned p10", data: a.p10, borderColor: palette.p90, pointRadius: 0, fill: false },
            { type: "line", label: "Learned p90", data: a.p90, borderColor: palette.p90, pointRadius: 0, fill: "-1" },
          ],
        },
        options: formatted(number.money, "y"),
      });
    },
  };

  function render() {
    if (!window.Chart) return;
    for (let i = charts.length - 1; i >= 0; i--) {
      if (!charts[i].canvas || !charts[i].canvas.isConnected) charts.splice(i, 1)[0].destroy();
    }
    document.querySelectorAll("[data-charts] > script[type='application/json']").forEach((source) => {
      if (source.dataset.drawn) return;
      source.dataset.drawn = "1";
      const data = JSON.parse(source.textContent);
      const number = figures(source.closest("[data-currency]"));
      Object.entries(data).forEach(([name, values]) => builders[name] && builders[name](values, number));
    });
    document.body.dataset.chartsReady = String(charts.length);
  }

  document.addEventListener("DOMContentLoaded", render);
  // Charts of swapped-out content no longer count: chartsReady is absent from the start of a
  // swap until its content has settled and been drawn, so it never reports the old page.
  document.addEventListener("htmx:beforeSwap", () => delete document.body.dataset.chartsReady);
  document.addEventListener("htmx:afterSettle", render);
})();
