// Printing: open every folded answer and show every content tab, so paper has it all.
// The PDF build calls window.mlsdPrepareForPrint() directly; browsers call it on beforeprint.
(function () {
  var opened = [];
  function prepare() {
    // Folded listings are inert templates until opened (lazy-details.js): bring them in.
    if (window.mlsdExpandLazyDetails) window.mlsdExpandLazyDetails();
    document.querySelectorAll("details:not([open])").forEach(function (el) {
      el.setAttribute("open", "");
      opened.push(el);
    });
    document.querySelectorAll(".tabbed-set").forEach(function (set) {
      var labels = set.querySelectorAll(".tabbed-labels > label");
      set.querySelectorAll(".tabbed-content > .tabbed-block").forEach(function (block, i) {
        if (labels[i] && !block.querySelector(":scope > .print-tab-label")) {
          var title = document.createElement("p");
          title.className = "print-tab-label";
          title.textContent = labels[i].textContent;
          block.prepend(title);
        }
      });
    });
  }
  function restore() {
    opened.forEach(function (el) { el.removeAttribute("open"); });
    opened = [];
  }
  window.mlsdPrepareForPrint = prepare;
  window.addEventListener("beforeprint", prepare);
  window.addEventListener("afterprint", restore);
})();
