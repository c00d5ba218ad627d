"""The guide as an EPUB 3 e-book, built from the site, and a structural validator.

``python -m mlsd_docs.epub --site site --out site/mlsd-guide.epub`` (``make epub``)
writes one XHTML chapter per nav page, in nav order, from the page's ``<article>``:

- the Mermaid diagrams stay inline SVG (their HTML labels are namespaced XHTML) and the
  font they were measured with is embedded; MathML stays MathML;
- folded blocks are open (``details open``) and lazy listings are expanded, so every
  answer and every listing is on the page;
- listings are plain ``<pre><code>`` text (no highlighting spans), wrapped on small
  screens by the book's style sheet; content tabs become labelled sections;
- links between pages point at the chapters; links elsewhere on the site go to the
  published site; images the pages use are copied in.

``validate(path)`` checks what epubcheck's structural checks would catch without Java:
the mimetype entry first and stored, the container, the package (identifier, title,
language, modified date), manifest against zip, spine, the nav document listing every
chapter, every XML file well-formed, every local reference present (fragments too), no
remote resource, and the manifest's svg/mathml properties. ``make epub`` fails on any
problem it reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import posixpath
import re
import sys
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree import ElementTree

from mlsd_docs.cards import (
    LAZY_ATTRIBUTE,
    Node,
    article,
    built_page,
    drop,
    expand_templates,
    is_headerlink,
    mkdocs_config,
    nav_entries,
    page_path,
    plain_code,
    plain_text,
    serialize,
    site_url,
)
from mlsd_docs.site import ROOT

EPUB_NAME = "mlsd-guide.epub"
XHTML_NS = "http://www.w3.org/1999/xhtml"
SVG_NS = "http://www.w3.org/2000/svg"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
XLINK_NS = "http://www.w3.org/1999/xlink"
OPF_NS = "http://www.idpf.org/2007/opf"
EPUB_NS = "http://www.idpf.org/2007/ops"
DC_NS = "http://purl.org/dc/elements/1.1/"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
OPF_PATH = "OEBPS/content.opf"
FONTS = ("dejavu-sans-regular.woff2", "dejavu-sans-bold.woff2")
MEDIA_TYPES = {
    ".xhtml": "application/xhtml+xml",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}
# Elements whose src/href/data loads a resource (a link, <a href>, may go to the web).
_RESOURCE_ATTRIBUTES = {
    "img": "src",
    "image": "href",
    "link": "href",
    "script": "src",
    "source": "src",
    "audio": "src",
    "video": "src",
    "object": "data",
    "iframe": "src",
    "embed": "src",
    "use": "href",
}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""")

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
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #999; padding: 0.15em 0.4em; vertical-align: top; }
details, .admonition { border-left: 3px solid #999; margin: 1em 0;
  padding: 0 0 0 0.8em; }
summary, .admonition-title, .tab-label { font-weight: bold; }
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
def open_folds(tree: Node) -> None:
    for details in tree.find_all("details"):
        details.attrs["open"] = "open"


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
    label's span becomes a block span; a MathML operator (a token, text only) that
    holds markup becomes an mrow."""
    for label in tree.find_all("foreignObject"):
        for element in label.iter():
            if element.tag == "p":
                element.tag = "span"
                element.attrs["class"] = "label-line"
    for element in tree.find_all("mo"):
        if element.elements():
            element.tag = "mrow"
            element.attrs.clear()


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
    open_folds(tree)
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


def xhtml_document(title: str, body: Node, extra_head: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="{XHTML_NS}" xmlns:epub="{EPUB_NS}" lang="en" xml:lang="en">\n'
        f'<head><meta charset="utf-8" /><title>{html.escape(title)}</title>'
        f'<link rel="stylesheet" type="text/css" href="style.css" />{extra_head}'
        f"</head>\n{serialize(body, xml=True)}\n</html>\n"
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
    body = "<body>" + "\n".join(lines) + "</body>"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="{XHTML_NS}" xmlns:epub="{EPUB_NS}" lang="en" xml:lang="en">\n'
        f'<head><meta charset="utf-8" /><title>Contents</title>'
        f'<link rel="stylesheet" type="text/css" href="style.css" /></head>\n'
        f"{body}\n</html>\n"
    )


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
    <dc:title>{html.escape(config["site_name"])}</dc:title>
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
    chapters = []
    for index, (markdown, title, sections) in enumerate(nav_entries(config), 1):
        chapters.append(
            Chapter(page_path(markdown), f"ch-{index:02d}.xhtml", title or "", sections)
        )
    return chapters


def build_epub(site: Path, out: Path, config: dict | None = None) -> Path:
    """Write the EPUB of the built site to out."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise ValueError(f"{site} is not a built site (no index.html)")
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
        documents[chapter.file] = xhtml_document(title, body)
    book_title = config["site_name"]
    nav = nav_document(titled, book_title)
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


