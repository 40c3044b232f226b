// Small behaviours shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  // Buttons that change something important ask first.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  // "/" focuses the search box, unless the user is typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    var box = document.querySelector("[data-search-box]");
    if (box) {
      event.preventDefault();
      box.focus();
    }
  });
})();

// Record pickers: type part of any name (English, Chinese, other names, pinyin), pick from
// the list; the record's id goes into the hidden input next to the text box.
(function () {
  "use strict";
  function debounce(fn, ms) {
    var t;
    return function () {
      var args = arguments, self = this;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }
  function setup(box) {
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    var hidden = box.querySelector("input[type=hidden]");
    var text = box.querySelector("input[type=text]");
    var list = box.querySelector(".picker-results");
    var url = box.getAttribute("data-lookup");
    var search = debounce(function () {
      var q = text.value.trim();
      if (!q) { list.replaceChildren(); return; }
      fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q), {
        headers: { "Accept": "application/json" }, credentials: "same-origin"
      }).then(function (r) { return r.ok ? r.json() : { results: [] }; }).then(function (data) {
        list.replaceChildren();
        (data.results || []).forEach(function (item) {
          var button = document.createElement("button");
          button.type = "button";
          button.className = "list-group-item list-group-item-action";
          button.textContent = item.label;
          if (item.detail) {
            var small = document.createElement("small");
            small.className = "text-muted ms-2";
            small.textContent = item.detail;
            button.appendChild(small);
          }
          button.addEventListener("click", function () {
            hidden.value = item.id;
            text.value = item.label;
            list.replaceChildren();
            box.dispatchEvent(new CustomEvent("picked", { bubbles: true, detail: item }));
          });
          list.appendChild(button);
        });
        if (!(data.results || []).length) {
          var none = document.createElement("div");
          none.className = "list-group-item text-muted small";
          none.textContent = box.getAttribute("data-empty") || "—";
          list.appendChild(none);
        }
      });
    }, 200);
    text.addEventListener("input", function () { hidden.value = ""; search(); });
    text.addEventListener("keydown", function (e) {
      if (e.key === "Escape") list.replaceChildren();
    });
  }
  function setupAll(root) {
    (root || document).querySelectorAll("[data-lookup]").forEach(setup);
  }
  document.addEventListener("DOMContentLoaded", function () { setupAll(document); });

  // Repeated rows (parties, positions, milestones ...): "add" clones the template row with
  // fresh indices; "remove" takes a row out of the form.
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var container = document.getElementById(add.getAttribute("data-add-row"));
      var template = container.querySelector("template");
      var next = parseInt(container.getAttribute("data-next-index"), 10);
      var html = template.innerHTML.replace(/__index__/g, String(next));
      container.setAttribute("data-next-index", String(next + 1));
      var holder = document.createElement("tbody");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      container.querySelector("[data-rows]").appendChild(row);
      setupAll(row);
      var first = row.querySelector("input[type=text], select, input[type=date]");
      if (first) first.focus();
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      var r = remove.closest("[data-row]");
      if (r) r.remove();
    }
  });
})();
