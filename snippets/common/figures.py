"""The one place that styles and saves the guide's figures (matplotlib to SVG).

Each figure is drawn by the program that prints its numbers: the module computes the
data once, ``main()`` prints it, and a ``*_figure()`` function draws the same data.
This module gives them a shared look and a deterministic SVG writer. The list of
figures, and the command that rewrites every SVG under ``docs/assets/figures/``
(``make outputs``), live in ``mlsd_docs/figures.py``: it imports the programs of
every layer, which a module at the bottom of the import graph must not.

matplotlib is imported inside the functions, so a program that prints its numbers
without drawing never pays for the import.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FIGURE_DIR = Path(__file__).resolve().parents[2] / "docs" / "assets" / "figures"
# 16:9, shown at 640 x 360 CSS px: text drawn 1.6x on a desktop, 0.9x on a phone
SIZE_INCHES = (5.6, 3.15)
ACCENT = "#3949ab"  # the site's indigo, one shade darker for thin lines
GREYS = ("#212121", "#757575", "#b0b0b0")  # dark, mid, light
# The series beside the accent are mid greys, never near-black: the dark scheme
# inverts the image, and a near-black series would become the brightest line there.
SECOND = "#707070"  # the series compared with the accent one
THIRD = "#9a9a9a"  # a third series, lighter still

_STYLE = {
    "font.family": "DejaVu Sans",  # bundled with matplotlib: same glyphs everywhere
    "font.size": 12,  # about 11 CSS px on a 390 px phone, where the image shrinks
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "axes.edgecolor": GREYS[1],
    "axes.labelcolor": GREYS[0],
    "xtick.color": GREYS[1],
    "ytick.color": GREYS[1],
    "xtick.labelcolor": GREYS[0],
    "ytick.labelcolor": GREYS[0],
    "text.color": GREYS[0],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e0e0e0",
    "grid.linewidth": 0.6,
    "lines.linewidth": 2.0,
    "lines.markersize": 5,
    "legend.frameon": False,
    "svg.fonttype": "path",  # text as paths: no font needed to view it
    "svg.hashsalt": "mlsd-guide",  # fixed ids: the same bytes on every run
    "path.simplify": True,
    "figure.dpi": 100,
}


def styled(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a drawing function under the guide's style (fonts, greys, grid)."""

    @functools.wraps(draw)
    def in_style(*args: object, **kwargs: object) -> Figure:
        import matplotlib

        with matplotlib.rc_context(_STYLE):
            return draw(*args, **kwargs)

    return in_style


def new_figure(ncols: int = 1, **subplots: object) -> tuple[Figure, list[Axes]]:
    """A figure of the guide's size with ``ncols`` axes side by side (call it from
    a function decorated with ``styled``, so the axes take the style)."""
    if isinstance(ncols, bool) or not isinstance(ncols, int):
        raise TypeError(f"ncols must be an int, got {type(ncols).__name__}")
    if not 1 <= ncols <= 3:
        raise ValueError(f"ncols must be 1, 2 or 3, got {ncols}")
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE_INCHES, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False, **subplots)[0]
    return fig, list(axes)


def printed(value: float, digits: int) -> float:
    """``value`` as the program prints it with ``digits`` decimals: the figures plot
    these, so a figure drawn from the printed output has the same bytes."""
    return float(f"{value:.{digits}f}")


def plain_log_ticks(axis: object) -> None:
    """Label a log axis 0.01, 1, 1,000 rather than 10^-2, 10^0, 10^3."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(
        FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    )
    axis.set_minor_formatter(NullFormatter())


def svg_bytes(fig: Figure) -> bytes:
    """The figure as SVG: text as paths, fixed ids, no date, transparent."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(_STYLE):
        fig.savefig(
            buffer,
            format="svg",
            transparent=True,
            metadata={"Date": None, "Creator": None},
        )
    return buffer.getvalue()


def save_svg(fig: Figure, path: Path | str) -> Path:
    """Write the figure's deterministic SVG to ``path`` (only if it changed)."""
    path = Path(path)
    if path.suffix != ".svg":
        raise ValueError(f"path must end in .svg, got {path.name}")
    data = svg_bytes(fig)
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path
