"""The guide as an EPUB 3 e-book, built from the site.

``python -m mlsd_docs.epub --site site --out site/mlsd-guide.epub`` (``make epub``)
writes one XHTML chapter per nav page, in nav order, from the page's ``<article>``:
Mermaid diagrams stay inline SVG (labels in XHTML's namespace, their font embedded)
and MathML stays MathML; folds become open sections with a heading and lazy listings
are expanded; listings are plain ``<pre>`` text, wrapped like wide tables and figures
on small screens; content tabs become labelled sections; links between pages point at
the chapters, other site links at the published site; images are copied in. The
mock interview and the review queue are left out (they are JavaScript tools); the
Practice hub stays for its advice and downloads. ``mlsd_docs.epub_check.validate``
then checks the book: ``make epub`` fails on any problem it reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import posixpath
import sys
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree import ElementTree

from mlsd_docs.cards import BOOK_TITLE, built_page
from mlsd_docs.epub_check import (
    CONTAINER_NS,
    DC_NS,
    EPUB_NS,
    MATHML_NS,
    MEDIA_TYPES,
    OPF_NS,
    SVG_NS,
    XHTML_NS,
    XLINK_NS,
    validate,
)
from mlsd_docs.html_tree import (
    LAZY_ATTRIBUTE,
    Node,
    article,
    drop,
    expand_templates,
    is_headerlink,
    plain_code,
    plain_text,
    serialize,
)
from mlsd_docs.site import (
    mkdocs_config,
    nav_pages,
    parsed_site,
    require_built_site,
    site_argument,
    site_url,
)

EPUB_NAME = "mlsd-guide.epub"
OPF_PATH = "OEBPS/content.opf"
FONTS = ("dejavu-sans-regular.woff2", "dejavu-sans-bold.woff2")
# JavaScript tools of the site that an e-book cannot run.
LEFT_OUT = ("practice/mock-interview/", "practice/review/")

STYLE = """\
@font-face { font-family: "MLSD DejaVu Sans"; font-weight: 400;
  src: url("fonts/dejavu-sans-regular.woff2") format("woff2"); }
@font-face { font-family: "MLSD DejaVu Sans"; font-weight: 700;
  src: url("fonts/dejavu-sans-bold.woff2") format("woff2"); }
body { line-height: 1.45; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.8em;
  background: rgba(127, 127, 127, 0.1); padding: 0.5em; }
