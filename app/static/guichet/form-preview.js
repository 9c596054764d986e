// The form editor's preview frame: after a change (the page comes back at "#field-<id>"),
// the preview scrolls to that field; the "Reload the preview" button reloads it in place.
// Without this script the frame still shows the form as it is after each change.
(function () {
  "use strict";
  var frame = document.getElementById("form-preview");
  if (!frame) {
    return;
  }
  var match = /^#field-([A-Za-z0-9_-]+)$/.exec(window.location.hash);
  if (match) {
    frame.src = frame.getAttribute("data-src") + "#champ_" + match[1];
  }
  var reload = document.getElementById("form-preview-reload");
  if (reload) {
    reload.hidden = false;
    reload.addEventListener("click", function () {
      frame.src = frame.getAttribute("data-src");
    });
  }
})();
