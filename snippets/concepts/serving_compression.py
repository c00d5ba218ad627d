"""Model efficiency on one model: quantization, pruning and distillation.

The model is a small neural network (an MLP, 64-128-10) on the 8x8 digits bundled
with scikit-learn. Its weights are quantized to 8, 4 and 2 bits and pruned by
magnitude, and it teaches a student eight times smaller through its softened
probabilities. Quality is test accuracy; cost is counted, not timed: bytes of weights
and multiplies per image.

Run it: ``python -m snippets.concepts.serving_compression``.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from snippets.common.stats import is_tie, paired_interval

Layers = list[tuple[np.ndarray, np.ndarray]]  # (W of shape (out, in), bias) per layer
TEACHER_HIDDEN = 128
TEACHER_STEPS = 100  # L-BFGS budget; on all 1,257 images a teacher converges sooner
STUDENT_HIDDEN = 16


def check_weights(weights: np.ndarray, bits: int = 8) -> np.ndarray:
    """A finite 2-D float matrix and a bit width from 2 to 8, or a clear error."""
    w = np.asarray(weights)
    if w.ndim != 2 or not np.issubdtype(w.dtype, np.floating):
        raise TypeError("weights must be a 2-D floating-point matrix")
    if not np.isfinite(w).all():
        raise ValueError("weights must be finite")
    if not isinstance(bits, int) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be an integer from 2 to 8, got {bits!r}")
    return w


def packed_bytes(q: np.ndarray, scale: np.ndarray, bits: int) -> int:
    """Storage of bits-wide codes packed into bytes, plus the float32 scales."""
    return -(-q.size * bits // 8) + scale.nbytes


CLIP_FRACTIONS = np.linspace(0.05, 1.0, 96)  # clipping ranges tried, times max|w|


# --8<-- [start:quantize]
def quantize(
    weights: np.ndarray, bits: int = 8, per_row: bool = False, clip: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric quantization: q = round(w / scale), scale = range / levels."""
    w = check_weights(weights, bits)
    levels = 2 ** (bits - 1) - 1  # 127 for int8, 7 for int4, 1 for 2 bits
    axis = 1 if per_row else None  # one scale per output row, or one per matrix
    max_abs = np.abs(w).max(axis=axis, keepdims=True)
    # Clipping (ranges from 5% to 100% of max|w|): a smaller range saturates the few
    # largest weights but gives all others a finer step; keep the least squared error.
    best, best_error = None, np.inf
    for fraction in CLIP_FRACTIONS if clip else (1.0,):
        scale = np.where(max_abs > 0, fraction * max_abs / levels, 1.0)
        scale = scale.astype(np.float32)
        q = np.clip(np.round(w / scale), -levels, levels)
        error = ((w - q * scale) ** 2).sum(axis=axis, keepdims=True)
        best = scale if best is None else np.where(error < best_error, scale, best)
        best_error = np.minimum(error, best_error)
    q = np.clip(np.round(w / best), -levels, levels).astype(np.int8)
    return q, best if per_row else best.ravel()


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Back to float32: w_hat = q * scale; |w - w_hat| <= scale / 2 unless clipped."""
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
def digits_split(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Standardised 8x8 digits: 1,257 training and 540 test images."""
    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.3, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(x_tr)
    return scaler.transform(x_tr), scaler.transform(x_te), y_tr, y_te


def train_teacher(x: np.ndarray, y: np.ndarray, seed: int = 0) -> Layers:
    """A 64-128-10 ReLU network, its weights as (out, in) matrices."""
    with (
        threadpool_limits(limits=1, user_api="blas"),  # tiny matrices: threads cost
        warnings.catch_warnings(),
    ):
        # On 100 images L-BFGS spends its whole budget with the loss already flat
        # (ten times the steps lower it by about 0.001) and warns: expected.
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier(
            hidden_layer_sizes=(TEACHER_HIDDEN,),
            solver="lbfgs",
            alpha=1.0,
            max_iter=TEACHER_STEPS,
            random_state=seed,
        ).fit(x, y)
    return [
        (w.T.copy(), b.copy()) for w, b in zip(mlp.coefs_, mlp.intercepts_, strict=True)
    ]


