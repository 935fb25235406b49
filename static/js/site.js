// Small enhancements; every page works without them.
(function () {
  "use strict";

  // Swap origin and destination. The button is hidden until here: without JavaScript it
  // would do nothing.
  var swap = document.getElementById("swap");
  if (swap) {
    swap.hidden = false;
    swap.addEventListener("click", function () {
      var from = document.getElementById("from");
      var to = document.getElementById("to");
      var kept = from.value;
      from.value = to.value;
      to.value = kept;
    });
  }

  // A page of results opens on its results: focus their heading, so that a keyboard user
  // need not tab through the whole form again (not when the address names a place in the
  // page, nor on Back and Forward, where the browser puts the page back as it was).
  var results = document.getElementById("results-title");
  var navigation = performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
  if (results && !window.location.hash && !(navigation && navigation.type === "back_forward")) {
    results.focus();
  }

  // A form sent back with problems opens on them: its summary of what to correct, or where
  // there is none (the route form) its first field marked invalid, so that a keyboard or
  // screen-reader user starts from there (WCAG 3.3.1), not from the top of the page.
  var summary = document.querySelector(".form-errors");
  var invalid = document.querySelector("[aria-invalid=true]");
  if (!results && (summary || invalid) && !window.location.hash &&
      !(navigation && navigation.type === "back_forward")) {
    if (summary) {
      summary.setAttribute("tabindex", "-1");
      summary.focus();
    } else {
      invalid.focus();
    }
  }

  // Back (or forward) to a page of results: the browser restores the form as it was left,
  // edits made after the search included, under results of the query before them. Put the
  // form back to the query the page answers (the values the server wrote into it).
  window.addEventListener("pageshow", function (event) {
    var entry = performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
    if (event.persisted || (entry && entry.type === "back_forward")) {
      document.querySelectorAll("form.route-form").forEach(function (form) { form.reset(); });
    }
  });

  // City suggestions from the server when the page did not carry the whole list.
  var list = document.getElementById("city-names");
  if (!list || list.options.length > 0) {
    return;
  }
  var timer = null;
  var last = "";
  function fill(names) {
    list.textContent = "";
    names.forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      list.appendChild(option);
    });
  }
  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    input.addEventListener("input", function () {
      var text = input.value.trim();
      if (text === last || text.length < 1) {
        return;
      }
      last = text;
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch("/cities/suggest?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(fill)
          .catch(function () { /* suggestions are a convenience only */ });
      }, 150);
    });
  });
})();
