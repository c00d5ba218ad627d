"""Every page has the shape the rubric asks for (shared/RUBRIC.md)."""

from __future__ import annotations

import re

import pytest
import yaml
from guide import DOCS, checklist, page_text

PROBLEM_SECTIONS = [
    "The prompt",
    "Clarifying questions",
    "Framing as an ML task",
    "Metrics",
    "Back-of-envelope estimation",
    "Architecture",
    "Data and labels",
    "Features",
    "Model",
    "Evaluation",
    "Serving",
    "Monitoring and iteration",
    "Trade-offs, pitfalls and the Staff answer",
    "Follow-up questions",
    "Runnable miniature",
    "Further reading",
    "How an interviewer scores it",
]
PROBLEMS = sorted(
    p.name for p in (DOCS / "problems").glob("*.md") if p.name != "index.md"
)
FAMILIES = sorted(
    p.name for p in (DOCS / "concepts").glob("*.md") if p.name != "index.md"
)
STEPS = [
    "problem-clarification.md",
    "high-level-architecture.md",
    "data.md",
    "features.md",
    "model-development.md",
    "evaluation.md",
    "deployment-and-serving.md",
    "monitoring.md",
]
FOLDED_QUESTION = re.compile(r"^\s*\?\?\?\+? question ", re.M)
LINK = re.compile(r"\]\((https?://[^)]+)\)")


def h2_headings(text: str) -> list[str]:
    return [
        re.sub(r"\s*\{[^}]*\}\s*$", "", line[3:]).strip()
        for line in text.splitlines()
        if line.startswith("## ")
    ]


@pytest.mark.parametrize("name", PROBLEMS)
def test_problem_has_the_seventeen_sections_in_order(name):
    assert h2_headings(page_text(f"problems/{name}")) == PROBLEM_SECTIONS


def section(text: str, heading: str) -> str:
    """The body of one h2 section (up to the next h2)."""
    match = re.search(
        rf"^## {re.escape(heading)}.*?$(.*?)(?=^## |\Z)", text, re.M | re.S
    )
    assert match, f"no section {heading!r}"
    return match.group(1)


@pytest.mark.parametrize("name", PROBLEMS)
def test_problem_opens_with_the_prompt_and_folds_the_design(name):
    """Readers try the problem first: the design is one click away, not shown."""
    prompt = section(page_text(f"problems/{name}"), "The prompt")
    assert re.search(r"^\?\?\? \w+ \"The design on one page\"", prompt, re.M), (
        'fold the whiteboard summary: ??? abstract "The design on one page"'
    )
    assert "whiteboard-template.md" in prompt, "link the blank template to practise on"


@pytest.mark.parametrize("name", PROBLEMS)
def test_problem_has_variants_and_a_scoring_table(name):
    text = page_text(f"problems/{name}")
    assert re.search(r"^### Variants", text, re.M), "a Variants note"
    scoring = section(text, "How an interviewer scores it").lower()
    for column in ("lean hire", "hire", "strong hire", "red flag"):
        assert column in scoring, f"scoring table lacks {column!r}"
    rows = [line for line in scoring.splitlines() if line.startswith("|")]
    assert len(rows) >= 2 + 8, "a header, a rule and a row per step"


@pytest.mark.parametrize("name", PROBLEMS)
def test_problem_has_diagram_follow_ups_miniature_and_references(name):
    text = page_text(f"problems/{name}")
    assert text.count("```mermaid") >= 1
    assert len(FOLDED_QUESTION.findall(text)) >= 5, "at least five folded follow-ups"
    assert 'title="python -m snippets.problems.' in text, "the miniature's output"
    assert len(LINK.findall(text)) >= 3, "at least three real references with links"


@pytest.mark.parametrize("name", FAMILIES)
def test_concept_family_has_folded_self_checks_and_references(name):
    text = page_text(f"concepts/{name}")
    assert len(FOLDED_QUESTION.findall(text)) >= 3
    assert len(LINK.findall(text)) >= 2


@pytest.mark.parametrize("name", STEPS)
def test_framework_step_ends_with_three_folded_self_checks(name):
    text = page_text(f"framework/{name}")
    assert len(FOLDED_QUESTION.findall(text)) >= 3


