"""The mock interview (practice/mock-interview.md and assets/javascripts/mock.js).

The page's own data is checked without a browser: its problem list is the nav's worked
problems, its phase table is the plan. Then one whole mock runs in Chromium on a
controlled clock (36 minutes in well under a second): phases in the plan's order, the
interviewer's steer, pause, skip, notes and the run across a reload, the end with the
problem's design and scoring table, a saved self-score in the history, axe in both
schemes with a focused button, the printed record; then a second attempt that starts
clean, a late page that must not write into a newer run, a run left open too long,
"surprise me" under two seeds, and malformed storage. Three short mocks each check one
case: a phase skipped to while paused keeps when it began, the steer is on the record
only once the deep dive began, and "New mock" asks before it deletes notes or
scores that are not in the history (never saved, or changed since).
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import re
from pathlib import Path

import pytest
from guide import DOCS, assert_page_quotes, mkdocs_config, page_text

from mlsd_docs.site import new_page
from snippets.framework import interview_plan as ip


def _browser_helpers():
    """axe and the scheme switch from test_browser.py (tests/site is not on the path
    in importlib mode, and its name would shadow the standard library's site)."""
    path = Path(__file__).with_name("test_browser.py")
    spec = importlib.util.spec_from_file_location("_mlsd_browser_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return (
        module.axe_violations,
        module.to_dark_phone,
        module.OFF_THE_RIGHT_EDGE,
        module.NO_TRANSITIONS,
    )


axe_violations, to_dark_phone, OFF_THE_RIGHT_EDGE, NO_TRANSITIONS = _browser_helpers()
PAGE = "practice/mock-interview.md"
URL = "practice/mock-interview/"
PROBLEM = "fraud-detection"
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
LINK = re.compile(
    r"^\d+\. \[(?P<title>[^\]]+)\]\(\.\./(?P<path>problems/[\w-]+\.md)\)$"
)


def nav_worked_problems() -> list[tuple[str, str]]:
    """(title, path) of each worked problem, in the nav's order (not the index)."""
    section = next(
        entry["Worked problems"]
        for entry in mkdocs_config()["nav"]
        if isinstance(entry, dict) and "Worked problems" in entry
    )
    return [next(iter(item.items())) for item in section if isinstance(item, dict)]


def page_problems() -> list[tuple[str, str]]:
    """The problem list the page's script reads, as written in the Markdown."""
    text = page_text(PAGE)
    block = text.split('id="mlsd-mock-problems" markdown>', 1)[1].split("</div>", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    found = [LINK.match(line) for line in lines]
    assert all(found), [line for line, m in zip(lines, found, strict=True) if not m]
    return [(m["title"], m["path"]) for m in found]


def mmss(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


# ── The page's data, without a browser ────────────────────────────────────────
def test_the_page_offers_every_worked_problem_in_nav_order():
    nav = nav_worked_problems()
    assert len(nav) == len(list((DOCS / "problems").glob("*.md"))) - 1  # not index
    assert page_problems() == nav


def test_the_phase_table_is_the_plan():
    text = page_text(PAGE)
    rows = re.findall(r"^\| (\d+)–(\d+) \| ([^|]+) \| ([^|]+) \|$", text, re.M)
    assert [(int(s), int(e), name, cue) for s, e, name, cue in rows] == [
        (start, end, phase.name, phase.prompt) for start, end, phase in ip.clock()
    ]


def test_the_prose_quotes_the_plan_and_the_problems():
    clock = ip.clock()
    dive_start, dive_end = next((s, e) for s, e, p in clock if p.name == ip.DEEP_DIVE)
    assert_page_quotes(
        PAGE,
        f"any of the {len(nav_worked_problems())} worked problems",
        f"producing one in {ip.USABLE_MINUTES} minutes",
        f"deep dive by minute {dive_start}",
        f"the last\n{ip.USABLE_MINUTES - dive_end} minutes",
        f"{ip.USABLE_MINUTES} usable minutes\nof a {ip.ROUND_MINUTES}-minute round",
    )


def test_the_page_loads_its_script_and_the_plan_it_reads_exists():
    text = page_text(PAGE)
    scripts = re.findall(r'<script src="([^"]+)" defer></script>', text)
    assert scripts == ["../../assets/javascripts/mock.js"]
    # From docs/practice/mock-interview/ (its URL), two levels up is the site root.
    assert (DOCS / "assets/javascripts/mock.js").is_file()
    plan = json.loads((DOCS / "assets/practice/plan.json").read_text(encoding="utf-8"))
    assert [p["name"] for p in plan["phases"]] == [p.name for p in ip.phases()]


# ── What the fraud page says, read from its Markdown (not from the built page) ─
def fraud_page() -> dict[str, object]:
    text = page_text(f"problems/{PROBLEM}.md")
    prompt = re.search(r"^> \"(.+?)$", text, re.M)[1]
    abstract = text.split('??? abstract "The design on one page"', 1)[1]
    first_point = re.search(r"^\s+1\. \*\*(.+?)\*\*", abstract, re.M)[1]
    scoring = text.split("## How an interviewer scores it", 1)[1]
    # The table's body rows: "| Clarification | ... |" (the rule line is "|---|").
    rows = [line for line in scoring.splitlines() if line.startswith("| ")]
    steps = [row.split("|")[1].strip() for row in rows[1:]]  # after the header
    return {"prompt": prompt, "first_point": first_point, "steps": steps}


# ── One whole mock in the browser ─────────────────────────────────────────────
BROWSER = pytest.mark.browser
LIVE_LOG = """() => {
  window.mlsdLive = [];
  const region = document.getElementById('mlsd-mock-phase');
  new MutationObserver((records) => {
    for (const _ of records) window.mlsdLive.push(region.textContent);
  }).observe(region, {childList: true, subtree: true, characterData: true});
}"""


# Math.random under the test's control (the steer and "surprise me" draw from it).
SEEDED_RANDOM = "window.mlsdRandom = 0.5; Math.random = () => window.mlsdRandom;"
# Yield to the page's tasks a few times (a MessageChannel task is not on the fake
# clock).
SETTLE = """async () => { for (let i = 0; i < 5; i++) await new Promise((done) => {
  const c = new MessageChannel(); c.port1.onmessage = done;
  c.port2.postMessage(0); }); }"""


def text(page, name: str) -> str:
    return page.locator(f"#mlsd-mock-{name}").inner_text().strip()


def deep_steps(steps: list[str]) -> list[str]:
    """The steps a steer can name: those after the architecture in the scoring table."""
    return steps[steps.index("Architecture") + 1 :]


@BROWSER
def test_a_whole_mock_on_a_controlled_clock(browser, site_url):
    phases = ip.phases()
    fraud = fraud_page()
    page = new_page(
        browser,
        "light",
        search=False,
        viewport={"width": 1280, "height": 800},
        timezone_id="UTC",
    )
    page.clock.install(time=START)
    page.add_init_script(SEEDED_RANDOM)
    page.goto(site_url + URL, wait_until="load")
    page.locator("#mlsd-mock-setup").wait_for()
    titles = page.locator("#mlsd-mock-problem option").all_inner_texts()
    assert titles == [title for title, _ in nav_worked_problems()]

    # Keyboard only: choose, Tab to Start, Enter; focus moves to Pause.
    page.select_option("#mlsd-mock-problem", PROBLEM)
    page.focus("#mlsd-mock-problem")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "t => document.getElementById('mlsd-mock-prompt').textContent.includes(t)",
        arg=fraud["prompt"][:40],
    )
    assert text(page, "phase").startswith(
        f"Phase 1 of {len(phases)}: {phases[0].name}."
    )
    usable = ip.USABLE_MINUTES * 60
    assert (text(page, "phase-left"), text(page, "total-left")) == (
        mmss(phases[0].minutes * 60),
        mmss(usable),
    )
    # A minute runs; a pause stops both clocks; resume goes on from there.
    page.clock.run_for(60_000)
    left = (mmss(phases[0].minutes * 60 - 60), mmss(usable - 60))
    assert (text(page, "phase-left"), text(page, "total-left")) == left
    assert page.evaluate("document.activeElement.id") == "mlsd-mock-pause"
    page.keyboard.press("Space")
    page.clock.run_for(10 * 60_000)
    assert (text(page, "phase-left"), text(page, "total-left")) == left
    assert text(page, "pause") == "Resume"
    # Notes are saved as typed (debounced); the run and the notes survive a reload.
    notes = "issuer, 50M cards\nlabels arrive late: maturity window"
    page.fill("#mlsd-mock-notes", notes)
    page.clock.run_for(1_000)
    page.reload(wait_until="load")
    page.locator("#mlsd-mock-run").wait_for()
    assert page.input_value("#mlsd-mock-notes") == notes
    assert (text(page, "phase-left"), text(page, "total-left")) == left
    assert text(page, "pause") == "Resume"
    page.click("#mlsd-mock-pause")

    # From here the live region must change once per phase, and at the end.
    page.evaluate(LIVE_LOG)
    page.clock.run_for((phases[0].minutes - 1) * 60_000)
    assert text(page, "phase").startswith(
        f"Phase 2 of {len(phases)}: {phases[1].name}."
    )
    # Skip: the deep dive starts now and keeps its planned end (it gains the minutes).
    page.click("#mlsd-mock-skip")
    _, dive_end, _ = ip.clock()[2]
    now = phases[0].minutes * 60
    assert text(page, "phase").startswith(
        f"Phase 3 of {len(phases)}: {phases[2].name}."
    )
    assert text(page, "phase-left") == mmss(dive_end * 60 - now)
    # To each later phase's end in one jump (the ticks fire once per jump, not 3,700
    # times): the live region must still pass through every phase.
    at = now
    for _, end, _ in ip.clock()[2:]:
        page.clock.fast_forward((end * 60 - at + 1) * 1000)
        at = end * 60 + 1
    page.locator("#mlsd-mock-score fieldset").first.wait_for()
    live = page.evaluate("window.mlsdLive")
    expected = [
        f"Phase {i} of {len(phases)}: {phase.name}."
        for i, phase in enumerate(phases, start=1)
    ][2 - 1 :]
    assert [entry.split(". ")[0] + "." for entry in live[:-1]] == expected, live
    assert len(live) == len(expected) + 1 and live[-1].startswith("Time is up."), live
    # The steer, drawn with Math.random() = 0.5, came with the deep dive.
    deep = deep_steps(fraud["steps"])
    steer = deep[int(0.5 * len(deep))]
    assert live[1].endswith(f"The interviewer asks you to go deep on: {steer}."), live

    # The end: the design and the scoring table beside the notes; a score per step.
    summary = page.locator("#mlsd-mock-reference details[open] > summary")
    assert summary.inner_text().strip() == "The design on one page"
    assert fraud["first_point"] in text(page, "reference")
    assert page.locator("#mlsd-mock-reference table").count() == 1
    legends = page.locator("#mlsd-mock-score legend").all_inner_texts()
    assert legends == fraud["steps"]
    # 0 = not covered .. 3 = strong hire; the last step left unscored.
    scores = [i % 4 for i in range(len(legends) - 1)] + [None]
    page.check(f'input[name="mlsd-mock-score-0"][value="{scores[0]}"]')
    page.evaluate(  # the others in one call (a click each costs a round trip)
        """scores => scores.forEach((score, i) => score !== null && i > 0 &&
        document.querySelector(`input[name="mlsd-mock-score-${i}"][value="${score}"]`)
          .click())""",
        scores,
    )
    page.click("#mlsd-mock-score button[type=submit]")
    assert "Saved" in text(page, "saved")
    page.reload(wait_until="load")
    history = page.locator("#mlsd-mock-history tbody tr")
    history.first.wait_for()
    assert history.count() == 1
    cells = history.first.locator("th, td").all_inner_texts()
    assert cells[0] == START.date().isoformat()
    n = len(scores)
    assert cells[1 : n + 1] == ["–" if s is None else str(s) for s in scores]
    # Unscored counts as not covered (0) in the mean, and the count says so.
    assert cells[n + 1 :] == [
        f"{n - 1} of {n}",
        f"{sum(s or 0 for s in scores) / n:.1f}",
        steer,
    ]
    assert page.input_value("#mlsd-mock-notes") == notes
    # The notes went into the history entry (folded: text_content reads them).
    assert notes in page.locator("#mlsd-mock-history details").text_content()

    # Accessibility of the end state in light, then dark at phone width, each with a
    # button under keyboard focus (Material's focus colours are under 4.5:1).
    page.add_style_tag(content=NO_TRANSITIONS)  # axe must read the focused colours
    page.focus("#mlsd-mock-new")
    violations = axe_violations(page, skip_chrome=True)
    assert not violations, "\n".join(violations)
    assert_readable_dark_phone(page, "#mlsd-mock-new")
    # Each score choice is a target at least 24 px tall (WCAG 2.2, 2.5.8).
    target = page.locator("#mlsd-mock-score fieldset label").first.bounding_box()
    assert target["height"] >= 24, target
    # The design and the rubric come before the self-score: on screen and in the DOM.
    reference, score = (
        page.locator(f"#mlsd-mock-{name}").bounding_box()
        for name in ("reference", "score")
    )
    assert reference["y"] + reference["height"] <= score["y"], (reference, score)
    assert page.evaluate(
        "document.getElementById('mlsd-mock-reference').compareDocumentPosition("
        "document.getElementById('mlsd-mock-score')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )

    # Paper: the record of the attempt, no controls, no repeated title.
    page.emulate_media(media="print")
    assert not page.locator("#mlsd-mock").is_visible()
    assert not page.locator("article table").first.is_visible()
    assert not page.locator("article h1").is_visible()
    record = page.locator("#mlsd-mock-record")
    assert record.is_visible()
    printed = record.inner_text()
    assert notes in printed and START.date().isoformat() in printed
    assert f"{fraud['steps'][0]}: Not covered" in printed
    assert f"{fraud['steps'][-1]}: –" in printed
    assert f"go deep on: {steer}." in printed
    # The pace: the deep dive began at the skip, 5:00 (the plan said 10:00).
    assert f"{phases[2].name} {mmss(now)}" in printed, printed
    # ... and the evaluation at its planned start, however late the tick that saw it.
    eval_start = ip.clock()[3][0] * 60
    assert f"{phases[3].name} {mmss(eval_start)}" in printed, printed
    page.emulate_media(media="screen")

    # A mock on another problem whose page arrives late (held), ended, then a second
    # attempt on the same problem: it starts clean, and the late page changes nothing.
    held = []
    page.route("**/problems/search-engine/", lambda route: held.append(route))
    page.click("#mlsd-mock-score button[type=submit]")  # saved again: same entry
    assert "Saved" in text(page, "saved")
    page.click("#mlsd-mock-new")
    page.select_option("#mlsd-mock-problem", "search-engine")
    page.click("#mlsd-mock-start")
    page.click("#mlsd-mock-finish")
    # Ended early: said so, and only the phase reached is struck through.
    assert text(page, "phase").startswith("Mock ended at 0:00."), text(page, "phase")
    assert page.locator("#mlsd-mock-phases > .mlsd-mock__done").count() == 1
    page.click("#mlsd-mock-new")
    page.select_option("#mlsd-mock-problem", PROBLEM)
    page.click("#mlsd-mock-start")
    page.wait_for_function(
        "t => document.getElementById('mlsd-mock-prompt').textContent.includes(t)",
        arg=fraud["prompt"][:40],
    )
    assert page.input_value("#mlsd-mock-notes") == ""
    assert text(page, "saved") == ""
    assert page.locator("#mlsd-mock-score-rows fieldset").count() == 0
    page.evaluate("dispatchEvent(new Event('beforeprint'))")
    assert "Self-score" not in page.locator("#mlsd-mock-record").text_content()
    assert len(held) == 1
    with page.expect_event(
        "requestfinished", lambda request: request.url.endswith("/search-engine/")
    ):
        held[0].continue_()
    page.evaluate(SETTLE)
    assert fraud["prompt"][:40] in text(page, "prompt")
    assert text(page, "title").startswith("Fraud detection")
    assert not page.locator("#mlsd-mock-reference").is_visible()
    assert page.locator("#mlsd-mock-score-rows fieldset").count() == 0

    # A run left open longer than its time left (a closed tab, 40 minutes away, in
    # phase 3): paused where the reader left, not at its start and not ended. The page
    # stores the time reached when it is hidden; the next load finds it 40 minutes old.
    page.clock.run_for(12 * 60_000)
    left, phase = text(page, "total-left"), text(page, "phase")
    page.add_init_script(
        """if (!sessionStorage.getItem('aged')) {
          sessionStorage.setItem('aged', '1');
          const key = 'mlsd:mock:run', run = JSON.parse(localStorage.getItem(key));
          run.since -= 40 * 60000; localStorage.setItem(key, JSON.stringify(run)); }"""
    )
    page.reload(wait_until="load")
    page.locator("#mlsd-mock-away").wait_for(timeout=5_000)
    assert text(page, "pause") == "Resume"
    assert (text(page, "total-left"), text(page, "phase")) == (left, phase)
    assert phase.startswith("Phase 3 of"), phase

    # "Surprise me" draws another problem from Math.random: two seeds, two problems.
    slugs = [Path(path).stem for _, path in nav_worked_problems()]
    for seed, pick in ((0.0, 0), (0.999, -1)):
        # End, New mock, then Surprise me in one round trip (clicks are tested above).
        current, chosen, phase = page.evaluate(
            """seed => {
            const el = (name) => document.getElementById('mlsd-mock-' + name);
            el('finish').click(); el('new').click();
            const current = el('problem').value;
            window.mlsdRandom = seed; el('surprise').click();
            return [current, el('problem').value, el('phase').textContent]; }""",
            seed,
        )
        others = [slug for slug in slugs if slug != current]
        assert chosen == others[pick] and phase.startswith("Phase 1 of"), chosen

    # Malformed storage (e.g. an imported file): the run is dropped, bad history
    # entries are skipped, the page works and logs nothing.
    # (The surprise mock ends first: its page, still arriving, would save it again.)
    page.evaluate("""() => {
      document.getElementById('mlsd-mock-finish').click();
      document.getElementById('mlsd-mock-new').click();
      localStorage.setItem('mlsd:mock:run', JSON.stringify({id: 1, problem:
        'fraud-detection', date: '2026-03-02', elapsed: 0, since: 'abc', floor: 0,
        ended: false, scores: []}));
      const key = 'mlsd:mock:history:fraud-detection';
      const past = JSON.parse(localStorage.getItem(key));
      past.push({id: 2, date: '2026-03-03', scores: [1]}, null, 'x',
        {id: 3, date: 'soon', steps: ['Data'], scores: [9]});
      localStorage.setItem(key, JSON.stringify(past)); }""")
    page.reload(wait_until="load")
    page.locator("#mlsd-mock-setup").wait_for(timeout=5_000)
    page.select_option("#mlsd-mock-problem", PROBLEM)
    assert page.locator("#mlsd-mock-history tbody tr").count() == 1
    assert page.errors == [] and page.foreign == [], (page.errors, page.foreign)
    page.context.close()


# ── One case at a time, each on a fresh fraud mock ────────────────────────────
STORED_RUN = "JSON.parse(localStorage.getItem('mlsd:mock:run'))"


def started(browser, site_url):
    """A tab whose fraud mock began at START (fake clock, steer seeded at 0.5), its
    problem page loaded (the steer is drawn then)."""
    page = new_page(browser, "light", search=False, timezone_id="UTC")
    page.clock.install(time=START)
    page.add_init_script(SEEDED_RANDOM)
    page.goto(site_url + URL, wait_until="load")
    page.locator("#mlsd-mock-setup").wait_for()
    page.select_option("#mlsd-mock-problem", PROBLEM)
    page.click("#mlsd-mock-start")
    prompt_loaded(page)
    return page


def assert_readable_dark_phone(page, focused: str) -> None:
    """In dark at 390 px, with `focused` under focus: contrast holds, nothing is cut."""
    to_dark_phone(page)
    page.focus(focused)
    violations = axe_violations(page, rules=["color-contrast"], skip_chrome=True)
    assert not violations, "(dark, focused) " + "\n".join(violations)
    cut_off = page.evaluate(OFF_THE_RIGHT_EDGE)
    assert not cut_off, f"at 390 px, cut off at the right: {cut_off}"


def prompt_loaded(page) -> None:
    page.wait_for_function(
        "t => document.getElementById('mlsd-mock-prompt').textContent.includes(t)",
        arg=fraud_page()["prompt"][:40],
    )


def record(page) -> str:
    """The printed record of the attempt, as it would be printed now."""
    page.evaluate("dispatchEvent(new Event('beforeprint'))")
    return page.locator("#mlsd-mock-record").text_content()


def end_and_save(page) -> None:
    """End now, score the first step, save."""
    page.click("#mlsd-mock-finish")
    page.check('input[name="mlsd-mock-score-0"][value="1"]')
    page.click("#mlsd-mock-score button[type=submit]")
    assert "Saved" in text(page, "saved")


@BROWSER
def test_a_phase_skipped_to_while_paused_keeps_when_it_began(browser, site_url):
    phases = ip.phases()
    page = started(browser, site_url)
    page.clock.run_for(60_000)
    page.click("#mlsd-mock-pause")
    page.clock.run_for(60_000)  # paused: the mock stays at 1:00
    page.click("#mlsd-mock-skip")
    assert text(page, "phase").startswith(f"Phase 2 of {len(phases)}: {phases[1].name}")
    # It began at the time the paused mock stands at (a minute, and the few real ms
    # the clicks took: the fake clock also runs on its own).
    paused = page.evaluate(STORED_RUN)
    assert paused["since"] is None and paused["splits"] == [0, paused["elapsed"]]
    assert 60_000 <= paused["elapsed"] < 120_000, paused
    # Never rewritten: not by a reload, a resume or the ticks of its phase.
    page.reload(wait_until="load")
    prompt_loaded(page)
    page.click("#mlsd-mock-pause")
    page.clock.run_for(30_000)
    page.click("#mlsd-mock-skip")  # running: the deep dive begins 30 s later
    splits = page.evaluate(STORED_RUN)["splits"]
    assert splits[:2] == paused["splits"] and splits[2] >= splits[1] + 30_000, splits
    began = " · ".join(
        f"{phase.name} {mmss(ms // 1000)}" for phase, ms in zip(phases[:3], splits, strict=True)
    )
    assert f"Phases began at: {began}." in record(page)
    assert page.errors == [], page.errors
    page.context.close()


@BROWSER
def test_the_steer_is_on_the_record_only_once_the_deep_dive_began(browser, site_url):
    phases = ip.phases()
    deep = deep_steps(fraud_page()["steps"])
    steer = deep[int(0.5 * len(deep))]
    assert deep[0] != steer  # so that a second draw (at 0) would show below
    history = "#mlsd-mock-history tbody tr"
    # Ended before the deep dive: drawn (a reload would keep it), never given.
    page = started(browser, site_url)
    assert page.evaluate(STORED_RUN)["steer"] == steer
    assert "go deep on" not in record(page)
    end_and_save(page)
    assert "go deep on" not in record(page)
    assert page.locator(history).last.locator("td").last.inner_text() == "–"
    # A second attempt, reloaded where a new draw would pick another step: the deep
    # dive announces the step drawn at the start, and it is on the record from then.
    page.click("#mlsd-mock-new")
    page.select_option("#mlsd-mock-problem", PROBLEM)
    page.click("#mlsd-mock-start")
    prompt_loaded(page)
    page.add_init_script("window.mlsdRandom = 0;")
    page.reload(wait_until="load")
    prompt_loaded(page)
    page.click("#mlsd-mock-skip")
    assert "go deep on" not in record(page)
    page.click("#mlsd-mock-skip")
    assert page.locator("#mlsd-mock-phase").text_content() == (
        f"Phase 3 of {len(phases)}: {phases[2].name}. "
        f"The interviewer asks you to go deep on: {steer}."
    )
    assert f"The interviewer asked to go deep on: {steer}." in record(page)
    end_and_save(page)
    rows = page.locator(history)
    assert rows.count() == 2
    assert rows.last.locator("td").last.inner_text() == steer
    assert page.errors == [], page.errors
    page.context.close()


@BROWSER
def test_a_new_mock_asks_before_it_discards_unsaved_notes(browser, site_url):
    notes = "issuer, 50M cards"
    page = started(browser, site_url)
    page.fill("#mlsd-mock-notes", notes)
    page.click("#mlsd-mock-finish")
    page.locator("#mlsd-mock-score fieldset").first.wait_for()
    question = page.locator("#mlsd-mock-unsaved")
    focused = "document.activeElement.id"
    # By keyboard: New mock asks in the page, and "keep" (the safe answer) has focus.
    page.focus("#mlsd-mock-new")
    page.keyboard.press("Enter")
    assert question.is_visible()
    assert question.inner_text().startswith(
        "Your notes or scores have changes not in your past mocks"
    ), question.inner_text()
    assert not page.locator("#mlsd-mock-new").is_visible()
    assert page.evaluate(focused) == "mlsd-mock-keep"
    page.add_style_tag(content=NO_TRANSITIONS)
    violations = axe_violations(page, skip_chrome=True)
    assert not violations, "\n".join(violations)
    # Keep: the attempt stays as it was; focus goes to the self-score that saves them.
    page.keyboard.press("Enter")
    assert not question.is_visible()
    assert page.locator("#mlsd-mock-new").is_visible()
    assert page.input_value("#mlsd-mock-notes") == notes
    assert page.evaluate(focused) == "mlsd-mock-score-title"
    # Escape keeps them too.
    page.focus("#mlsd-mock-new")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    assert not question.is_visible()
    assert page.evaluate(focused) == "mlsd-mock-score-title"
    # Dark, at phone width, with the destructive answer under focus: readable.
    page.focus("#mlsd-mock-new")
    page.keyboard.press("Enter")
    assert_readable_dark_phone(page, "#mlsd-mock-discard")
    # Discard: a new mock begins with the setup; the notes are gone from storage too.
    page.keyboard.press("Enter")
    assert page.locator("#mlsd-mock-setup").is_visible()
    assert page.evaluate(focused) == "mlsd-mock-problem"
    kept = "Object.keys(localStorage).filter(k => k.startsWith('mlsd:mock:notes:'))"
    assert page.evaluate(kept) == []
    # Saved with the scores, the notes are safe: New mock does not ask ...
    page.click("#mlsd-mock-start")
    prompt_loaded(page)
    page.fill("#mlsd-mock-notes", notes)
    end_and_save(page)
    page.click("#mlsd-mock-new")
    assert page.locator("#mlsd-mock-setup").is_visible()
    # ... but notes changed after saving are not in the history: it asks, and saving
    # again answers the question.
    page.click("#mlsd-mock-start")
    prompt_loaded(page)
    page.fill("#mlsd-mock-notes", notes)
    end_and_save(page)
    page.fill("#mlsd-mock-notes", notes + ", and a second thought")
    page.click("#mlsd-mock-new")
    assert question.is_visible()
    page.click("#mlsd-mock-score button[type=submit]")
    assert not question.is_visible()
    assert page.locator("#mlsd-mock-new").is_visible()
    page.click("#mlsd-mock-new")
    assert page.locator("#mlsd-mock-setup").is_visible()
    # Self-scores chosen but never saved count too, even with no notes.
    page.click("#mlsd-mock-start")
    prompt_loaded(page)
    page.click("#mlsd-mock-finish")
    page.check('input[name="mlsd-mock-score-0"][value="2"]')
    page.click("#mlsd-mock-new")
    assert question.is_visible()
    page.click("#mlsd-mock-discard")
    assert page.locator("#mlsd-mock-setup").is_visible()
    assert page.errors == [], page.errors
    page.context.close()


@BROWSER
def test_read_from_disk_the_page_says_what_to_do(browser, built_site):
    """file:// cannot fetch the plan: the page keeps its instructions, no controls."""
    page = new_page(browser, "light")
    page.goto((built_site / URL / "index.html").as_uri(), wait_until="load")
    assert page.locator("#mlsd-mock-fallback").is_visible()
    assert not page.locator("#mlsd-mock").is_visible()
    assert page.locator("#mlsd-mock-problems a").count() == len(nav_worked_problems())
    page.context.close()


# What mock.js takes from every problem page, as the build writes it: the prompt's
# blockquote right after its heading, the folded design, and the scoring table first
# in its section.
PROMPT_HTML = re.compile(r'<h2 id="the-prompt">.*?</h2>\s*<blockquote>', re.S)
DESIGN_HTML = re.compile(
    r'<details class="abstract">\s*<summary>The design on one page</summary>'
)
SCORING_HTML = re.compile(
    r'<h2 id="how-an-interviewer-scores-it">.*?</h2>\s*'
    r'<div class="md-typeset__scrollwrap"><div class="md-typeset__table"><table',
    re.S,
)


@pytest.mark.parametrize("path", [path for _, path in nav_worked_problems()])
def test_every_problem_page_has_what_the_mock_borrows(built_site, path):
    html = (built_site / path.removesuffix(".md") / "index.html").read_text("utf-8")
    assert PROMPT_HTML.search(html), "the prompt's blockquote"
    assert len(DESIGN_HTML.findall(html)) == 1, "one folded design on one page"
    assert SCORING_HTML.search(html), "the scoring table opening its section"