def mlp_logits(layers: Layers, x: np.ndarray) -> np.ndarray:
    """Forward pass: ReLU after every layer but the last."""
    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h


def accuracy(layers: Layers, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(mlp_logits(layers, x).argmax(axis=1) == y))
    # --8<-- [end:compression]


# --8<-- [start:cost]
def multiplies(layers: Layers) -> int:
    """Multiplies per input: one per non-zero weight (dense kernels pay for all)."""
    return int(sum(np.count_nonzero(w) for w, _ in layers))


def csr_bytes(w: np.ndarray, value_bytes: int = 4, index_bytes: int = 4) -> int:
    """Compressed sparse row storage: a value and a column index per non-zero."""
    return np.count_nonzero(w) * (value_bytes + index_bytes) + (w.shape[0] + 1) * 4
    # --8<-- [end:cost]


def two_of_four_bytes(w: np.ndarray, value_bytes: int = 2) -> int:
    """2:4 compressed storage: 2 values per group of 4, each with a 2-bit position."""
    if np.ndim(w) != 2 or np.shape(w)[1] % 4:
        raise ValueError("weights must be 2-D with a row length divisible by 4")
    kept = np.size(w) // 2
    return kept * value_bytes + -(-kept * 2 // 8)


def break_even_sparsity(value_bits: int, index_bits: int | None) -> float:
    """Sparsity above which a sparse format takes fewer bytes than dense values.

    index_bits per non-zero (CSR's column index), or None for a bitmap: one bit
    per weight, set where the weight is kept. Row pointers are left out.
    """
    if value_bits <= 0 or (index_bits is not None and index_bits <= 0):
        raise ValueError("value_bits and index_bits must be positive")
    if index_bits is None:  # (1 - s) * value_bits + 1 < value_bits
        return 1 / value_bits
    return index_bits / (value_bits + index_bits)  # (1 - s)(v + i) < v


# --8<-- [start:distil]
def soft_targets(teacher_logits: np.ndarray, temperature: float) -> np.ndarray:
    """The teacher's probabilities, softened: softmax(logits / T)."""
    return softmax(np.asarray(teacher_logits) / temperature, axis=1)


def distillation_loss(
    student_logits: np.ndarray, targets: np.ndarray, temperature: float
) -> tuple[float, np.ndarray]:
    """Cross-entropy of the targets against softmax(student logits / T), times T**2.

    Returns the loss and its gradient with respect to the student's logits. The T**2
    keeps the gradient's scale as T changes (Hinton et al., 2015). One-hot targets
    at T = 1 give the ordinary log loss of training on labels.
    """
    log_q = log_softmax(student_logits / temperature, axis=1)
    n = len(log_q)
    loss = -(temperature**2) * np.sum(targets * log_q) / n
    gradient = temperature * (np.exp(log_q) - targets) / n  # exp(log q) = q
    return float(loss), gradient
    # --8<-- [end:distil]


def check_targets(x: np.ndarray, targets: np.ndarray, temperature: float) -> None:
    """Raise unless targets are one probability row per input and T > 0."""
    if np.ndim(x) != 2 or np.ndim(targets) != 2 or len(x) != len(targets):
        raise ValueError("x and targets must be 2-D with one row per example")
    if (targets < 0).any() or not np.allclose(targets.sum(axis=1), 1.0):
        raise ValueError("each row of targets must be a probability distribution")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")


# --8<-- [start:student]
STUDENT_SHAPES = ((STUDENT_HIDDEN, 64), (STUDENT_HIDDEN,), (10, STUDENT_HIDDEN), (10,))


def unpack(theta: np.ndarray) -> list[np.ndarray]:
    """The student's flat parameter vector as W1, b1, W2, b2."""
    parts, start = [], 0
    for shape in STUDENT_SHAPES:
        end = start + int(np.prod(shape))
        parts.append(theta[start:end].reshape(shape))
        start = end
    return parts


def student_loss(
    theta: np.ndarray, x: np.ndarray, targets: np.ndarray, temperature: float, l2: float
) -> tuple[float, np.ndarray]:
    """Distillation loss of the 64-16-10 student plus L2, and its gradient."""
    w1, b1, w2, b2 = unpack(theta)
    pre = x @ w1.T + b1
    hidden = np.maximum(pre, 0.0)
    loss, d_logits = distillation_loss(hidden @ w2.T + b2, targets, temperature)
    d_pre = (d_logits @ w2) * (pre > 0)  # back through the ReLU
    grads = [d_pre.T @ x + l2 * w1, d_pre.sum(0), d_logits.T @ hidden + l2 * w2]
    grads.append(d_logits.sum(0))
    loss += 0.5 * l2 * (np.sum(w1**2) + np.sum(w2**2))
    return loss, np.concatenate([g.ravel() for g in grads])


def fit_student(
    x: np.ndarray,
    targets: np.ndarray,
    temperature: float = 1.0,
    l2: float = 1e-3,
    seed: int = 0,
) -> Layers:
    """Fit the student to target distributions with L-BFGS; it predicts at T = 1."""
    check_targets(x, targets, temperature)
    rng = np.random.default_rng(seed)
    theta0 = np.concatenate(
        [
            rng.normal(0, 64**-0.5, STUDENT_HIDDEN * 64),
            np.zeros(STUDENT_HIDDEN),
            rng.normal(0, STUDENT_HIDDEN**-0.5, 10 * STUDENT_HIDDEN),
            np.zeros(10),
        ]
    )
    fit = minimize(
        student_loss,
        theta0,
        args=(x, targets, temperature, l2),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 150},  # 300 moves accuracies by about 0.01 at most
    )
    w1, b1, w2, b2 = unpack(fit.x)
    return [(w1, b1), (w2, b2)]
    # --8<-- [end:student]


