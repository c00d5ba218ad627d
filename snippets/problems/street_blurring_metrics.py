"""Detection metrics for the blurring miniature: IoU, NMS, soft-NMS, COCO AP, blur.

Boxes are float arrays of shape (n, 4) in corner form ``x1, y1, x2, y2`` (pixels,
continuous coordinates: a box's area is its width times its height). The AP follows
the COCO evaluation protocol (``pycocotools``' COCOeval) step by step: greedy matching
of detections to ground truth in score order at each IoU threshold, ignored ground
truth outside an area range, precision made monotone and read at 101 recall points.
The blur metrics are the product's view: how much of each true box is blurred, and how
much of the image is blurred where nothing needed it.

Used by ``python -m snippets.problems.street_blurring``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

# COCO's grids, built exactly as COCOeval builds them (the float values matter).
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
COCO_RECALL_POINTS = np.linspace(0.0, 1.0, int(np.round(1.0 / 0.01)) + 1)
COCO_AREAS = {  # object area ranges in square pixels, as COCOeval defines them
    "all": (0.0, 1e5**2),
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}


def as_boxes(name: str, boxes: object) -> np.ndarray:
    """boxes as a float (n, 4) array: finite, with x2 >= x1 and y2 >= y1."""
    if not isinstance(boxes, np.ndarray | list | tuple):
        raise TypeError(f"{name} must be an array of boxes, got {type(boxes).__name__}")
    array = np.asarray(boxes, dtype=float)
    if array.size == 0:
        return array.reshape(0, 4)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n, 4), got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite")
    if (array[:, 2] < array[:, 0]).any() or (array[:, 3] < array[:, 1]).any():
        raise ValueError(f"{name} must be x1, y1, x2, y2 with x2 >= x1 and y2 >= y1")
    return array


def as_scores(name: str, scores: object, n: int) -> np.ndarray:
    """scores as a float (n,) array; ValueError on a length mismatch or NaN."""
    array = np.asarray(scores, dtype=float).reshape(-1)
    if array.shape != (n,):
        raise ValueError(f"{name} must have one value per box ({n}), got {array.size}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite")
    return array


def in_unit(name: str, value: object, *, closed: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not (0 <= value <= 1 if closed else 0 < value < 1):
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def _areas(boxes: np.ndarray) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


# --8<-- [start:iou]
def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in a with every box in b: (n_a, n_b)."""
    return _box_iou(as_boxes("boxes_a", boxes_a), as_boxes("boxes_b", boxes_b))


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # The intersection of two axis-aligned boxes is a box (or empty): the larger
    # top-left corner and the smaller bottom-right corner.
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    overlap = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    union = _areas(a)[:, None] + _areas(b)[None, :] - overlap
    return np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    # --8<-- [end:iou]


# --8<-- [start:nms]
def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the kept boxes, best score first.

    Take the best remaining box, drop every box overlapping it by IoU > threshold,
    repeat. One class at a time: a plate must never suppress a face.
    """
    boxes = as_boxes("boxes", boxes)
    scores = as_scores("scores", scores, len(boxes))
    threshold = in_unit("iou_threshold", iou_threshold)
    order = np.argsort(-scores, kind="stable")
    overlaps = _box_iou(boxes[order], boxes[order])
    suppressed = np.zeros(len(order), dtype=bool)
    kept = []
    for rank in range(len(order)):
        if suppressed[rank]:
            continue
        kept.append(rank)
        suppressed |= overlaps[rank] > threshold  # its duplicates, and its neighbours
    return order[np.array(kept, dtype=int)]
    # --8<-- [end:nms]


# --8<-- [start:soft_nms]
def soft_nms(
    boxes: np.ndarray, scores: np.ndarray, sigma: float = 0.5, floor: float = 0.001
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian soft-NMS (Bodla et al., 2017): decay, do not delete.

    Each time the best remaining box is kept, every other box's score is multiplied
    by exp(-IoU^2 / sigma). A duplicate (IoU near 1) falls far; a neighbour in a crowd
    (IoU 0.3-0.5) keeps most of its score. Returns kept indices and their new scores.
    """
    boxes = as_boxes("boxes", boxes)
    current = as_scores("scores", scores, len(boxes)).copy()
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or sigma <= 0:
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
    floor = in_unit("floor", floor)
    overlaps = _box_iou(boxes, boxes)
    remaining = np.ones(len(boxes), dtype=bool)
    kept, kept_scores = [], []
    while remaining.any():
        best = int(np.flatnonzero(remaining)[np.argmax(current[remaining])])
        if current[best] < floor:
            break
        kept.append(best)
        kept_scores.append(current[best])
        remaining[best] = False
        current[remaining] *= np.exp(-(overlaps[best, remaining] ** 2) / sigma)
    return np.array(kept, dtype=int), np.array(kept_scores)
    # --8<-- [end:soft_nms]


