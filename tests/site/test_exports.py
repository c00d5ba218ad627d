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
from mlsd_docs import epub_check, html_tree, site
from mlsd_docs.html_tree import Node

# The deck and the e-book are downloads like the PDFs: `make test` builds and checks
# them (on one worker, each once), `make check` leaves them out to stay fast.
pytestmark = [pytest.mark.artifact, pytest.mark.xdist_group("exports")]
SITE_URL = site.site_url()
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
        if tag not in html_tree.VOID:
            self.path.append((tag, attributes.get("class") or ""))

    def handle_endtag(self, tag):
        if self.path is None or tag in html_tree.VOID:
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


def loose(text: str) -> str:
    """Text without spaces and the marks the CSV adds to math (c_fp, x^2, a/b, ())."""
    return re.sub(r"[\s_^()/\N{PILCROW SIGN}]", "", text)


def block_html(source: str, card_id: str) -> str:
    """The HTML from a self-check's opening tag to the next self-check."""
    start = source.index(f'data-mlsd-check="{card_id.partition("#")[2]}"')
    end = source.find("data-mlsd-check=", start + 1)
    return source[start : end if end > 0 else len(source)]


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
    # And the first answer with math, and the first "!!! question" box (title,
    # then a folded answer) of the site.
    chosen.append(
        next(
            row
            for row in rows
            if "<math" in block_html(article_html(built_site, row["page"]), row["id"])
        )
    )
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
        source = article_html(built_site, row["page"])
        # Math and sub/superscripts are written linearly in the CSV (c_fp, p_t).
        if re.search(r"<(math|sub|sup)\b", block_html(source, row["id"])):
            assert loose(row["answer"]) == loose(page_answer), row["id"]
        else:
            assert squeeze(row["answer"]) == page_answer, row["id"]
        asked = squeeze("".join(block.question)).removeprefix("Self-check: ")
        assert squeeze(row["question"]).startswith(asked[:1].upper() + asked[1:])
        assert not row["question"].startswith("Self-check")
        # The note's answer field says the same as its page, once its tags are gone.
        fields = notes[genanki.guid_for(row["id"])]
        field_text = _BlockText(None)
        field_text.feed(fields[1])
        assert squeeze("".join(field_text.answer)) == page_answer


def page_tag(page: str) -> str:
    """The tag a page's cards carry, spelled out: 'concepts/features/' ->
    'concepts::features', a family's own page 'concepts/' -> 'concepts::index'."""
    parts = page.strip("/").split("/")
    return "::".join(parts if len(parts) > 1 else [*parts, "index"])