# --8<-- [start:demo]
@functools.cache
def split_and_teacher(seed: int) -> tuple[tuple[np.ndarray, ...], Layers]:
    """One train/test split and the teacher trained on it (trained once per seed)."""
    data = digits_split(seed)
    return data, train_teacher(data[0], data[2], seed)


def quantized(
    layers: Layers, bits: int, per_row: bool, clip: bool = False
) -> tuple[Layers, list[tuple[np.ndarray, np.ndarray]]]:
    """Every weight matrix quantized, restored to float for scoring; and the codes."""
    codes = [quantize(w.astype(np.float32), bits, per_row, clip) for w, _ in layers]
    restored = [
        (dequantize(q, s), b) for (q, s), (_, b) in zip(codes, layers, strict=True)
    ]
    return restored, codes


def scheme(per_row: bool, clip: bool) -> str:
    return f"{'per-row' if per_row else 'per-tensor'} {'clipped' if clip else 'max'}"


def one_split(seed: int) -> dict[str, float]:
    """Teacher, 2-bit scales, 50% pruning both ways, and students, on one split."""
    (x_tr, x_te, y_tr, y_te), teacher = split_and_teacher(seed)
    out = {
        "teacher": accuracy(teacher, x_te, y_te),
        "unstructured": accuracy(
            [(magnitude_prune(w, 0.5), b) for w, b in teacher], x_te, y_te
        ),
        "2:4": accuracy([(prune_2_of_4(w), b) for w, b in teacher], x_te, y_te),
    }
    for clip in (False, True):  # 2-bit weights: where the range and its shape matter
        for per_row in (False, True):
            layers, _ = quantized(teacher, 2, per_row, clip)
            out[f"2-bit {scheme(per_row, clip)}"] = accuracy(layers, x_te, y_te)
    few = np.random.default_rng(seed).permutation(len(y_tr))[:100]
    every = np.arange(len(y_tr))
    # The same recipe on the student's 100 images only: does the gain survive?
    small_teacher = train_teacher(x_tr[few], y_tr[few], seed)

    def hard(rows: np.ndarray) -> np.ndarray:  # ordinary training on the labels
        return np.eye(10)[y_tr[rows]]

    def soft(layers: Layers, rows: np.ndarray, t: float) -> np.ndarray:
        return soft_targets(mlp_logits(layers, x_tr[rows]), t)

    students = {  # name: (training images, targets, temperature)
        "100 hard": (few, hard(few), 1.0),
        "100 hard T=4": (few, hard(few), 4.0),
        "100 T=1": (few, soft(teacher, few, 1.0), 1.0),
        "100 T=4": (few, soft(teacher, few, 4.0), 4.0),
        "100 small T=4": (few, soft(small_teacher, few, 4.0), 4.0),
        "all hard": (every, hard(every), 1.0),
        "all T=4": (every, soft(teacher, every, 4.0), 4.0),
    }
    for name, (rows, targets, t) in students.items():
        student = fit_student(x_tr[rows], targets, temperature=t, seed=seed)
        out[name] = accuracy(student, x_te, y_te)
    return out


