// Admin enhancements: the stops and fares editors, confirmations, the busy indicator.
// Every form still works without them (rows can be left blank; blank rows are ignored).
(function () {
  "use strict";

  // Every row has the same controls: their labels say which row ("City, row 2"), so that
  // a screen reader tells them apart. The table carries the translated pattern.
  function renumber(table) {
    var pattern = table.dataset.rowLabel;
    table.querySelectorAll("tbody tr").forEach(function (row, index) {
      var seq = row.querySelector(".seq");
      if (seq) {
        seq.textContent = String(index + 1);
      }
      if (!pattern) {
        return;
      }
      row.querySelectorAll("[aria-label]").forEach(function (control) {
        if (!control.dataset.label) {
          control.dataset.label = control.getAttribute("aria-label");
        }
        control.setAttribute("aria-label", pattern.replace("{label}", control.dataset.label)
          .replace("{row}", String(index + 1)));
      });
    });
  }

  document.querySelectorAll("table[data-editor]").forEach(renumber);

  function blankRow(table) {
    var template = table.parentNode.querySelector("template[data-row-for='" + table.dataset.editor + "']");
    if (template) {
      return template.content.firstElementChild.cloneNode(true);
    }
    var rows = table.querySelectorAll("tbody tr");
    var row = rows[rows.length - 1].cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) {
      input.value = "";
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    });
    row.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
    row.querySelectorAll(".field-error").forEach(function (error) { error.remove(); });
    return row;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) {
      return;
    }
    var action = button.dataset.action;
    if (action === "add") {
      var table = document.querySelector("table[data-editor='" + button.dataset.editorFor + "']");
      var row = blankRow(table);
      table.querySelector("tbody").appendChild(row);
      renumber(table);
      var first = row.querySelector("input");
      if (first) {
        first.focus();
      }
      return;
    }
    var current = button.closest("tr");
    var owner = button.closest("table");
    if (!current || !owner) {
      return;
    }
    if (action === "remove") {
      if (owner.dataset.editor === "stops" && owner.querySelectorAll("tbody tr").length <= 1) {
        current.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      } else {
        // Keyboard users keep their place: the same button of the row that takes this
        // one's place (or of the one before it), else the editor's add button.
        var next = current.nextElementSibling || current.previousElementSibling;
        current.remove();
        renumber(owner);
        var target = next && next.querySelector("button[data-action='remove']");
        (target || document.querySelector("button[data-editor-for='" + owner.dataset.editor + "']")).focus();
        return;
      }
    } else if (action === "up" && current.previousElementSibling) {
      current.parentNode.insertBefore(current, current.previousElementSibling);
    } else if (action === "down" && current.nextElementSibling) {
      current.parentNode.insertBefore(current.nextElementSibling, current);
    }
    renumber(owner);
    button.focus();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-busy")) {
      var indicator = form.querySelector(".busy-indicator");
      if (indicator) {
        indicator.hidden = false;
      }
      form.classList.add("busy");
      // Disabled after the submission started, so the form's values still go out.
      window.setTimeout(function () {
        form.querySelectorAll("button[type='submit']").forEach(function (b) { b.disabled = true; });
      }, 0);
    }
  });
})();
