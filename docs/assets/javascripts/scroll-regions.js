// Wide tables scroll sideways inside Material's .md-typeset__scrollwrap, and on a phone
// so do wide diagrams and formulas. A region that scrolls must be reachable by keyboard
// (WCAG 2.1.1; axe: scrollable-region-focusable), so each one that overflows gets
// tabindex="0" (and tables, which have no name, a region role and a name). Measure all,
// then write: one layout, not one per region. document$ is Material's page observable
// (it fires once per page load).
(function () {
  function label() {
    var regions = document.querySelectorAll(
      ".md-typeset__scrollwrap, .diagram, .math--block"
    );
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
  if (window.document$) {
    window.document$.subscribe(label);
  } else {
    document.addEventListener("DOMContentLoaded", label);
  }
  window.addEventListener("resize", label);
})();
