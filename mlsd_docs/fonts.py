"""The site's own font: the DejaVu Sans that lays out the diagrams, served as WOFF2.

Diagram labels are sized at build time by mermaidx, which measures text with the DejaVu
Sans files it ships. If the browser then draws them in another font (whatever
"trebuchet ms, verdana, arial, sans-serif" resolves to on the reader's machine), a
label can be wider than its box and get clipped. So the diagrams, and the printed
pages whose layout must not depend on the machine, use those very files, subset to the
characters the guide uses and compressed to WOFF2 at set-up time:

    python -m mlsd_docs.fonts            # writes docs/assets/fonts/*.woff2 (gitignored)

``make`` runs it before every build; ``mlsd_docs.site.build`` does too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mermaidx
from fontTools import subset

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "docs" / "assets" / "fonts"
SOURCE_DIR = Path(mermaidx.__file__).parent / "assets" / "fonts"
FAMILY = "MLSD DejaVu Sans"  # the name our CSS and the diagram theme use
FACES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
# Latin-1 and Latin Extended-A, Greek (α, β, σ...), general punctuation (dashes,
# quotes, bullets), super/subscripts, currency, letterlike symbols, arrows, math
# operators, box drawing and geometric shapes.
UNICODE_RANGES = [
    (0x0020, 0x007E),
    (0x00A0, 0x017F),
    (0x0370, 0x03FF),
    (0x2000, 0x206F),
    (0x2070, 0x209F),
    (0x20A0, 0x20CF),
    (0x2100, 0x214F),
    (0x2190, 0x21FF),
    (0x2200, 0x22FF),
    (0x2500, 0x25FF),
]


def codepoints() -> list[int]:
    """Every code point the subset keeps."""
    return [cp for low, high in UNICODE_RANGES for cp in range(low, high + 1)]


def font_path(face: str, out_dir: Path = OUT_DIR) -> Path:
    """Where the WOFF2 file of one face ('regular' or 'bold') is written."""
    if face not in FACES:
        raise ValueError(f"face must be one of {sorted(FACES)}, got {face!r}")
    return out_dir / f"dejavu-sans-{face}.woff2"


def make_subset(source: Path, out: Path) -> Path:
    """Subset one TrueType file to UNICODE_RANGES as WOFF2, keeping its metrics."""
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["kern", "liga"]  # what mermaidx measures with
    options.hinting = False  # screens and PDFs scale outlines; hints only add bytes
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: nothing to render
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints())
    subsetter.subset(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".tmp")
    subset.save_font(font, str(partial), options)
    partial.replace(out)  # atomic: parallel builds never serve half a file
    return out


def ensure(out_dir: Path = OUT_DIR) -> list[Path]:
    """Write the WOFF2 files unless they exist and are newer than their sources."""
    written = []
    for face, name in FACES.items():
        source, out = SOURCE_DIR / name, font_path(face, out_dir)
        if not source.is_file():
            raise FileNotFoundError(f"mermaidx no longer ships {source}")
        if not out.is_file() or out.stat().st_mtime < source.stat().st_mtime:
            make_subset(source, out)
        written.append(out)
    return written


def main(argv: list[str]) -> None:
    out_dir = Path(argv[0]) if argv else OUT_DIR
    for path in ensure(out_dir):
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown}: {path.stat().st_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main(sys.argv[1:])
