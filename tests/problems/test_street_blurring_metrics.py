"""IoU, NMS, soft-NMS, COCO AP and blur coverage, each against a reference.

IoU and AP are compared with pycocotools (COCO's own evaluation code); NMS and
soft-NMS have no pycocotools counterpart, so each is compared with a brute-force
version written here from its definition; the blur areas with a pixel raster.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from snippets.problems import street_blurring_metrics as sbm
from snippets.problems import street_blurring_world as sbw

AREAS = ("all", "small", "medium", "large")  # COCOeval's order


def xywh(boxes: np.ndarray) -> list[list[float]]:
    return [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in boxes.tolist()]


def random_boxes(rng, n: int, extent: float = 100.0) -> np.ndarray:
    corner = rng.uniform(0, extent, (n, 2))
    size = rng.uniform(1, extent / 2, (n, 2))
    return np.hstack([corner, corner + size])


def coco_eval(images: list[sbm.Detections], n_classes: int = 2) -> COCOeval:
    """COCOeval on the same images, detections in the order the images hold them."""
    gt = {"images": [], "annotations": [], "categories": []}
    gt["categories"] = [{"id": k + 1, "name": str(k)} for k in range(n_classes)]
    results = []
    for i, image in enumerate(images, start=1):
        gt["images"].append({"id": i, "width": sbw.WIDTH, "height": sbw.HEIGHT})
        for box, label in zip(xywh(image.gt_boxes), image.gt_labels, strict=True):
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": i,
                    "category_id": int(label) + 1,
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
            )
        for box, score, label in zip(
            xywh(image.boxes), image.scores.tolist(), image.labels, strict=True
        ):
            results.append(
                {
                    "image_id": i,
                    "category_id": int(label) + 1,
                    "bbox": box,
                    "score": score,
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = gt
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


def raw(scenes: list[sbw.Scene]) -> list[sbm.Detections]:
    return [
        sbm.Detections(s.gt_boxes, s.gt_labels, s.boxes, s.scores, s.labels)
        for s in scenes
    ]


def after_nms(scenes: list[sbw.Scene], threshold: float = 0.5) -> list[sbm.Detections]:
    images = []
    for s in scenes:
        keep = np.concatenate(
            [
                np.flatnonzero(s.labels == k)[
                    sbm.nms(s.boxes[s.labels == k], s.scores[s.labels == k], threshold)
                ]
                for k in (0, 1)
            ]
        )
        images.append(
            sbm.Detections(
                s.gt_boxes, s.gt_labels, s.boxes[keep], s.scores[keep], s.labels[keep]
            )
        )
    return images


def test_iou_matches_pycocotools():
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 40), random_boxes(rng, 30)
    expected = coco_mask.iou(xywh(a), xywh(b), [0] * len(b))
    np.testing.assert_allclose(sbm.box_iou(a, b), expected, rtol=1e-12, atol=1e-12)


def test_iou_of_simple_cases():
    box = np.array([[0.0, 0.0, 10.0, 10.0]])
    shifted = np.array([[5.0, 0.0, 15.0, 10.0]])  # half overlaps: 50 / 150
    apart = np.array([[20.0, 20.0, 30.0, 30.0]])
    inner = np.array([[0.0, 0.0, 5.0, 10.0]])  # half the area, inside
    got = sbm.box_iou(box, np.vstack([box, shifted, apart, inner]))[0]
    np.testing.assert_allclose(got, [1.0, 1 / 3, 0.0, 0.5])
    flat = np.array([[3.0, 3.0, 3.0, 3.0]])  # zero area: IoU 0, not NaN
    assert sbm.box_iou(flat, flat)[0, 0] == 0.0
    assert sbm.box_iou(np.zeros((0, 4)), box).shape == (0, 1)


def brute_force_nms(boxes, scores, threshold) -> list[int]:
    """Greedy NMS from its definition, in plain Python."""

    def iou(p, q):
        w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
        h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - w * h
        return w * h / union if union > 0 else 0.0

    order = sorted(range(len(scores)), key=lambda i: -scores[i])  # stable
    kept: list[int] = []
    for i in order:
        if all(iou(boxes[i], boxes[j]) <= threshold for j in kept):
            kept.append(i)
    return kept


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_nms_matches_a_brute_force_greedy_suppression(threshold):
    rng = np.random.default_rng(7)
    for _ in range(20):
        centres = rng.uniform(0, 60, (4, 2))  # clusters of near-duplicates
        corner = centres[rng.integers(0, 4, 25)] + rng.normal(0, 4, (25, 2))
        boxes = np.hstack([corner, corner + rng.uniform(8, 20, (25, 2))])
        scores = rng.random(25)
        kept = sbm.nms(boxes, scores, threshold)
        assert kept.tolist() == brute_force_nms(boxes.tolist(), scores, threshold)
        overlaps = sbm.box_iou(boxes[kept], boxes[kept])
        np.fill_diagonal(overlaps, 0)
        assert (overlaps <= threshold).all()


def brute_force_soft_nms(boxes, scores, sigma, floor):
    """Gaussian soft-NMS as Bodla et al. write it: pick the best, decay the rest."""
    remaining = dict(enumerate(scores))
    kept, kept_scores = [], []
    while remaining:
        best = max(remaining, key=lambda i: (remaining[i], -i))
        if remaining[best] < floor:
            break
        kept.append(best)
        kept_scores.append(remaining.pop(best))
        for i in remaining:
            overlap = sbm.box_iou(boxes[[best]], boxes[[i]])[0, 0]
            remaining[i] *= math.exp(-(overlap**2) / sigma)
    return kept, kept_scores


def test_soft_nms_matches_the_algorithm_and_keeps_crowded_neighbours():
    rng = np.random.default_rng(3)
    for _ in range(10):
        boxes = random_boxes(rng, 20, extent=40)
        scores = rng.random(20)
        kept, new = sbm.soft_nms(boxes, scores, sigma=0.5, floor=0.01)
        want, want_scores = brute_force_soft_nms(boxes, scores.tolist(), 0.5, 0.01)
        assert kept.tolist() == want
        np.testing.assert_allclose(new, want_scores)
    # Two faces side by side (IoU 1/3): hard NMS at 0.3 drops one, soft-NMS keeps it.
    pair = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0]])
    assert sbm.nms(pair, [0.9, 0.8], 0.3).tolist() == [0]
    kept, new = sbm.soft_nms(pair, np.array([0.9, 0.8]))
    assert kept.tolist() == [0, 1]
    assert new[1] == pytest.approx(0.8 * math.exp(-((1 / 3) ** 2) / 0.5))


@pytest.mark.parametrize("nms_first", [False, True])
def test_precision_matches_cocoeval_in_every_area_range(nms_first):
    scenes = sbw.make_scenes(11, 40, 10)
    images = after_nms(scenes) if nms_first else raw(scenes)
    reference = coco_eval(images)
    for a, area in enumerate(AREAS):
        mine = sbm.coco_precision(images, 2, area)
        np.testing.assert_array_equal(mine, reference.eval["precision"][..., a, 2])
    precision = sbm.coco_precision(images, 2)
    small = sbm.coco_precision(images, 2, "small")
    stats = reference.stats  # AP, AP50, AP75, AP small, ...
    assert sbm.average_precision(precision) == pytest.approx(stats[0], abs=1e-12)
    assert sbm.average_precision(precision, 0.5) == pytest.approx(stats[1], abs=1e-12)
    assert sbm.average_precision(precision, 0.75) == pytest.approx(stats[2], abs=1e-12)
    assert sbm.average_precision(small) == pytest.approx(stats[3], abs=1e-12)


def test_ties_truncation_and_equal_overlaps_follow_cocoeval():
    """Tied scores keep their order; only the best 100 boxes of an image count; a
    box with equal IoU to two objects takes the later one; a counted object beats an
    ignored one it overlaps less."""
    scenes = sbw.make_scenes(5, 12, 4)
    images = []
    for image in raw(scenes):
        scores = np.round(image.scores, 1)  # many ties
        copies = 8  # each image well over 100 boxes of a class
        images.append(
            image._replace(
                boxes=np.tile(image.boxes, (copies, 1)),
                scores=np.tile(scores, copies),
                labels=np.tile(image.labels, copies),
            )
        )
    assert max((i.labels == sbw.FACE).sum() for i in images) > 100
    two = np.array([[0.0, 0.0, 10.0, 10.0], [10.0, 0.0, 20.0, 10.0]])
    between = np.array([[5.0, 0.0, 15.0, 10.0]])  # IoU 1/3 with each
    images.append(
        sbm.Detections(
            two, np.zeros(2, int), between, np.array([0.9]), np.zeros(1, int)
        )
    )
    # For "small", a 30 px object counts and a 34 px one is ignored; the box overlaps
    # the ignored one more (0.94 vs 0.83) but must take the one that counts.
    nested = np.array([[0.0, 0.0, 30.0, 30.0], [0.0, 0.0, 34.0, 34.0]])
    box = np.array([[0.0, 0.0, 33.0, 33.0]])
    images.append(
        sbm.Detections(nested, np.zeros(2, int), box, np.array([0.8]), np.zeros(1, int))
    )
    reference = coco_eval(images)
    for a, area in enumerate(AREAS):
        mine = sbm.coco_precision(images, 2, area)
        np.testing.assert_array_equal(mine, reference.eval["precision"][..., a, 2])
    got = sbm.match_detections(sbm.box_iou(between, two), np.zeros(2, bool), [0.3])
    assert got[0].tolist() == [[True]]
    matched, on_ignored = sbm.match_detections(
        sbm.box_iou(box, nested), np.array([False, True]), [0.5]
    )
    assert matched.tolist() == [[True]] and on_ignored.tolist() == [[False]]


def test_recall_at_a_score_cut_matches_cocoeval_on_the_kept_boxes():
    images = after_nms(sbw.make_scenes(2, 30, 10))
    for cut in (0.1, 0.5):
        found = sbm.coco_matches(images, sbw.FACE)
        kept = [
            image._replace(
                boxes=image.boxes[image.scores >= cut],
                scores=image.scores[image.scores >= cut],
                labels=image.labels[image.scores >= cut],
            )
            for image in images
        ]
        reference = coco_eval(kept).eval["recall"][:, sbw.FACE, 0, 2]
        np.testing.assert_allclose(sbm.recall_at_score(found, cut), reference)


def pixel_raster(gt_boxes, boxes, scores, thresholds, width, height):
    """The blur measured pixel by pixel (integer boxes only)."""
    coverage = np.zeros((len(gt_boxes), len(thresholds)))
    false = np.zeros(len(thresholds))
    on_object = np.zeros((height, width), dtype=bool)
    for x1, y1, x2, y2 in gt_boxes.astype(int):
        on_object[y1:y2, x1:x2] = True
    for t, threshold in enumerate(thresholds):
        blurred = np.zeros((height, width), dtype=bool)
        for (x1, y1, x2, y2), score in zip(boxes.astype(int), scores, strict=True):
            if score >= threshold:
                blurred[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)] = True
        for g, (x1, y1, x2, y2) in enumerate(gt_boxes.astype(int)):
            coverage[g, t] = blurred[y1:y2, x1:x2].mean()
        false[t] = (blurred & ~on_object).sum()
    return coverage, false


def test_blur_metrics_match_a_pixel_raster():
    rng = np.random.default_rng(4)
    width, height, thresholds = 120, 80, [0.1, 0.4, 0.8]
    for _ in range(15):
        corner = rng.integers(0, [100, 60], (6, 2))  # objects inside the frame
        gt = np.hstack([corner, corner + rng.integers(3, 20, (6, 2))]).astype(float)
        corner = rng.integers(-10, 110, (12, 2))  # some boxes leave the frame
        boxes = np.hstack([corner, corner + rng.integers(1, 30, (12, 2))]).astype(float)
        scores = rng.random(12)
        coverage, false = sbm.blur_metrics(
            gt, boxes, scores, thresholds, (0, 0, width, height)
        )
        want_cov, want_false = pixel_raster(
            gt, boxes, scores, thresholds, width, height
        )
        np.testing.assert_allclose(coverage, want_cov, atol=1e-12)
        np.testing.assert_allclose(false, want_false)


def test_bad_input_raises_clear_errors():
    box = np.array([[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        sbm.box_iou(np.zeros((2, 3)), box)
    with pytest.raises(ValueError, match="x2 >= x1"):
        sbm.box_iou(np.array([[5.0, 0.0, 1.0, 1.0]]), box)
    with pytest.raises(TypeError, match="array of boxes"):
        sbm.box_iou("boxes", box)
    with pytest.raises(ValueError, match="finite"):
        sbm.nms(box, [np.nan], 0.5)
    with pytest.raises(ValueError, match="one value per box"):
        sbm.nms(box, [0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        sbm.nms(box, [0.5], 1.5)
    with pytest.raises(ValueError, match="sigma"):
        sbm.soft_nms(box, [0.5], sigma=0)
    with pytest.raises(ValueError, match="area must be one of"):
        sbm.coco_precision([], 1, area="tiny")
    with pytest.raises(ValueError, match="COCO's thresholds"):
        sbm.average_precision(-np.ones((10, 101, 1)), iou=0.52)
    with pytest.raises(ValueError, match="thresholds"):
        sbm.blur_metrics(box, box, [0.5], [0.0], (0, 0, 10, 10))
