"""Quantization stays within half a step, pruning keeps what it should, distillation
trains on the loss it claims; the page quotes the numbers the program prints."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse, stats
from scipy.optimize import check_grad
from scipy.special import softmax
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from snippets.concepts import serving_compression as sv

PAGE = "concepts/model-efficiency.md"


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 8),
    st.integers(1, 8),
    st.floats(1e-3, 1e3),
    st.integers(0, 2**32 - 1),
    st.booleans(),
    st.integers(2, 8),
)
def test_error_is_at_most_half_a_step(rows, cols, spread, seed, per_row, bits):
    rng = np.random.default_rng(seed)
    w = (rng.normal(size=(rows, cols)) * spread).astype(np.float32)
    q, scale = sv.quantize(w, bits, per_row=per_row)
    assert q.dtype == np.int8 and q.nbytes * 4 == w.nbytes
    error = np.abs(w - sv.dequantize(q, scale))
    bound = (scale.reshape(-1, 1) if per_row else scale) / 2
    assert np.all(error <= bound * (1 + 1e-5) + 1e-12)
    levels = 2 ** (bits - 1) - 1
    assert np.abs(q).max() == levels  # the largest weight uses the full range


def test_packed_size_counts_bits_not_bytes():
    q, scale = sv.quantize(np.ones((128, 64), dtype=np.float32), 4, per_row=True)
    assert sv.packed_bytes(q, scale, 4) == 128 * 64 // 2 + 128 * 4
    q, scale = sv.quantize(np.ones((3, 3), dtype=np.float32), 2)
    assert sv.packed_bytes(q, scale, 2) == 3 + 4  # 18 bits round up to 3 bytes


def test_per_row_scales_help_rows_of_different_ranges():
    rng = np.random.default_rng(0)
    w = (rng.normal(size=(4, 256)) * np.array([[0.01], [0.1], [1.0], [10.0]])).astype(
        np.float32
    )
    errors = {}
    for per_row in (False, True):
        q, scale = sv.quantize(w, per_row=per_row)
        errors[per_row] = np.abs(w - sv.dequantize(q, scale))[0].mean()
    assert errors[True] < errors[False] / 10  # the small row keeps its precision


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans(), st.sampled_from([2, 3, 4]))
def test_clipping_finds_the_range_a_fine_scan_finds(seed, per_row, bits):
    rng = np.random.default_rng(seed)
    w = rng.standard_t(3, size=(6, 64)).astype(np.float32)  # heavy tails: outliers
    levels = 2 ** (bits - 1) - 1
    axis = 1 if per_row else None

    def squared_error(scale):  # written out here, independently of quantize
        q = np.clip(np.round(w / scale), -levels, levels)
        return ((w - q * scale) ** 2).sum(axis=axis)

    top = np.abs(w).max(axis=axis, keepdims=True)
    scan = np.min(
        [squared_error(f * top / levels) for f in np.linspace(0.01, 1, 2000)], 0
    )
    q, scale = sv.quantize(w, bits, per_row=per_row, clip=True)
    clipped = ((w - sv.dequantize(q, scale)) ** 2).sum(axis=axis)
    q_max, scale_max = sv.quantize(w, bits, per_row=per_row)
    unclipped = ((w - sv.dequantize(q_max, scale_max)) ** 2).sum(axis=axis)
    assert np.all(clipped <= unclipped * (1 + 1e-6))  # the maximum is a candidate
    assert np.all(clipped <= scan * 1.02 + 1e-9)  # and the grid is nearly as good


@pytest.fixture(scope="module")
def split():
    return sv.split_and_teacher(1)


def reference_teacher(x, y, seed: int) -> MLPClassifier:
    """scikit-learn's own fit of the teacher, under the snippet's thread limit (BLAS
    threads change the rounding)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return MLPClassifier(
            hidden_layer_sizes=(sv.TEACHER_HIDDEN,),
            solver="lbfgs",
            alpha=1.0,
            max_iter=sv.TEACHER_STEPS,
            random_state=seed,
        ).fit(x, y)


