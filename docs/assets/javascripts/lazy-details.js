// Folded listings arrive as <template data-mlsd-lazy> (mlsd_docs/lazy_details.py): inert
// until the reader opens the block. On the first opening, move the body into the page
// and give each listing Material's copy button (Material only decorates code present
// at load; its clipboard handler is delegated, so the same markup works).
(function () {
  var sequence = 0;
  function copyLabel() {
    var config = document.getElementById("__config");
    try {
      return JSON.parse(config.textContent).translations["clipboard.copy"];
    } catch (error) {
      return "Copy to clipboard";
    }
  }
  function expand(details) {
    var template = details.querySelector(":scope > template[data-mlsd-lazy]");
    if (!template) return;
    var body = template.content;
    body.querySelectorAll("pre > code").forEach(function (code) {
      var pre = code.parentElement;
      if (!pre.id) pre.id = "__code_lazy_" + sequence++;
      var nav = document.createElement("nav");
      nav.className = "md-code__nav";
      var button = document.createElement("button");
      button.className = "md-code__button";
      button.title = copyLabel();
      button.setAttribute("data-clipboard-target", "#" + pre.id + " > code");
      button.setAttribute("data-md-type", "copy");
      nav.appendChild(button);
      pre.insertBefore(nav, code);
    });
    template.replaceWith(body);
  }
  function expandAll() {
    // A deferred block may hold another: repeat until none is left.
    var template;
    while ((template = document.querySelector("details > template[data-mlsd-lazy]"))) {
      expand(template.parentElement);
    }
  }
  // toggle does not bubble: listen in the capture phase, once for every page.
  document.addEventListener(
    "toggle",
    function (event) {
      if (event.target.tagName === "DETAILS" && event.target.open) expand(event.target);
    },
    true
  );
  window.mlsdExpandLazyDetails = expandAll;
  window.addEventListener("beforeprint", expandAll);
})();