class Detections(NamedTuple):
    """One image: its ground truth and a detector's boxes (labels are class ids)."""

    gt_boxes: np.ndarray
    gt_labels: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


# --8<-- [start:coco_ap]
def match_detections(
    ious: np.ndarray, gt_ignored: np.ndarray, iou_thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """COCO's greedy matching at each IoU threshold: (matched, on_ignored), (T, D).

    Detections arrive best score first, ground truth with ignored objects last. Each
    detection takes the unmatched object it overlaps most (IoU >= threshold), a
    regular object before an ignored one; an object is matched at most once.
    """
    n_t, n_det = len(iou_thresholds), ious.shape[0]
    matched = np.zeros((n_t, n_det), dtype=bool)
    on_ignored = np.zeros((n_t, n_det), dtype=bool)
    # Only pairs above the lowest threshold can match: a few per detection.
    candidates: dict[int, list[tuple[int, float]]] = {}
    dets, gts = np.nonzero(ious >= np.min(iou_thresholds, initial=1.0))
    for d, g, iou in zip(
        dets.tolist(), gts.tolist(), ious[dets, gts].tolist(), strict=True
    ):
        candidates.setdefault(d, []).append((g, iou))  # in ground-truth order
    ignored = np.asarray(gt_ignored, dtype=bool).tolist()
    taken = [set() for _ in range(n_t)]
    for t, threshold in enumerate(np.asarray(iou_thresholds, dtype=float).tolist()):
        for d, pairs in candidates.items():  # best score first
            best, best_iou = -1, min(threshold, 1 - 1e-10)
            for g, iou in pairs:
                if g in taken[t]:
                    continue
                if best > -1 and not ignored[best] and ignored[g]:
                    break  # a regular match beats any ignored object
                if iou < best_iou:
                    continue
                best, best_iou = g, iou  # equal IoUs: the later object, as COCOeval
            if best > -1:
                taken[t].add(best)
                matched[t, d] = True
                on_ignored[t, d] = ignored[best]
    return matched, on_ignored


class ClassMatches(NamedTuple):
    """One class's detections over all images, matched at each IoU threshold."""

    scores: np.ndarray  # (D,) in image order, each image's best first
    matched: np.ndarray  # (T, D) matched to an object
    skipped: np.ndarray  # (T, D) matched to an ignored object, or outside the area
    n_positive: int  # objects not ignored


def coco_matches(
    images: Sequence[Detections],
    label: int,
    area: str = "all",
    max_dets: int = 100,
    iou_thresholds: np.ndarray = COCO_IOU_THRESHOLDS,
) -> ClassMatches:
    """Match one class's detections image by image, as COCOeval.evaluateImg does."""
    low, high = COCO_AREAS[area]
    scores, hits, skips, n_positive = [], [], [], 0
    for image in images:
        gt = image.gt_boxes[image.gt_labels == label]
        mine = image.labels == label
        gt_area = _areas(gt)
        ignored = (gt_area < low) | (gt_area > high)
        gt = gt[np.argsort(ignored, kind="stable")]
        ignored = np.sort(ignored, kind="stable")
        order = np.argsort(-image.scores[mine], kind="stable")[:max_dets]
        boxes, det_scores = image.boxes[mine][order], image.scores[mine][order]
        matched, skip = match_detections(_box_iou(boxes, gt), ignored, iou_thresholds)
        # An unmatched detection outside the area range is not counted either.
        outside = (_areas(boxes) < low) | (_areas(boxes) > high)
        scores.append(det_scores)
        hits.append(matched)
        skips.append(skip | (~matched & outside[None, :]))
        n_positive += int((~ignored).sum())
    n_t = len(iou_thresholds)
    return ClassMatches(
        np.concatenate(scores) if scores else np.zeros(0),
        np.hstack(hits) if hits else np.zeros((n_t, 0), dtype=bool),
        np.hstack(skips) if skips else np.zeros((n_t, 0), dtype=bool),
        n_positive,
    )


def interpolated_precision(found: ClassMatches) -> np.ndarray:
    """COCOeval.accumulate for one class: precision at 101 recall points, (T, 101)."""
    n_t, n_r = found.matched.shape[0], len(COCO_RECALL_POINTS)
    if found.n_positive == 0:
        return -np.ones((n_t, n_r))  # no object of this class: not averaged
    order = np.argsort(-found.scores, kind="mergesort")
    hit, skip = found.matched[:, order], found.skipped[:, order]
    tp = np.cumsum(hit & ~skip, axis=1)
    fp = np.cumsum(~hit & ~skip, axis=1)
    precision = np.zeros((n_t, n_r))
    for t in range(n_t):
        recall = tp[t] / found.n_positive
        prec = tp[t] / (tp[t] + fp[t] + np.spacing(1))
        # Precision at recall r: the best precision at any recall >= r.
        prec = np.maximum.accumulate(prec[::-1])[::-1]
        at = np.searchsorted(recall, COCO_RECALL_POINTS, side="left")
        if len(prec):  # recall points never reached keep precision 0
            precision[t] = np.where(
                at < len(prec), prec[np.minimum(at, len(prec) - 1)], 0
            )
    return precision


def coco_precision(
    images: Sequence[Detections],
    n_classes: int,
    area: str = "all",
    max_dets: int = 100,
    iou_thresholds: np.ndarray = COCO_IOU_THRESHOLDS,
) -> np.ndarray:
    """Interpolated precision: (IoU thresholds, 101 recall points, classes)."""
    if area not in COCO_AREAS:
        raise ValueError(f"area must be one of {sorted(COCO_AREAS)}, got {area!r}")
    per_class = [
        interpolated_precision(coco_matches(images, k, area, max_dets, iou_thresholds))
        for k in range(n_classes)
    ]
    return np.stack(per_class, axis=2)


def recall_at_score(found: ClassMatches, score_threshold: float) -> np.ndarray:
    """Recall at each IoU threshold when only boxes scoring >= score_threshold stay.

    Matching is greedy in score order, so a box's match never depends on the boxes
    below it: cutting at a score keeps the matches above the cut.
    """
    kept = found.scores >= score_threshold
    counted = found.matched & ~found.skipped & kept[None, :]
    return counted.sum(axis=1) / max(found.n_positive, 1)


def average_precision(precision: np.ndarray, iou: float | None = None) -> float:
    """AP from coco_precision: at one IoU threshold, or averaged over all of them."""
    if iou is not None:
        at = np.isclose(COCO_IOU_THRESHOLDS, iou)
        if not at.any():
            raise ValueError(f"iou must be one of COCO's thresholds, got {iou}")
        precision = precision[at]
    valid = precision[precision > -1]
    return float(valid.mean()) if valid.size else -1.0
    # --8<-- [end:coco_ap]


def _grid(boxes: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frame cut by every box edge: x and y edges of the cells."""
    xs = np.concatenate([boxes[:, 0], boxes[:, 2], frame[[0, 2]]])
    ys = np.concatenate([boxes[:, 1], boxes[:, 3], frame[[1, 3]]])
    return (
        np.unique(np.clip(xs, frame[0], frame[2])),
        np.unique(np.clip(ys, frame[1], frame[3])),
    )


def _spans(boxes: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> list[list[int]]:
    """Each box as the cell rows and columns it covers: [y0, y1, x0, x1]."""
    cols = np.searchsorted(xs, np.clip(boxes[:, [0, 2]], xs[0], xs[-1]))
    rows = np.searchsorted(ys, np.clip(boxes[:, [1, 3]], ys[0], ys[-1]))
    return np.hstack([rows, cols]).tolist()


# --8<-- [start:blur]
def blur_metrics(
    gt_boxes: np.ndarray, boxes: np.ndarray, scores: np.ndarray, thresholds, frame
) -> tuple[np.ndarray, np.ndarray]:
    """What each score threshold blurs: (coverage (G, T), false_area (T,)).

    coverage: the share of each true box inside a kept box scoring >= the threshold
    (of any class); false_area: pixels blurred outside every true box. Exact: the
    frame is cut into cells by every box edge, and the cells are summed.
    """
    gt_boxes, boxes = as_boxes("gt_boxes", gt_boxes), as_boxes("boxes", boxes)
    scores = as_scores("scores", scores, len(boxes))
    thresholds = np.asarray(thresholds, dtype=float).reshape(-1)
    if not ((thresholds > 0) & (thresholds <= 1)).all():
        raise ValueError("thresholds must be in (0, 1]")
    xs, ys = _grid(np.vstack([boxes, gt_boxes]), as_boxes("frame", [frame])[0])
    cell_area = np.outer(np.diff(ys), np.diff(xs))
    best = np.zeros_like(cell_area)  # the best score blurring each cell
    order = np.argsort(scores, kind="stable")  # paint the best boxes last
    spans = _spans(boxes[order], xs, ys)
    for (y0, y1, x0, x1), score in zip(spans, scores[order], strict=True):
        best[y0:y1, x0:x1] = score
    blurred = (best[..., None] >= thresholds) * cell_area[..., None]  # (ny, nx, T)
    on_object = np.zeros(cell_area.shape, dtype=bool)
    coverage = np.zeros((len(gt_boxes), len(thresholds)))
    for g, (y0, y1, x0, x1) in enumerate(_spans(gt_boxes, xs, ys)):
        on_object[y0:y1, x0:x1] = True
        area = cell_area[y0:y1, x0:x1].sum()
        coverage[g] = blurred[y0:y1, x0:x1].sum(axis=(0, 1)) / area if area else 0
    return coverage, blurred[~on_object].sum(axis=0)
    # --8<-- [end:blur]
