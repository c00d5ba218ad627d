"""Progress on the self-checks, in Chromium (docs/assets/javascripts/progress.js).

Two scenarios, one page load per step: mark on a concept page, read the review
queue, follow it back to the page, then read the checklist; and, in one load of the
Practice page, export, malformed imports, a reset and an import. axe checks what the
script drew, in both schemes. Time is Playwright's clock, so the "oldest first" order
is set, not waited for.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
from guide import checklist

from mlsd_docs.cards import APKG_NAME, CSV_NAME
from mlsd_docs.epub import EPUB_NAME
from mlsd_docs.site import ROOT, new_page, site_path_prefix


def _browser_helpers():
    """test_browser.py, for its axe and scheme switch (tests/site is not on the path in
    importlib mode)."""
    path = Path(__file__).with_name("test_browser.py")
    spec = importlib.util.spec_from_file_location("_mlsd_progress_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helpers = _browser_helpers()
to_dark_phone = _helpers.to_dark_phone

PAGE = "concepts/classification-metrics/"
KEY = "mlsd:progress:v1"
DESKTOP = {"width": 1280, "height": 800}
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
STORAGE = """() => Object.fromEntries(Object.keys(localStorage)
  .filter(k => k.startsWith('mlsd:')).map(k => [k, localStorage.getItem(k)]))"""
AFTER = "article p:has(> a#{}:only-child) + :is(details, div)"
# The anchor the checklist would link to: a heading or an empty <p><a id> just before.
ANCHOR = """e => { const p = e.previousElementSibling;
  return /^H[1-6]$/.test(p.tagName) ? p.id : p.querySelector('a[id]').id }"""


def question(check) -> str:
    title = check.locator(":scope > summary, :scope > .admonition-title").first
    return " ".join(title.evaluate("t => t.firstChild.textContent").split())


def axe_in(page, selector: str) -> list[str]:
    """axe's WCAG A/AA and best-practice rules on what progress.js drew (the rest of
    each page is checked in both schemes by test_browser.py's every-page test)."""
    if not _helpers.AXE.is_file():
        pytest.skip(f"axe-core not installed at {_helpers.AXE} (run `npm ci`)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(_helpers.AXE))
    found = page.evaluate(
        "async sel => (await axe.run({include: [[sel]]}, {runOnly: {type: 'tag', "
        "values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']}, "
        "resultTypes: ['violations']})).violations",
        selector,
    )
    return [
        f"{v['id']} ({v['impact']}) at {v['nodes'][0]['target']}"
        for v in found
        if v["impact"] in _helpers.FAILING_IMPACTS
    ]


def both_schemes(page, selector: str) -> list[str]:
    """axe_in in the light scheme, then in the dark one at phone width."""
    page.add_style_tag(content=_helpers.NO_TRANSITIONS)  # no colour read mid-switch
    page.emulate_media(color_scheme="light")
    page.wait_for_function("document.body.dataset.mdColorScheme === 'default'")
    found = axe_in(page, selector)
    to_dark_phone(page)
    return found + axe_in(page, selector)


def said(locator) -> str:
    """A progress line as a screen reader reads it, spaces collapsed."""
    return " ".join(locator.text_content().split())


def storage(page) -> dict[str, str]:
    return page.evaluate(STORAGE)


def test_the_hub_links_each_download_at_the_site_root(built_site):
    """The deck, CSV, e-book and PDFs are written next to index.html after the build,
    so the strict build cannot check these links: resolve them as a browser would,
    under the path the site is published at."""
    html = (built_site / "practice" / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)" download>', html)
    template = (ROOT / "overrides" / "main.html").read_text(encoding="utf-8")
    pdfs = re.findall(r"'(mlsd-[\w-]+\.pdf)' \| url", template)
    prefix = site_path_prefix()
    resolved = {urljoin(prefix + "practice/", link) for link in links}
    wanted = {prefix + name for name in [APKG_NAME, CSV_NAME, EPUB_NAME, *pdfs]}
    assert len(pdfs) == 2 and resolved == wanted


@pytest.mark.browser
def test_marks_persist_count_on_the_checklist_and_queue_oldest_first(browser, site_url):
    page = new_page(browser, "light", search=False, viewport=DESKTOP)

    def after(anchor: str):
        return page.locator(f"{AFTER.format(anchor)}[data-mlsd-check]")

    def status() -> str:
        return page.get_by_role("status").filter(has_text="Mark").inner_text()

    page.clock.install(time=START)
    page.goto(site_url + PAGE, wait_until="load")
    checks = page.locator("article [data-mlsd-check]")
    total = checks.count()
    # Found by the checklist's anchors, which stay put: a !!! question box, and folds.
    boxed = after("q-precision-vs-recall")
    second, first = after("q-check-calibration"), after("q-platt-vs-isotonic")
    unanchored = page.locator(f"{AFTER.format('q-platt-vs-isotonic')} + details")
    assert page.locator(".mlsd-mark").count() == 0, "buttons must wait for an opening"
    line = page.locator(".mlsd-progress-line")
    assert said(line) == f"Self-checks: 0 of {total} known · 0 to review · Review queue"
    noun = line.get_by_text("Self-checks:").bounding_box()  # visible, not 1 px clipped
    assert noun["width"] > 40 and noun["height"] > 8, "the count says what it counts"

    # Known: the open question box, whose answer is a folded block inside it.
    boxed.locator("details.success > summary").click()
    boxed.get_by_role("button", name="Knew it").click()
    assert status() == "Marked as known."
    # A second press keeps the mark; only "Clear" removes it.
    unanchored.locator("summary").click()
    knew = unanchored.get_by_role("button", name="Knew it")
    clear = unanchored.get_by_role("button", name="Clear the mark")
    assert clear.is_hidden(), "nothing to clear yet"
    knew.click()
    knew.click()
    assert knew.get_attribute("aria-pressed") == "true"
    clear.click()
    assert status() == "Mark removed."
    assert knew.get_attribute("aria-pressed") == "false" and clear.is_hidden()
    assert knew.evaluate("b => b === document.activeElement"), (
        "focus stays in the group"
    )
    assert unanchored.locator(".mlsd-badge").count() == 0
    # Review again on three days, in an order that is neither the page's, nor the
    # alphabet's, nor either reversed: the queue must follow the dates.
    order = [first, second, unanchored]
    texts = [question(c) for c in order]
    on_page = [texts[1], texts[0], texts[2]]  # second, first, unanchored
    assert texts not in (on_page, on_page[::-1], sorted(texts), sorted(texts)[::-1])
    first.locator("summary").click()
    first.get_by_role("button", name="Review again").click()
    page.clock.fast_forward("26:00:00")  # the next mark is a day later
    second.locator("summary").focus()  # from the keyboard this time
    page.keyboard.press("Enter")
    second.get_by_role("button", name="Review again").focus()
    page.keyboard.press("Space")
    page.clock.fast_forward("26:00:00")
    unanchored.get_by_role("button", name="Review again").click()
    assert said(line) == f"Self-checks: 1 of {total} known · 3 to review · Review queue"
    stored = json.loads(storage(page)[KEY])
    # Storage written by something else than this page: a script link, a foreign
    # host, a hostile anchor. The queue must show none of them.
    hostile = {"state": "review", "at": "2026-01-01T00:00:00Z", "q": "evil", "t": "x"}
    evil = {
        "javascript:alert(document.domain)//#q-x": dict(hostile, a=""),
        "//evil.example/#q-x": dict(hostile, a=""),
        "concepts/#q-x": dict(hostile, a='x" onclick="alert(1)'),
        "concepts/features/#q-y": dict(hostile, a="", q=["not", "text"]),
    }
    page.evaluate(
        "([k, v]) => localStorage.setItem(k, v)", [KEY, json.dumps(stored | evil)]
    )

    ids = [c.get_attribute("data-mlsd-check") for c in order]
    landing = [first.evaluate(ANCHOR), second.evaluate(ANCHOR), ids[2]]
    known_anchor = boxed.evaluate(ANCHOR)

    # The queue, under a malformed hash that must not stop the script.
    page.goto(site_url + "practice/review/#%E0%A4%A", wait_until="load")
    queue = page.locator("#mlsd-review")
    assert queue.locator(".mlsd-review-total").inner_text() == "3 to review · 1 known"
    assert queue.locator("tr", has_text="Concepts").inner_text().split() == [
        "Concepts",
        "3",
        "1",
    ]
    links = queue.locator(".mlsd-review-list li > a")
    assert links.all_inner_texts() == texts, "oldest first"
    hrefs = links.evaluate_all("as => as.map(a => a.href)")
    assert hrefs == [site_url + PAGE + "#" + anchor for anchor in landing]
    dates = queue.locator("time").evaluate_all("ts => ts.map(t => t.dateTime)")
    days = ["2026-03-02T09:", "2026-03-03T11:", "2026-03-04T13:"]
    assert [d[:14] for d in dates] == days
    assert both_schemes(page, "#mlsd-review") == []

    # Follow the link to the self-check with no anchor of its own: it names its check
    # id, and the page must bring it into view. The marks persist.
    links.last.click()
    page.wait_for_url(f"**/{PAGE}#{ids[2]}")
    assert unanchored.evaluate(
        "e => { const top = e.getBoundingClientRect().top;"
        " return top >= 0 && top < innerHeight / 2 }"
    )
    assert said(line) == f"Self-checks: 1 of {total} known · 3 to review · Review queue"
    assert page.locator(".mlsd-mark").count() == 0
    assert "mlsd-known" in boxed.get_attribute("class")
    assert boxed.locator(".mlsd-badge").inner_text() == "Known"
    for check in order:
        assert check.locator(":scope > summary .mlsd-badge").inner_text() == "To review"
    boxed.locator("details.success > summary").click()
    # The buttons are made on the toggle event, after the click returns.
    boxed.locator(".mlsd-mark button:visible").first.wait_for()
    pressed = boxed.locator(".mlsd-mark button:visible").evaluate_all(
        "bs => bs.map(b => b.textContent + '=' + b.getAttribute('aria-pressed'))"
    )
    assert pressed == ["Knew it=true", "Review again=false", "Clear=null"]
    # Failed again: "Review again" on the oldest one sends it to the back of the queue.
    page.clock.fast_forward("26:00:00")
    first.locator("summary").click()
    first.get_by_role("button", name="Review again").click()
    assert (
        status() == "Marked to review again: it moves to the back of the review queue."
    )
    assert first.get_by_role("button", name="Review again").get_attribute(
        "aria-pressed"
    ) == ("true")
    stored = json.loads(storage(page)[KEY])
    at = {i: stored[f"{PAGE}#{i}"]["at"] for i in ids}
    assert at[ids[0]][:14] == "2026-03-05T15:" and max(at.values()) == at[ids[0]]
    assert not set(evil) & set(stored), "a write drops what read() refused"
    drawn = ".mlsd-progress-line, .mlsd-known, .mlsd-review"
    assert both_schemes(page, drawn) == []
    anchors = {"known": {known_anchor}, "review": set(landing)}

    page.goto(site_url + "concepts/", wait_until="load")
    items = checklist()
    listed = [i for i in items if i.page == "concepts/classification-metrics.md"]
    known = sum(i.anchor in anchors["known"] for i in listed)
    review = sum(i.anchor in anchors["review"] for i in listed)
    assert known == 1 and review == 2, (
        "the anchored marked questions are on the checklist"
    )
    counts = f"{known} of {len(items)} known · {review} to review"
    assert said(page.locator(".mlsd-progress-line")) == (
        f"Self-checks: {counts} · Review queue"
    )
    assert page.locator("li.mlsd-known").count() == known
    # The print page (PDF builds) holds every page: the script must leave it alone.
    src = page.locator("script[src*='progress.js']").get_attribute("src")
    page.evaluate(
        "() => { document.querySelector('.mlsd-progress-line').remove();"
        " document.querySelector('article').append(Object.assign("
        "document.createElement('section'), {className: 'print-page'})) }"
    )
    page.add_script_tag(url=urljoin(page.url, src))
    assert page.locator(".mlsd-progress-line").count() == 0
    assert page.errors == []
    page.context.close()


MARKS = {
    "concepts/features/#q-what-is-a-feature-cross-and-when-does-a-model-need-one": {
        "state": "review",
        "at": "2026-03-01T08:00:00.000Z",
        "q": "What is a feature cross, and when does a model need one?",
        "a": "feature-crosses",
        "t": "Features",
    },
    "problems/fraud-detection/#q-how-do-you-label-fraud": {
        "state": "known",
        "at": "2026-03-02T08:00:00.000Z",
        "q": "How do you label fraud?",
        "a": "",
        "t": "Fraud detection",
    },
}
# What the mock interview stores (mock.js), as it writes it: JSON values under
# "mlsd:mock:". The progress tools carry any such key over unchanged; the mock page
# checks the shapes when it reads them.
RUN = {"id": 1772442000000, "problem": "fraud-detection", "date": "2026-03-02"}
MOCK = {
    "mlsd:mock:run": RUN
    | {
        "elapsed": 2160,
        "since": None,
        "floor": 6,
        "ended": True,
        "scores": [2, 3, None],
    },
    "mlsd:mock:history:fraud-detection": [
        RUN | {"steps": ["Clarification", "Data", "Model"], "scores": [2, 3, None]}
    ],
    f"mlsd:mock:notes:{RUN['id']}": "Label delay: chargebacks arrive weeks later.",
}
SEEDED = {KEY: json.dumps(MARKS)} | {k: json.dumps(v) for k, v in MOCK.items()}


def import_file(page, name: str, text: str) -> str:
    """Choose a file in the import field; return the status the page then shows."""
    status = page.locator(".mlsd-data-status")
    before = status.text_content()
    page.get_by_label("Import a progress file").set_input_files(
        {"name": name, "mimeType": "application/json", "buffer": text.encode()}
    )
    page.wait_for_function(
        "before => document.querySelector('.mlsd-data-status').textContent !== before",
        arg=before,
    )
    return status.text_content()


@pytest.mark.browser
def test_export_reset_then_import_restores_storage_and_bad_files_change_nothing(
    browser, site_url
):
    """One page load: export, refuse bad files, reset, then import the export over
    other marks (an import replaces). Reset leaves no "mlsd:" key, so the import lands
    in what is, for this site, a fresh browser."""
    page = new_page(browser, "light", search=False, viewport=DESKTOP)
    page.context.add_init_script(
        f"Object.entries({json.dumps(SEEDED)})"
        ".forEach(([k, v]) => localStorage.setItem(k, v))"
    )
    page.goto(site_url + "practice/#%E0%A4%A", wait_until="load")  # a malformed hash
    summary = page.locator(".mlsd-data-summary")
    assert "1 self-check known, 1 to review and 3 other saved items" in (
        summary.text_content()
    )
    with page.expect_download() as download:
        page.get_by_role("button", name="Export progress (JSON)").click()
    exported = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert exported["format"] == "mlsd-guide-progress" and exported["version"] == 1
    assert exported["items"] == SEEDED == storage(page)

    def items(marks: dict, **others: str) -> str:
        return json.dumps(dict(exported, items={KEY: json.dumps(marks)} | others))

    script = "javascript:alert(document.domain)//#q-x"
    sound = MARKS["problems/fraud-detection/#q-how-do-you-label-fraud"]
    for name, text, says in [
        ("bad.json", "{not json", "not JSON"),
        ("other.json", '{"format": "something else"}', "not a progress file"),
        ("state.json", items({"concepts/x/#q-y": {"q": "?"}}), "has no state"),
        ("script.json", items({script: sound}), f'the mark "{script}" is not a'),
        (
            "mock.json",
            items({}, **{"mlsd:mock:run": "{"}),
            '"mlsd:mock:run" is not JSON',
        ),
    ]:
        message = import_file(page, name, text)
        assert says in message and "Nothing was changed" in message, message
        assert storage(page) == SEEDED
    assert "mlsd-data-error" in page.locator(".mlsd-data-status").get_attribute("class")

    reset = page.get_by_role("button", name="Reset progress…")
    reset.click()
    assert page.get_by_role("button", name="Cancel").evaluate(
        "b => b === document.activeElement"
    ), "the confirmation takes the focus, on the safe choice"
    assert both_schemes(page, "#mlsd-data") == []
    page.get_by_role("button", name="Cancel").click()
    assert storage(page) == SEEDED
    reset.click()
    assert (
        "Delete 1 self-check known" in page.locator(".mlsd-data-confirm").text_content()
    )
    page.get_by_role("button", name="Delete everything").click()
    assert storage(page) == {}
    assert page.locator(".mlsd-data-confirm").is_hidden()

    own = {"concepts/#q-own": sound | {"q": "Mine", "a": ""}}
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [KEY, json.dumps(own)])
    message = import_file(page, "progress.json", json.dumps(exported))
    assert message.startswith("Imported progress.json"), message
    assert storage(page) == SEEDED, "the file replaces what the browser held"
    assert "1 self-check known, 1 to review" in summary.text_content()
    assert page.errors == []
    page.context.close()
