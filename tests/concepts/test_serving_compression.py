"""int8 quantization stays within half a step; pruning keeps what it should."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from hypothesis import given, settings
from hypothesis import strategies as st

from snippets.concepts import serving_compression as sv

PAGE = "concepts/serving.md"


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 8),
    st.integers(1, 8),
    st.floats(1e-3, 1e3),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_int8_error_is_at_most_half_a_step(rows, cols, spread, seed, per_row):
    rng = np.random.default_rng(seed)
    w = (rng.normal(size=(rows, cols)) * spread).astype(np.float32)
    q, scale = sv.quantize_int8(w, per_row=per_row)
    assert q.dtype == np.int8 and q.nbytes * 4 == w.nbytes
    error = np.abs(w - sv.dequantize(q, scale))
    bound = (scale.reshape(-1, 1) if per_row else scale) / 2
    assert np.all(error <= bound * (1 + 1e-5) + 1e-12)
    assert np.abs(q).max() == 127  # the largest weight uses the full range


def test_per_row_scales_help_rows_of_different_ranges():
    rng = np.random.default_rng(0)
    w = (rng.normal(size=(4, 256)) * np.array([[0.01], [0.1], [1.0], [10.0]])).astype(
        np.float32
    )
    errors = {}
    for per_row in (False, True):
        q, scale = sv.quantize_int8(w, per_row=per_row)
        errors[per_row] = np.abs(w - sv.dequantize(q, scale))[0].mean()
    assert errors[True] < errors[False] / 10  # the small row keeps its precision


def test_compression_keeps_the_digits_model_accurate():
    model, x_test, y_test = sv.digits_model(seed=1)
    base = sv.predict_with(model.coef_, model.intercept_, x_test)
    assert np.array_equal(base, model.predict(x_test))  # our scoring = sklearn's
    q, scale = sv.quantize_int8(model.coef_.astype(np.float32))
    int8 = sv.predict_with(sv.dequantize(q, scale), model.intercept_, x_test)
    assert np.mean(int8 == base) > 0.98
    accuracies = [
        np.mean(
            sv.predict_with(
                sv.magnitude_prune(model.coef_, s), model.intercept_, x_test
            )
            == y_test
        )
        for s in (0.0, 0.5, 0.9, 0.98)
    ]
    assert accuracies[1] > accuracies[0] - 0.02  # half the weights are nearly free
    assert accuracies[-1] < accuracies[0] - 0.1  # but not all of them


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
    with pytest.raises(ValueError, match="divisible by 4"):
        sv.prune_2_of_4(np.ones((2, 6)))


def test_magnitude_prune_zeroes_the_smallest_weights():
    w = np.array([[0.5, -0.1, 2.0], [-3.0, 0.05, 0.2]])
    pruned = sv.magnitude_prune(w, 0.5)
    assert np.count_nonzero(pruned) == 3
    assert set(pruned[pruned != 0]) == {0.5, 2.0, -3.0}
    assert np.array_equal(sv.magnitude_prune(w, 0.0), w)


def test_bad_input_raises_a_clear_error():
    with pytest.raises(TypeError, match="2-D floating"):
        sv.quantize_int8(np.ones(4, dtype=np.float32))
    with pytest.raises(ValueError, match="finite"):
        sv.quantize_int8(np.array([[np.inf, 1.0]]))
    with pytest.raises(ValueError, match="sparsity"):
        sv.magnitude_prune(np.ones((2, 2)), 1.0)


def test_page_quotes_the_numbers_the_code_prints():
    lines = module_output("snippets.concepts.serving_compression").splitlines()
    pruning = next(line for line in lines if line.lstrip().startswith("50% ->"))
    assert_page_quotes(PAGE, *[part.split(" -> ")[1] for part in pruning.split(", ")])
    two_four = next(x for x in lines if x.lstrip().startswith("2:4 structured"))
    unstructured = pruning.split(", ")[0].split(" -> ")[1]
    assert_page_quotes(PAGE, f"reaches {two_four.split()[-1]} against {unstructured}")
    per_tensor = next(line for line in lines if "int8 per-tensor" in line).split()
    assert_page_quotes(PAGE, f"{per_tensor[2]} smaller than float32")
    assert_page_quotes(PAGE, f"{per_tensor[6]} smaller than\nbfloat16")
    error_line = lines[
        lines.index(next(x for x in lines if "int8 per-tensor" in x)) + 1
    ]
    max_error, half_scale = error_line.split()[2], error_line.split()[-1]
    assert float(max_error) <= float(half_scale)
    assert_page_quotes(PAGE, f"({max_error})", f"({half_scale})")
    accuracy = next(line for line in lines if "float32 accuracy" in line).split()[-1]
    same = next(line for line in lines if "same prediction" in line).split()[-1]
    assert_page_quotes(PAGE, accuracy, same)


def test_border_share_and_the_two_four_gap_over_splits():
    lines = module_output("snippets.concepts.serving_compression").splitlines()
    border = next(x for x in lines if "border pixels" in x).split()
    weights_share, zeroed_share = border[2], border[6]
    # An independent count: which of the 64 pixels sit on the edge of the image.
    rows, cols = np.divmod(np.arange(64), 8)
    edge = (rows % 7 == 0) | (cols % 7 == 0)
    assert weights_share == f"{edge.mean():.0%}"
    model, _, _ = sv.digits_model(0)
    w = model.coef_
    smallest = np.argsort(np.abs(w), axis=None, kind="stable")[: w.size // 2]
    on_edge = edge[np.unravel_index(smallest, w.shape)[1]].mean()
    assert zeroed_share == f"{on_edge:.0%}" and on_edge > edge.mean()
    assert_page_quotes(PAGE, f"hold {weights_share} of the weights but {zeroed_share}")
    # The 2:4 gap, recomputed split by split with scikit-learn's own predict.
    summary = next(x for x in lines if x.lstrip().startswith("2:4 below"))
    below, low, high = summary.split()[5], summary.split()[-3], summary.split()[-1]
    gaps = []
    for seed in range(8):
        model, x_test, y_test = sv.digits_model(seed)
        assert x_test.shape[0] == 540  # 30% of the 1,797 images
        dense = model.coef_.copy()
        pruned = dense.copy().ravel()
        pruned[
            np.argsort(np.abs(dense), axis=None, kind="stable")[: dense.size // 2]
        ] = 0
        model.coef_ = pruned.reshape(dense.shape)
        unstructured = np.mean(model.predict(x_test) == y_test)
        model.coef_ = sv.prune_2_of_4(dense)
        gaps.append(unstructured - np.mean(model.predict(x_test) == y_test))
    assert int(below) == sum(g > 0 for g in gaps) == 8
    assert (low, high) == (f"{min(gaps):.3f}", f"{max(gaps):.3f}")
    assert_page_quotes(PAGE, f"in {below} of 8 splits, by {low} to {high}")