def corrected_interval(
    differences: list[float], n_train: int, n_test: int
) -> tuple[float, float, float]:
    """Mean and 95% corrected resampled t-interval (Nadeau and Bengio, 2003).

    Resplits share training and test images, so their differences are correlated
    and the plain t-interval is too narrow: the variance of the mean is taken as
    s**2 * (1 / J + n_test / n_train) instead of s**2 / J, for J splits.
    """
    if n_train <= 0 or n_test <= 0:
        raise ValueError("n_train and n_test must be positive")
    mean, low, high = paired_interval(differences)
    widen = np.sqrt(1 + len(differences) * n_test / n_train)
    return mean, mean - (mean - low) * widen, mean + (high - mean) * widen


def interval(differences: list[float], n_train: int, n_test: int) -> str:
    """The corrected interval, printed; a tie if it holds zero."""
    mean, low, high = corrected_interval(differences, n_train, n_test)
    verdict = "tie" if is_tie(low, high) else "win" if mean > 0 else "loss"
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}] {verdict}"


def main() -> None:
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: threads cost
        splits = [one_split(seed) for seed in range(5)]
    (x_tr, x_te, y_tr, y_te), teacher = split_and_teacher(0)
    base = mlp_logits(teacher, x_te).argmax(axis=1)
    dense = sum(w.size for w, _ in teacher)
    print(
        f"Teacher: MLP 64-{TEACHER_HIDDEN}-10 on the 8x8 digits, "
        f"{len(y_tr):,} training and {len(y_te)} test images"
    )
    print(
        f"  float32: {dense:,} weights, {4 * dense:,} bytes, "
        f"{multiplies(teacher):,} multiplies per image, "
        f"accuracy {accuracy(teacher, x_te, y_te):.3f}"
    )
    print("Post-training weight quantization (biases stay float32)")
    print(
        f"  {'bits':>4} {'scales':<18} {'smaller':>7} {'max error':>9} "
        f"{'scale/2':>7} {'code 0':>6} {'accuracy':>8} {'same as fp32':>12}"
    )
    for bits, clip in ((8, False), (4, False), (2, False), (2, True)):
        for per_row in (False, True):
            layers, codes = quantized(teacher, bits, per_row, clip)
            size = sum(packed_bytes(q, s, bits) for q, s in codes)
            error = max(
                np.abs(w - wq).max()
                for (w, _), (wq, _) in zip(teacher, layers, strict=True)
            )
            zero = sum(np.sum(q == 0) for q, _ in codes) / dense
            same = np.mean(mlp_logits(layers, x_te).argmax(axis=1) == base)
            print(
                f"  {bits:>4} {scheme(per_row, clip):<18} "
                f"{4 * dense / size:>6.1f}x {error:>9.4f} "
                f"{max(s.max() for _, s in codes) / 2:>7.4f} {zero:>6.1%} "
                f"{accuracy(layers, x_te, y_te):>8.3f} {same:>12.1%}"
            )
    print("Magnitude pruning of each layer, no retraining")
    print(f"  {'zeroed':>8} {'accuracy':>9} {'multiplies':>11} {'CSR/dense bytes':>16}")
    for sparsity in (0.5, 0.7, 0.8, 0.9, 0.95):
        pruned = [(magnitude_prune(w, sparsity), b) for w, b in teacher]
        ratio = sum(csr_bytes(w) for w, _ in pruned) / (4 * dense)
        print(
            f"  {sparsity:>8.0%} {accuracy(pruned, x_te, y_te):>9.3f} "
            f"{multiplies(pruned):>11,} {ratio:>16.2f}"
        )
    print(f"  2:4 structured (50% zeroed, 2 of every 4) -> {splits[0]['2:4']:.3f}")
    border = np.ones((8, 8), dtype=bool)
    border[1:-1, 1:-1] = False  # the 28 pixels on the edge of the 8x8 image
    first_layer = teacher[0][0]  # (hidden, 64): one column per pixel
    zeroed = magnitude_prune(first_layer, 0.5) == 0
    print(
        f"  border pixels: {border.mean():.0%} of the first layer's weights, "
        f"{zeroed[:, border.ravel()].sum() / zeroed.sum():.0%} of those zeroed at 50%"
    )
    print(
        "  sparse formats pay past: CSR, 32-bit indices "
        f"{break_even_sparsity(32, 32):.0%}, 16-bit indices "
        f"{break_even_sparsity(32, 16):.0%}; bitmap {break_even_sparsity(32, None):.0%}"
    )
    two_four = sum(two_of_four_bytes(w) for w, _ in teacher) / (2 * dense)
    print(f"  2:4 compressed, fp16 values and 2-bit positions: {two_four:.0%} of fp16")
    student = STUDENT_HIDDEN * (x_tr.shape[1] + 10)
    print(
        f"Distillation into a 64-{STUDENT_HIDDEN}-10 student: "
        f"{student:,} multiplies, {dense / student:.1f}x fewer"
    )
    print(
        f"  {'student on':<10} {'teacher on':<12} {'hard T=1':>8} {'hard T=4':>8} "
        f"{'soft T=1':>8} {'soft T=4':>8}"
    )
    first, n_all = splits[0], f"all {len(y_tr):,}"
    print(
        f"  {'100':<10} {n_all:<12} {first['100 hard']:>8.3f} "
        f"{first['100 hard T=4']:>8.3f} {first['100 T=1']:>8.3f} "
        f"{first['100 T=4']:>8.3f}"
    )
    print(f"  {'100':<10} {'same 100':<12} {'':>26} {first['100 small T=4']:>8.3f}")
    print(
        f"  {n_all:<10} {n_all:<12} {first['all hard']:>8.3f} {'':>17} "
        f"{first['all T=4']:>8.3f}"
    )
    print("Over 5 train/test splits, mean [95% corrected resampled t-interval]:")
    print(f"  teacher accuracy {np.mean([r['teacher'] for r in splits]):.3f}")
    for label, better, worse in COMPARISONS:
        d = [r[better] - r[worse] for r in splits]
        print(f"  {label:<45} {interval(d, len(y_tr), len(y_te))}")


COMPARISONS = (  # label, better, worse: the keys of one_split's results
    (
        "2 bits, max range: per-row minus per-tensor",
        "2-bit per-row max",
        "2-bit per-tensor max",
    ),
    (
        "2 bits, per-tensor: clipped minus max",
        "2-bit per-tensor clipped",
        "2-bit per-tensor max",
    ),
    (
        "2 bits, clipped: per-row minus per-tensor",
        "2-bit per-row clipped",
        "2-bit per-tensor clipped",
    ),
    ("unstructured 50% minus 2:4", "unstructured", "2:4"),
    ("100 images: soft T=1 minus hard", "100 T=1", "100 hard"),
    ("100 images: soft T=4 minus hard", "100 T=4", "100 hard"),
    ("100 images: hard T=4 minus hard T=1", "100 hard T=4", "100 hard"),
    ("teacher on the same 100: soft T=4 minus hard", "100 small T=4", "100 hard"),
    ("all images: soft T=4 minus hard", "all T=4", "all hard"),
    ("teacher minus that student", "teacher", "all T=4"),
)

if __name__ == "__main__":
    main()
# --8<-- [end:demo]
