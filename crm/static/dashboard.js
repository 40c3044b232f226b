// The managers' dashboard: draws the charts described in the page's JSON block with the
// locally served plotly bundle. Clicking a bar opens the list behind it (its customdata).
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
  charts.forEach(function (chart) {
    var el = document.getElementById(chart.id);
    if (!el) return;
    var traces = chart.traces.map(function (t) {
      return {
        type: "bar",
        name: t.name,
        x: t.x,
        y: t.y,
        customdata: t.customdata,
        hovertemplate: "%{x}: %{y}<extra>" + (chart.traces.length > 1 ? "%{fullData.name}" : "") + "</extra>"
      };
    });
    var layout = {
      barmode: chart.stacked ? "stack" : "group",
      margin: { t: 10, r: 10, b: 60, l: 40 },
      showlegend: chart.traces.length > 1,
      legend: { orientation: "h" },
      yaxis: { rangemode: "tozero", tickformat: ",d" },
      height: 320
    };
    window.Plotly.newPlot(el, traces, layout, { displaylogo: false, responsive: true }).then(function () {
      el.setAttribute("data-drawn", "1");
    });
    el.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      var url = point && point.customdata;
      // Only our own lists: a path on this site, never another host.
      if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
        window.location.assign(url);
      }
    });
  });
})();
