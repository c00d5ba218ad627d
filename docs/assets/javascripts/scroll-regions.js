// Wide tables scroll sideways inside Material's .md-typeset__scrollwrap. A region that
// scrolls must be reachable by keyboard (WCAG 2.1.1; axe: scrollable-region-focusable),
// so each one that overflows gets tabindex="0" and a name. document$ is Material's
// page observable: it fires on the first load and after every instant navigation.
(function () {
  function label() {
    document.querySelectorAll(".md-typeset__scrollwrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth && !wrap.hasAttribute("tabindex")) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", "Scrollable table");
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
