"""The guide's figures: each plots what its program prints, and the committed SVGs
are what ``snippets.common.figures`` writes now (deterministic, small, used).

Each drawing function plots its numbers as printed (rounded to the printed
precision). ``make outputs`` draws from the computed data; this test draws every
figure from the numbers parsed out of the program's printed output
(``module_output``, shared across the run) and compares the SVG bytes with the
committed file: equal bytes mean the plotted data is the printed data, without
recomputing it. The curves drawn from formulas are checked point by point against
the formula computed here, and each figure's alt text and caption quote the
printed numbers.
"""

from __future__ import annotations

import functools
import gzip
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from guide import DOCS, module_output, page_text, pages, prose

from mlsd_docs import figures as registry
from snippets.common import figures

MAX_GZIP_BYTES = 30 * 1024
IMAGE = re.compile(
    r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]*assets/figures/(?P<name>[\w-]+)\.svg)\)"
    r"\{(?P<attrs>[^}]*)\}"
)


# ── the printed numbers, parsed into what each drawing function takes ──────────
def output_lines(module: str) -> list[str]:
    return module_output(module).splitlines()


def block_after(lines: list[str], start: str, count: int) -> list[list[str]]:
    i = next(i for i, line in enumerate(lines) if line.startswith(start))
    return [line.split() for line in lines[i + 1 : i + 1 + count]]


def queueing_table() -> list[list[str]]:
    return block_after(output_lines("snippets.concepts.serving_capacity"), "  util", 4)


def fan_out_table() -> list[list[str]]:
    return block_after(output_lines("snippets.concepts.serving"), "calls 1-0.99^N", 4)


def fixed_recall_table() -> list[list[str]]:
    lines = output_lines("snippets.concepts.classification_metrics")
    start = next(i for i, x in enumerate(lines) if x.startswith("At a fixed recall"))
    return [line.split() for line in lines[start + 2 : start + 13]]


def decile_table() -> list[list[str]]:
    return block_after(
        output_lines("snippets.concepts.calibration"), "decile      n     raw", 10
    )


def ann_table() -> list[list[str]]:
    lines = output_lines("snippets.concepts.ann_index")
    start = next(i for i, x in enumerate(lines) if x.startswith("index "))
    end = lines.index("", start)
    return [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1 : end]]


def learning_table() -> list[list[str]]:
    return block_after(
        output_lines("snippets.concepts.ml_fundamentals"), "       train    val", 5
    )


def ridge_table() -> list[list[str]]:
    return block_after(
        output_lines("snippets.concepts.ml_fundamentals"), "  alpha  train    val", 7
    )


CELL = re.compile(r"(\d\.\d{3}) \[(\d\.\d{3}),(\d\.\d{3})\] (\d\.\d{3})")


def lsh_table() -> tuple[list[tuple[int, int]], list[list[tuple[str, ...]]], list[str]]:
    """The S-curve settings (b, r), the cells per bin, the mean Jaccard per bin."""
    lines = output_lines("snippets.problems.near_duplicates")
    start = next(i for i, x in enumerate(lines) if x.startswith("Jaccard    pairs"))
    settings = [
        (int(b), int(r)) for b, r in re.findall(r"b=(\d+) r=(\d+)", lines[start])
    ]
    cells = [CELL.findall(line) for line in lines[start + 1 : start + 11]]
    means = next(x for x in lines if x.startswith("Mean true Jaccard per bin:"))
    return settings, cells, means.split(":")[1].split()


