// The partner network: lays out the partners (a force-directed layout run in short
// slices so the page stays responsive), draws them with the locally served plotly, opens
// a partner on click, and shows what two partners share when their link is clicked.
(function () {
  "use strict";
  var source = document.getElementById("network-data");
  var el = document.getElementById("network-graph");
  if (!source || !el || typeof window.Plotly === "undefined") return;
  var data;
  try {
    data = JSON.parse(source.textContent);
  } catch (e) {
    return;
  }
  var nodes = data.nodes;
  var links = data.links;
  var index = {};
  nodes.forEach(function (node, i) { index[node.id] = i; });
  links = links.filter(function (l) { return l.a in index && l.b in index; });

  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function isOwnPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }

  // --- layout: Fruchterman-Reingold, repulsion only between neighbouring grid cells ----
  function layout(done) {
    var n = nodes.length;
    var x = new Float64Array(n), y = new Float64Array(n);
    var dx = new Float64Array(n), dy = new Float64Array(n);
    var k = 10;
    for (var i = 0; i < n; i++) {
      // A golden-angle spiral, strongest partners (listed first) nearest the centre.
      var r = k * Math.sqrt(i + 0.5), a = i * 2.399963;
      x[i] = nodes[i].own ? 0 : r * Math.cos(a);
      y[i] = nodes[i].own ? 0 : r * Math.sin(a);
    }
    var edges = links.map(function (l) {
      return [index[l.a], index[l.b], 1 + Math.log(1 + l.agreements + l.projects)];
    });
    var iterations = Math.max(40, Math.min(250, Math.round(600000 / (n + edges.length + 1))));
    var temperature = k * Math.sqrt(n) / 2 + k;
    var cooling = temperature / (iterations + 1);
    var cell = 3 * k, step = 0;

    function iterate() {
      dx.fill(0);
      dy.fill(0);
      var grid = new Map();
      for (var i = 0; i < n; i++) {
        var key = Math.floor(x[i] / cell) + ":" + Math.floor(y[i] / cell);
        var bucket = grid.get(key);
        if (bucket) bucket.push(i); else grid.set(key, [i]);
      }
      for (var i2 = 0; i2 < n; i2++) {
        var cx = Math.floor(x[i2] / cell), cy = Math.floor(y[i2] / cell);
        for (var ox = -1; ox <= 1; ox++) {
          for (var oy = -1; oy <= 1; oy++) {
            var near = grid.get((cx + ox) + ":" + (cy + oy));
            if (!near) continue;
            for (var t = 0; t < near.length; t++) {
              var j = near[t];
              if (j <= i2) continue;
              var ddx = x[i2] - x[j], ddy = y[i2] - y[j];
              var d2 = ddx * ddx + ddy * ddy;
              if (d2 < 0.01) { ddx = 0.1 * ((i2 % 7) - 3); ddy = 0.1 * ((j % 5) - 2); d2 = 0.05; }
              if (d2 > cell * cell) continue;
              var f = (k * k) / d2;
              dx[i2] += ddx * f; dy[i2] += ddy * f;
              dx[j] -= ddx * f; dy[j] -= ddy * f;
            }
          }
        }
      }
      for (var e = 0; e < edges.length; e++) {
        var p = edges[e][0], q = edges[e][1], w = edges[e][2];
        var ex = x[p] - x[q], ey = y[p] - y[q];
        var d = Math.sqrt(ex * ex + ey * ey) || 0.01;
        // Pull d^2/k along the link (stronger links pull harder).
        var fa = (d / k) * w * 0.5;
        dx[p] -= ex * fa; dy[p] -= ey * fa;
        dx[q] += ex * fa; dy[q] += ey * fa;
      }
      for (var m = 0; m < n; m++) {
        if (nodes[m].own) { x[m] = 0; y[m] = 0; continue; }
        // A little gravity keeps unconnected groups near the middle.
        dx[m] -= x[m] * 0.02; dy[m] -= y[m] * 0.02;
        var len = Math.sqrt(dx[m] * dx[m] + dy[m] * dy[m]);
        if (len > 0) {
          var move = Math.min(len, temperature);
          x[m] += dx[m] / len * move; y[m] += dy[m] / len * move;
        }
      }
      temperature = Math.max(temperature - cooling, 0.5);
    }

    function slice() {
      var until = performance.now() + 12;
      while (step < iterations && performance.now() < until) { iterate(); step++; }
      if (step < iterations) window.setTimeout(slice, 0); else done(x, y);
    }
    slice();
  }

  // --- drawing ---------------------------------------------------------------------------
  function draw(x, y) {
    var lineX = [], lineY = [], midX = [], midY = [], midText = [], midIndex = [];
    links.forEach(function (l, i) {
      var p = index[l.a], q = index[l.b];
      lineX.push(x[p], x[q], null);
      lineY.push(y[p], y[q], null);
      midX.push((x[p] + x[q]) / 2);
      midY.push((y[p] + y[q]) / 2);
      midText.push(nodes[p].name + " — " + nodes[q].name + ": " + l.agreements + " " +
        data.text.agreements + ", " + l.projects + " " + data.text.projects);
      midIndex.push(i);
    });
    var traces = [
      { type: "scatter", mode: "lines", x: lineX, y: lineY, hoverinfo: "skip",
        line: { width: 0.8, color: "rgba(110,110,110,0.45)" }, showlegend: false },
      { type: "scatter", mode: "markers", x: midX, y: midY, text: midText, customdata: midIndex,
        meta: "link", name: "links", showlegend: false,
        marker: { size: 9, color: "rgba(90,90,90,0.35)", line: { width: 0 } },
        hovertemplate: "%{text}<extra></extra>" }
    ];
    var kinds = [];
    nodes.forEach(function (node) {
      if (!node.own && kinds.indexOf(node.kind) < 0) kinds.push(node.kind);
    });
    kinds.forEach(function (kind, k) {
      var members = nodes.filter(function (node) { return node.kind === kind && !node.own; });
      traces.push({
        type: "scatter", mode: "markers", meta: "node",
        name: members[0].kind_label,
        x: members.map(function (node) { return x[index[node.id]]; }),
        y: members.map(function (node) { return y[index[node.id]]; }),
        text: members.map(function (node) {
          return node.name + (node.country_name ? " · " + node.country_name : "") + " · " + node.links;
        }),
        customdata: members.map(function (node) { return node.url; }),
        marker: {
          size: members.map(function (node) { return Math.min(30, 7 + 3 * Math.sqrt(node.links)); }),
          color: PALETTE[k % PALETTE.length], line: { width: 0.5, color: "#fff" }
        },
        hovertemplate: "%{text}<extra>%{fullData.name}</extra>"
      });
    });
    var own = nodes.filter(function (node) { return node.own; });
    if (own.length) {
      traces.push({
        type: "scatter", mode: "markers+text", meta: "node", name: data.own_label,
        x: [x[index[own[0].id]]], y: [y[index[own[0].id]]],
        text: [own[0].name], textposition: "top center",
        customdata: [own[0].url],
        marker: { size: 26, symbol: "star", color: "#f2b705", line: { width: 1, color: "#7a5c00" } },
        hovertemplate: "%{text}<extra>%{fullData.name}</extra>"
      });
    }
    var hidden = { visible: false, showgrid: false, zeroline: false };
    var layoutSpec = {
      margin: { t: 10, r: 10, b: 10, l: 10 },
      hovermode: "closest", dragmode: "pan", showlegend: true,
      legend: { orientation: "h" },
      xaxis: hidden, yaxis: Object.assign({ scaleanchor: "x" }, hidden)
    };
    window.Plotly.newPlot(el, traces, layoutSpec, {
      displaylogo: false, responsive: true, scrollZoom: true
    }).then(function () {
      el.setAttribute("data-drawn", "1");
      var working = document.getElementById("network-working");
      if (working) working.classList.add("d-none");
    });
    el.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      if (!point) return;
      if (point.data.meta === "node" && isOwnPath(point.customdata)) {
        window.location.assign(point.customdata);
      } else if (point.data.meta === "link") {
        showLink(links[point.customdata]);
      }
    });
  }

  // --- the link panel -------------------------------------------------------------------
  var title = document.getElementById("network-panel-title");
  var body = document.getElementById("network-panel-body");
  var panel = document.getElementById("network-panel");

  function element(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    return node;
  }

  function section(heading, items, count, more, listUrl, allText) {
    var box = element("div", null, { "class": "mb-2" });
    box.appendChild(element("div", heading + " (" + count + ")", { "class": "fw-semibold" }));
    if (!items.length) {
      box.appendChild(element("div", data.text.none, { "class": "text-muted" }));
      return box;
    }
    var list = element("ul", null, { "class": "list-unstyled mb-1" });
    items.forEach(function (item) {
      var li = element("li");
      if (isOwnPath(item.url)) li.appendChild(element("a", item.title, { href: item.url }));
      if (item.detail) li.appendChild(element("span", " · " + item.detail, { "class": "text-muted" }));
      list.appendChild(li);
    });
    box.appendChild(list);
    if (isOwnPath(listUrl)) {
      var all = element("a", allText.replace("%(n)s", count), { href: listUrl, "data-list": "1" });
      box.appendChild(all);
    }
    return box;
  }

  function showLink(link) {
    if (!link) return;
    var query = "a=" + link.a + "&b=" + link.b + (data.filters ? "&" + data.filters : "");
    panel.setAttribute("data-link", link.a + "-" + link.b);
    panel.removeAttribute("data-loaded");
    fetch(data.link_url + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (detail) {
        title.textContent = detail.partners[0].name + " — " + detail.partners[1].name;
        body.textContent = "";
        body.classList.remove("text-muted");
        body.appendChild(section(data.text.agreements, detail.agreements, link.agreements,
          detail.agreements_more, detail.agreements_list, data.text.all_agreements));
        body.appendChild(section(data.text.projects, detail.projects, link.projects,
          detail.projects_more, detail.projects_list, data.text.all_projects));
        panel.setAttribute("data-loaded", "1");
      })
      .catch(function () {
        body.textContent = data.text.failed;
      });
  }

  var working = document.getElementById("network-working");
  if (working && nodes.length > 300) working.classList.remove("d-none");
  layout(draw);
})();