def test_teacher_and_forward_pass_match_scikit_learn(split):
    (x_tr, x_te, y_tr, _), layers = split
    # The same estimator fitted by scikit-learn: our weights and forward pass match it.
    mlp = reference_teacher(x_tr, y_tr, seed=1)
    assert mlp.n_iter_ < sv.TEACHER_STEPS  # converged: the budget did not bind
    for (w, b), coef, intercept in zip(
        layers, mlp.coefs_, mlp.intercepts_, strict=True
    ):
        np.testing.assert_allclose(w, coef.T)
        np.testing.assert_allclose(b, intercept)
    probs = softmax(sv.mlp_logits(layers, x_te), axis=1)
    np.testing.assert_allclose(probs, mlp.predict_proba(x_te), atol=1e-10)


@pytest.mark.parametrize("seed", [0, 2, 3, 4])  # seed 1: the test above
def test_every_full_teacher_converges_within_the_step_budget(seed):
    x_tr, _, y_tr, _ = sv.digits_split(seed)
    mlp = reference_teacher(x_tr, y_tr, seed=seed)
    assert mlp.n_iter_ < sv.TEACHER_STEPS


def test_distillation_loss_is_log_loss_and_its_gradient_is_right():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(20, 10))
    labels = rng.integers(0, 10, 20)
    loss, _ = sv.distillation_loss(logits, np.eye(10)[labels], 1.0)
    expected = log_loss(labels, softmax(logits, axis=1), labels=range(10))
    assert loss == pytest.approx(expected)
    targets = softmax(rng.normal(size=(20, 10)), axis=1)
    for t in (1.0, 4.0):
        error = check_grad(
            lambda z, t=t: sv.distillation_loss(z.reshape(20, 10), targets, t)[0],
            lambda z, t=t: sv.distillation_loss(z.reshape(20, 10), targets, t)[
                1
            ].ravel(),
            logits.ravel(),
        )
        assert error < 1e-5


def test_student_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(30, 64))
    targets = softmax(rng.normal(size=(30, 10)), axis=1)
    theta = rng.normal(0, 0.3, sum(int(np.prod(s)) for s in sv.STUDENT_SHAPES))
    error = check_grad(
        lambda th: sv.student_loss(th, x, targets, 4.0, 1e-3)[0],
        lambda th: sv.student_loss(th, x, targets, 4.0, 1e-3)[1],
        theta,
    )
    assert error < 1e-4


def test_csr_bytes_match_scipy_sparse():
    rng = np.random.default_rng(6)
    w = sv.magnitude_prune(rng.normal(size=(128, 64)), 0.8).astype(np.float32)
    csr = sparse.csr_matrix(w)
    csr.indices = csr.indices.astype(np.int32)
    csr.indptr = csr.indptr.astype(np.int32)
    assert sv.csr_bytes(w) == csr.data.nbytes + csr.indices.nbytes + csr.indptr.nbytes
    assert sv.multiplies([(w, None)]) == csr.nnz


def test_two_of_four_storage_is_counted_bit_by_bit():
    w = sv.prune_2_of_4(np.random.default_rng(7).normal(size=(8, 16)))
    kept = int(np.count_nonzero(w))
    assert kept == w.size // 2
    bits = kept * 16 + kept * 2  # an fp16 value and a 2-bit position per kept weight
    assert sv.two_of_four_bytes(w) == bits // 8
    assert sv.two_of_four_bytes(w) / (2 * w.size) == pytest.approx(36 / 64)


@pytest.mark.parametrize(("index_bytes", "expected"), [(4, 0.5), (2, 1 / 3)])
def test_break_even_is_where_csr_stops_being_larger(index_bytes, expected):
    break_even = sv.break_even_sparsity(32, 8 * index_bytes)
    assert break_even == pytest.approx(expected)
    w = np.random.default_rng(8).normal(size=(64, 4096))  # few rows: few pointers
    for sparsity, smaller in ((break_even - 0.02, False), (break_even + 0.02, True)):
        pruned = sv.magnitude_prune(w, sparsity)
        assert bool(sv.csr_bytes(pruned, 4, index_bytes) < 4 * w.size) is smaller
    # A bitmap: one bit per weight plus the kept float32 values.
    bitmap = sv.break_even_sparsity(32, None)
    for sparsity, smaller in ((bitmap - 0.01, False), (bitmap + 0.01, True)):
        kept = w.size - round(sparsity * w.size)
        assert bool(w.size / 8 + 4 * kept < 4 * w.size) is smaller


