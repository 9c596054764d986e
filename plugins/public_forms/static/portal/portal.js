// A page that lists form errors opens on that list (portal/macros.html, error_summary).
// A file rather than inline code: the portal's Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
})();
