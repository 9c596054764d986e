/* Tag insertion in the template screens (mails, attestation).
 *
 * Without JavaScript the tags are a list to copy from. With it, each tag gets an "Insert"
 * button that puts the tag at the cursor of the last text box used (the main text box
 * until another one is used), then gives the focus back to that box, after the tag.
 */
(function () {
  "use strict";
  var targets = document.querySelectorAll("[data-tag-target]");
  if (!targets.length) {
    return;
  }
  var current = document.querySelector("[data-tag-target][data-tag-default]") || targets[0];
  var status = document.querySelector("[data-tag-status]");
  var list = document.querySelector("[data-tag-list]");

  Array.prototype.forEach.call(targets, function (target) {
    target.addEventListener("focus", function () {
      current = target;
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-insert-tag]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var tag = button.getAttribute("data-insert-tag");
      var text = current.value;
      var start = typeof current.selectionStart === "number" ? current.selectionStart : text.length;
      var end = typeof current.selectionEnd === "number" ? current.selectionEnd : start;
      current.value = text.slice(0, start) + tag + text.slice(end);
      current.focus();
      current.setSelectionRange(start + tag.length, start + tag.length);
      if (status && list) {
        // Emptied first, so that a second insertion is announced again.
        status.textContent = "";
        window.setTimeout(function () {
          status.textContent = list.getAttribute("data-inserted");
        }, 50);
      }
    });
  });
})();
