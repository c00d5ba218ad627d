"""The blurring miniature's world: street tiles, crowds, and a synthetic detector.

Ground truth first: faces and licence plates with a size and an occlusion, scattered
on street tiles or packed into crowds whose faces overlap. Then a detector that never
sees the truth's generator, only each object's size and occlusion: it proposes a box
with a probability that falls for small and occluded objects, scores it, misplaces it
by a noise that grows as the object shrinks, and adds duplicates around it and false
boxes on the background. Detections are stored relative to their object, so a crowd
can be laid out again without overlap while its detector output stays the same.

Used by ``python -m snippets.problems.street_blurring``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

WIDTH, HEIGHT = 1024, 512  # one tile of a panorama, pixels
FACE, PLATE = 0, 1
CLASSES = ("face", "plate")


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


@dataclass(frozen=True)
class Scene:
    """One tile: true objects, and the detector's raw boxes before any NMS."""

    gt_boxes: np.ndarray  # (G, 4) x1, y1, x2, y2
    gt_labels: np.ndarray  # (G,) FACE or PLATE
    occlusion: np.ndarray  # (G,) share of the object hidden, 0..1
    crowd: bool
    source: np.ndarray  # (D,) index of the object a box was fired by, -1: background
    offsets: np.ndarray  # (D, 4) dx, dy, log dw, log dh relative to that object
    boxes: np.ndarray  # (D, 4) the detector's boxes
    scores: np.ndarray  # (D,)
    labels: np.ndarray  # (D,)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _log_uniform(rng, low: float, high: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), n))


def _place(widths, heights, x, y) -> np.ndarray:
    return np.column_stack([x, y, x + widths, y + heights])


