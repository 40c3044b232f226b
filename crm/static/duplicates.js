// Duplicates: the live check on the "new partner" and "new contact" forms, and the
// side-by-side merge form. The pages work without this file; it only saves clicks.
(function () {
  "use strict";

  // Live check: as names are typed, list the records that already look like them.
  function setupLiveCheck(form) {
    var url = form.getAttribute("data-duplicate-check");
    var box = document.getElementById("duplicate-live");
    if (!url || !box) return;
    var timer = null;
    var last = "";
    function values() {
      var params = new URLSearchParams();
      form.querySelectorAll("input[name]").forEach(function (input) {
        var name = input.name;
        var value = input.value.trim();
        if (!value) return;
        if (name === "name_en" || name === "name_zh" || name === "name" || /^other_names-\d+-name$/.test(name)) {
          params.append("name", value);
        } else if (name === "email" || name === "city") {
          params.append(name, value);
        }
      });
      return params.toString();
    }
    function render(results) {
      box.replaceChildren();
      if (!results.length || document.getElementById("duplicate-guard")) return;
      var alert = document.createElement("div");
      alert.className = "alert alert-info";
      var title = document.createElement("div");
      title.className = "fw-semibold mb-1";
      title.textContent = box.getAttribute("data-title");
      alert.appendChild(title);
      var list = document.createElement("ul");
      list.className = "mb-0";
      results.forEach(function (item) {
        var li = document.createElement("li");
        var link = document.createElement("a");
        link.href = item.url;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = item.label;
        li.appendChild(link);
        var score = document.createElement("span");
        score.className = "badge text-bg-light ms-1";
        score.textContent = item.score + "%";
        li.appendChild(score);
        var why = document.createElement("div");
        why.className = "small text-muted";
        why.textContent = item.reason;
        li.appendChild(why);
        list.appendChild(li);
      });
      alert.appendChild(list);
      box.appendChild(alert);
    }
    function check() {
      var query = values();
      if (query === last) return;
      last = query;
      if (!query) { render([]); return; }
      fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + query, {
        headers: { "Accept": "application/json" }, credentials: "same-origin"
      }).then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) { if (query === last) render(data.results || []); })
        .catch(function () { /* the server checks again on save */ });
    }
    form.addEventListener("input", function (event) {
      var name = event.target.name || "";
      if (!/^(name_en|name_zh|name|email|city|other_names-\d+-name)$/.test(name)) return;
      clearTimeout(timer);
      timer = setTimeout(check, 400);
    });
  }

  // Merge form: when the record to keep changes, fields the user has not touched follow
  // it (its value where it has one, else the other's).
  function setupMerge(form) {
    var touched = {};
    form.addEventListener("change", function (event) {
      var name = event.target.name || "";
      if (name.indexOf("pick_") === 0) { touched[name] = true; return; }
      if (name !== "survivor") return;
      var keep = event.target.value;
      var other = keep === "a" ? "b" : "a";
      form.querySelectorAll("tr[data-field]").forEach(function (row) {
        var field = "pick_" + row.getAttribute("data-field");
        if (touched[field]) return;
        var side = row.hasAttribute("data-empty-" + keep) ? other : keep;
        var radio = row.querySelector("input[name='" + field + "'][value='" + side + "']");
        if (radio) radio.checked = true;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-duplicate-check]").forEach(setupLiveCheck);
    var merge = document.getElementById("merge-form");
    if (merge) setupMerge(merge);
  });
})();
