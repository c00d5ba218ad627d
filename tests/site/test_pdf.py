"""`make pdf` makes a real book: every chapter, diagrams drawn, nothing off the page."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest
from guide import DOCS, mkdocs_config, nav_pages, page_text

from mlsd_docs import pdf
from mlsd_docs.site import serve

# One worker prints (`--dist loadgroup`, Makefile): the print group has the most
# tests, so xdist hands it out first and the other worker runs the page checks
# meanwhile, rather than both waiting on the book's lock for a minute and a half.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("print")]
POINTS_PER_MM = 72 / 25.4
ONE_PAGE_PRINTS = ["framework/45-minute-plan/", "framework/whiteboard-template/"]


def printed_pages() -> list[str]:
    """Markdown files in nav order, minus those the print plugin excludes."""
    plugins = mkdocs_config()["plugins"]
    plugin = next(p for p in plugins if isinstance(p, dict) and "print-site" in p)
    excluded = set(plugin["print-site"].get("exclude", []))
    return [name for name in nav_pages() if name not in excluded]


def h1(markdown: str) -> str:
    return next(
        line[2:].strip() for line in markdown.splitlines() if line.startswith("# ")
    )


@pytest.fixture(scope="session")
def book(print_site, browser, run_once):
    """Print the book once per run (any worker), next to its print build."""

    def make(run_dir):
        return str(pdf.build_pdf(print_site, print_site / "mlsd-guide.pdf", browser))

    path = run_once("book", make)
    return print_site, Path(path)


@pytest.fixture(scope="session")
def reader(book):
    return pypdf.PdfReader(book[1])


def pdftotext(pdf_path, *options: str) -> str:
    """Poppler's pdftotext (fast, C): the text of a PDF, or its words with boxes."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext not found: apt-get install poppler-utils")
    command = ["pdftotext", *options, str(pdf_path), "-"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="session")
def book_text(book) -> str:
    return re.sub(r"\s+", " ", pdftotext(book[1]))


class _Words(HTMLParser):
    """Collects (page, width, word, xMin, xMax, yMax) from pdftotext -bbox output."""

    def __init__(self) -> None:
        super().__init__()
        self.page = 0
        self.width = 0.0
        self.height = 0.0
        self.words: list[tuple[int, float, float, str, float, float, float]] = []
        self._box: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "page":
            self.page += 1
            self.width = float(attributes["width"])
            self.height = float(attributes["height"])
        elif tag == "word":
            self._box = attributes

    def handle_data(self, data):
        if self._box is not None:
            box = self._box
            self.words.append(
                (
                    self.page,
                    self.width,
                    self.height,
                    data,
                    float(box["xmin"]),
                    float(box["xmax"]),
                    float(box["ymax"]),
                )
            )
            self._box = None


def test_page_count_is_within_bounds(reader):
    n_chapters = len(printed_pages())
    assert n_chapters + 2 <= len(reader.pages) <= 40 * n_chapters


def test_bookmarks_list_every_chapter_in_nav_order(reader):
    # Bookmark titles lose the space at a line break ("diversityand"): compare letters.
    def squeeze(title: str) -> str:
        return re.sub(r"\W+", "", title)

    top_level = [
        squeeze(item.title) for item in reader.outline if not isinstance(item, list)
    ]
    titles = [squeeze(h1(page_text(name))) for name in printed_pages()]
    positions, start = [], 0
    for title in titles:
        assert title in top_level[start:], f"chapter {title!r} missing or out of order"
        start = top_level.index(title, start) + 1
        positions.append(start)
    assert positions == sorted(positions)


def test_text_holds_every_chapter_title_and_folded_answers(book_text):
    text = book_text
    for name in printed_pages():
        assert h1(page_text(name)) in text
    # A folded answer of the demo page: closed on screen, open on paper.
    assert "When a false positive costs more than a false negative" in text


def test_every_diagram_is_drawn_not_left_as_source(book, book_text):
    site, _ = book
    html = (site / "print_page" / "index.html").read_text(encoding="utf-8")
    fences = sum(page_text(name).count("```mermaid") for name in printed_pages())
    assert len(re.findall(r'<div class="diagram"[^>]*><svg', html)) == fences
    assert "language-mermaid" not in html
    assert "flowchart LR" not in book_text and "-->" not in book_text


def test_no_text_runs_outside_the_printable_area(book):
    margin = {side: mm * POINTS_PER_MM for side, mm in pdf.MARGIN_MM.items()}
    words = _Words()
    words.feed(pdftotext(book[1], "-bbox"))
    assert words.page > 0 and words.words
    outside = [
        (page, word, round(x_min), round(x_max))
        for page, width, height, word, x_min, x_max, y_max in words.words
        if y_max < height - margin["bottom"]  # the page number lives in the margin box
        and (x_min < margin["left"] - 1 or x_max > width - margin["right"] + 1)
    ]
    assert not outside, f"text in the margins (page, word, x0, x1): {outside[:10]}"


# A one-page sheet must fit with room to spare, so that a browser or font difference
# cannot push its last line onto a second sheet: its text ends above this share of
# the printable height (measured: 82% for the 45-minute plan, 65% for the template).
ONE_PAGE_MAX_FILL = 0.92


