"""`make cards` and `make epub`: a deck with one note per self-check, and an EPUB 3
that holds every chapter in nav order, every diagram and every answer, open.

Each artifact is built once per run (``run_once``) into the run's directory, or into
$MLSD_BUILD_DIR, from where CI publishes it next to the PDFs.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import genanki
import pytest
from guide import nav_pages, page_url

from mlsd_docs import cards as cards_module
from mlsd_docs import epub as epub_module

SITE_URL = cards_module.site_url()
BOX = '<div class="admonition question" data-mlsd-check="{}"'
CHECK = re.compile(r'data-mlsd-check="([^"]+)"')
XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}svg"


def article_html(site: Path, path: str) -> str:
    text = (site / path / "index.html").read_text(encoding="utf-8")
    return text[text.find("<article") : text.find("</article>")]


@pytest.fixture(scope="session")
def deck(built_site, run_once):
    """(apkg, csv) built once per run from the tested site."""

    def make(run_dir):
        apkg, csv_path, _ = cards_module.build(built_site, Path(run_dir))
        return [str(apkg), str(csv_path)]

    apkg, csv_path = run_once("cards", make)
    return Path(apkg), Path(csv_path)


@pytest.fixture(scope="session")
def rows(deck):
    text = deck[1].read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="session")
def book(built_site, run_once):
    def make(run_dir):
        out = Path(run_dir) / epub_module.EPUB_NAME
        return str(epub_module.build_epub(built_site, out))

    return Path(run_once("epub", make))


def notes_of(apkg: Path, tmp: Path) -> list[tuple]:
    """(guid, fields, tags, model id) of every note, read back with sqlite3."""
    with zipfile.ZipFile(apkg) as package:
        package.extract("collection.anki2", tmp)
    with sqlite3.connect(tmp / "collection.anki2") as db:
        notes = db.execute("select guid, flds, tags, mid from notes order by id")
        found = [(g, f.split("\x1f"), t.split(), m) for g, f, t, m in notes]
        decks = {did for (did,) in db.execute("select did from cards")}
    assert decks == {cards_module.DECK_ID}
    return found


# ── The deck ─────────────────────────────────────────────────────────────────
def test_one_card_per_self_check_of_every_nav_page(built_site, rows, deck, tmp_path):
    expected = [
        f"{page_url(name)}#{check}"
        for name in nav_pages()
        for check in CHECK.findall(article_html(built_site, page_url(name)))
    ]
    assert len(expected) > 300  # the site has hundreds; a parse slip would show
    assert [row["id"] for row in rows] == expected
    assert len(notes_of(deck[0], tmp_path)) == len(expected)


class _BlockText(HTMLParser):
    """Question and answer text of one self-check, read independently of
    mlsd_docs.cards: text is sorted by the block's child it sits in (the summary or
    the admonition title asks; the body, or the folded details' body, answers)."""

    def __init__(self, check: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.check, self.path = check, [] if check is None else None
        self.form = "details"
        self.question: list[str] = []
        self.answer: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self.path is None:
            if attributes.get("data-mlsd-check") == self.check:
                self.path, self.form = [], tag
            return
        if tag not in cards_module.VOID:
            self.path.append((tag, attributes.get("class") or ""))

    def handle_endtag(self, tag):
        if self.path is None or tag in cards_module.VOID:
            return
        if not self.path:
            self.path = None  # the block ends
            self.check = object()  # and is not entered again
        else:
            self.path.pop()

    def handle_data(self, data):
        if self.path is None:
            return
        top = self.path[0] if self.path else ("", "")
        if self.form == "details":
            asks = top[0] == "summary"
            answers = not asks
        else:
            asks = "admonition-title" in top[1]
            answers = top[0] == "details" and (
                len(self.path) < 2 or self.path[1][0] != "summary"
            )
        if asks:
            self.question.append(data)
        elif answers:
            self.answer.append(data)


def squeeze(text: str) -> str:
    return " ".join(text.replace("\N{PILCROW SIGN}", "").split())


def spread(rows: list[dict], per_family: int = 3) -> list[dict]:
    """The first, middle and last card of each family."""
    chosen = []
    for family in sorted({row["family"] for row in rows}):
        mine = [row for row in rows if row["family"] == family]
        picks = {0, len(mine) // 2, len(mine) - 1}
        chosen += [mine[i] for i in sorted(picks)[:per_family]]
    return chosen


def test_answers_match_their_pages(built_site, rows, deck, tmp_path):
    chosen = spread(rows)
    # And the first "!!! question" box (title, then a folded answer) of the site.
    boxes = [
        row
        for row in rows
        if BOX.format(row["id"].partition("#")[2])
        in article_html(built_site, row["page"])
    ]
    chosen.append(boxes[0])
    assert len(chosen) >= 6 and {row["family"] for row in chosen} >= {
        "framework",
        "concepts",
        "problems",
    }
    notes = {guid: fields for guid, fields, _, _ in notes_of(deck[0], tmp_path)}
    for row in chosen:
        block = _BlockText(row["id"].partition("#")[2])
        block.feed(article_html(built_site, row["page"]))
        page_answer = squeeze("".join(block.answer))
        assert len(page_answer) > 40, row["id"]
        assert squeeze(row["answer"]) == page_answer, row["id"]
        assert squeeze(row["question"]).startswith(squeeze("".join(block.question)))
        # The note's answer field says the same as its page, once its tags are gone.
        fields = notes[genanki.guid_for(row["id"])]
        field_text = _BlockText(None)
        field_text.feed(fields[1])
        assert squeeze("".join(field_text.answer)) == page_answer


def test_notes_read_back_with_stable_unique_ids(built_site, rows, deck, tmp_path):
    notes = notes_of(deck[0], tmp_path / "first")
    guids = [guid for guid, _, _, _ in notes]
    assert guids == [genanki.guid_for(row["id"]) for row in rows]
    assert len(set(guids)) == len(guids)
    assert {mid for _, _, _, mid in notes} == {cards_module.MODEL_ID}
    for (_, fields, tags, _), row in zip(notes, rows, strict=True):
        assert len(fields) == 3 and fields[0] and fields[1]
        assert row["url"].startswith(SITE_URL + row["page"])
        assert f'href="{row["url"]}"' in fields[2] and "Read on the site" in fields[2]
        assert row["family"] in tags and any("::" in tag for tag in tags)
        # Links in an answer are absolute: a card has no site around it.
        for link in re.findall(r'(?:href|src)="([^"]*)"', fields[0] + fields[1]):
            assert link.startswith(("https://", "http://", "mailto:")), link
    # Most checks name a q- anchor; those anchors exist on their page.
    anchored = [row for row in rows if "#" in row["url"]]
    assert len(anchored) > len(rows) // 2
    for row in anchored[:: max(1, len(anchored) // 20)]:
        anchor = row["url"].partition("#")[2]
        assert f'id="{anchor}"' in article_html(built_site, row["page"])
    # A second build from the same site: the same CSV byte for byte, the same notes.
    apkg, csv_path, _ = cards_module.build(built_site, tmp_path / "again")
    assert csv_path.read_bytes() == deck[1].read_bytes()
    again = notes_of(apkg, tmp_path / "second")
    assert [n[:3] for n in again] == [n[:3] for n in notes]


def test_lazy_answers_are_expanded_and_code_kept_as_pre():
    page = (
        '<article><p><a id="q-lazy"></a></p>'
        '<details class="question" data-mlsd-check="q-why">'
        "<summary>Why?</summary><p data-search-exclude>Because.</p>"
        '<details class="example"><summary>Show the code</summary>'
        '<template data-mlsd-lazy=""><div class="language-python highlight">'
        '<span class="filename">x.py</span><pre><span></span><code>'
        '<span class="k">def</span> f(): <a href="../y/">return</a> 1\n'
        "</code></pre></div></template></details></details></article>"
    )
    tree = cards_module.parse_html(page)
    block = tree.find_all("details")[0]
    _, answer = cards_module.question_and_answer(block)
    body = cards_module.serialize(cards_module.clean(answer, SITE_URL + "a/b/"))
    assert "<template" not in body and "data-search-exclude" not in body
    assert "<pre><code>def f(): return 1\n</code></pre>" in body
    assert '<p class="code-title">x.py</p>' in body
    assert cards_module.anchors_before(tree) == {id(block): "q-lazy"}


# ── The e-book ───────────────────────────────────────────────────────────────
def test_epub_is_valid(book):
    assert epub_module.validate(book) == []


def _corrupt(book: Path, out: Path, change) -> Path:
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = change(info.filename, source.read(info))
            if data is not None:
                copy = zipfile.ZipInfo(info.filename, info.date_time)
                copy.compress_type = info.compress_type
                target.writestr(copy, data)
    return out


def test_validator_reports_a_broken_copy(book, tmp_path):
    def break_it(name, data):
        if name.endswith("fonts/dejavu-sans-bold.woff2"):
            return None  # a manifest item missing from the zip
        if name.endswith("ch-03.xhtml"):
            return data.replace(b"</section>", b"", 1)  # not well-formed
        if name.endswith("ch-04.xhtml"):
            return data.replace(b"<body", b'<body><img src="https://x.org/a.png" />', 1)
        return data

    problems = epub_module.validate(_corrupt(book, tmp_path / "broken.epub", break_it))
    assert any("dejavu-sans-bold.woff2 is not in the zip" in p for p in problems)
    assert any("ch-03.xhtml: not well-formed" in p for p in problems)
    assert any("remote resource https://x.org/a.png" in p for p in problems)

    # mimetype compressed, and a file the manifest does not list.
    stored = tmp_path / "compressed.epub"
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(stored, "w") as target:
        for info in source.infolist():
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(copy, source.read(info))
        target.writestr("OEBPS/stray.xhtml", "<html/>")
    problems = epub_module.validate(stored)
    assert any("mimetype must be stored" in p for p in problems)
    assert any(
        "stray.xhtml is in the zip but not in the manifest" in p for p in problems
    )


def chapters(book: Path) -> list[tuple[str, ElementTree.Element]]:
    """(file, parsed XHTML) of every chapter in spine order, but the nav document."""
    with zipfile.ZipFile(book) as epub:
        opf = ElementTree.fromstring(epub.read(epub_module.OPF_PATH))
        ns = "{http://www.idpf.org/2007/opf}"
        items = {
            item.get("id"): item for item in opf.iterfind(f"{ns}manifest/{ns}item")
        }
        found = []
        for ref in opf.iterfind(f"{ns}spine/{ns}itemref"):
            item = items[ref.get("idref")]
            if "nav" in (item.get("properties") or "").split():
                continue
            href = item.get("href")
            found.append((href, ElementTree.fromstring(epub.read("OEBPS/" + href))))
    return found


def test_chapters_in_nav_order_with_every_diagram_and_open_answer(built_site, book):
    found = chapters(book)
    pages = [
        body.get("data-mlsd-page")
        for _, html in found
        for body in html.iter(f"{XHTML}body")
    ]
    assert pages == [page_url(name) for name in nav_pages()]
    for (file, html), page in zip(found, pages, strict=True):
        source = article_html(built_site, page)
        # Every diagram of the page, drawn (inline SVG in the SVG namespace).
        assert len(list(html.iter(SVG))) == source.count("<svg"), file
        # Every self-check and every fold, open; no lazy template left.
        details = list(html.iter(f"{XHTML}details"))
        assert len(details) == source.count("<details"), file
        assert all(d.get("open") == "open" for d in details), file
        checks = [
            d.get("data-mlsd-check") for d in html.iter() if d.get("data-mlsd-check")
        ]
        assert checks == CHECK.findall(source), file
        assert not list(html.iter(f"{XHTML}template")), file
        # What EPUB's schemas reject and browsers forgive: block paragraphs in a
        # diagram's label spans, markup inside a MathML operator (a text token).
        for label in html.iter("{http://www.w3.org/2000/svg}foreignObject"):
            assert not list(label.iter(f"{XHTML}p")), file
        for operator in html.iter("{http://www.w3.org/1998/Math/MathML}mo"):
            assert len(operator) == 0, file
        # Every figure, copied into the book (validate() checks the file is there).
        assert len(list(html.iter(f"{XHTML}img"))) == source.count("<img"), file
        # Listings are plain text in <pre>: the page's code lines are all there.
        assert len(list(html.iter(f"{XHTML}pre"))) == source.count("<pre"), file
    total_svg = sum(len(list(html.iter(SVG))) for _, html in found)
    assert total_svg > 10