code { font-family: monospace; }
.code-title { font-family: monospace; font-size: 0.8em; margin-bottom: 0; }
img { max-width: 100%; height: auto; }
.md-typeset__scrollwrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.8em; overflow-wrap: anywhere; }
th, td { border: 1px solid #999; padding: 0.15em 0.4em; vertical-align: top; }
.fold, .admonition { border-left: 3px solid #999; margin: 1em 0;
  padding: 0 0 0 0.8em; }
.fold-title { font-size: 1em; margin: 0.5em 0; }
.admonition-title, .tab-label { font-weight: bold; }
.label-line { display: block; }
.diagram svg { display: block; max-width: 100%; height: auto; margin: 1em auto; }
nav ol { list-style: none; }
"""


@dataclass(frozen=True)
class Chapter:
    path: str  # the page's URL path: "concepts/features/"
    file: str  # "ch-12.xhtml"
    title: str
    sections: tuple  # nav section titles above it


# ── Turning a page into a chapter ────────────────────────────────────────────
def folds_to_sections(tree: Node) -> None:
    """Each ``details`` becomes an open ``section`` whose summary is a heading one
    level below the heading it sits under (old reading systems know no details)."""
    level = 1

    def walk(node: Node) -> None:
        nonlocal level
        for child in node.elements():
            if child.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                level = int(child.tag[1])
            if child.tag != "details":
                walk(child)
                continue
            outer, level = level, min(6, level + 1)
            classes = " ".join(["fold", *sorted(child.classes)])
            child.tag = "section"
            child.attrs = {**child.attrs, "class": classes}
            child.attrs.pop("open", None)
            first = next(iter(child.elements()), None)
            if first is not None and first.tag == "summary":
                first.tag, first.attrs = f"h{level}", {"class": "fold-title"}
            walk(child)
            level = outer

    walk(tree)


def flatten_tabs(tree: Node) -> None:
    """Content tabs (radio inputs and labels) become a label above each tab's body."""
    for tabs in tree.iter():
        if "tabbed-set" not in tabs.classes:
            continue
        labels = [
            label
            for child in tabs.elements()
            if "tabbed-labels" in child.classes
            for label in child.find_all("label")
        ]
        blocks = [
            block
            for child in tabs.elements()
            if "tabbed-content" in child.classes
            for block in child.elements()
        ]
        children: list[Node | str] = []
        for index, block in enumerate(blocks):
            if index < len(labels):
                children.append(
                    Node("p", {"class": "tab-label"}, labels[index].children)
                )
            children.append(block)
        tabs.children = children


def fix_content_models(tree: Node) -> None:
    """What browsers forgive and EPUB's schemas do not: a paragraph inside a diagram
    label's span becomes a block span. (MathML operators holding markup are flattened
    where the formulas are made, mlsd_docs.math, so the site's MathML is valid too.)"""
    for label in tree.find_all("foreignObject"):
        for element in label.iter():
            if element.tag == "p":
                element.tag = "span"
                element.attrs["class"] = "label-line"


def add_namespaces(tree: Node) -> None:
    """SVG, MathML and the XHTML inside SVG labels get their namespaces."""
    for element in tree.iter():
        if element.tag == "svg":
            element.attrs.setdefault("xmlns", SVG_NS)
            if any(a.startswith("xlink:") for e in element.iter() for a in e.attrs):
                element.attrs.setdefault("xmlns:xlink", XLINK_NS)
        elif element.tag == "math":
            element.attrs.setdefault("xmlns", MATHML_NS)
        elif element.tag == "foreignObject":
            for child in element.elements():
                child.attrs.setdefault("xmlns", XHTML_NS)
        for name in list(element.attrs):
            prefix = name.partition(":")[0] if ":" in name else None
            if prefix not in (None, "xlink", "xml", "xmlns"):
                del element.attrs[name]  # a prefix XML would not know


def link_chapters(
    tree: Node, chapter: Chapter, files: dict[str, str], url: str
) -> None:
    """Links to nav pages go to their chapter, other site links to the web site."""
    for element in tree.find_all("a"):
        href = element.attrs.get("href")
        if href is None or urlsplit(href).scheme:
            continue
        target = urlsplit(urljoin("/" + chapter.path, href))
        fragment = f"#{target.fragment}" if target.fragment else ""
        path = target.path.lstrip("/").removesuffix("index.html")
        if target.path == "/" + chapter.path or (not target.path and fragment):
            element.attrs["href"] = fragment or files[chapter.path]
        elif path in files:
            element.attrs["href"] = files[path] + fragment
        else:
            element.attrs["href"] = url + path + fragment


def copy_images(
    tree: Node, chapter: Chapter, site: Path, images: dict[str, bytes]
) -> None:
    """Images the page loads from the site go into images/; remote ones, alt text."""
    for parent in list(tree.iter()):
        children: list[Node | str] = []
        for child in parent.children:
            if isinstance(child, Node) and child.tag == "img":
                child.attrs.pop("srcset", None)
                src = child.attrs.get("src") or ""
                local = urlsplit(urljoin("/" + chapter.path, src))
                source = Path(site) / unquote(local.path.lstrip("/"))
                if urlsplit(src).scheme or not source.is_file():
                    children.append(child.attrs.get("alt") or "")
                    continue
                name = "images/" + local.path.lstrip("/").replace("/", "-")
                images[name] = source.read_bytes()
                child.attrs["src"] = name
                child.attrs.setdefault("alt", "")
            children.append(child)
        parent.children = children


def chapter_body(
    site: Path,
    chapter: Chapter,
    files: dict[str, str],
    url: str,
    images: dict[str, bytes],
) -> Node:
    tree = article(built_page(site, chapter.path).read_text(encoding="utf-8"))
    expand_templates(tree)
    folds_to_sections(tree)
    flatten_tabs(tree)
    plain_code(tree)
    drop(
        tree,
        lambda n: (
            is_headerlink(n)
            or n.tag in ("script", "input", "button", "form", "template", "noscript")
            or "mlsd-reading-time" in n.classes
        ),
    )
    for element in tree.iter():
        for name in ("data-search-exclude", LAZY_ATTRIBUTE, "tabindex"):
            element.attrs.pop(name, None)
        if element.tag == "a" and "download" in element.attrs:
            del element.attrs["download"]
    fix_content_models(tree)
    add_namespaces(tree)
    link_chapters(tree, chapter, files, url)
    copy_images(tree, chapter, site, images)
    return Node(
        "body", {"data-mlsd-page": chapter.path}, [Node("section", {}, tree.children)]
    )


def xhtml_document(title: str, body: str) -> str:
    """A whole XHTML file around the markup of its body."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="{XHTML_NS}" xmlns:epub="{EPUB_NS}" lang="en" xml:lang="en">\n'
        f'<head><meta charset="utf-8" /><title>{html.escape(title)}</title>'
        f'<link rel="stylesheet" type="text/css" href="style.css" />'
        f"</head>\n{body}\n</html>\n"
    )


def nav_document(chapters: list[Chapter], book_title: str) -> str:
    """The EPUB 3 table of contents: the site's nav sections and their chapters."""
    lines = [f'<nav epub:type="toc" id="toc"><h1>{html.escape(book_title)}</h1><ol>']
    open_sections: tuple = ()
    for chapter in chapters:
        sections = tuple(s for s in chapter.sections if s)
        common = 0
        while (
            common < min(len(open_sections), len(sections))
            and open_sections[common] == sections[common]
        ):
            common += 1
        for _ in open_sections[common:]:
            lines.append("</ol></li>")
        for section in sections[common:]:
            lines.append(f"<li><span>{html.escape(section)}</span><ol>")
        open_sections = sections
        lines.append(
            f'<li><a href="{chapter.file}">{html.escape(chapter.title)}</a></li>'
        )
    lines += ["</ol></li>"] * len(open_sections)
    lines.append("</ol></nav>")
    return xhtml_document("Contents", "<body>" + "\n".join(lines) + "</body>")


def properties_of(xhtml: str) -> list[str]:
    """The manifest properties a chapter needs: svg and mathml when it holds them."""
    root = ElementTree.fromstring(xhtml.encode("utf-8"))
    found = []
    if root.find(f".//{{{SVG_NS}}}svg") is not None:
        found.append("svg")
    if root.find(f".//{{{MATHML_NS}}}math") is not None:
        found.append("mathml")
    return found


def modified_time() -> str:
    """dcterms:modified: SOURCE_DATE_EPOCH when set (reproducible), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (
        dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        if epoch
        else dt.datetime.now(dt.UTC)
    )
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def package_document(
    config: dict, items: list[tuple[str, str, str, list[str]]], spine: list[str]
) -> str:
    """The OPF: metadata, manifest (id, href, media type, properties), spine."""
    identifier = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, site_url(config)))
    language = (config.get("theme") or {}).get("language") or "en"
    manifest = "\n".join(
        f'    <item id="{item_id}" href="{href}" media-type="{media}"'
        + (f' properties="{" ".join(props)}"' if props else "")
        + " />"
        for item_id, href, media, props in items
    )
    itemrefs = "\n".join(f'    <itemref idref="{i}" />' for i in spine)
    description = " ".join(str(config.get("site_description") or "").split())
    author = config.get("site_author") or config["site_name"]
    return f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="{OPF_NS}" version="3.0" unique-identifier="book-id"
  xml:lang="{language}">
  <metadata xmlns:dc="{DC_NS}">
    <dc:identifier id="book-id">{identifier}</dc:identifier>
    <dc:title>{html.escape(BOOK_TITLE)}</dc:title>
    <dc:language>{language}</dc:language>
    <dc:creator>{html.escape(author)}</dc:creator>
    <dc:description>{html.escape(description)}</dc:description>
    <dc:source>{html.escape(site_url(config))}</dc:source>
    <meta property="dcterms:modified">{modified_time()}</meta>
  </metadata>
  <manifest>
{manifest}
  </manifest>
  <spine>
{itemrefs}
  </spine>
</package>
"""


CONTAINER = f"""<?xml version="1.0" encoding="utf-8"?>
<container version="1.0" xmlns="{CONTAINER_NS}">
  <rootfiles>
    <rootfile full-path="{OPF_PATH}" media-type="application/oebps-package+xml" />
  </rootfiles>
</container>
"""


def chapters_of(config: dict) -> list[Chapter]:
    """The book's chapters: the nav's pages in order, but the JavaScript tools."""
    pages = [page for page in nav_pages(config) if page.path not in LEFT_OUT]
    return [
        Chapter(page.path, f"ch-{index:02d}.xhtml", page.title or "", page.sections)
        for index, page in enumerate(pages, 1)
    ]


def build_epub(site: Path, out: Path, config: dict | None = None) -> Path:
    """Write the EPUB of the built site to out."""
    site = require_built_site(site)
    config = config or mkdocs_config()
    url = site_url(config)
    chapters = chapters_of(config)
    files = {chapter.path: chapter.file for chapter in chapters}
    images: dict[str, bytes] = {}
    documents: dict[str, str] = {}
    titled = []
    for chapter in chapters:
        body = chapter_body(site, chapter, files, url, images)
        heading = next(iter(body.find_all("h1")), None)
        title = chapter.title or (plain_text(heading) if heading else chapter.path)
        titled.append(Chapter(chapter.path, chapter.file, title, chapter.sections))
        documents[chapter.file] = xhtml_document(title, serialize(body, xml=True))
    nav = nav_document(titled, BOOK_TITLE)
    items = [("nav", "nav.xhtml", MEDIA_TYPES[".xhtml"], ["nav"])]
    items.append(("style", "style.css", "text/css", []))
    for index, font in enumerate(FONTS):
        items.append((f"font-{index}", f"fonts/{font}", "font/woff2", []))
    for chapter in titled:
        chapter_id = chapter.file.removesuffix(".xhtml")
        props = properties_of(documents[chapter.file])
        items.append((chapter_id, chapter.file, MEDIA_TYPES[".xhtml"], props))
    for index, name in enumerate(sorted(images)):
        media = MEDIA_TYPES.get(posixpath.splitext(name)[1].lower())
        if media is None:
            raise ValueError(f"unsupported image type: {name}")
        items.append((f"image-{index}", name, media, []))
    spine = ["nav"] + [c.file.removesuffix(".xhtml") for c in titled]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stamp = (1980, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(out, "w") as book:

        def put(name: str, data: str | bytes, compress: bool = True) -> None:
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = (
                zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            )
            book.writestr(info, data)

        put("mimetype", "application/epub+zip", compress=False)
        put("META-INF/container.xml", CONTAINER)
        put(OPF_PATH, package_document(config, items, spine))
        put("OEBPS/nav.xhtml", nav)
        put("OEBPS/style.css", STYLE)
        for font in FONTS:
            put(f"OEBPS/fonts/{font}", (site / "assets" / "fonts" / font).read_bytes())
        for chapter in titled:
            put(f"OEBPS/{chapter.file}", documents[chapter.file])
        for name in sorted(images):
            put(f"OEBPS/{name}", images[name])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    out_help = f"the EPUB file to write (default: <site>/{EPUB_NAME})"
    site_argument(parser)
    parser.add_argument("--out", type=Path, default=None, help=out_help)
    args = parser.parse_args(argv)
    site = parsed_site(parser, args)
    out = build_epub(site, args.out or site / EPUB_NAME)
    problems = validate(out)
    for problem in problems:
        print(f"EPUB problem: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB): valid")


if __name__ == "__main__":
    main()
