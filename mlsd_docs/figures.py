"""The guide's figures: which program draws each one, and the command that redraws them.

``python -m mlsd_docs.figures`` (``make outputs``) rewrites every SVG under
``docs/assets/figures/`` from the programs (``snippets/common/figures.py`` styles and
saves them, deterministically). A test draws each figure again and fails when the
committed file differs, or when its plotted data differs from what its program prints.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

from snippets.common.figures import FIGURE_DIR, save_svg

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# name -> "module:function"; the function returns a matplotlib Figure.
FIGURES: dict[str, str] = {
    "downsampling-calibration": "snippets.concepts.calibration:downsampling_figure",
    "pr-vs-roc": "snippets.concepts.classification_metrics:pr_roc_figure",
    "ann-recall-vs-effort": "snippets.concepts.ann_index:recall_figure",
    "fan-out-tail": "snippets.concepts.serving:fan_out_figure",
    "latency-vs-load": "snippets.concepts.serving_capacity:latency_figure",
    "learning-curves": "snippets.concepts.ml_fundamentals:learning_curve_figure",
    "ridge-validation-curve": "snippets.concepts.ml_fundamentals:ridge_figure",
    "lsh-s-curve": "snippets.problems.near_duplicates:s_curve_figure",
}


def draw(name: str) -> Figure:
    """Build one listed figure by name (imports the program that draws it)."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
    module, _, function = FIGURES[name].partition(":")
    return getattr(importlib.import_module(module), function)()


def main(names: list[str] | None = None) -> None:
    """Rewrite the listed figures (all by default) under docs/assets/figures/."""
    for name in names or FIGURES:
        path = save_svg(draw(name), FIGURE_DIR / f"{name}.svg")
        print(f"{path.relative_to(FIGURE_DIR.parents[2])}")


if __name__ == "__main__":
    main(sys.argv[1:] or None)