def test_per_row_scales_cost_little_on_wide_rows():
    w = np.ones((16, 4096), dtype=np.float32)
    q, scale = sv.quantize(w, 8, per_row=True)
    overhead = sv.packed_bytes(q, scale, 8) / q.size - 1
    assert 0 < overhead < 0.001
    assert_page_quotes(PAGE, "on a row of 4,096 int8 weights a 4-byte scale adds")
    assert_page_quotes(PAGE, "under 0.1%")


def test_corrected_interval_is_nadeau_and_bengio():
    d = np.array([0.02, 0.05, -0.01, 0.04, 0.03])
    n_train, n_test = 1257, 540
    # Written out from the paper: variance of the mean s^2 (1/J + n_test / n_train).
    se = np.sqrt(d.var(ddof=1) * (1 / len(d) + n_test / n_train))
    low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=se)
    assert sv.corrected_interval(list(d), n_train, n_test) == pytest.approx(
        (d.mean(), low, high)
    )
    plain = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert high - low > plain[1] - plain[0]  # wider than the plain t-interval


def test_two_of_four_keeps_the_two_largest_in_every_group():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(6, 16))
    pruned = sv.prune_2_of_4(w)
    assert pruned.shape == w.shape
    for row, kept in zip(w, pruned, strict=True):
        for start in range(0, 16, 4):
            group, out = row[start : start + 4], kept[start : start + 4]
            largest = sorted(np.abs(group))[2:]
            assert np.count_nonzero(out) == 2
            assert sorted(np.abs(out[out != 0])) == pytest.approx(largest)
            assert np.array_equal(out[out != 0], group[out != 0])  # values kept as is


def test_magnitude_prune_zeroes_the_smallest_weights():
    w = np.array([[0.5, -0.1, 2.0], [-3.0, 0.05, 0.2]])
    pruned = sv.magnitude_prune(w, 0.5)
    assert np.count_nonzero(pruned) == 3
    assert set(pruned[pruned != 0]) == {0.5, 2.0, -3.0}
    assert np.array_equal(sv.magnitude_prune(w, 0.0), w)


def test_bad_input_raises_a_clear_error():
    with pytest.raises(TypeError, match="2-D floating"):
        sv.quantize(np.ones(4, dtype=np.float32))
    with pytest.raises(ValueError, match="finite"):
        sv.quantize(np.array([[np.inf, 1.0]]))
    with pytest.raises(ValueError, match="bits"):
        sv.quantize(np.ones((2, 2)), bits=1)
    with pytest.raises(ValueError, match="sparsity"):
        sv.magnitude_prune(np.ones((2, 2)), 1.0)
    with pytest.raises(ValueError, match="divisible by 4"):
        sv.prune_2_of_4(np.ones((2, 6)))
    with pytest.raises(ValueError, match="divisible by 4"):
        sv.two_of_four_bytes(np.ones((2, 6)))
    with pytest.raises(ValueError, match="positive"):
        sv.break_even_sparsity(32, 0)
    with pytest.raises(ValueError, match="positive"):
        sv.corrected_interval([0.1, 0.2], 0, 10)
    with pytest.raises(ValueError, match="probability distribution"):
        sv.fit_student(np.ones((3, 64)), np.ones((3, 10)))
    with pytest.raises(ValueError, match="temperature"):
        sv.fit_student(np.ones((3, 64)), np.eye(10)[:3], temperature=0.0)


# ---- The printed numbers, and the page's prose about them ------------------------


def output() -> str:
    return module_output("snippets.concepts.serving_compression")


