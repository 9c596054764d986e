// Batch actions of the agent tables (app/views/batch.py). Everything works without this
// script: it only ticks the page's boxes for "select all on this page" and refreshes a
// running job's progress in place (the region is aria-live) instead of by a link.
(function () {
  "use strict";

  var all = document.getElementById("batch-all");
  if (all) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll("input.batch-select"));
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
    });
    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        // The server reads "select all" as every row of the page: a row unticked
        // afterwards means the agent chose row by row.
        if (!box.checked) { all.checked = false; }
      });
    });
  }

  var progress = document.getElementById("batch-progress");
  if (progress && progress.dataset.refresh && window.fetch && window.DOMParser) {
    var refresh = function () {
      fetch(progress.dataset.refresh, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html")
            .getElementById("batch-progress");
          if (!fresh) { return; }
          progress.innerHTML = fresh.innerHTML;
          if (fresh.dataset.refresh) {
            window.setTimeout(refresh, 2000);
          } else {
            delete progress.dataset.refresh;
          }
        })
        .catch(function () { window.setTimeout(refresh, 5000); });
    };
    window.setTimeout(refresh, 2000);
  }
})();
