"""The interview plan is one source: its data, the plan page, the template and the
Senior vs Staff phases all agree, and the data itself keeps the plan's promises."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from dataclasses import replace

import pytest
from guide import DOCS, ROOT, assert_page_quotes, module_output, page_text

from snippets.framework import interview_plan as ip

PAGE = "framework/45-minute-plan.md"
LOW, HIGH = ip.DEEP_DIVE_MINUTES
CLOCK = re.compile(r"^(?P<start>\d+)–(?P<end>\d+): (?P<phase>.+)$")


def page_table_rows(page: str) -> list[str]:
    """The rows of the page's plan table, as written in the Markdown."""
    lines = page_text(page).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Minutes"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_the_phases_fill_the_usable_minutes_and_leave_the_rest_to_the_intros():
    plan = ip.phases()
    assert ip.total_minutes() == ip.USABLE_MINUTES == sum(p.minutes for p in plan)
    assert ip.clock()[-1][1] == ip.USABLE_MINUTES
    # Introductions plus the candidate's questions: between 6 and 10 minutes.
    assert 6 <= ip.ROUND_MINUTES - ip.USABLE_MINUTES <= 10


@pytest.mark.parametrize(
    "usable", range(ip.USABLE_MINUTES - (HIGH - LOW), ip.USABLE_MINUTES + 1)
)
def test_a_late_start_takes_minutes_from_the_deep_dive_only(usable):
    plan = ip.phases(usable)
    assert ip.total_minutes(plan) == usable
    dive = [p for p in plan if p.name == ip.DEEP_DIVE]
    assert len(dive) == 1 and LOW <= dive[0].minutes <= HIGH
    assert dive[0].minutes == HIGH - (ip.USABLE_MINUTES - usable)
    others = [(p.name, p.minutes) for p in plan if p.name != ip.DEEP_DIVE]
    default = [(p.name, p.minutes) for p in ip.phases() if p.name != ip.DEEP_DIVE]
    assert others == default


def test_the_clock_is_contiguous_and_starts_at_zero():
    rows = ip.clock()
    assert rows[0][0] == 0
    for (_, end, _), (start, _, _) in itertools.pairwise(rows):
        assert start == end
    assert all(end - start == phase.minutes for start, end, phase in rows)


def test_every_step_page_exists_and_every_step_of_the_framework_is_planned():
    for page in ip.STEP_PAGES:
        assert (DOCS / "framework" / page).is_file(), page
    planned = {page for phase in ip.phases() for page in phase.pages}
    # Independent list: the step table of the framework's index page.
    index_steps = set(
        re.findall(
            r"^\| \d\. \[[^\]]+\]\(([\w-]+\.md)\)",
            page_text("framework/index.md"),
            re.M,
        )
    )
    assert len(index_steps) == 8
    assert planned == set(ip.STEP_PAGES) == index_steps


def test_the_page_table_is_the_data():
    rows = page_table_rows(PAGE)
    assert "\n".join(rows) == ip.plan_table(), "regenerate the table from plan_table()"
    # The program prints the same table.
    assert module_output("snippets.framework.interview_plan") == ip.plan_table() + "\n"
    # Read the page on its own terms too: each row's clock, board and cue.
    body = rows[2:]
    assert len(body) == len(ip.phases())
    end_before = 0
    for row, phase in zip(body, ip.phases(), strict=True):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        clock = CLOCK.match(cells[0])
        assert clock, cells[0]
        start, end = int(clock["start"]), int(clock["end"])
        assert start == end_before and end - start == phase.minutes
        assert (
            re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", clock["phase"])
            .lower()
            .startswith(phase.name.lower().split()[0])
        )
        board, cue = cells[1].rsplit(" — ", 1)
        assert board == phase.board and cue == f"*{phase.prompt}*"
        end_before = end
    assert end_before == ip.USABLE_MINUTES


