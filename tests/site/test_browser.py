"""Every page in a real browser: served from 127.0.0.1, driven by headless Chromium.

One browser and one server serve the whole run (session fixtures in conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from guide import ROOT, nav_pages, page_url

from mlsd_docs import cards, epub
from mlsd_docs.fonts import FAMILY
from mlsd_docs.site import new_page

pytestmark = pytest.mark.browser

DEMO = "concepts/classification-metrics/"
PAGES = [page_url(name) for name in nav_pages()]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# What axe may report and still pass: none. Impact levels "minor" and "moderate" are
# reported by test output only; "serious" and "critical" fail.
FAILING_IMPACTS = {"serious", "critical"}


@pytest.fixture
def visit(browser, site_url):
    """Open a page in a fresh tab that records errors and blocks other hosts; with
    ``search=True`` the tab loads the real search index (new_page)."""
    pages = []

    def _visit(path: str, color_scheme: str = "light", search: bool = False):
        page = new_page(browser, color_scheme, search=search)
        pages.append(page)
        # "load", not "networkidle" (500 ms of quiet per visit): checks that need the
        # search index wait for their results.
        page.goto(site_url + path, wait_until="load")
        return page

    yield _visit
    for page in pages:
        page.context.close()


def axe_violations(page, rules: list[str] | None = None, skip_chrome: bool = False):
    """Run axe-core in the page; return its serious and critical violations.

    rules=None runs the WCAG 2.1 A/AA and best-practice rules; skip_chrome leaves out
    the navigation, header and footer, which are the same on every page (checked once).
    """
    if not AXE.is_file():
        message = f"axe-core not installed at {AXE} (run `npm ci`)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    if not page.evaluate("typeof window.axe === 'object'"):  # once per document
        page.add_script_tag(path=str(AXE))
    run_only = (
        {"type": "rule", "values": rules}
        if rules
        else {
            "type": "tag",
            "values": ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"],
        }
    )
    context = (
        {"exclude": [[".md-sidebar--primary"], [".md-header"], [".md-footer"]]}
        if skip_chrome
        else "document"
    )
    result = page.evaluate(
        "async ([context, runOnly]) => await axe.run("
        "context === 'document' ? document : context, "
        "{runOnly, resultTypes: ['violations']})",
        [context, run_only],
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
        for v in result["violations"]
        if v["impact"] in FAILING_IMPACTS
    ]


def test_axe_as_run_here_reports_what_it_must(visit):
    """The per-page check can fail: break a page on purpose and axe must say so
    (it reports violations only, which is what keeps it fast)."""
    page = visit(DEMO)
    page.evaluate(
        """() => {
          const article = document.querySelector('article');
          article.insertAdjacentHTML('beforeend',
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">' +
            '<p style="color:#eee;background:#fff">faint text</p>');
        }"""
    )
    found = " ".join(axe_violations(page, skip_chrome=True))
    assert "image-alt" in found and "color-contrast" in found, found
    contrast = " ".join(axe_violations(page, rules=["color-contrast"]))
    assert "color-contrast" in contrast and "image-alt" not in contrast, contrast


# Each page is visited once: first as a 1280 px desktop in the light scheme, then the
# same document is switched live to the dark scheme at phone width (the palette follows
# the system's scheme, CSS media queries follow the viewport), so the page is loaded,
# parsed and started by Material once rather than twice.
DESKTOP = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def tab(browser, site_url):
    """One tab for the whole module: visiting a page is a goto, in light at 1280 px."""
    page = new_page(browser, "light", search=False, viewport=DESKTOP)  # no search

    def _open(path: str):
        page.errors.clear()
        page.foreign.clear()
        if page.viewport_size != DESKTOP:
            page.goto("about:blank")  # reset the emulation on an empty document
            page.emulate_media(color_scheme="light")
            page.set_viewport_size(DESKTOP)
        # "load" and the fonts, not "networkidle": that waits out 500 ms of quiet on
        # every visit, 45 s a run, for requests (the search index) no check here uses.
        page.goto(site_url + path, wait_until="load")
        page.evaluate("document.fonts.ready.then(() => true)")
        return page

    yield _open
    page.context.close()


NO_TRANSITIONS = "*, *::before, *::after { transition: none !important; }"


def to_dark_phone(page) -> None:
    """Switch the open page to the system's dark scheme at 390 px, and wait for it.

    Colours change through CSS transitions (tab labels, links), and axe must not read a
    colour halfway between the schemes: transitions are turned off for the switch, so
    the final colours apply at once (waiting them out cost 0.25 s a page).
    """
    page.add_style_tag(content=NO_TRANSITIONS)
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size(PHONE)
    page.wait_for_function(
        "document.body.dataset.mdColorScheme === 'slate' && "
        "document.documentElement.clientWidth <= 390",
        timeout=5_000,
    )
    running = page.evaluate(
        "document.getAnimations().filter(a => a instanceof CSSTransition).length"
    )
    assert running == 0, f"{running} colour transitions still running after the switch"


# Each diagram label is HTML in a fixed-size <foreignObject> that clips its overflow:
# report every label whose laid-out text is larger than its box. The font is not
# preloaded, so ask for it (fonts.ready alone may resolve before anyone has).
OVERFLOWING_LABELS = """
async (family) => {
  if (document.querySelector('.diagram svg')) {
    await document.fonts.load(`16px "${family}"`);
  }
  await document.fonts.ready;
  const found = [];
  for (const box of document.querySelectorAll('.diagram svg foreignObject')) {
    const label = box.firstElementChild;
    const outer = box.getBoundingClientRect();
    if (!label || outer.width === 0 || !label.textContent.trim()) continue;
    const inner = label.getBoundingClientRect();
    const slack = 1;  // px: sub-pixel rounding
    if (inner.right > outer.right + slack || inner.bottom > outer.bottom + slack ||
        inner.left < outer.left - slack || inner.top < outer.top - slack) {
      found.push(`${label.textContent.trim()} (text ${Math.round(inner.width)}x` +
        `${Math.round(inner.height)} in a box ${Math.round(outer.width)}x` +
        `${Math.round(outer.height)})`);
    }
  }
  return found;
}
"""
DIAGRAM_FONT = FAMILY


# Code a reader sees without opening anything, as a share of the article's height at
# 1280 px: the part that teaches, not the plumbing (folded listings count zero).
CODE_SHARE = """
() => {
  const article = document.querySelector('article');
  let code = 0;
  for (const pre of article.querySelectorAll('pre')) {
    code += pre.getBoundingClientRect().height;
  }
  return code / article.getBoundingClientRect().height;
}
"""
MAX_CODE_SHARE = 0.25


# Text blocks that reach past the right edge of a phone screen. Blocks inside something
# that scrolls sideways on purpose (code, wide tables, diagrams, formulas) are fine.
OFF_THE_RIGHT_EDGE = """
() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  if (document.documentElement.scrollWidth > width + 1) {
    found.push(`the page scrolls sideways (${document.documentElement.scrollWidth}px)`);
  }
  const header = document.querySelector('.md-header__inner');
  if (header && header.scrollWidth > header.clientWidth + 1) found.push('the header');
  const scrollers =
    'pre, .md-typeset__scrollwrap, .diagram, .math--block, .tabbed-labels';
  const blocks = document.querySelectorAll('article :is(p, li, h1, h2, h3, h4, dt, ' +
    'dd, blockquote, .admonition, details, .tabbed-set, .md-typeset__scrollwrap, ' +
    '.highlight, .diagram, .math--block, .grid, table)');
  for (const block of blocks) {
    const scroller = block.parentElement && block.parentElement.closest(scrollers);
    if (scroller) continue;
    const box = block.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      found.push(`${block.tagName.toLowerCase()}.${block.className || ''} ends at ` +
        `${Math.round(box.right)}px: ${block.textContent.trim().slice(0, 50)}`);
    }
  }
  return found;
}
"""


# Tables arrive wrapped for scrolling (mlsd_docs/tables.py): each sits in exactly one
# scroll region, with the look Material gives its own tables (extra.css).
MISWRAPPED_TABLES = """
() => [...document.querySelectorAll('article table')].filter((table) => {
  const wraps = [];
  for (let node = table.parentElement; node; node = node.parentElement) {
    if (node.classList.contains('md-typeset__scrollwrap')) wraps.push(node);
  }
  const style = getComputedStyle(table);
  return wraps.length !== 1 || style.display !== 'inline-block' ||
    style.borderTopStyle !== 'solid';
}).map((table) => table.textContent.trim().slice(0, 40))
"""


@pytest.mark.parametrize("path", PAGES)
def test_every_page_on_a_desktop_in_light_and_a_phone_in_dark(tab, path):
    """One visit per page. At 1280 px in light: errors, other hosts, axe, diagram labels
    (measured at build time in the font the page serves, so they must fit) and the share
    of the page that is code. Then at 390 px in dark: contrast holds and no text runs
    off the screen."""
    page = tab(path)
    overflowing = page.evaluate(OVERFLOWING_LABELS, DIAGRAM_FONT)
    assert not overflowing, f"/{path}: labels cut off by their boxes: {overflowing}"
    share = page.evaluate(CODE_SHARE)
    assert share <= MAX_CODE_SHARE, f"/{path}: code is {share:.0%} of the page"
    assert page.evaluate("document.body.dataset.mdColorScheme") == "default"
    assert page.locator("article h1").first.is_visible()
    miswrapped = page.evaluate(MISWRAPPED_TABLES)
    assert not miswrapped, f"/{path}: tables not wrapped once or unstyled: {miswrapped}"
    violations = axe_violations(page, skip_chrome=path != "")
    assert not violations, f"/{path} (light):\n" + "\n".join(violations)

    to_dark_phone(page)
    cut_off = page.evaluate(OFF_THE_RIGHT_EDGE)
    assert not cut_off, f"/{path} at 390 px, cut off at the right: {cut_off}"
    violations = axe_violations(page, rules=["color-contrast"], skip_chrome=path != "")
    assert not violations, f"/{path} (dark):\n" + "\n".join(violations)
    assert page.errors == [], f"console errors on /{path}: {page.errors}"
    assert page.foreign == [], f"/{path} asked another host for {page.foreign}"


def test_diagrams_are_drawn_in_the_font_they_were_measured_in(visit):
    page = visit("")
    assert page.locator(".diagram svg").count() >= 1
    page.evaluate("document.fonts.ready.then(() => true)")
    family = page.evaluate(
        "getComputedStyle(document.querySelector('.diagram .nodeLabel')).fontFamily"
    )
    assert family.startswith(f'"{DIAGRAM_FONT}"'), family
    loaded = page.evaluate(f"document.fonts.check('16px \"{DIAGRAM_FONT}\"')")
    assert loaded, f"{DIAGRAM_FONT} was not loaded from the site"


def test_search_finds_the_demo_page(visit):
    hrefs = search_hrefs(visit("", search=True), "calibrated")
    assert any("classification-metrics" in href for href in hrefs), hrefs


def search_hrefs(page, query: str) -> list[str]:
    page.locator("input.md-search__input").first.click(force=True)
    page.locator("input.md-search__input").first.fill("")
    page.keyboard.type(query)
    # Results appear while typing: wait until they are for the whole query, not
    # a prefix (section links carry the query, lower-cased, as `?h=`).
    page.wait_for_function(
        """query => [...document.querySelectorAll('.md-search-result__item a')]
            .some(a => new URL(a.href).searchParams.get('h') === query)""",
        arg=query.lower(),
        timeout=10_000,
    )
    return page.locator(".md-search-result__item a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )


@pytest.mark.parametrize(
    ("query", "teaching_page"),
    [
        ("position bias", "retrieval-and-ranking"),
        ("CUPED", "experimentation"),  # the glossary ranked third before its boost
        ("hashing trick", "features"),  # and third here too
        ("label delay", "/data"),  # framework/data or concepts/data-and-labels
    ],
)
def test_search_ranks_the_teaching_page_above_reference(visit, query, teaching_page):
    """Reference pages carry a low search boost: the page that teaches comes first."""
    hrefs = search_hrefs(visit("", search=True), query)
    assert teaching_page in hrefs[0], hrefs[:4]
    assert not any("reference/" in href for href in hrefs[:4]), hrefs[:4]


def test_the_search_index_waits_until_the_page_has_loaded(visit):
    """Material asks for the index (1.8 MB) at start-up; overrides/main.html holds
    that request until the load event (it competed with the first paint on phones)."""
    page = visit("", search=True)
    page.wait_for_function(
        """() => performance.getEntriesByType('resource')
            .some(e => e.name.endsWith('/search/search_index.json'))""",
        timeout=10_000,
    )
    started, loaded = page.evaluate(
        """() => [performance.getEntriesByType('resource')
            .find(e => e.name.endsWith('/search/search_index.json')).startTime,
          performance.getEntriesByType('navigation')[0].loadEventEnd]"""
    )
    assert started >= loaded, (
        f"index requested at {started:.0f} ms, load at {loaded:.0f}"
    )


INDEX = "fetch('search/search_index.json').then((r) => r.json())"


def test_a_tab_that_never_searches_gets_the_index_without_documents(visit):
    emptied = visit("").evaluate(INDEX)
    real = visit("", search=True).evaluate(INDEX)
    assert len(real["docs"]) > 100 and emptied["docs"] == []
    assert emptied["config"] == real["config"]


def test_search_works_from_the_keyboard_alone(visit):
    page = visit("", search=True)
    page.keyboard.press("/")  # Material's shortcut focuses the search field
    focused = page.evaluate(
        "document.activeElement.classList.contains('md-search__input')"
    )
    assert focused, "the '/' shortcut did not focus search"
    page.keyboard.type("Elkan")  # a word only the demo page has
    page.locator(".md-search-result__item").first.wait_for(timeout=10_000)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url("**/classification-metrics/**", timeout=10_000)
    assert page.locator("article h1").first.is_visible()


def test_tab_reaches_the_search_field(visit):
    page = visit(DEMO)
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate(
            "document.activeElement.classList.contains('md-search__input')"
        ):
            break
    else:
        pytest.fail("15 presses of Tab never reached the search field")


NODE_FILL = "getComputedStyle(document.querySelector('.diagram g.node rect')).fill"
# Mermaid's node fills: its default theme's #ECECFF, its dark theme's #1f2020.
NODE_FILLS = {"light": "rgb(236, 236, 255)", "dark": "rgb(31, 32, 32)"}


def test_diagram_renders_in_both_schemes(visit):
    for scheme, fill in NODE_FILLS.items():
        page = visit(DEMO, color_scheme=scheme)
        svg = page.locator(".diagram svg").first
        box = svg.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, (scheme, box)
        assert page.locator(".diagram svg g.node").count() >= 3
        assert page.evaluate(NODE_FILL) == fill, scheme
        page.emulate_media(media="print")
        assert page.evaluate(NODE_FILL) == NODE_FILLS["light"], "print is light"


def test_dark_mode_toggle_switches_scheme(visit):
    page = visit(DEMO, color_scheme="light")

    def scheme() -> str:
        return page.evaluate("document.body.getAttribute('data-md-color-scheme')")

    assert scheme() == "default"
    # The palette cycles system -> light -> dark; click until the scheme changes.
    for _ in range(3):
        page.locator("label.md-header__button[for^='__palette']:visible").first.click()
        if scheme() == "slate":
            break
    assert scheme() == "slate"
    assert page.evaluate(NODE_FILL) == NODE_FILLS["dark"]


PALETTE_STATE = """() => ({
  scheme: document.body.getAttribute('data-md-color-scheme'),
  buttons: [...document.querySelectorAll('label[for^="__palette"]')]
    .filter(label => !label.hidden).map(label => label.htmlFor),
})"""


def test_the_palette_cycles_and_its_choice_survives_a_reload(visit):
    """Our palette script (not Material's component): three options, remembered."""
    page = visit(DEMO, color_scheme="dark")  # the system prefers dark
    seen = [page.evaluate(PALETTE_STATE)]
    for _ in range(3):
        page.locator("label.md-header__button[for^='__palette']:visible").click()
        seen.append(page.evaluate(PALETTE_STATE))
    assert [state["scheme"] for state in seen] == ["slate", "default", "slate", "slate"]
    titles = [state["buttons"] for state in seen]
    assert all(len(shown) == 1 for shown in titles), titles  # one button at a time
    assert titles[0] == titles[3] and len({t[0] for t in titles[:3]}) == 3, titles
    # Choose light, then reload: the header script applies it before content is drawn.
    page.locator("label.md-header__button[for^='__palette']:visible").click()
    assert page.evaluate(PALETTE_STATE)["scheme"] == "default"
    page.reload()
    assert page.evaluate(PALETTE_STATE) == seen[1]
    # Enter on the focused option moves on, as Material's keyboard handling did.
    page.locator("input#__palette_1").focus()
    page.keyboard.press("Enter")
    assert page.evaluate(PALETTE_STATE) == seen[2]


def test_home_page_links_to_the_pdf(visit):
    page = visit("")
    hrefs = page.locator("a.mlsd-pdf-button").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert [h.rsplit("/", 1)[-1] for h in hrefs] == [
        "mlsd-guide.pdf",
        "mlsd-interview-edition.pdf",
    ]
    # The e-book and the deck: the names the tools write (CI publishes them there).
    downloads = page.locator(".mlsd-downloads a[download]").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert [h.rsplit("/", 1)[-1] for h in downloads] == [
        epub.EPUB_NAME,
        cards.APKG_NAME,
        cards.CSV_NAME,
    ]


def test_pages_read_from_disk_show_their_content(browser, built_site: Path):
    """file:// works for reading; search needs HTTP."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(
        (built_site / "concepts" / "classification-metrics" / "index.html").as_uri()
    )
    assert page.locator("article h1").first.inner_text().startswith("Classification")
    assert page.locator(".diagram svg").first.is_visible()
    context.close()


def test_a_folded_listing_arrives_when_opened_and_copies(browser, site_url):
    """Folded code is an inert template (lazy-details.js) until the reader opens it."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(site_url + DEMO, wait_until="networkidle")
    index = page.evaluate(
        "[...document.querySelectorAll('details.example')].findIndex(d => !d.open)"
    )
    folded = page.locator("details.example").nth(index)
    assert folded.locator("pre").count() == 0
    assert folded.locator("template[data-mlsd-lazy]").count() == 1
    folded.locator("summary").click()
    code = folded.locator("pre > code").first
    code.wait_for()
    assert folded.locator("template").count() == 0
    assert "def " in code.inner_text()
    folded.locator("pre button.md-code__button[data-md-type='copy']").first.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() == code.inner_text().strip()
    context.close()


def test_printing_brings_every_folded_listing_in(visit):
    page = visit("problems/fraud-detection/")
    deferred = page.locator("template[data-mlsd-lazy]").count()
    assert deferred >= 3
    page.evaluate("window.mlsdPrepareForPrint()")
    assert page.locator("template[data-mlsd-lazy]").count() == 0
    assert page.locator("details.example pre").count() >= deferred
