// Dashboard: plotly charts over the numbers the page already shows as tables (#dash-data is
// the JSON of GET /api/projects/{id}/dashboard). Accuracies are fractions in [0, 1], shown as
// percent. Plotly is the python package's own bundle, served at /static-lib/plotly.min.js.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("dash-data").textContent);
  const root = document.getElementById("dash");
  const FONT = { family: "system-ui, sans-serif", size: 12, color: "#1f2328" };
  const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  const pct = (v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 10);
  const name = (id, email) => email || `user ${id}`;

  function layout(extra) {
    return { font: FONT, margin: { l: 60, r: 20, t: 10, b: 60 }, height: 380, ...extra };
  }

  function plot(id, traces, extra) {
    const node = document.getElementById(id);
    if (!node) return Promise.resolve();
    return Plotly.newPlot(node, traces, layout(extra), CONFIG);
  }

  function agreement() {
    const ag = data.agreement;
    const names = ag.annotators.map((a) => name(a.id, a.email));
    const z = ag.matrix.map((row) => row.map(pct));
    const text = ag.matrix.map((row, i) => row.map((v, j) =>
      v === null ? "" : `${pct(v)} % (${ag.shared_tasks[i][j]} task${ag.shared_tasks[i][j] === 1 ? "" : "s"})`));
    return plot("chart-agreement", [{
      type: "heatmap", x: names, y: names, z, text, texttemplate: "%{text}",
      hovertemplate: "%{y} vs %{x}: %{text}<extra></extra>",
      colorscale: [[0, "#c0262d"], [0.5, "#f5d76e"], [1, "#2f9e44"]], zmin: 0, zmax: 100, colorbar: { title: { text: "%" } },
    }], { yaxis: { autorange: "reversed", automargin: true }, xaxis: { automargin: true } });
  }

  function weeks(series = data.accuracy_over_time, id = "chart-weeks") {
    const traces = series.map((s) => ({
      type: "scatter", mode: "lines+markers", name: name(s.annotator, s.email),
      x: s.weeks.map((w) => w.week), y: s.weeks.map((w) => pct(w.mean_accuracy)),
      text: s.weeks.map((w) => `${w.scored} scored`),
      hovertemplate: "week of %{x}: %{y} % (%{text})<extra>%{fullData.name}</extra>",
    }));
    return plot(id, traces, {
      margin: { l: 60, r: 20, t: 10, b: 60 },
      yaxis: { title: { text: "mean accuracy, %" }, range: [0, 102] },
      xaxis: { type: "category", categoryorder: "category ascending",
        title: { text: "week of annotation (Monday)" } },
    });
  }

  function confusion() {
    const cf = data.confusion;
    return plot("chart-confusion", [{
      type: "heatmap", x: cf.labels, y: cf.labels, z: cf.matrix, texttemplate: "%{z}",
      hovertemplate: "GT %{y}, annotated %{x}: %{z}<extra></extra>", colorscale: "Blues",
      reversescale: true,
    }], {
      yaxis: { autorange: "reversed", automargin: true, title: { text: "ground truth" } },
      xaxis: { automargin: true, title: { text: "annotated" } },
    });
  }

  function models() {
    const versions = data.models.map((m) => m.model_version || "–");
    const traces = ["accuracy", "precision", "recall", "f1"].map((key) => ({
      type: "bar", name: key === "f1" ? "F1" : key, x: versions,
      y: data.models.map((m) => pct(m[key])),
      hovertemplate: `%{x}: %{y} %<extra>${key}</extra>`,
    }));
    return plot("chart-models", traces, {
      barmode: "group", margin: { l: 60, r: 20, t: 10, b: 60 },
      yaxis: { title: { text: "%" }, range: [0, 100] },
    });
  }

  function drift() {
    const dr = data.drift;
    if (!dr) return Promise.resolve();
    const x = dr.windows.map((w) => w.start);
    const line = (key, label, dash) => ({
      type: "scatter", mode: "lines+markers", name: label, x,
      y: dr.windows.map((w) => pct(w[key])), line: { dash },
      hovertemplate: `week of %{x}: %{y} %<extra>${label}</extra>`,
    });
    const alerted = dr.windows.filter((w) => w.alerts.length);
    return plot("chart-drift", [
      line("mean_confidence", "mean confidence", "solid"),
      line("accuracy", "accuracy vs GT", "dot"),
      line("audit_accuracy", "audit accuracy", "dash"),
      { type: "bar", name: "PSI", x, y: dr.windows.map((w) => w.psi), yaxis: "y2", opacity: 0.35,
        hovertemplate: "week of %{x}: PSI %{y:.3f}<extra></extra>" },
      { type: "scatter", mode: "markers", name: "alert", x: alerted.map((w) => w.start),
        y: alerted.map((w) => pct(w.mean_confidence)),
        text: alerted.map((w) => w.alerts.map((a) => a.message).join("<br>")),
        marker: { symbol: "x", size: 12, color: "#c0262d" },
        hovertemplate: "%{x}<br>%{text}<extra>alert</extra>" },
    ], {
      yaxis: { title: { text: "%" }, range: [0, 102] },
      yaxis2: { title: { text: "PSI" }, overlaying: "y", side: "right", rangemode: "tozero" },
      xaxis: { type: "category", title: { text: "week of prediction (Monday)" } },
      margin: { l: 60, r: 60, t: 10, b: 60 },
    });
  }

  const honeypotWeeks = () =>
    weeks(data.honeypot_accuracy_over_time || [], "chart-honeypot-weeks");

  Promise.all([agreement(), weeks(), honeypotWeeks(), confusion(), models(), drift()])
    .then(() => { root.dataset.charts = "ready"; })
    .catch((error) => {
      root.dataset.charts = "failed";
      console.error("dashboard charts:", error);
    });
})();