@pytest.mark.parametrize("path", ONE_PAGE_PRINTS)
def test_cheat_sheets_print_on_one_page_with_room_to_spare(
    built_site, browser, path, tmp_path
):
    assert (DOCS / (path.rstrip("/") + ".md")).is_file()
    out = tmp_path / "sheet.pdf"
    with serve(built_site) as base:
        pdf.print_url(browser, base + path, out)
    assert len(pypdf.PdfReader(out).pages) == 1
    words = _Words()
    words.feed(pdftotext(out, "-bbox"))
    top = pdf.MARGIN_MM["top"] * POINTS_PER_MM
    printable = words.height - top - pdf.MARGIN_MM["bottom"] * POINTS_PER_MM
    lowest = max(y_max for *_, y_max in words.words)
    fill = (lowest - top) / printable
    assert fill <= ONE_PAGE_MAX_FILL, f"/{path} fills {fill:.0%} of its page"


# ── Contents with page numbers, nothing left alone at a page end ─────────────
CONTENTS_LINE = re.compile(
    r"^\s*(?:\d+\.\s+)?(?P<title>\S.*?\S)\s{2,}(?P<page>\d+)\s*$"
)


def _contents_lines(text: str) -> list[tuple]:
    return [
        (match["title"], int(match["page"]))
        for line in text.splitlines()
        if (match := CONTENTS_LINE.match(line)) and not line.strip().startswith("Page ")
    ]


def contents_entries(pages_text: list[str], first: int) -> list[tuple]:
    """(title, page) for every 'Title ..... N' line of the contents that starts on
    page ``first`` (1-based) and runs over every following page that has such lines:
    the contents grow onto more pages as the guide grows."""
    entries: list[tuple] = []
    for text in pages_text[first - 1 :]:
        lines = _contents_lines(text)
        if not lines:
            break
        entries += lines
    return entries


def starts_on(pages_text: list[str], title: str, page: int) -> bool:
    """The title is printed on that page (whitespace and hyphenation aside)."""
    squeeze = lambda s: re.sub(r"\W+", "", s).lower()  # noqa: E731
    return squeeze(title) in squeeze(pages_text[page - 1])


def nav_items(nav: list) -> list[dict]:
    """Every {label: target} of a nav tree, sections included, depth first."""
    found = []
    for item in nav:
        if isinstance(item, dict):
            found.append(item)
            for value in item.values():
                if isinstance(value, list):
                    found += nav_items(value)
    return found


@pytest.fixture(scope="session")
def book_pages(book) -> list[str]:
    return pdf.pdf_pages_text(book[1])


def test_contents_give_the_page_each_chapter_starts_on(book_pages):
    entries = contents_entries(book_pages, 2)
    # One line per printed page, plus one per nav section.
    assert len(entries) >= len(printed_pages()), entries
    # The contents use nav labels; a page may print another title ("Home" is the
    # page "mlsd-guide").
    printed_as = {
        label: h1(page_text(target))
        for item in nav_items(mkdocs_config()["nav"])
        for label, target in item.items()
        if isinstance(target, str)
    }
    wrong = [
        (t, p)
        for t, p in entries
        if not starts_on(book_pages, t, p)
        and not starts_on(book_pages, printed_as.get(t, t), p)
    ]
    assert not wrong, f"contents entries not on their page: {wrong[:5]}"
    pages = [p for _, p in entries]
    assert pages == sorted(pages)


def last_lines(pages_text: list[str]) -> list[tuple[int, str]]:
    """The last line of text above the footer on every page."""
    out = []
    for number, text in enumerate(pages_text, start=1):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not re.fullmatch(r"(Page )?\d+", ln)]
        if lines:
            out.append((number, lines[-1]))
    return out


def test_no_code_caption_or_tab_label_ends_a_page(book, book_pages):
    html = (book[0] / "print_page" / "index.html").read_text(encoding="utf-8")
    captions = set(re.findall(r'<span class="filename">([^<]+)</span>', html))
    tab_labels = {
        label.strip()
        for label in re.findall(r"<label[^>]*>([^<]+)</label>", html)
        if label.strip()
    }
    assert captions and tab_labels
    alone = [
        (page, line)
        for page, line in last_lines(book_pages)
        if line in captions or line in tab_labels
    ]
    assert not alone, f"left alone at the end of a page: {alone}"


# ── The interview edition ────────────────────────────────────────────────────
@pytest.fixture(scope="session")
def edition(built_site, browser, run_once):
    """Print the interview edition once per run, next to its build (CI publishes it)."""
    out = built_site.parent / "mlsd-interview-edition.pdf"

    def make(run_dir):
        return pdf.build_interview_edition(built_site, out, browser)

    made = run_once("edition", make)
    return made, pdf.pdf_pages_text(out), out


def test_edition_holds_plan_template_problems_and_every_answer(edition):
    from guide import checklist

    made, pages_text, _ = edition
    problems = [
        n for n in nav_pages() if n.startswith("problems/") and "index" not in n
    ]
    assert made == {"problems": len(problems), "answers": len(checklist())}
    text = re.sub(r"\s+", " ", " ".join(pages_text))
    for name in ["framework/45-minute-plan.md", "framework/whiteboard-template.md"]:
        assert h1(page_text(name)) in text
    for name in problems:
        assert h1(page_text(name)) in text
    assert text.count("How an interviewer scores it") == len(problems)
    assert text.count("The design on one page") == len(problems)
    # Questions first, answers at the back: the last question comes before "Answers".
    last = checklist()[-1].question
    assert text.index(last[:40]) < text.rindex("Answers") < text.rindex(last[:40])


def test_edition_contents_give_the_right_pages(edition):
    _, pages_text, out = edition
    entries = contents_entries(pages_text, 1)
    assert [t for t, _ in entries][-2:] == ["The checklist", "Answers"], entries
    wrong = [(t, p) for t, p in entries if not starts_on(pages_text, t, p)]
    assert not wrong, wrong
    assert len(pypdf.PdfReader(out).pages) == len(pages_text) - 1  # \f-terminated