def printed_data(name: str):
    """What the figure's drawing function takes, parsed from the printed output."""
    if name == "latency-vs-load":
        return [
            (float(r[0].rstrip("%")) / 100, float(r[1][:-1]), float(r[2][:-1]))
            for r in queueing_table()
        ]
    if name == "fan-out-tail":
        return [(int(r[0]), float(r[2])) for r in fan_out_table()]
    if name == "pr-vs-roc":
        rows = fixed_recall_table()
        return {
            rate: [(float(r[0]), float(r[1 + k]), float(r[4 + k])) for r in rows]
            for k, rate in enumerate((0.5, 0.1, 0.01))
        }
    if name == "downsampling-calibration":
        return [(int(r[1]), *map(float, r[2:5])) for r in decile_table()]
    if name == "ann-recall-vs-effort":
        from snippets.concepts.ann_index import Row

        return [
            Row(r[0], r[1], float(r[2]), float(r[3].replace(",", "")), float(r[4]))
            for r in ann_table()
        ]
    if name == "learning-curves":
        rows = learning_table()
        return {
            model: tuple([float(r[1 + 2 * k + j]) for r in rows] for j in (0, 1))
            for k, model in enumerate(("linear", "cubic", "cubic+ridge"))
        }
    if name == "ridge-validation-curve":
        rows = ridge_table()
        return tuple([float(r[j]) for r in rows] for j in (1, 2))
    if name == "lsh-s-curve":
        _, cells, means = lsh_table()
        return [
            (float(mean), [tuple(map(float, c[:3])) for c in row])
            for mean, row in zip(means, cells, strict=True)
        ]
    raise ValueError(name)


@functools.cache
def rendered(name: str):
    """The figure drawn from its printed numbers, and its SVG bytes, once per run."""
    module, _, function = registry.FIGURES[name].partition(":")
    draw = getattr(__import__(module, fromlist=[function]), function)
    fig = draw(printed_data(name))
    return fig, figures.svg_bytes(fig)


def lines_of(fig, axis: int = 0):
    return fig.axes[axis].get_lines()


def by_label(fig, label: str, axis: int = 0):
    return next(line for line in lines_of(fig, axis) if line.get_label() == label)


def markers_only(fig, axis: int = 0):
    return [line for line in lines_of(fig, axis) if line.get_linestyle() == "None"]


def fmt(values, digits: int) -> list[str]:
    return [f"{v:.{digits}f}" for v in values]


# ── the figure's words: its alt text and the caption paragraph after it ─────────
def figure_words(name: str) -> str:
    for page in (p.relative_to(DOCS).as_posix() for p in pages()):
        lines = page_text(page).splitlines()
        for i, line in enumerate(lines):
            match = IMAGE.search(line)
            if match and match["name"] == name:
                end = next(j for j in range(i + 2, len(lines)) if not lines[j].strip())
                return " ".join([match["alt"], *lines[i + 1 : end]])
    raise AssertionError(f"{name} is on no page")


def assert_figure_quotes(name: str, *numbers: str) -> None:
    """Each number (or phrase) appears in the figure's alt text or caption, not only
    somewhere on its page; a number must not be part of a longer one."""
    words = " ".join(figure_words(name).split())
    missing = [
        n
        for n in numbers
        if not re.search(rf"(?<![\d.]){re.escape(n)}(?![\d]|\.\d)", words)
    ]
    assert not missing, f"{name}: alt text and caption do not quote {missing}"


# ── (1) the committed SVG is drawn from the printed numbers ─────────────────────
@pytest.mark.parametrize("name", list(registry.FIGURES))
def test_committed_svg_is_the_figure_of_the_printed_numbers(name):
    path = figures.FIGURE_DIR / f"{name}.svg"
    assert path.is_file(), f"{path.name} is missing: run `make outputs`"
    _, svg = rendered(name)
    assert path.read_bytes() == svg, (
        f"{path.name} differs from the figure of its program's printed numbers:"
        " run `make outputs` (and check the plotted data is what main() prints)"
    )


@pytest.mark.parametrize("name", ["latency-vs-load", "fan-out-tail"])
def test_computed_data_rounded_draws_the_same_bytes(name):
    assert figures.svg_bytes(registry.draw(name)) == rendered(name)[1]


# ── (2) each figure plots its data and its formulas, point by point ─────────────
def test_latency_curves_are_the_mm1_formulas_and_the_dots_the_table():
    fig, _ = rendered("latency-vs-load")
    for label, factor in (("p99", np.log(100)), ("mean", 1.0)):
        rho, y = by_label(fig, label).get_xydata().T
        assert rho.min() == 0 and rho.max() >= 0.95 and len(rho) >= 90
        assert y == pytest.approx(factor / (1 - rho), rel=1e-12)
    rows = printed_data("latency-vs-load")
    p99, mean = markers_only(fig)
    for column, dots in ((2, p99), (1, mean)):
        assert dots.get_xydata().tolist() == [[r[0], r[column]] for r in rows]
    ratio = queueing_table()[0][3]
    assert_figure_quotes("latency-vs-load", ratio, "2.0", "10.0", "3.3")
    assert [r[1] for r in rows] == [2.0, 2.5, 3.3, 10.0]  # the quoted means