# ── Validation ───────────────────────────────────────────────────────────────
def _parse(data: bytes, name: str, problems: list[str]) -> ElementTree.Element | None:
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        problems.append(f"{name}: not well-formed XML ({error})")
        return None


def _references(root: ElementTree.Element) -> list[tuple[str, str, bool]]:
    """(attribute, value, is a resource load) of every reference in a document."""
    found = []
    for element in root.iter():
        local = element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""
        for name, value in element.attrib.items():
            attribute = name.rpartition("}")[2]
            if attribute not in ("href", "src", "data"):
                continue
            resource = _RESOURCE_ATTRIBUTES.get(local) == attribute
            found.append((attribute, value, resource))
    return found


def _ids(root: ElementTree.Element) -> set[str]:
    return {e.get("id") for e in root.iter() if e.get("id")}


def validate(epub_path: Path) -> list[str]:
    """Structural problems of an EPUB 3 file (an empty list when none are found)."""
    problems: list[str] = []
    try:
        book = zipfile.ZipFile(epub_path)
    except (OSError, zipfile.BadZipFile) as error:
        return [f"not a zip file: {error}"]
    with book:
        infos = book.infolist()
        names = [info.filename for info in infos]
        if not infos or infos[0].filename != "mimetype":
            problems.append("mimetype is not the first entry")
        elif (
            infos[0].compress_type != zipfile.ZIP_STORED
            or infos[0].extra
            or book.read("mimetype") != b"application/epub+zip"
        ):
            problems.append(
                "mimetype must be stored uncompressed as application/epub+zip"
            )
        if len(set(names)) != len(names):
            problems.append("duplicate entries in the zip")
        if "META-INF/container.xml" not in names:
            return [*problems, "META-INF/container.xml is missing"]
        container = _parse(book.read("META-INF/container.xml"), "container", problems)
        rootfile = None
        if container is not None:
            rootfile = container.find(f".//{{{CONTAINER_NS}}}rootfile")
        opf_path = rootfile.get("full-path") if rootfile is not None else None
        if opf_path not in names:
            return [*problems, f"the container points at a missing package: {opf_path}"]
        opf = _parse(book.read(opf_path), opf_path, problems)
        if opf is None:
            return problems
        problems += _check_metadata(opf)
        base = posixpath.dirname(opf_path)
        manifest: dict[str, tuple[str, str, set[str]]] = {}
        for item in opf.iterfind(f"{{{OPF_NS}}}manifest/{{{OPF_NS}}}item"):
            item_id, href = item.get("id"), item.get("href") or ""
            full = posixpath.normpath(posixpath.join(base, unquote(href)))
            if item_id in manifest:
                problems.append(f"manifest id {item_id} used twice")
            props = set((item.get("properties") or "").split())
            manifest[item_id] = (full, item.get("media-type") or "", props)
            if full not in names:
                problems.append(f"manifest item {href} is not in the zip")
            expected = MEDIA_TYPES.get(posixpath.splitext(full)[1].lower())
            if expected and expected != item.get("media-type"):
                problems.append(f"{href}: media type {item.get('media-type')}")
        listed = {full for full, _, _ in manifest.values()}
        for name in names:
            if name in ("mimetype", opf_path) or name.startswith("META-INF/"):
                continue
            if name not in listed and not name.endswith("/"):
                problems.append(f"{name} is in the zip but not in the manifest")
        navs = [i for i, (_, _, p) in manifest.items() if "nav" in p]
        if len(navs) != 1:
            problems.append(f"need exactly one nav document, found {len(navs)}")
        spine = [
            ref.get("idref")
            for ref in opf.iterfind(f"{{{OPF_NS}}}spine/{{{OPF_NS}}}itemref")
        ]
        if not spine:
            problems.append("the spine is empty")
        for idref in spine:
            if idref not in manifest:
                problems.append(f"spine item {idref} is not in the manifest")
            elif manifest[idref][1] != MEDIA_TYPES[".xhtml"]:
                problems.append(f"spine item {idref} is not XHTML")
        trees = {}
        for name in names:
            if name.endswith((".xhtml", ".svg", ".opf", ".xml", ".ncx")):
                tree = _parse(book.read(name), name, problems)
                if tree is not None:
                    trees[name] = tree
        problems += _check_documents(trees, manifest, names)
        for name in names:
            if name.endswith(".css"):
                css = book.read(name).decode("utf-8", "replace")
                for url in _CSS_URL.findall(css):
                    target = posixpath.normpath(
                        posixpath.join(posixpath.dirname(name), url)
                    )
                    if urlsplit(url).scheme or target not in names:
                        problems.append(f"{name}: url({url}) is not in the book")
        if len(navs) == 1 and manifest[navs[0]][0] in trees:
            problems += _check_nav(trees, manifest, navs[0], spine)
    return problems