@pytest.mark.parametrize("path", sorted(DOCS.rglob("*.md")), ids=lambda p: p.name)
def test_every_page_has_a_description_for_search_engines(path):
    text = path.read_text(encoding="utf-8")
    found = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert found, "no front matter"
    # Parsed as MkDocs parses it: a ': ' inside an unquoted value is invalid YAML,
    # and MkDocs then treats the whole block as text (no title, no description).
    meta = yaml.safe_load(found[1])
    description = meta.get("description") if isinstance(meta, dict) else None
    assert isinstance(description, str) and len(description) >= 40, meta


def test_checklist_has_130_questions_linked_to_every_family():
    items = checklist()
    assert len(items) >= 130
    assert [item.number for item in items] == list(range(1, len(items) + 1))
    assert all(item.question.rstrip().endswith(("?", ".")) for item in items)
    concept_pages = {
        i.page.split("/")[1] for i in items if i.page.startswith("concepts/")
    }
    assert concept_pages == set(FAMILIES)
    # Each link lands on an explicit heading id or a heading of the family page; the
    # strict build checks the anchors, this checks they are not all the same one.
    assert len({(item.page, item.anchor) for item in items}) == len(items)


# What a candidate says in the room never points at this guide's test suite or code.
CITES_OUR_TESTS = re.compile(
    r"\btest_\w+|\bpytest\b|\btests?/\w|\bthe tests? (?:check|assert|compare|fail)"
    r"|\bour (?:test suite|tests|snippet|code)\b",
    re.I,
)
ANSWER_OPENER = re.compile(r"^(?P<indent>\s*)(?:\?\?\?\+?|!!!) (?:question|success)\b")


def answer_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line inside a question or answer block."""
    found, indent = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        if opener := ANSWER_OPENER.match(line):
            indent = len(opener["indent"])
            continue
        if indent is not None and line.strip():
            if len(line) - len(line.lstrip()) <= indent:
                indent = None
            else:
                found.append((number, line))
    return found


@pytest.mark.parametrize("path", sorted(DOCS.rglob("*.md")), ids=lambda p: p.name)
def test_interview_answers_never_cite_the_test_suite(path):
    text = path.read_text(encoding="utf-8")
    citing = [
        (n, ln.strip()) for n, ln in answer_lines(text) if CITES_OUR_TESTS.search(ln)
    ]
    assert not citing, f"answers that cite our tests or code: {citing[:5]}"


def test_the_answer_scanner_finds_what_it_must():
    text = '??? question "Q"\n\n    The test_x_y checks this.\n\nOutside test_z.\n'
    assert answer_lines(text) == [(3, "    The test_x_y checks this.")]
    assert CITES_OUR_TESTS.search("the tests check it")
    assert not CITES_OUR_TESTS.search("an A/B test checks it")


# Formulas are written for MathML (\( \) inline, $$ display): a sum, root, chi-square,
# TeX sub/superscript or a ~subscript~ in an equation left in plain prose is a formula
# the reader sees as code-like text.
FORMULA_IN_PROSE = re.compile(r"[√Σ∑]|χ²|_\{|\^\{|~[a-z]{1,3}~ *[=·]")


def prose_outside_math(text: str) -> list[tuple[int, str]]:
    """(line number, text) of prose lines, with code, inline code and math removed."""
    out, fenced, display = [], False, False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if stripped == "$$":
            display = not display
            continue
        if fenced or display:
            continue
        line = re.sub(r"\\\(.+?\\\)", " ", line)
        out.append((number, re.sub(r"`[^`]*`", " ", line)))
    return out


@pytest.mark.parametrize("path", sorted(DOCS.rglob("*.md")), ids=lambda p: p.name)
def test_formulas_are_written_as_math(path):
    text = path.read_text(encoding="utf-8")
    plain = [
        (n, ln.strip())
        for n, ln in prose_outside_math(text)
        if FORMULA_IN_PROSE.search(ln)
    ]
    assert not plain, f"formulas outside \\( \\) or $$: {plain[:5]}"


def test_the_problems_index_lists_the_sections_every_problem_has():
    rows = re.findall(r"^\| \d+ \| ([^|]+?) \|", page_text("problems/index.md"), re.M)
    assert rows == PROBLEM_SECTIONS


def test_the_problems_index_has_a_row_per_problem_with_family_task_and_variants():
    """Each problem once, in the table readers choose from, with every column filled."""
    table = section(page_text("problems/index.md"), "The problems")
    rows = [line for line in table.splitlines() if line.startswith("| [")]
    linked = [re.search(r"\]\(([\w-]+\.md)\)", row)[1] for row in rows]
    assert sorted(linked) == PROBLEMS
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 5 and all(cells), f"five filled columns: {row}"
