"""The guide's figures: each plots what its program prints, and the committed SVGs
are what ``snippets.common.figures`` writes now (deterministic, small, used).

Every figure is drawn once per test run (``rendered``); its data is read back from
the matplotlib artists and compared with the numbers parsed from the program's
printed output (``module_output``), at the precision the program prints.
"""

from __future__ import annotations

import functools
import gzip
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from guide import DOCS, assert_page_quotes, module_output, page_text, pages, prose

from mlsd_docs import figures as registry
from snippets.common import figures

# One worker draws them all (`--dist loadgroup`): the ANN benchmark behind one figure
# builds an HNSW graph, which should happen once per run, not once per worker.
pytestmark = pytest.mark.xdist_group("test_figures.py")

MAX_GZIP_BYTES = 30 * 1024
IMAGE = re.compile(
    r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]*assets/figures/(?P<name>[\w-]+)\.svg)\)"
    r"\{(?P<attrs>[^}]*)\}"
)


@functools.cache
def rendered(name: str):
    """The figure and its SVG bytes, built once per run."""
    fig = registry.draw(name)
    return fig, figures.svg_bytes(fig)


def lines_of(fig, axis: int = 0):
    return fig.axes[axis].get_lines()


def by_label(fig, label: str, axis: int = 0):
    return next(line for line in lines_of(fig, axis) if line.get_label() == label)


def markers_only(fig, axis: int = 0):
    return [line for line in lines_of(fig, axis) if line.get_linestyle() == "None"]


def output_lines(module: str) -> list[str]:
    return module_output(module).splitlines()


def block_after(lines: list[str], start: str, count: int) -> list[list[str]]:
    i = next(i for i, line in enumerate(lines) if line.startswith(start))
    return [line.split() for line in lines[i + 1 : i + 1 + count]]


def fmt(values, digits: int) -> list[str]:
    return [f"{v:.{digits}f}" for v in values]


# ── (1) the plotted data is the printed data, figure by figure ──────────────────
def test_latency_vs_load_plots_the_queueing_table():
    lines = output_lines("snippets.concepts.serving_capacity")
    rows = block_after(lines, "  utilisation", 4)
    loads = [float(r[0].rstrip("%")) / 100 for r in rows]
    fig, _ = rendered("latency-vs-load")
    dots = markers_only(fig)
    assert len(dots) == 2
    for column, dot in zip((2, 1), dots, strict=True):  # p99 first, then the mean
        x, y = dot.get_xydata().T
        assert x.tolist() == pytest.approx(loads)
        assert fmt(y, 1) == [r[column].rstrip("x") for r in rows]
    for column, label in ((2, "p99"), (1, "mean")):
        x, y = by_label(fig, label).get_xydata().T
        on_curve = np.interp(loads, x, y)
        assert fmt(on_curve, 1) == [r[column].rstrip("x") for r in rows]
    ratio = rows[0][3]
    assert_page_quotes("concepts/serving.md", ratio)


def test_fan_out_plots_the_formula_and_the_simulation():
    lines = output_lines("snippets.concepts.serving")
    rows = block_after(lines, "calls 1-0.99^N", 4)
    fig, _ = rendered("fan-out-tail")
    (dots,) = markers_only(fig)
    x, y = dots.get_xydata().T
    assert x.tolist() == [int(r[0]) for r in rows]
    assert fmt(y, 3) == [r[2] for r in rows]
    curve_x, curve_y = lines_of(fig)[0].get_xydata().T
    for row in rows:
        at = curve_y[curve_x == int(row[0])]
        assert at.size == 1 and f"{at[0]:.3f}" == row[1]
    assert_page_quotes("concepts/serving.md", rows[0][1], rows[2][1], rows[3][1])


