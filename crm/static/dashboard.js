// The managers' dashboard: draws the charts described in the page's JSON block with the
// locally served plotly bundle. Clicking a bar opens the list behind it (its customdata).
// Before printing, every chart is resized to the printed page and every table opened.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof window.Plotly === "undefined") return;
  var charts;
  try {
    charts = JSON.parse(source.textContent);
  } catch (e) {
    return;
  }

  function isOwnPath(url) {
    // Only our own lists: a path on this site, never another host.
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }

  var drawn = [];
  charts.forEach(function (chart) {
    var el = document.getElementById(chart.id);
    if (!el) return;
    var traces = chart.traces.map(function (t) {
      var line = t.type === "line";
      return {
        type: line ? "scatter" : "bar",
        mode: line ? "lines+markers" : undefined,
        line: line ? { dash: t.dash || "solid" } : undefined,
        name: t.name,
        x: t.x,
        y: t.y,
        customdata: t.customdata,
        hovertemplate: "%{x}: %{y}<extra>" + (chart.traces.length > 1 ? "%{fullData.name}" : "") + "</extra>"
      };
    });
    var layout = {
      barmode: chart.stacked ? "stack" : "group",
      margin: { t: 10, r: 10, b: 60, l: 60 },
      showlegend: chart.traces.length > 1,
      legend: { orientation: "h" },
      xaxis: { type: "category" },
      yaxis: { rangemode: "tozero", tickformat: chart.counts ? ",d" : ",~s" },
      height: 320
    };
    window.Plotly.newPlot(el, traces, layout, { displaylogo: false, responsive: true }).then(function () {
      el.setAttribute("data-drawn", "1");
    });
    drawn.push(el);
    el.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      var url = point && point.customdata;
      if (isOwnPath(url)) window.location.assign(url);
    });
  });

  function fitForPrint() {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    drawn.forEach(function (el) { window.Plotly.Plots.resize(el); });
  }
  window.addEventListener("beforeprint", fitForPrint);
  window.addEventListener("afterprint", function () {
    drawn.forEach(function (el) { window.Plotly.Plots.resize(el); });
  });
})();