# --8<-- [start:world]
def street_objects(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Faces 8-96 px wide and plates 16-128 px wide, a quarter of them part-hidden."""
    n_faces, n_plates = rng.poisson(3), rng.poisson(2)
    face_w = _log_uniform(rng, 8, 96, n_faces)
    plate_w = _log_uniform(rng, 16, 128, n_plates)
    widths = np.r_[face_w, plate_w]
    heights = np.r_[1.25 * face_w, plate_w / 3.5]
    x = rng.uniform(0, WIDTH - widths)
    y = rng.uniform(0, HEIGHT - heights)
    hidden = rng.random(len(widths)) < 0.25
    occlusion = np.where(hidden, rng.uniform(0.2, 0.6, len(widths)), 0.0)
    labels = np.r_[np.full(n_faces, FACE), np.full(n_plates, PLATE)]
    return _place(widths, heights, x, y), labels, occlusion


def crowd_objects(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """8-15 faces of similar size in two staggered rows: neighbours overlap.

    A face's occlusion is the largest share of it covered by one face in front.
    """
    n = int(rng.integers(8, 16))
    size = _log_uniform(rng, 14, 40, 1)[0]
    widths = size * rng.uniform(0.85, 1.15, n)
    heights = 1.25 * widths
    row = np.arange(n) % 2
    step = size * rng.uniform(0.45, 0.85, n)  # centre to centre, in a row
    x = 40 + np.cumsum(np.where(row == 0, step, 0)) + row * size * 0.4
    y = HEIGHT / 2 + row * 0.55 * heights + rng.normal(0, 0.08 * size, n)
    boxes = _place(widths, heights, x, y)
    depth = rng.permutation(n)  # smaller is nearer the camera
    top_left = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    bottom_right = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    covered = inter / (widths * heights)[:, None]
    in_front = depth[None, :] < depth[:, None]
    occlusion = np.where(in_front, covered, 0).max(axis=1)
    return boxes, np.full(n, FACE), np.minimum(occlusion, 0.9)


def detect(rng, gt_boxes, gt_labels, occlusion) -> tuple[np.ndarray, ...]:
    """The synthetic detector: (source, offsets, scores, labels) of its raw boxes.

    It sees each object's size and occlusion, never how the scene was drawn.
    """
    size = np.sqrt(
        (gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])
    )
    z = np.log(size / 16)  # 0 for a 16 px object
    plate = gt_labels == PLATE
    proposed = rng.random(len(size)) < _sigmoid(
        np.where(plate, 4.5, 3.5) + 2.0 * z - 3.0 * occlusion
    )
    logit = np.where(plate, 2.0, 1.5) + 1.4 * z - 3.0 * occlusion
    score = _sigmoid(logit + rng.normal(0, 1.0, len(size)))
    noise = (0.03 + 0.06 * np.sqrt(16 / size)) * (1 + occlusion)  # relative
    found = np.flatnonzero(proposed)
    dups = rng.poisson(1.5, len(found))  # near-copies of each proposed box
    source = np.r_[found, np.repeat(found, dups)]
    jitter = np.r_[np.zeros(len(found)), np.full(dups.sum(), 0.12)]
    spread = np.hypot(noise[source], jitter)[:, None]
    offsets = rng.normal(0, 1, (len(source), 4)) * spread
    decay = np.r_[np.ones(len(found)), rng.uniform(0.4, 0.9, dups.sum())]
    scores, labels = score[source] * decay, gt_labels[source]
    # Background: many faint boxes, and a few look-alikes (posters, signs).
    n_faint, n_alike = rng.poisson(4, 2), rng.poisson(0.4, 2)
    back_labels = np.repeat([FACE, PLATE, FACE, PLATE], np.r_[n_faint, n_alike])
    back_logit = np.r_[
        rng.normal(-3.0, 1.2, n_faint.sum()), rng.normal(-0.3, 1.0, n_alike.sum())
    ]
    source = np.r_[source, np.full(len(back_labels), -1)]
    offsets = np.vstack([offsets, np.zeros((len(back_labels), 4))])
    scores = np.r_[scores, _sigmoid(back_logit)]
    return source, offsets, scores, np.r_[labels, back_labels]
    # --8<-- [end:world]


def _background_boxes(rng, labels: np.ndarray) -> np.ndarray:
    widths = _log_uniform(rng, 8, 64, len(labels))
    heights = np.where(labels == PLATE, widths / 3.5, 1.25 * widths)
    x = rng.uniform(0, WIDTH - widths)
    y = rng.uniform(0, HEIGHT - heights)
    return _place(widths, heights, x, y)


def boxes_from_offsets(gt_boxes, source, offsets, background) -> np.ndarray:
    """Each detection's box from its object's box and its relative offsets."""
    fired = source >= 0
    obj = gt_boxes[source[fired]]
    w, h = obj[:, 2] - obj[:, 0], obj[:, 3] - obj[:, 1]
    cx = (obj[:, 0] + obj[:, 2]) / 2 + offsets[fired, 0] * w
    cy = (obj[:, 1] + obj[:, 3]) / 2 + offsets[fired, 1] * h
    half_w = w * np.exp(offsets[fired, 2]) / 2
    half_h = h * np.exp(offsets[fired, 3]) / 2
    boxes = np.empty((len(source), 4))
    boxes[fired] = np.column_stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h])
    boxes[~fired] = background
    return boxes


def make_scene(rng: np.random.Generator, crowd: bool = False) -> Scene:
    """One seeded tile: its objects and the detector's raw output."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    gt_boxes, gt_labels, occlusion = (crowd_objects if crowd else street_objects)(rng)
    source, offsets, scores, labels = detect(rng, gt_boxes, gt_labels, occlusion)
    background = _background_boxes(rng, labels[source < 0])
    boxes = boxes_from_offsets(gt_boxes, source, offsets, background)
    return Scene(
        gt_boxes, gt_labels, occlusion, crowd, source, offsets, boxes, scores, labels
    )


def spread_out(scene: Scene) -> Scene:
    """The same objects and the same detector output, laid out so no two overlap.

    Every object keeps its size and occlusion (hidden now by something else), every
    detection keeps its offsets and score: only the overlap between objects goes.
    """
    widths = scene.gt_boxes[:, 2] - scene.gt_boxes[:, 0]
    heights = scene.gt_boxes[:, 3] - scene.gt_boxes[:, 1]
    gap = 1.6 * widths.max()  # wider than any box plus its localisation noise
    per_row = max(1, int((WIDTH - 40) // gap))
    index = np.arange(len(widths))
    x = 20 + (index % per_row) * gap
    y = 20 + (index // per_row) * 1.6 * heights.max()
    if (y + heights).max() > HEIGHT:
        raise ValueError("the crowd does not fit the tile when spread out")
    gt_boxes = _place(widths, heights, x, y)
    background = scene.boxes[scene.source < 0]
    boxes = boxes_from_offsets(gt_boxes, scene.source, scene.offsets, background)
    return replace(scene, gt_boxes=gt_boxes, boxes=boxes)


def make_scenes(seed: int, n_street: int, n_crowd: int) -> list[Scene]:
    """n_street street tiles then n_crowd crowd tiles, from one seed."""
    rng = np.random.default_rng(_count("seed", seed))
    n_street, n_crowd = _count("n_street", n_street), _count("n_crowd", n_crowd)
    return [make_scene(rng) for _ in range(n_street)] + [
        make_scene(rng, crowd=True) for _ in range(n_crowd)
    ]