def test_pr_vs_roc_plots_the_fixed_recall_table():
    lines = output_lines("snippets.concepts.classification_metrics")
    start = next(
        i for i, line in enumerate(lines) if line.startswith("At a fixed recall")
    )
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(line.split())
    fig, _ = rendered("pr-vs-roc")
    roc, pr = fig.axes
    curves = [line for line in roc.get_lines() if line.get_label().endswith("positive")]
    assert [c.get_label() for c in curves] == [
        "50% positive",
        "10% positive",
        "1% positive",
    ]
    pr_curves = pr.get_lines()
    for k, (roc_line, pr_line) in enumerate(zip(curves, pr_curves, strict=True)):
        fpr, recall = roc_line.get_xydata()[1:-1].T  # without (0, 0) and (1, 1)
        assert fmt(fpr, 3) == [r[1 + k] for r in rows]
        assert fmt(recall, 2) == [r[0] for r in rows]
        pr_recall, precision = pr_line.get_xydata().T
        assert fmt(pr_recall, 2) == [r[0] for r in rows]
        assert fmt(precision, 3) == [r[4 + k] for r in rows]
    half = next(r for r in rows if r[0] == "0.50")
    assert_page_quotes("concepts/classification-metrics.md", *half[4:7])


def test_downsampling_figure_plots_the_decile_table():
    lines = output_lines("snippets.concepts.calibration")
    rows = block_after(lines, "decile      n     raw", 10)
    fig, _ = rendered("downsampling-calibration")
    raw = by_label(fig, "raw (trained on 5% of negatives)").get_xydata().T
    fixed = by_label(fig, "corrected for the downsampling").get_xydata().T
    assert fmt(raw[0], 4) == [r[2] for r in rows]
    assert fmt(fixed[0], 4) == [r[3] for r in rows]
    assert fmt(raw[1], 4) == fmt(fixed[1], 4) == [r[4] for r in rows]


def test_ann_figure_plots_the_benchmark_rows():
    lines = output_lines("snippets.concepts.ann_index")
    fig, _ = rendered("ann-recall-vs-effort")
    for index, knob in (("IVF-Flat 256", "nprobe"), ("HNSW M=16", "ef")):
        rows = [line.split() for line in lines if line.startswith(index)]
        settings = ", ".join(r[-4].split("=")[1] for r in rows)
        line = by_label(fig, f"{index}, {knob} = {settings}")
        distances, recall = line.get_xydata().T
        assert fmt(recall, 3) == [r[-3] for r in rows]
        assert [f"{d:,.0f}" for d in distances] == [r[-2] for r in rows]
    exact = next(line.split() for line in lines if line.startswith("Flat (exact)"))
    point = by_label(fig, "exact (flat) search").get_xydata()[0]
    assert [f"{point[0]:,.0f}", f"{point[1]:.3f}"] == [exact[-2], exact[-3]]


def test_lsh_figure_plots_the_measured_rates_and_intervals():
    lines = output_lines("snippets.problems.near_duplicates")
    start = next(
        i for i, line in enumerate(lines) if line.startswith("Jaccard    pairs")
    )
    rows = [line for line in lines[start + 1 : start + 11]]
    cells = [
        re.findall(r"(\d\.\d{3}) \[(\d\.\d{3}),(\d\.\d{3})\] (\d\.\d{3})", r)
        for r in rows
    ]
    fig, _ = rendered("lsh-s-curve")
    ax = fig.axes[0]
    assert len(ax.containers) == 3
    for k, bars in enumerate(ax.containers):  # one errorbar per setting, in order
        x, rate = bars.lines[0].get_xydata().T
        assert fmt(x, 2) == [f"{0.05 + 0.1 * i:.2f}" for i in range(10)]
        assert fmt(rate, 3) == [c[k][0] for c in cells]
        segments = bars.lines[2][0].get_segments()
        assert [fmt((s[0][1], s[1][1]), 3) for s in segments] == [
            [c[k][1], c[k][2]] for c in cells
        ]


