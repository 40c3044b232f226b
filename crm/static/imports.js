// The import progress page: run the next chunk, again and again, until the step is done.
// Each POST does one chunk in its own transaction, so any worker can take the next one;
// without JavaScript the "Continue" button does the same, one chunk per press.
(function () {
  "use strict";
  var form = document.querySelector("[data-step-form]");
  if (!form) return;
  var bar = document.querySelector("[data-progress-bar]");
  var text = document.querySelector("[data-progress-text]");
  var holder = document.getElementById("import-progress");
  var template = form.getAttribute("data-done-text");
  var failures = 0;

  function show(position, total) {
    var pct = total ? Math.round(100 * position / total) : 0;
    bar.style.width = pct + "%";
    bar.textContent = pct + "%";
    holder.setAttribute("aria-valuenow", String(position));
    text.textContent = template.replace("%(done)s", position.toLocaleString())
      .replace("%(total)s", total.toLocaleString());
  }

  function next() {
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (data) {
      failures = 0;
      show(data.position, data.total);
      if (data.running) {
        next();
      } else {
        window.location.assign(data.next);
      }
    }).catch(function () {
      // A worker restarted or the network hiccuped: try again a few times, then leave
      // the Continue button to the user.
      failures += 1;
      if (failures < 5) setTimeout(next, 1000 * failures);
    });
  }

  bar.style.width = (bar.getAttribute("data-width") || "0") + "%";
  next();
})();