def test_the_prose_quotes_the_plan():
    after_dive = ip.USABLE_MINUTES - next(
        end for _, end, phase in ip.clock() if phase.name == ip.DEEP_DIVE
    )
    assert_page_quotes(
        PAGE,
        f"{ip.USABLE_MINUTES} usable minutes, not {ip.ROUND_MINUTES}",
        f"other {ip.ROUND_MINUTES - ip.USABLE_MINUTES}; the clock starts after them",
        f"{LOW}–{HIGH} minute deep dive",
        f"last {after_dive} minutes",
        f"down to {LOW}",
        f"still ends at minute {ip.USABLE_MINUTES - after_dive}, taking over",
    )
    assert_page_quotes(
        "framework/index.md",
        f"last {after_dive} minutes",
        f"ends at minute {ip.USABLE_MINUTES - after_dive}",
    )


def test_the_step_pages_quote_the_plan_clock():
    """Every step page that names its minutes names the plan's."""
    window = {phase.name: f"{start}–{end}" for start, end, phase in ip.clock()}
    assert_page_quotes(
        "framework/problem-clarification.md",
        f"minutes {window['Clarify and metrics']} of the",
    )
    for page in ("data.md", "features.md"):
        assert_page_quotes(
            f"framework/{page}",
            f"part of the deep dive (minutes {window[ip.DEEP_DIVE]})",
        )
    assert_page_quotes(
        "framework/monitoring.md",
        f"(minutes {window['Serving and monitoring']} of",
    )
    serving = next(p for p in ip.phases() if p.name == "Serving and monitoring")
    assert (
        "four minutes" in page_text("framework/monitoring.md") and serving.minutes == 4
    )


def test_the_whiteboard_has_a_box_per_step_and_a_deep_dive_box_sized_by_the_plan():
    text = page_text("framework/whiteboard-template.md")
    titles = re.findall(
        r'^<div class="mlsd-board__\w+" markdown>\n\*\*(.+?)\*\*', text, re.M
    )
    assert len(titles) == 11, titles
    numbered = [int(t.split()[0]) for t in titles if t[0].isdigit()]
    assert sorted(numbered) == list(
        range(1, 9)
    )  # the framework's eight steps, once each
    assert f"Deep dive ({LOW}–{HIGH} min)" in titles
    # Each box names its grid area, and the stylesheet places every area.
    css = (DOCS / "assets/stylesheets/extra.css").read_text(encoding="utf-8")
    for area in re.findall(r'^<div class="mlsd-board__(\w+)"', text, re.M):
        assert f".mlsd-board__{area} {{\n  grid-area: {area};" in css, area
        assert f'"{area} ' in css or f' {area}"' in css, area


def test_senior_vs_staff_sizes_the_feature_fetch_from_the_architecture_estimate():
    out = module_output("snippets.framework.high_level_architecture")
    qps = re.search(r"([\d,]+) peak QPS", out)[1]
    budget = re.search(r"(\d+) ms server-side budget", out)[1]
    fetch = out.split("Feature fetch at peak")[1].split("\n\n")[0]
    rows = {
        line[:15].strip(): line.split()[2:4]
        for line in fetch.splitlines()
        if line.startswith(("light ranker", "heavy ranker"))
    }
    (light_rows, light_nodes), (_, heavy_nodes) = (
        rows["light ranker"],
        rows["heavy ranker"],
    )
    # The saving per 1,000 light-ranker candidates, from the printed node count.
    per_thousand = round(int(light_nodes) / 10)
    assert_page_quotes(
        "framework/senior-vs-staff.md",
        "times 10k light-ranker rows",
        "times 500 heavy-ranker rows",
        f"at {qps} peak QPS",
        f"reads {light_rows} rows a second, {light_nodes} store nodes",
        f"against {heavy_nodes} for the heavy ranker",
        f"saves about {per_thousand} store nodes",
        f"{budget} ms at p99, server-side",
        f"three quarters of the {budget} ms",
    )


def test_senior_vs_staff_phases_sit_on_the_plan_clock():
    headings = re.findall(
        r"^### (?P<name>.+) \(minutes (\d+)–(\d+)\)$",
        page_text("framework/senior-vs-staff.md"),
        re.M,
    )
    assert len(headings) == 4
    starts = {start: phase for start, _, phase in ip.clock()}
    ends = {end for _, end, _ in ip.clock()}
    for name, start, end in headings:
        assert int(start) in starts and int(end) in ends and int(start) < int(end)
        first_word = starts[int(start)].name.split()[0].rstrip(":").lower()
        assert name.lower().startswith(first_word), (name, starts[int(start)].name)


