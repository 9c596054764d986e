// Narrows each condition test's operators to those its field's type allows, and offers
// the field's choices as suggestions for the value. Without this script every operator
// is listed and the server explains what does not fit.
(function () {
  "use strict";
  document.querySelectorAll(".condition-editor[data-fields]").forEach(function (editor) {
    var fields = {};
    JSON.parse(editor.getAttribute("data-fields")).forEach(function (field) {
      fields[field.id] = field;
    });
    editor.querySelectorAll(".condition-row").forEach(function (row, index) {
      var fieldSelect = row.querySelector(".cond-field");
      var opSelect = row.querySelector(".cond-op");
      var valueInput = row.querySelector(".cond-value");
      var allOptions = Array.prototype.slice.call(opSelect.options).map(function (option) {
        return { value: option.value, label: option.textContent };
      });
      var list = document.createElement("datalist");
      list.id = editor.id + "choices-" + index + "-" + Math.random().toString(36).slice(2);
      row.appendChild(list);
      valueInput.setAttribute("list", list.id);

      function refresh() {
        var field = fields[fieldSelect.value];
        var chosen = opSelect.value;
        opSelect.innerHTML = "";
        allOptions.forEach(function (option) {
          if (!field || field.ops.indexOf(option.value) !== -1) {
            var element = new Option(option.label, option.value);
            element.selected = option.value === chosen;
            opSelect.add(element);
          }
        });
        list.innerHTML = "";
        (field ? field.choices : []).forEach(function (choice) {
          list.appendChild(new Option(choice, choice));
        });
        var noValue = opSelect.value === "empty" || opSelect.value === "not_empty";
        valueInput.readOnly = !field || noValue; // still posted: the lists stay aligned
      }
      fieldSelect.addEventListener("change", refresh);
      opSelect.addEventListener("change", refresh);
      refresh();
    });
  });
  var problems = document.getElementById("problems");
  if (problems) problems.focus();
})();