def test_quantization_table_and_its_prose():
    rows = re.findall(
        r"^\s+(\d) (per-\w+) (max|clipped)\s+([\d.]+)x\s+([\d.]+)\s+([\d.]+)"
        r"\s+([\d.]+)%\s+([\d.]+)\s+([\d.]+)%$",
        output(),
        re.M,
    )
    table = {(int(b), s, r): rest for b, s, r, *rest in rows}
    assert len(table) == 8
    for (_, _, scale_range), (_, error, half_step, *_) in table.items():
        # The half-step bound holds for the maximum as range, and clipping breaks it.
        assert (float(error) <= float(half_step)) is (scale_range == "max")
    size8, error8, half8, _, acc8, same8 = table[8, "per-tensor", "max"]
    assert_page_quotes(
        PAGE, f"{size8}x smaller than float32", f"({error8})", f"({half8})"
    )
    assert_page_quotes(PAGE, f"unchanged at {acc8}", f"at 0.980 with {same8}%")
    assert_page_quotes(PAGE, f"({table[8, 'per-row', 'max'][0]}x instead of {size8}x")
    four_t, four_r = table[4, "per-tensor", "max"], table[4, "per-row", "max"]
    assert_page_quotes(
        PAGE,
        f"{four_t[0]}x smaller and accuracy is {four_t[4]}",
        f"and {four_r[4]} with",
    )
    two_t, two_r = table[2, "per-tensor", "max"], table[2, "per-row", "max"]
    assert_page_quotes(
        PAGE,
        f"{two_t[3]}% of the weights round to zero, and the network collapses to "
        f"{two_t[4]}",
        f"holds {two_r[4]}, with {two_r[3]}% at zero",
    )
    assert float(two_t[3]) > float(two_r[3])  # the coarse step zeroes more weights
    clip_t, clip_r = table[2, "per-tensor", "clipped"], table[2, "per-row", "clipped"]
    assert_page_quotes(
        PAGE,
        f"largest error ({clip_t[1]}) is far above half",
        f"a step ({clip_t[2]})",
        f"accuracy is {clip_t[4]} with a",
        f"scale per tensor and {clip_r[4]} per row",
    )
    assert float(two_r[4]) > float(two_t[4]) + 0.1
    assert float(clip_t[4]) > float(two_r[4])  # clipping beats per-row max here
    teacher = re.search(r"accuracy ([\d.]+)$", output().splitlines()[1])[1]
    assert teacher == acc8  # int8 leaves the teacher's accuracy where it was


def test_pruning_curve_and_its_prose():
    rows = re.findall(r"^\s+(\d+)%\s+([\d.]+)\s+([\d,]+)\s+([\d.]+)$", output(), re.M)
    curve = {int(z): (acc, mult, ratio) for z, acc, mult, ratio in rows}
    assert list(curve) == [50, 70, 80, 90, 95]
    accs = [curve[z][0] for z in (50, 70, 80, 90, 95)]
    assert_page_quotes(
        PAGE,
        f"accuracy at {accs[0]}, 70% gives {accs[1]} and 80% gives {accs[2]}",
        f"to {accs[3]} at 90% and {accs[4]} at 95%",
    )
    dense = int(re.search(r"([\d,]+) weights", output())[1].replace(",", ""))
    assert int(curve[50][1].replace(",", "")) == dense // 2
    assert_page_quotes(PAGE, f"({curve[50][1]} at 50% against {dense:,} dense)")
    # CSR with 32-bit indices: 8 bytes per non-zero, so break-even is at 50%.
    assert float(curve[50][2]) == pytest.approx(1.0, abs=0.02)
    assert_page_quotes(
        PAGE,
        f"are {curve[50][2]} times the dense",
        f"At 80% they are {curve[80][2]}, at 90% {curve[90][2]}",
    )
    two_four = re.search(r"2 of every 4\) -> ([\d.]+)", output())[1]
    assert_page_quotes(PAGE, f"reaches {two_four};")
    past = re.search(
        r"CSR, 32-bit indices (\d+)%, 16-bit indices (\d+)%; bitmap (\d+)%", output()
    )
    assert_page_quotes(PAGE, f"pays past {past[1]}% sparsity", f"wide) past {past[2]}%")
    assert_page_quotes(PAGE, f"one bit per weight, past {past[3]}%")
    compressed = re.search(r"2-bit positions: (\d+)% of fp16", output())[1]
    assert_page_quotes(PAGE, f"it takes {compressed}% of the dense fp16 bytes")