def test_fan_out_curve_is_the_formula_and_the_dots_the_simulation():
    fig, _ = rendered("fan-out-tail")
    calls, p = lines_of(fig)[0].get_xydata().T
    assert calls.min() == 1 and calls.max() == 300 and len(calls) >= 40
    assert p == pytest.approx(1 - 0.99**calls, rel=1e-12)
    (dots,) = markers_only(fig)
    rows = fan_out_table()
    assert dots.get_xydata().tolist() == [[int(r[0]), float(r[2])] for r in rows]
    assert fig.axes[0].get_ylabel() == "P(at least one call slower than its p99)"
    assert_figure_quotes("fan-out-tail", rows[0][1], rows[2][1], rows[3][1])


def test_pr_vs_roc_plots_the_fixed_recall_table():
    rows = fixed_recall_table()
    fig, _ = rendered("pr-vs-roc")
    roc, pr = fig.axes
    curves = [line for line in roc.get_lines() if line.get_label().endswith("positive")]
    assert [c.get_label() for c in curves] == [
        "50% positive",
        "10% positive",
        "1% positive",
    ]
    assert roc.get_xscale() == "log"
    for k, (roc_line, pr_line) in enumerate(zip(curves, pr.get_lines(), strict=True)):
        fpr, recall = roc_line.get_xydata().T
        assert fmt(fpr, 3) == [r[1 + k] for r in rows]
        assert fmt(recall, 2) == [r[0] for r in rows]
        pr_recall, precision = pr_line.get_xydata().T
        assert fmt(pr_recall, 2) == [r[0] for r in rows]
        assert fmt(precision, 3) == [r[4 + k] for r in rows]
    half = next(r for r in rows if r[0] == "0.50")
    assert_figure_quotes("pr-vs-roc", *half[4:7])


def test_downsampling_figure_plots_the_deciles_with_three_standard_errors():
    rows = decile_table()
    fig, _ = rendered("downsampling-calibration")
    raw = by_label(fig, "raw (trained on 5% of negatives)").get_xydata().T
    fixed = by_label(fig, "corrected for the downsampling").get_xydata().T
    assert fmt(raw[0], 4) == [r[2] for r in rows]
    assert fmt(fixed[0], 4) == [r[3] for r in rows]
    assert fmt(raw[1], 4) == fmt(fixed[1], 4) == [r[4] for r in rows]
    (bars,) = fig.axes[0].collections
    n, seen = np.array([int(r[1]) for r in rows]), np.array([float(r[4]) for r in rows])
    se = np.sqrt(seen * (1 - seen) / n)
    ends = np.array([(s[0][1], s[1][1]) for s in bars.get_segments()])
    assert ends == pytest.approx(np.column_stack((seen - 3 * se, seen + 3 * se)))
    raw_v, fixed_v = (np.array([float(r[c]) for r in rows]) for c in (2, 3))
    times = raw_v / seen
    w = float(
        re.search(
            r"at w = ([\d.]+)", module_output("snippets.concepts.calibration")
        ).group(1)
    )
    assert_figure_quotes(
        "downsampling-calibration",
        f"{times.min():.0f} to {times.max():.0f} times",
        rows[0][3],
        rows[-1][3],
        f"odds by {1 / w:.0f}",
        f"{raw_v[0] / fixed_v[0]:.0f}",
        f"{raw_v[-1] / fixed_v[-1]:.1f}",
    )


def test_ann_figure_plots_the_benchmark_rows():
    rows = ann_table()
    fig, _ = rendered("ann-recall-vs-effort")
    for index, knob in (("IVF-Flat 256", "nprobe"), ("HNSW M=16", "ef")):
        mine = [r for r in rows if r[0] == index]
        settings = ", ".join(r[1].split("=")[1] for r in mine)
        distances, recall = (
            by_label(fig, f"{index}, {knob} = {settings}").get_xydata().T
        )
        assert fmt(recall, 3) == [r[2] for r in mine]
        assert [f"{d:,.0f}" for d in distances] == [r[3] for r in mine]
    exact = next(r for r in rows if r[0] == "Flat (exact)")
    point = by_label(fig, "exact (flat) search").get_xydata()[0]
    assert [f"{point[0]:,.0f}", f"{point[1]:.3f}"] == [exact[3], exact[2]]
    hnsw = next(r for r in rows if r[:2] == ["HNSW M=16", "ef=64"])
    ivf = next(r for r in rows if r[0] == "IVF-Flat 256" and r[2] == hnsw[2])
    assert_figure_quotes(
        "ann-recall-vs-effort", hnsw[2], hnsw[3], ivf[3], exact[3], hnsw[4]
    )