@pytest.mark.parametrize(
    ("usable", "error", "message"),
    [
        (ip.USABLE_MINUTES - (HIGH - LOW) - 1, ValueError, "re-plan every phase"),
        (ip.USABLE_MINUTES + 1, ValueError, "re-plan every phase"),
        (36.0, TypeError, "must be an integer"),
        (True, TypeError, "must be an integer"),
        ("36", TypeError, "must be an integer"),
    ],
)
def test_bad_usable_minutes_raise(usable, error, message):
    with pytest.raises(error, match=message):
        ip.phases(usable)


def test_a_bad_phase_raises():
    phase = ip.phases()[0]
    with pytest.raises(ValueError, match="must be positive"):
        replace(phase, minutes=0)
    with pytest.raises(TypeError, match="minutes must be an integer"):
        replace(phase, minutes=2.5)
    with pytest.raises(ValueError, match="not framework step pages"):
        replace(phase, pages=("modeling.md",))
    with pytest.raises(TypeError, match="pages must be a tuple"):
        replace(phase, pages="data.md")
    with pytest.raises(TypeError, match="non-empty string"):
        replace(phase, prompt=" ")


def test_a_plan_that_breaks_its_promises_is_rejected():
    plan = ip.phases()
    dive = next(i for i, p in enumerate(plan) if p.name == ip.DEEP_DIVE)
    longer = (*plan[:dive], replace(plan[dive], minutes=HIGH + 1), *plan[dive + 1 :])
    with pytest.raises(ValueError, match="deep dive takes"):
        ip.check_plan(longer, ip.USABLE_MINUTES + 1)
    with pytest.raises(ValueError, match="not the 40 usable"):
        ip.check_plan(plan, 40)
    with pytest.raises(ValueError, match="exactly one"):
        ip.check_plan(plan[:dive] + plan[dive + 1 :], ip.USABLE_MINUTES - HIGH)
    with pytest.raises(ValueError, match="names repeat"):
        ip.check_plan((*plan, plan[0]), ip.USABLE_MINUTES + plan[0].minutes)
    with pytest.raises(TypeError, match="tuple of Phase"):
        ip.check_plan(list(plan), ip.USABLE_MINUTES)
    with pytest.raises(TypeError, match="tuple of Phase"):
        ip.total_minutes([1, 2])
    with pytest.raises(TypeError, match="tuple of Phase"):
        ip.check_plan(None, ip.USABLE_MINUTES)


PLAN_JSON = DOCS / "assets" / "practice" / "plan.json"


def test_the_mock_interviews_plan_json_is_the_data():
    """The timer's JSON is generated from the module (regenerate with
    ``python -m snippets.framework.interview_plan --json > <file>``)."""
    assert PLAN_JSON.read_text(encoding="utf-8") == ip.plan_json(), (
        f"regenerate {PLAN_JSON.name}: python -m snippets.framework.interview_plan "
        "--json"
    )
    # Read it on its own terms: the phases, in order, fill the usable minutes.
    data = json.loads(PLAN_JSON.read_text(encoding="utf-8"))
    assert data["round_minutes"] == ip.ROUND_MINUTES
    assert data["usable_minutes"] == ip.USABLE_MINUTES
    rows = data["phases"]
    assert [(r["name"], r["minutes"], r["prompt"], r["board"]) for r in rows] == [
        (p.name, p.minutes, p.prompt, p.board) for p in ip.phases()
    ]
    end_before = 0
    for row in rows:
        assert (
            row["start"] == end_before and row["end"] - row["start"] == row["minutes"]
        )
        end_before = row["end"]
    assert end_before == ip.USABLE_MINUTES


def test_the_program_prints_the_json_when_asked():
    printed = subprocess.run(
        [sys.executable, "-m", "snippets.framework.interview_plan", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert printed == ip.plan_json()