def test_border_share_is_recounted_independently():
    border = re.search(r"border pixels: (\d+)% .*?, (\d+)% of those", output())
    rows, cols = np.divmod(np.arange(64), 8)
    edge = (rows % 7 == 0) | (cols % 7 == 0)
    assert f"{border[1]}%" == f"{edge.mean():.0%}"
    _, teacher = sv.split_and_teacher(0)
    first = teacher[0][0]
    smallest = np.argsort(np.abs(first), axis=None, kind="stable")[: first.size // 2]
    on_edge = edge[np.unravel_index(smallest, first.shape)[1]].mean()
    assert f"{border[2]}%" == f"{on_edge:.0%}" and on_edge > edge.mean()
    assert_page_quotes(
        PAGE, f"feed {border[1]}% of the first layer's weights but {border[2]}%"
    )


def intervals() -> dict[str, tuple[str, str, str, str]]:
    found = re.findall(
        r"^  (.+?)\s+([+-][\d.]+) \[([+-][\d.]+), ([+-][\d.]+)\] (\w+)$", output(), re.M
    )
    return {label: rest for label, *rest in found}


def test_split_intervals_are_corrected_intervals_of_the_per_split_differences():
    splits = [sv.one_split(seed) for seed in range(5)]
    printed = intervals()
    assert {label for label, _, _ in sv.COMPARISONS} <= set(printed)
    for label, better, worse in sv.COMPARISONS[:2] + sv.COMPARISONS[-2:]:
        d = np.array([s[better] - s[worse] for s in splits])
        se = np.sqrt(d.var(ddof=1) * (1 / 5 + 540 / 1257))
        low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=se)
        mean_s, low_s, high_s, verdict = printed[label]
        assert (mean_s, low_s, high_s) == (
            f"{d.mean():+.3f}",
            f"{low:+.3f}",
            f"{high:+.3f}",
        )
        assert verdict == (
            "tie" if low <= 0 <= high else "win" if d.mean() > 0 else "loss"
        )


def test_distillation_claims_and_their_prose():
    p = intervals()
    expected = {
        "2 bits, max range: per-row minus per-tensor": "win",
        "2 bits, per-tensor: clipped minus max": "win",
        "2 bits, clipped: per-row minus per-tensor": "tie",
        "unstructured 50% minus 2:4": "tie",
        "100 images: soft T=1 minus hard": "win",
        "100 images: soft T=4 minus hard": "win",
        "100 images: hard T=4 minus hard T=1": "tie",
        "teacher on the same 100: soft T=4 minus hard": "tie",
        "all images: soft T=4 minus hard": "tie",
        "teacher minus that student": "tie",
    }
    assert {label: p[label][3] for label in expected} == expected
    # The teacher trained on the student's 100 images gives no gain at all.
    assert float(p["teacher on the same 100: soft T=4 minus hard"][0]) <= 0

    def fmt(label: str) -> str:
        mean, low, high, _ = p[label]
        return f"{mean} [{low}, {high}]"

    assert_page_quotes(
        PAGE,
        "per-row scales are ahead by "
        + fmt("2 bits, max range: per-row minus per-tensor"),
        f"the maximum by {fmt('2 bits, per-tensor: clipped minus max')}",
        fmt("2 bits, clipped: per-row minus per-tensor") + ", a tie",
        f"trails unstructured pruning by {fmt('unstructured 50% minus 2:4')}",
        f"{fmt('100 images: soft T=1 minus hard')} at \\(T = 1\\)",
        f"{fmt('100 images: soft T=4 minus hard')} at \\(T = 4\\)",
        f"{fmt('100 images: hard T=4 minus hard T=1')} against \\(T = 1\\), a tie",
        fmt("teacher on the same 100: soft T=4 minus hard") + " against the true",
        f"difference is {fmt('all images: soft T=4 minus hard')}",
        f"ahead of that student by {fmt('teacher minus that student')}",
        f"within\n{p['teacher minus that student'][2].lstrip('+')} of its teacher",
    )
    student = re.search(r"student: ([\d,]+) multiplies, ([\d.]+)x fewer", output())
    assert_page_quotes(PAGE, f"{student[1]} multiplies per image, {student[2]}x fewer")
    first = re.search(
        r"^  100\s+all 1,257\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$",
        output(),
        re.M,
    )
    hard, hard_t4, soft_t1, soft_t4 = first.groups()
    assert_page_quotes(
        PAGE,
        f"reaches {hard} on true labels, {soft_t1} on the teacher's",
        f"and {soft_t4} at \\(T = 4\\)",
        f"true labels at \\(T = 4\\) give\n{hard_t4}",
    )
    small = re.search(r"^  100\s+same 100\s+([\d.]+)$", output(), re.M)[1]
    assert_page_quotes(PAGE, f"soft targets reach {small}")
    full = re.search(r"^  all 1,257\s+all 1,257\s+([\d.]+)\s+([\d.]+)$", output(), re.M)
    assert_page_quotes(PAGE, f"reaches {full[1]} on labels and {full[2]}")