def _check_metadata(opf: ElementTree.Element) -> list[str]:
    problems = []
    if opf.get("version") != "3.0":
        problems.append(f"package version {opf.get('version')}, not 3.0")
    metadata = opf.find(f"{{{OPF_NS}}}metadata")
    if metadata is None:
        return [*problems, "the package has no metadata"]
    identifiers = {e.get("id"): e.text for e in metadata.iter(f"{{{DC_NS}}}identifier")}
    if not identifiers.get(opf.get("unique-identifier")):
        problems.append("no dc:identifier matching unique-identifier")
    for term in ("title", "language"):
        if not (metadata.findtext(f"{{{DC_NS}}}{term}") or "").strip():
            problems.append(f"dc:{term} is missing")
    modified = [
        e.text or ""
        for e in metadata.iter(f"{{{OPF_NS}}}meta")
        if e.get("property") == "dcterms:modified"
    ]
    if len(modified) != 1 or not re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", modified[0]
    ):
        problems.append("need one dcterms:modified as CCYY-MM-DDThh:mm:ssZ")
    return problems


def _check_documents(trees, manifest, names) -> list[str]:
    """References resolve, nothing loads from the web, properties are declared."""
    problems = []
    ids = {name: _ids(tree) for name, tree in trees.items()}
    by_path = {full: (media, props) for full, media, props in manifest.values()}
    for name, tree in trees.items():
        media, props = by_path.get(name, ("", set()))
        if media == MEDIA_TYPES[".xhtml"]:
            if tree.tag != f"{{{XHTML_NS}}}html":
                problems.append(f"{name}: the root is not XHTML's html")
            all_ids = [e.get("id") for e in tree.iter() if e.get("id")]
            if len(set(all_ids)) != len(all_ids):
                problems.append(f"{name}: an id is used twice")
            for feature, namespace, tag in (
                ("svg", SVG_NS, "svg"),
                ("mathml", MATHML_NS, "math"),
                ("scripted", XHTML_NS, "script"),
            ):
                has = tree.find(f".//{{{namespace}}}{tag}") is not None
                if has != (feature in props):
                    state = "holds" if has else "does not hold"
                    problems.append(f"{name} {state} {tag} but properties say {props}")
        if media not in (MEDIA_TYPES[".xhtml"], MEDIA_TYPES[".svg"]):
            continue
        for label in tree.iter(f"{{{SVG_NS}}}foreignObject"):
            if any(child.tag.partition("}")[0] != "{" + XHTML_NS for child in label):
                problems.append(f"{name}: an SVG label is not in XHTML's namespace")
                break
        styles = [e.text or "" for e in tree.iter() if str(e.tag).endswith("}style")]
        styles += [e.get("style") or "" for e in tree.iter()]
        for style in styles:
            for url in _CSS_URL.findall(style):
                if not url.startswith("#"):
                    problems.append(f"{name}: a style loads {url}")
        for attribute, value, resource in _references(tree):
            parts = urlsplit(value)
            if parts.scheme in ("http", "https"):
                if resource:
                    problems.append(f"{name}: loads a remote resource {value}")
                continue
            if parts.scheme:  # mailto: and the like
                continue
            target = name
            if parts.path:
                target = posixpath.normpath(
                    posixpath.join(posixpath.dirname(name), unquote(parts.path))
                )
                if target not in names:
                    problems.append(f"{name}: {attribute}={value} is not in the book")
                    continue
            if parts.fragment and target in ids and parts.fragment not in ids[target]:
                problems.append(f"{name}: {attribute}={value} names no id there")
    return problems


def _check_nav(trees, manifest, nav_id, spine) -> list[str]:
    nav_path = manifest[nav_id][0]
    tree = trees[nav_path]
    tocs = [
        e
        for e in tree.iter(f"{{{XHTML_NS}}}nav")
        if "toc" in (e.get(f"{{{EPUB_NS}}}type") or "").split()
    ]
    if not tocs:
        return [f"{nav_path} has no nav epub:type=toc"]
    linked = {
        posixpath.normpath(
            posixpath.join(
                posixpath.dirname(nav_path), unquote(urlsplit(a.get("href")).path)
            )
        )
        for a in tocs[0].iter(f"{{{XHTML_NS}}}a")
        if a.get("href")
    }
    return [
        f"the nav does not list spine item {idref}"
        for idref in spine
        if idref in manifest and idref != nav_id and manifest[idref][0] not in linked
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = build_epub(args.site, args.out or args.site / EPUB_NAME)
    problems = validate(out)
    for problem in problems:
        print(f"EPUB problem: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB): valid")


if __name__ == "__main__":
    main()
