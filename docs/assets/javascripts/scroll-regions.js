// Wide tables scroll sideways inside Material's .md-typeset__scrollwrap, and on a phone
// so do wide diagrams and formulas. A region that scrolls must be reachable by keyboard
// (WCAG 2.1.1; axe: scrollable-region-focusable), so each one that overflows gets
// tabindex="0" (and tables, which have no name, a region role and a name). Measure all,
// then write: one layout, not one per region. document$ is Material's page observable
// (it fires once per page load).
//
// Blocks far from the screen are not laid out (content-visibility: auto, extra.css):
// such a region measures as not overflowing, so each block is measured again when it
// comes near the screen (the browser's contentvisibilityautostatechange, which does not
// bubble: caught on the way down).
(function () {
  var SELECTOR = ".md-typeset__scrollwrap, .diagram, .math--block";

  function label(root) {
    var regions = Array.prototype.slice.call(root.querySelectorAll(SELECTOR));
    if (root.matches && root.matches(SELECTOR)) regions.push(root);
    var overflowing = [];
    regions.forEach(function (region) {
      if (region.scrollWidth > region.clientWidth && !region.hasAttribute("tabindex")) {
        overflowing.push(region);
      }
    });
    overflowing.forEach(function (region) {
      region.setAttribute("tabindex", "0");
      if (!region.hasAttribute("role")) {
        region.setAttribute("role", "region");
        region.setAttribute(
          "aria-label",
          region.classList.contains("math--block") ? "Scrollable formula" : "Scrollable table"
        );
      }
    });
  }
  function labelAll() {
    label(document);
  }
  if (window.document$) {
    window.document$.subscribe(labelAll);
  } else {
    document.addEventListener("DOMContentLoaded", labelAll);
  }
  window.addEventListener("resize", labelAll);
  document.addEventListener(
    "contentvisibilityautostatechange",
    function (event) {
      if (!event.skipped) label(event.target);
    },
    true
  );
})();
