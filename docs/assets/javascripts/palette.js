// The colour-scheme toggle (overrides/partials/palette.html): Material's form, driven
// here instead of by Material's palette component, whose start-up restyled the whole
// page several times. The header script has already applied the stored or system
// scheme and shown the right button; this only answers the reader's switches.
(() => {
  const form = document.querySelector("form[data-mlsd-palette]");
  if (!form || form.dataset.mlsdBound) return;
  form.dataset.mlsdBound = "true";
  const inputs = [...form.querySelectorAll("input.md-option")];
  const attr = (input, key) => input.getAttribute(`data-md-color-${key}`);

  function colorOf(input) {
    const media = attr(input, "media");
    let source = input;
    if (media === "(prefers-color-scheme)") {
      const light = matchMedia("(prefers-color-scheme: light)").matches;
      const wanted = `(prefers-color-scheme: ${light ? "light" : "dark"})`;
      source = inputs.find((i) => attr(i, "media") === wanted) || input;
    }
    return {
      media,
      scheme: attr(source, "scheme"),
      primary: attr(source, "primary"),
      accent: attr(source, "accent"),
    };
  }

  function apply(index) {
    const color = colorOf(inputs[index]);
    for (const [key, value] of Object.entries(color)) {
      document.body.setAttribute(`data-md-color-${key}`, value);
    }
    inputs.forEach((input, i) => {
      const label = input.nextElementSibling;
      if (label instanceof HTMLElement) label.hidden = i !== index;
    });
    __md_set("__palette", { index, color });
  }

  form.addEventListener("change", (event) => {
    const index = inputs.indexOf(event.target);
    if (index >= 0) apply(index);
  });
  // As Material's: Enter on the focused option moves to the next one.
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    const current = inputs.findIndex((input) => input.checked);
    const next = inputs[(current + 1) % inputs.length];
    next.click();
    next.focus();
  });
  // "Follow the system" follows it live, as before.
  matchMedia("(prefers-color-scheme: light)").addEventListener("change", () => {
    const current = inputs.findIndex((input) => input.checked);
    if (current >= 0 && attr(inputs[current], "media") === "(prefers-color-scheme)") {
      apply(current);
    }
  });
})();
