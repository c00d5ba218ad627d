"""Model compression: int8 quantization, magnitude and 2:4 pruning on a real model.

Run it: ``python -m snippets.concepts.serving_compression``.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits


# --8<-- [start:quantize]
def quantize_int8(
    weights: np.ndarray, per_row: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantization: q = round(w / scale), scale = max|w| / 127."""
    w = np.asarray(weights)
    if w.ndim != 2 or not np.issubdtype(w.dtype, np.floating):
        raise TypeError("weights must be a 2-D floating-point matrix")
    if not np.isfinite(w).all():
        raise ValueError("weights must be finite")
    # One scale per output row adapts to rows with very different ranges.
    max_abs = np.abs(w).max(axis=1, keepdims=True) if per_row else np.abs(w).max()
    scale = np.where(max_abs > 0, max_abs / 127, 1.0).astype(np.float32)
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, np.atleast_1d(scale)


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Back to float32: w_hat = q * scale; |w - w_hat| <= scale / 2 per weight."""
    return q.astype(np.float32) * scale
    # --8<-- [end:quantize]


# --8<-- [start:prune]
def magnitude_prune(weights: np.ndarray, sparsity: float) -> np.ndarray:
    """Zero the given share of weights with the smallest absolute value."""
    w = np.asarray(weights, dtype=float)
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    n_zero = round(sparsity * w.size)
    if n_zero == 0:
        return w.copy()
    smallest = np.argsort(np.abs(w), axis=None, kind="stable")[:n_zero]
    pruned = w.copy().ravel()
    pruned[smallest] = 0.0
    return pruned.reshape(w.shape)


def prune_2_of_4(weights: np.ndarray) -> np.ndarray:
    """2:4 structured sparsity: keep the 2 largest of every 4 consecutive weights."""
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[1] % 4:
        raise ValueError("weights must be 2-D with a row length divisible by 4")
    groups = w.reshape(w.shape[0], -1, 4)
    # Rank within each group of 4; the two smallest magnitudes become zero.
    smallest = np.argsort(np.abs(groups), axis=2, kind="stable")[..., :2]
    pruned = groups.copy()
    np.put_along_axis(pruned, smallest, 0.0, axis=2)
    return pruned.reshape(w.shape)
    # --8<-- [end:prune]


# --8<-- [start:compression]
def digits_model(seed: int = 0):
    """A multinomial logistic regression on the 8x8 digits (bundled with sklearn)."""
    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.3, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(x_tr)
    with threadpool_limits(limits=1, user_api="blas"):  # tiny matrices: threads cost
        model = LogisticRegression(max_iter=2_000).fit(scaler.transform(x_tr), y_tr)
    return model, scaler.transform(x_te), y_te


def predict_with(weights: np.ndarray, bias: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Class with the largest linear score, as LogisticRegression.predict does."""
    return np.argmax(x @ weights.T + bias, axis=1)
    # --8<-- [end:compression]


# --8<-- [start:demo]
def main() -> None:
    model, x_test, y_test = digits_model()
    w, b = model.coef_, model.intercept_
    base = predict_with(w, b, x_test)
    print(f"Digits logistic regression, W is {w.shape[0]}x{w.shape[1]}:")
    print(f"  float32 accuracy {np.mean(base == y_test):.3f}")
    for per_row in (False, True):
        q, scale = quantize_int8(w.astype(np.float32), per_row=per_row)
        w_hat = dequantize(q, scale)
        preds = predict_with(w_hat, b, x_test)
        size = q.nbytes + scale.nbytes
        print(
            f"  int8 {'per-row' if per_row else 'per-tensor':<10} "
            f"{w.astype(np.float32).nbytes / size:.1f}x smaller than float32, "
            f"{w.size * 2 / size:.1f}x than bfloat16"
        )
        print(
            f"  {'':<15} max error {np.abs(w - w_hat).max():.4f} "
            f"<= scale/2 {scale.max() / 2:.4f}"
        )
        print(
            f"  {'':<15} accuracy {np.mean(preds == y_test):.3f}, "
            f"same prediction as float32 {np.mean(preds == base):.1%}"
        )
    print("  magnitude pruning, share of weights zeroed -> accuracy:")
    curve = []
    for sparsity in (0.5, 0.7, 0.8, 0.9, 0.95):
        preds = predict_with(magnitude_prune(w, sparsity), b, x_test)
        curve.append(f"{sparsity:.0%} -> {np.mean(preds == y_test):.3f}")
    print("    " + ", ".join(curve))
    preds = predict_with(prune_2_of_4(w), b, x_test)
    print(
        f"  2:4 structured (50% zeroed, 2 of every 4) -> {np.mean(preds == y_test):.3f}"
    )
    border = np.ones((8, 8), dtype=bool)
    border[1:-1, 1:-1] = False  # the 28 pixels on the edge of the 8x8 image
    zeroed = magnitude_prune(w, 0.5)[:, border.ravel()] == 0
    print(
        f"  border pixels: {border.mean():.0%} of the weights, "
        f"{zeroed.sum() / (w.size / 2):.0%} of those zeroed at 50%"
    )
    gaps = []
    for seed in range(8):  # eight train/test splits of the 1,797 images
        m, x, y = digits_model(seed)
        w_s, b_s = m.coef_, m.intercept_
        unstructured = np.mean(predict_with(magnitude_prune(w_s, 0.5), b_s, x) == y)
        two_four = np.mean(predict_with(prune_2_of_4(w_s), b_s, x) == y)
        gaps.append(unstructured - two_four)
    print(
        f"  2:4 below unstructured 50% in {sum(g > 0 for g in gaps)} of 8 splits, "
        f"by {min(gaps):.3f} to {max(gaps):.3f}"
    )


if __name__ == "__main__":
    main()
# --8<-- [end:demo]