def test_lsh_figure_plots_the_s_curves_and_the_rates_at_their_mean_jaccard():
    settings, cells, means = lsh_table()
    fig, _ = rendered("lsh-s-curve")
    ax = fig.axes[0]
    curves = [line for line in ax.get_lines() if line.get_label().startswith("b=")]
    assert [c.get_label() for c in curves] == [f"b={b} r={r}" for b, r in settings]
    for (b, r), curve in zip(settings, curves, strict=True):
        s, p = curve.get_xydata().T
        assert s.min() == 0 and s.max() == 1 and len(s) >= 50
        assert p == pytest.approx(1 - (1 - s**r) ** b, abs=1e-12)
    assert len(ax.containers) == len(settings)
    for k, bars in enumerate(ax.containers):  # one errorbar per setting, in order
        x, rate = bars.lines[0].get_xydata().T
        assert fmt(x, 3) == means
        assert fmt(rate, 3) == [c[k][0] for c in cells]
        segments = bars.lines[2][0].get_segments()
        assert [fmt((s[0][1], s[1][1]), 3) for s in segments] == [
            [c[k][1], c[k][2]] for c in cells
        ]
    inside = re.search(
        r"measured rate in (\d+) of (\d+) cells",
        module_output("snippets.problems.near_duplicates"),
    )
    (product,) = {b * r for b, r in settings}
    assert_figure_quotes(
        "lsh-s-curve", f"{inside[1]} of the {inside[2]}", f"= {product}"
    )


def test_learning_curves_plot_the_seed_means():
    rows = learning_table()
    fig, _ = rendered("learning-curves")
    for k, name in enumerate(("linear", "cubic", "cubic+ridge")):
        for j, part in enumerate(("train", "validation")):
            x, y = by_label(fig, f"{name}, {part}").get_xydata().T
            assert x.tolist() == [int(r[0]) for r in rows]
            assert fmt(y, 2) == [r[1 + 2 * k + j] for r in rows]
    seeds = re.search(
        r"n = 50 -> 100: (.*)", module_output("snippets.concepts.ml_fundamentals")
    )[1]
    at_50 = [float(pair.split(" -> ")[0]) for pair in seeds.split(", ")]
    gap = float(rows[0][6]) - float(rows[0][5])
    assert_figure_quotes(
        "learning-curves",
        rows[0][4],
        rows[1][4],
        rows[-1][4],
        rows[0][6],
        f"{float(rows[0][4]) - float(rows[0][3]):.2f}",
        f"{gap:.2f}",
        f"{min(at_50):.1f}",
        f"{max(at_50):.1f}",
    )


def test_ridge_figure_plots_the_validation_curve():
    rows = ridge_table()
    fig, _ = rendered("ridge-validation-curve")
    for label, column in (("validation (5-fold CV)", 2), ("train", 1)):
        x, y = by_label(fig, label).get_xydata().T
        assert [f"{a:g}" for a in x] == [r[0] for r in rows]
        assert fmt(y, 2) == [r[column] for r in rows]
    best, second = sorted(rows, key=lambda r: float(r[2]))[:2]
    assert_figure_quotes(
        "ridge-validation-curve",
        rows[0][1],
        rows[-1][1],
        f"{best[2]} at {best[0]}",
        f"{second[2]} at {second[0]}",
    )


# ── (3)-(4) the committed files ─────────────────────────────────────────────────
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


def test_quote_check_wants_the_number_itself_in_the_figure_words():
    words = figure_words("fan-out-tail")
    assert "0.634" in words
    with pytest.raises(AssertionError):
        assert_figure_quotes("fan-out-tail", "0.63")  # only part of 0.634
    with pytest.raises(AssertionError):
        assert_figure_quotes("fan-out-tail", "23,148")  # on the page, not the figure's


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
