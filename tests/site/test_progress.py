"""Progress on the self-checks, in Chromium (docs/assets/javascripts/progress.js).

Two scenarios, one page load per step: mark on a concept page, reload, then read the
review queue and the checklist; and export, import into a fresh browser profile, a
malformed import and a reset on the Practice page. axe checks what the script drew, in
both schemes. Time is Playwright's clock, so the
"oldest first" order is set, not waited for.
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
    page = new_page(browser, "light", viewport=DESKTOP)

    def after(anchor: str):
        return page.locator(f"{AFTER.format(anchor)}[data-mlsd-check]")

    page.clock.install(time=START)
    page.goto(site_url + PAGE, wait_until="load")
    checks = page.locator("article [data-mlsd-check]")
    total = checks.count()
    # Found by the checklist's anchors, which stay put: a !!! question box, and folds.
    boxed = after("q-precision-vs-recall")
    toggled = after("q-roc-auc-rare-positives")
    second, first = after("q-check-calibration"), after("q-platt-vs-isotonic")
    unanchored = page.locator(f"{AFTER.format('q-platt-vs-isotonic')} + details")
    assert page.locator(".mlsd-mark").count() == 0, "buttons must wait for an opening"
    line = page.locator(".mlsd-progress-line")
    assert said(line) == f"Self-checks: 0 of {total} known · 0 to review · Review queue"

    # Known: the open question box, whose answer is a folded block inside it.
    boxed.locator("details.success > summary").click()
    boxed.get_by_role("button", name="Knew it").click()
    assert page.get_by_role("status").filter(has_text="Marked").inner_text() == (
        "Marked as known."
    )
    # A second press removes a mark.
    toggled.locator("summary").click()
    toggled.get_by_role("button", name="Knew it").click()
    toggled.get_by_role("button", name="Knew it").click()
    assert toggled.get_by_role("button", name="Knew it").get_attribute(
        "aria-pressed"
    ) == ("false")
    # Review again, the later one on the page first: the queue must follow the dates,
    # not the page order or the alphabet (both put "second" first).
    assert question(second) < question(first)
    first.locator("summary").click()
    first.get_by_role("button", name="Review again").click()
    page.clock.fast_forward("26:00:00")  # the next mark is a day later
    second.locator("summary").focus()  # from the keyboard this time
    page.keyboard.press("Enter")
    second.get_by_role("button", name="Review again").focus()
    page.keyboard.press("Space")
    assert said(line) == f"Self-checks: 1 of {total} known · 2 to review · Review queue"

    # Reload, at a self-check with no anchor of its own: the review queue links to
    # such a one by its id, and the page must bring it into view.
    check_id = unanchored.get_attribute("data-mlsd-check")
    page.goto("about:blank")  # a new visit, not a reload (that restores the scroll)
    page.goto(f"{site_url}{PAGE}#{check_id}", wait_until="load")
    assert unanchored.evaluate(
        "e => { const top = e.getBoundingClientRect().top;"
        " return top >= 0 && top < innerHeight / 2 }"
    )
    assert said(line) == f"Self-checks: 1 of {total} known · 2 to review · Review queue"
    assert page.locator(".mlsd-mark").count() == 0
    assert "mlsd-known" in boxed.get_attribute("class")
    assert boxed.locator(".mlsd-badge").inner_text() == "Known"
    for check in (first, second):
        assert check.locator(":scope > summary .mlsd-badge").inner_text() == "To review"
    assert "mlsd-known" not in toggled.get_attribute("class")
    boxed.locator("details.success > summary").click()
    pressed = boxed.locator(".mlsd-mark button").evaluate_all(
        "bs => bs.map(b => b.textContent + '=' + b.getAttribute('aria-pressed'))"
    )
    assert pressed == ["Knew it=true", "Review again=false"]
    drawn = ".mlsd-progress-line, .mlsd-known, .mlsd-review"
    assert both_schemes(page, drawn) == []
    asked = [question(first), question(second)]
    landing = [first.evaluate(ANCHOR), second.evaluate(ANCHOR)]
    anchors = {"known": {boxed.evaluate(ANCHOR)}, "review": set(landing)}

    page.goto(site_url + "practice/review/", wait_until="load")
    queue = page.locator("#mlsd-review")
    assert queue.locator(".mlsd-review-total").inner_text() == "2 to review · 1 known"
    assert queue.locator("tr", has_text="Concepts").inner_text().split() == [
        "Concepts",
        "2",
        "1",
    ]
    links = queue.locator(".mlsd-review-list li > a")
    assert links.all_inner_texts() == asked, "oldest first"
    hrefs = links.evaluate_all("as => as.map(a => a.href)")
    assert hrefs == [site_url + PAGE + "#" + anchor for anchor in landing]
    dates = queue.locator("time").evaluate_all("ts => ts.map(t => t.dateTime)")
    assert dates[0].startswith("2026-03-02T09:") and dates[1].startswith("2026-03-03")
    assert both_schemes(page, "#mlsd-review") == []

    page.goto(site_url + "concepts/", wait_until="load")
    items = checklist()
    on_page = [i for i in items if i.page == "concepts/classification-metrics.md"]
    known = sum(i.anchor in anchors["known"] for i in on_page)
    review = sum(i.anchor in anchors["review"] for i in on_page)
    assert known == 1 and review == 2, "the marked questions are on the checklist"
    counts = f"{known} of {len(items)} known · {review} to review"
    assert said(page.locator(".mlsd-progress-line")) == (
        f"Self-checks: {counts} · Review queue"
    )
    assert page.locator("li.mlsd-known").count() == known
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
SEEDED = {KEY: json.dumps(MARKS), "mlsd:mock:history": '[{"problem": "x", "score": 3}]'}


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
def test_export_then_import_restores_storage_and_bad_files_change_nothing(
    browser, site_url
):
    hub = site_url + "practice/"
    old = new_page(browser, "light", viewport=DESKTOP)
    old.context.add_init_script(
        f"Object.entries({json.dumps(SEEDED)})"
        ".forEach(([k, v]) => localStorage.setItem(k, v))"
    )
    old.goto(hub, wait_until="load")
    summary = old.locator(".mlsd-data-summary")
    assert "1 self-check known, 1 to review and 1 other saved item" in (
        summary.text_content()
    )
    with old.expect_download() as download:
        old.get_by_role("button", name="Export progress (JSON)").click()
    exported = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert exported["format"] == "mlsd-guide-progress" and exported["version"] == 1
    assert exported["items"] == SEEDED == storage(old)

    # A fresh profile: nothing of the first one, some progress of its own.
    new = new_page(browser, "dark", viewport=DESKTOP)
    new.goto(hub, wait_until="load")
    new.evaluate("k => localStorage.setItem(k, '{}')", KEY)
    own = storage(new)
    broken = dict(exported, items={KEY: json.dumps({"concepts/x/#q-y": {"q": "?"}})})
    for name, text, says in [
        ("bad.json", "{not json", "not JSON"),
        ("other.json", '{"format": "something else"}', "not a progress file"),
        ("state.json", json.dumps(broken), 'the mark "concepts/x/#q-y" has no state'),
    ]:
        message = import_file(new, name, text)
        assert says in message and "Nothing was changed" in message, message
        assert storage(new) == own
    assert "mlsd-data-error" in new.locator(".mlsd-data-status").get_attribute("class")

    message = import_file(new, "progress.json", json.dumps(exported))
    assert message.startswith("Imported progress.json"), message
    assert storage(new) == storage(old) == SEEDED
    assert (
        "1 self-check known, 1 to review"
        in new.locator(".mlsd-data-summary").text_content()
    )

    reset = new.get_by_role("button", name="Reset progress…")
    reset.click()
    assert new.get_by_role("button", name="Cancel").evaluate(
        "b => b === document.activeElement"
    ), "the confirmation takes the focus, on the safe choice"
    assert both_schemes(new, "#mlsd-data") == []
    new.get_by_role("button", name="Cancel").click()
    assert storage(new) == SEEDED
    reset.click()
    assert (
        "Delete 1 self-check known" in new.locator(".mlsd-data-confirm").text_content()
    )
    new.get_by_role("button", name="Delete everything").click()
    assert storage(new) == {}
    assert new.locator(".mlsd-data-confirm").is_hidden()
    assert old.errors == [] and new.errors == []
    old.context.close()
    new.context.close()
