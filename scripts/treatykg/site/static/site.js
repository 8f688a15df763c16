// treatykg site: the one script. It only filters the collection page; every page works without it.
(function () {
  "use strict";
  var input = document.getElementById("filter");
  if (!input) { return; }
  var cards = document.querySelectorAll(".filterable");
  var sections = document.querySelectorAll(".class-list");
  input.addEventListener("input", function () {
    var term = input.value.trim().toLowerCase();
    cards.forEach(function (card) {
      var names = (card.getAttribute("data-names") || "").toLowerCase();
      card.classList.toggle("hidden", term !== "" && names.indexOf(term) < 0);
    });
    sections.forEach(function (section) {
      var shown = section.querySelectorAll(".filterable:not(.hidden)").length;
      section.classList.toggle("hidden", shown === 0);
    });
  });
})();
