"""Flashcards from the built site: an Anki deck and a CSV, one note per self-check.

``python -m mlsd_docs.cards --site site --out-dir site`` (``make cards``) reads the
built HTML of every nav page, takes every block carrying ``data-mlsd-check`` (written at
build time by ``mlsd_docs/self_checks.py``) and writes ``mlsd-cards.apkg`` and
``mlsd-cards.csv``:

- front: the question as the page shows it (a ``??? question`` summary, or a
  ``!!! question`` box's title, without its "Self-check:" label, and whatever the box
  says before its folded answer);
- back: the answer's body as the site renders it (MathML kept, lazy templates expanded,
  code as plain ``<pre>``, links made absolute to ``site_url``) and a "Read on the
  site" link to the self-check: its ``q-`` anchor, else its ``data-mlsd-check`` value,
  which the site's progress script scrolls to;
- tags: the family (``framework``, ``concepts``, ``problems``...) and the page
  (``concepts::features``).

A card's id is ``<page path>#<data-mlsd-check>`` (the key progress.js uses too); the
note's guid is ``genanki.guid_for`` of that id, and the deck and model ids are fixed,
so re-importing a newer deck updates the cards instead of duplicating them. The card
style sets no colours: Anki's light or night theme chooses them.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from mlsd_docs.html_tree import (
    BLOCK,
    LAZY_ATTRIBUTE,
    Node,
    article,
    copy_node,
    drop,
    expand_templates,
    is_headerlink,
    plain_code,
    plain_text,
    serialize,
)
from mlsd_docs.self_checks import CHECK_ATTRIBUTE
from mlsd_docs.site import (
    mkdocs_config,
    nav_pages,
    parsed_site,
    require_built_site,
    site_argument,
    site_url,
)

# The guide's title as a book: the deck's name and the e-book's title.
BOOK_TITLE = "Machine-learning system design interviews: a runnable guide"
DECK_NAME = BOOK_TITLE
# Chosen once (random 31-bit numbers); never change them, or Anki makes a second deck.
DECK_ID = 1_706_449_813
MODEL_ID = 1_291_740_587
APKG_NAME = "mlsd-cards.apkg"
CSV_NAME = "mlsd-cards.csv"
CSV_HEADER = ["id", "page", "family", "question", "answer", "url"]
# Attributes the built pages carry for the site's scripts and search only.
_SITE_ATTRIBUTES = ("data-search-exclude", LAZY_ATTRIBUTE, CHECK_ATTRIBUTE)
_LABEL = re.compile(r"^\s*Self-check:\s*", re.IGNORECASE)


def built_page(site: Path, path: str) -> Path:
    return Path(site) / path / "index.html"


# ── Cleaning a block for reading off the site ───────────────────────────────
def strip_site_attributes(node: Node) -> None:
    for element in node.iter():
        for name in _SITE_ATTRIBUTES:
            element.attrs.pop(name, None)


def absolute_links(node: Node, base: str) -> None:
    """Relative href/src made absolute against the page's URL on the site."""
    for element in node.iter():
        for name in ("href", "src"):
            value = element.attrs.get(name)
            if value is not None:
                element.attrs[name] = urljoin(base, value)


def clean(nodes: list[Node | str], base: str) -> Node:
    """A fragment holding copies of nodes, made readable off the site."""
    fragment = Node(None, {}, [copy_node(n) for n in nodes])
    expand_templates(fragment)
    plain_code(fragment)
    drop(fragment, lambda n: is_headerlink(n) or n.tag in ("script", "input"))
    strip_site_attributes(fragment)
    absolute_links(fragment, base)
    return fragment


# ── Cards ────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Card:
    id: str  # "<page path>#<data-mlsd-check>"
    page: str  # "concepts/features/"
    family: str
    question_html: str
    question: str
    answer_html: str
    answer: str
    url: str
    tags: tuple[str, ...]


def family_of(path: str) -> str:
    return path.split("/")[0] or "home"