def test_notes_read_back_with_stable_unique_ids(built_site, rows, deck, tmp_path):
    # The ids Anki matches a re-import by: pinned, so a change cannot slip through.
    assert (cards_module.DECK_ID, cards_module.MODEL_ID) == (
        1_706_449_813,
        1_291_740_587,
    )
    notes = notes_of(deck[0], tmp_path)
    guids = [guid for guid, _, _, _ in notes]
    assert guids == [genanki.guid_for(row["id"]) for row in rows]
    assert len(set(guids)) == len(guids)
    assert {mid for _, _, _, mid in notes} == {1_291_740_587}
    for (_, fields, tags, _), row in zip(notes, rows, strict=True):
        assert len(fields) == 3 and fields[0] and fields[1]
        assert sorted(tags) == sorted([row["family"], page_tag(row["page"])])
        assert f'href="{row["url"]}"' in fields[2] and "Read on the site" in fields[2]
        # Links in an answer are absolute: a card has no site around it.
        for link in re.findall(r'(?:href|src)="([^"]*)"', fields[0] + fields[1]):
            assert link.startswith(("https://", "http://", "mailto:")), link
    # Every card links to its self-check: the q- anchor before it, else the check's
    # own data-mlsd-check, which the site's progress script scrolls to.
    for row in rows:
        page, _, anchor = row["url"].removeprefix(SITE_URL).partition("#")
        assert page == row["page"] and anchor, row["id"]
    for row in rows[:: max(1, len(rows) // 25)]:
        anchor = row["url"].partition("#")[2]
        source = article_html(built_site, row["page"])
        assert f'id="{anchor}"' in source or f'data-mlsd-check="{anchor}"' in source
    # A second reading of the same site: the same CSV byte for byte, the same notes.
    again = cards_module.collect_cards(built_site)
    assert cards_module.csv_text(again).encode("utf-8") == deck[1].read_bytes()
    assert [genanki.guid_for(c.id) for c in again] == guids
    assert [cards_module.note_fields(c) for c in again] == [n[1] for n in notes]


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
    tree = html_tree.parse_html(page)
    block = tree.find_all("details")[0]
    _, answer = cards_module.question_and_answer(block)
    body = html_tree.serialize(cards_module.clean(answer, SITE_URL + "a/b/"))
    assert "<template" not in body and "data-search-exclude" not in body
    assert "<pre><code>def f(): return 1\n</code></pre>" in body
    assert '<p class="code-title">x.py</p>' in body
    assert cards_module.anchors_before(tree) == {id(block): "q-lazy"}


def test_box_fronts_math_text_style_and_bad_blocks():
    box = html_tree.parse_html(
        '<div class="admonition question" data-mlsd-check="q-x">'
        '<p class="admonition-title">Self-check: why <em>this</em>?</p>'
        '<details class="success"><summary>Answer</summary><p>Because '
        "<math><mfrac><msub><mi>c</mi><mi>fp</mi></msub><mrow><msub><mi>c</mi>"
        "<mi>fp</mi></msub><mo>+</mo><msub><mi>c</mi><mi>fn</mi></msub></mrow>"
        "</mfrac><mo>,</mo><msup><mi>x</mi><mn>2</mn></msup></math> and "
        "p<sub>t</sub>.</p></details></div>"
    ).elements()[0]
    ask, answer = cards_module.question_and_answer(box, "a/#q-x")
    front = html_tree.serialize(cards_module.clean(ask, SITE_URL))
    assert front == "Why <em>this</em>?"
    assert html_tree.plain_text(Node(None, {}, answer)) == (
        "Because c_fp/(c_fp+c_fn),x^2 and p_t."
    )
    # <style> text is raw in HTML ("a > b" stays), escaped in XHTML.
    style = html_tree.parse_html("<svg><style>#a .n>rect{fill:red}</style></svg>")
    assert "#a .n>rect" in html_tree.serialize(style)
    assert "#a .n&gt;rect" in html_tree.serialize(style, xml=True)
    # A box without its folded answer, or an empty fold: an error naming the check.
    bare = html_tree.parse_html('<div class="admonition question"><p>x</p></div>')
    with pytest.raises(ValueError, match=r"a/#q-y: .*needs a folded answer"):
        cards_module.question_and_answer(bare.elements()[0], "a/#q-y")
    empty = html_tree.parse_html("<details></details>").elements()[0]
    with pytest.raises(ValueError, match=r"a/#q-z: .*needs a summary"):
        cards_module.question_and_answer(empty, "a/#q-z")


# ── The e-book ───────────────────────────────────────────────────────────────
def test_epub_is_valid(book):
    assert epub_check.validate(book) == []


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
        if name.endswith("ch-05.xhtml"):  # loads through srcset, poster, file:, @import
            loads = (
                b'<img alt="" srcset="https://x.org/b.png 2x" />'
                b'<video poster="https://x.org/p.png"></video>'
                b'<img alt="" src="file:///etc/c.png" />'
            )
            data = data.replace(
                b"</head>", b'<style>@import "//x.org/s.css";</style></head>', 1
            )
            return data.replace(b"<body", b"<body>" + loads, 1)
        if name.endswith("ch-08.xhtml"):  # a fragment no element of ch-09 has
            return data.replace(b"<body", b'<body><a href="ch-09.xhtml#nope">x</a>', 1)
        if name.endswith("content.opf"):  # no modified date; ch-06 out of the spine
            data = re.sub(rb'<meta property="dcterms:modified">[^<]*</meta>', b"", data)
            return data.replace(b'<itemref idref="ch-06" />', b"", 1)
        if name.endswith("nav.xhtml"):  # ch-07 left out of the table of contents
            return data.replace(b'<a href="ch-07.xhtml">', b"<a>", 1)
        return data

    problems = epub_check.validate(_corrupt(book, tmp_path / "broken.epub", break_it))
    expected = [
        "manifest item fonts/dejavu-sans-bold.woff2 is not in the zip",
        "OEBPS/ch-03.xhtml: not well-formed",
        "OEBPS/ch-04.xhtml: loads a remote resource https://x.org/a.png",
        "OEBPS/ch-05.xhtml: loads a remote resource https://x.org/b.png",
        "OEBPS/ch-05.xhtml: loads a remote resource https://x.org/p.png",
        "OEBPS/ch-05.xhtml: img src=file:///etc/c.png loads through file:",
        "OEBPS/ch-05.xhtml: a style loads //x.org/s.css from outside the book",
        "OEBPS/ch-08.xhtml: a href=ch-09.xhtml#nope names no id there",
        "need one dcterms:modified",
        "OEBPS/nav.xhtml: a href=ch-06.xhtml: OEBPS/ch-06.xhtml is not in the spine",
        "OEBPS/ch-06.xhtml is not in the spine",
        "the nav does not list spine item ch-07",
    ]
    for message in expected:
        assert any(message in p for p in problems), (message, problems)
    # And nothing else: every problem comes from one of the breaks (the missing
    # font is also the style sheet's; every link to ch-06 reaches outside the spine).
    known = [*expected, "dejavu-sans-bold.woff2, which is not in the book"]
    assert [p for p in problems if not any(m in p for m in known)] == []

    # A corrupt member (its deflated bytes garbled) is reported, not a crash.
    garbled = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as source:
        info = source.getinfo("OEBPS/ch-10.xhtml")
    header = garbled[info.header_offset + 26 : info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(header[:2], "little")
    start += int.from_bytes(header[2:], "little") + info.compress_size // 2
    garbled[start : start + 16] = bytes(16)
    (tmp_path / "garbled.epub").write_bytes(bytes(garbled))
    problems = epub_check.validate(tmp_path / "garbled.epub")
    assert any(p.startswith("OEBPS/ch-10.xhtml: cannot be read") for p in problems)

    # mimetype compressed, and a file the manifest does not list.
    stored = tmp_path / "compressed.epub"
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(stored, "w") as target:
        for info in source.infolist():
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(copy, source.read(info))
        target.writestr("OEBPS/stray.xhtml", "<html/>")
    problems = epub_check.validate(stored)
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
    # Nav order, without the two JavaScript tools an e-book cannot run.
    left_out = ["practice/mock-interview/", "practice/review/"]
    nav = [page_url(name) for name in nav_pages()]
    assert set(left_out) <= set(nav) and "practice/" in nav
    assert pages == [page for page in nav if page not in left_out]
    for (file, html), page in zip(found, pages, strict=True):
        source = article_html(built_site, page)
        # Every diagram of the page, drawn (inline SVG in the SVG namespace).
        assert len(list(html.iter(SVG))) == source.count("<svg"), file
        # Every self-check and every fold, an open section with its summary as a
        # heading (no details: old reading systems cannot open them); no template.
        assert not list(html.iter(f"{XHTML}details")), file
        folds = [
            s for s in html.iter(f"{XHTML}section") if "fold" in s.get("class", "")
        ]
        assert len(folds) == source.count("<details"), file
        titled = [
            fold
            for fold in folds
            if len(fold)
            and re.fullmatch(rf"{re.escape(XHTML)}h[2-6]", fold[0].tag)
            and fold[0].get("class") == "fold-title"
        ]
        assert len(titled) == source.count("<summary"), file
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