def test_learning_curves_plot_the_seed_means():
    lines = output_lines("snippets.concepts.ml_fundamentals")
    rows = block_after(lines, "       train    val", 5)
    fig, _ = rendered("learning-curves")
    for k, name in enumerate(("linear", "cubic", "cubic+ridge")):
        for j, part in enumerate(("train", "val")):
            label = f"{name}, {'validation' if part == 'val' else 'train'}"
            x, y = by_label(fig, label).get_xydata().T
            assert x.tolist() == [int(r[0]) for r in rows]
            assert fmt(y, 2) == [r[1 + 2 * k + j] for r in rows]
    assert_page_quotes(
        "concepts/ml-fundamentals.md", rows[0][4], rows[-1][4], rows[0][6]
    )


def test_ridge_figure_plots_the_validation_curve():
    lines = output_lines("snippets.concepts.ml_fundamentals")
    rows = block_after(lines, "  alpha  train    val", 7)
    fig, _ = rendered("ridge-validation-curve")
    for label, column in (("validation (5-fold CV)", 2), ("train", 1)):
        x, y = by_label(fig, label).get_xydata().T
        assert [f"{a:g}" for a in x] == [r[0] for r in rows]
        assert fmt(y, 2) == [r[column] for r in rows]
    best = min(rows, key=lambda r: float(r[2]))
    assert_page_quotes("concepts/ml-fundamentals.md", rows[0][1], rows[-1][1], best[2])


# ── (2)-(4) the committed files ─────────────────────────────────────────────────
@pytest.mark.parametrize("name", list(registry.FIGURES))
def test_committed_svg_is_what_the_program_draws_now(name):
    path = figures.FIGURE_DIR / f"{name}.svg"
    assert path.is_file(), f"{path.name} is missing: run `make outputs`"
    _, svg = rendered(name)
    assert path.read_bytes() == svg, f"{path.name} is stale: run `make outputs`"


@pytest.mark.parametrize("name", list(registry.FIGURES))
def test_svg_is_small_well_formed_and_16_by_9(name):
    _, svg = rendered(name)
    size = len(gzip.compress(svg, compresslevel=9))
    assert size <= MAX_GZIP_BYTES, f"{name}.svg is {size:,} B gzipped"
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    assert width / height == pytest.approx(640 / 360)
    assert b"<text" not in svg, "text must be drawn as paths (svg.fonttype)"
    assert b"<dc:date>" not in svg, "a date makes every rebuild differ"


def test_svg_bytes_do_not_depend_on_the_run():
    fig = registry.draw("latency-vs-load")
    assert figures.svg_bytes(fig) == rendered("latency-vs-load")[1]


# ── (5) every figure is shown, with alt text and its box reserved ───────────────
def figure_images() -> list[tuple[str, re.Match]]:
    return [
        (page, match)
        for page in (p.relative_to(DOCS).as_posix() for p in pages())
        for match in IMAGE.finditer(page_text(page))
    ]


def test_every_figure_is_on_a_page_with_alt_text_and_its_size():
    shown = {}
    for page, match in figure_images():
        shown.setdefault(match["name"], []).append(page)
        assert len(match["alt"].split()) >= 8, f"{page}: {match['name']} alt too short"
        attrs = match["attrs"].split()
        for needed in (".mlsd-figure", "loading=lazy", "width=640", "height=360"):
            assert needed in attrs, f"{page}: {match['name']} lacks {needed}"
        assert match["alt"] in prose(page), f"{page}: the figure sits in a code block"
    files = {p.stem for p in figures.FIGURE_DIR.glob("*.svg")}
    assert set(registry.FIGURES) <= set(shown), (
        f"not on any page: {set(registry.FIGURES) - set(shown)}"
    )
    assert files == set(registry.FIGURES), (
        f"unlisted SVGs: {files ^ set(registry.FIGURES)}"
    )


# ── the helpers reject bad input ────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: figures.save_svg(None, "out.png"), ValueError),
        (lambda: registry.draw("no-such-figure"), ValueError),
        (lambda: figures.new_figure(0), ValueError),
        (lambda: figures.new_figure(True), TypeError),
    ],
)
def test_bad_input_raises(call, error):
    with pytest.raises(error):
        call()
