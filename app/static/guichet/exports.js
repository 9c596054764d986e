// The agent's exports page (app/views/exports.py). Everything works without this script
// (a link reloads the page): it only moves the progress bars of running exports in place,
// from the JSON status route, and reloads the page once an export is finished or failed
// so that its download link appears.
(function () {
  "use strict";

  var region = document.getElementById("exports");
  if (!region || !region.dataset.status || !window.fetch) { return; }

  var poll = function () {
    fetch(region.dataset.status, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 5000); return; }
        var changed = false;
        data.jobs.forEach(function (job) {
          var row = document.getElementById("export-" + job.id);
          if (!row) { return; }
          if (row.dataset.state !== job.state) { changed = true; return; }
          var bar = document.getElementById("export-bar-" + job.id);
          if (bar) {
            bar.value = job.percent;
            bar.textContent = job.percent + " %";
          }
        });
        if (changed) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  };
  window.setTimeout(poll, 2000);
})();