def page_tag(path: str) -> str:
    """'concepts/features/' -> 'concepts::features'; a family's index ends '::index'."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) == 1:
        parts.append("index")
    return "::".join(parts) or "home"


def question_and_answer(block: Node, where: str = "") -> tuple[list, list]:
    """(the nodes that ask, the nodes that answer) of a self-check block; ``where``
    (``page#check``) names it in errors."""
    where = where or block.attrs.get(CHECK_ATTRIBUTE) or "a self-check"
    if block.tag == "details":
        elements = block.elements()
        if not elements or elements[0].tag != "summary":
            raise ValueError(f"{where}: a ??? question fold needs a summary first")
        summary = elements[0]
        return summary.children, block.children[block.children.index(summary) + 1 :]
    answer = next((c for c in block.elements() if c.tag == "details"), None)
    if answer is None:
        raise ValueError(f"{where}: a !!! question box needs a folded answer")
    title = next((c for c in block.elements() if "admonition-title" in c.classes), None)
    if title is None:
        raise ValueError(f"{where}: a !!! question box needs a title")
    answer_parts = answer.elements()
    if not answer_parts or answer_parts[0].tag != "summary":
        raise ValueError(f"{where}: the folded answer needs a summary first")
    asked = block.children[
        block.children.index(title) + 1 : block.children.index(answer)
    ]
    ask = _without_label(title.children)
    if any(isinstance(c, Node) or c.strip() for c in asked):
        ask = [Node("p", {}, ask), *asked]
    start = answer.children.index(answer_parts[0]) + 1
    return ask, answer.children[start:]


def _without_label(children: list) -> list:
    """A box title's nodes without the "Self-check:" label in front."""
    if children and isinstance(children[0], str) and _LABEL.match(children[0]):
        rest = _LABEL.sub("", children[0], count=1)
        return [rest[:1].upper() + rest[1:], *children[1:]]
    return list(children)


def anchors_before(tree: Node) -> dict[int, str]:
    """For each self-check (by id()), the q- anchor placed just before it, if any."""
    found: dict[int, str] = {}
    pending: str | None = None
    for element in tree.iter():
        if CHECK_ATTRIBUTE in element.attrs:
            if pending:
                found[id(element)] = pending
            pending = None
        elif (element.attrs.get("id") or "").startswith("q-"):
            pending = element.attrs["id"]
        elif element.tag in BLOCK and element.tag != "p":
            pending = None  # an anchor names the block right after it only
    return found


def page_cards(site: Path, path: str, url: str) -> list[Card]:
    """The cards of one built page."""
    tree = article(built_page(site, path).read_text(encoding="utf-8"))
    base = url + path
    anchors = anchors_before(tree)
    cards = []
    for block in tree.iter():
        check = block.attrs.get(CHECK_ATTRIBUTE)
        if check is None:
            continue
        ask, answer = question_and_answer(block, f"{path}#{check}")
        question, body = clean(ask, base), clean(answer, base)
        # No q- anchor before it: the site's progress script scrolls to the check.
        anchor = block.attrs.get("id") or anchors.get(id(block)) or check
        link = f"{base}#{anchor}"
        family = family_of(path)
        cards.append(
            Card(
                id=f"{path}#{check}",
                page=path,
                family=family,
                question_html=serialize(question).strip(),
                question=" ".join(plain_text(question).split()),
                answer_html=serialize(body).strip(),
                answer=plain_text(body),
                url=link,
                tags=(family, page_tag(path)),
            )
        )
    return cards


def collect_cards(site: Path, config: dict | None = None) -> list[Card]:
    """Every self-check of every nav page, in nav order."""
    site = require_built_site(site)
    config = config or mkdocs_config()
    url = site_url(config)
    cards = [
        card for page in nav_pages(config) for card in page_cards(site, page.path, url)
    ]
    ids = [card.id for card in cards]
    if len(set(ids)) != len(ids):
        raise ValueError("two self-checks share an id")
    return cards


def csv_text(cards: list[Card]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for c in cards:
        writer.writerow([c.id, c.page, c.family, c.question, c.answer, c.url])
    return out.getvalue()


CARD_CSS = """\
.card { font-family: system-ui, sans-serif; font-size: 18px; line-height: 1.45;
  text-align: left; max-width: 42em; margin: 0 auto; }
pre { white-space: pre-wrap; font-size: 0.8em; background: rgba(127,127,127,.12);
  padding: .5em; border-radius: 4px; }
table { border-collapse: collapse; }
td, th { border: 1px solid #999; padding: 2px 6px; }
.code-title { font-family: monospace; font-size: .8em; margin-bottom: 0; }
.source { font-size: .85em; margin-top: 1.5em; }
"""


def model():
    import genanki

    return genanki.Model(
        MODEL_ID,
        "mlsd-guide self-check",
        fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Link"}],
        templates=[
            {
                "name": "Self-check",
                "qfmt": "{{Question}}",
                "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}'
                '<p class="source">{{Link}}</p>',
            }
        ],
        css=CARD_CSS,
    )


def note_fields(card: Card) -> list[str]:
    link = f'<a href="{html.escape(card.url)}">Read on the site</a>'
    return [card.question_html, card.answer_html, link]


def write_apkg(cards: list[Card], out: Path) -> Path:
    import genanki

    deck = genanki.Deck(DECK_ID, DECK_NAME)
    note_model = model()
    for card in cards:
        deck.add_note(
            genanki.Note(
                model=note_model,
                fields=note_fields(card),
                guid=genanki.guid_for(card.id),
                tags=list(card.tags),
            )
        )
    genanki.Package(deck).write_to_file(str(out))
    return Path(out)


def build(site: Path, out_dir: Path) -> tuple[Path, Path, int]:
    """Write the deck and the CSV into out_dir; return their paths and the count."""
    cards = collect_cards(site)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / CSV_NAME
    csv_path.write_text(csv_text(cards), encoding="utf-8", newline="")
    return write_apkg(cards, out_dir / APKG_NAME), csv_path, len(cards)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    out_help = f"where to write {APKG_NAME} and {CSV_NAME} (default: the site)"
    site_argument(parser)
    parser.add_argument("--out-dir", type=Path, default=None, help=out_help)
    args = parser.parse_args(argv)
    site = parsed_site(parser, args)
    apkg, csv_path, count = build(site, args.out_dir or site)
    print(f"{count} cards: {apkg} and {csv_path}")


if __name__ == "__main__":
    main()
