"""The blurring miniature's world: what it builds in, checked from its draws."""

from __future__ import annotations

import numpy as np
import pytest

from snippets.problems import street_blurring_metrics as sbm
from snippets.problems import street_blurring_world as sbw


@pytest.fixture(scope="module")
def scenes() -> list[sbw.Scene]:
    return sbw.make_scenes(21, 300, 60)


def sizes(boxes: np.ndarray) -> np.ndarray:
    return np.sqrt(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1))


def test_scenes_are_seeded_and_inside_the_tile():
    a, b = sbw.make_scenes(3, 5, 2), sbw.make_scenes(3, 5, 2)
    for one, two in zip(a, b, strict=True):
        np.testing.assert_array_equal(one.boxes, two.boxes)
        np.testing.assert_array_equal(one.scores, two.scores)
        assert (one.gt_boxes[:, :2] >= 0).all()
        assert (one.gt_boxes[:, 2] <= sbw.WIDTH).all()
        assert (one.gt_boxes[:, 3] <= sbw.HEIGHT).all()
    assert [s.crowd for s in a] == [False] * 5 + [True] * 2


def test_small_and_occluded_faces_are_proposed_less_and_scored_lower(scenes):
    proposed, size, occlusion, best = [], [], [], []
    for s in scenes:
        for g in np.flatnonzero(s.gt_labels == sbw.FACE):
            mine = s.source == g
            proposed.append(mine.any())
            best.append(s.scores[mine].max() if mine.any() else 0.0)
        face = s.gt_labels == sbw.FACE
        size.append(sizes(s.gt_boxes[face]))
        occlusion.append(s.occlusion[face])
    proposed, best = np.array(proposed), np.array(best)
    size, occlusion = np.concatenate(size), np.concatenate(occlusion)
    small, large, hidden = size < 16, size >= 32, occlusion > 0.2
    assert proposed[small].mean() < proposed[large].mean() - 0.03
    assert proposed[hidden].mean() < proposed[~hidden].mean() - 0.02
    assert np.median(best[small & proposed]) < np.median(best[large]) - 0.1
    assert np.median(best[hidden & proposed]) < np.median(best[~hidden]) - 0.1


def test_duplicates_surround_their_object_and_background_boxes_are_faint(scenes):
    fired = np.concatenate([s.source for s in scenes])
    objects = sum(len(np.unique(s.source[s.source >= 0])) for s in scenes)
    assert 2.2 < (fired >= 0).sum() / objects < 2.8  # one box + Poisson(1.5) copies
    near = [
        sbm.box_iou(s.boxes[[d]], s.gt_boxes[[s.source[d]]])[0, 0]
        for s in scenes[:50]
        for d in np.flatnonzero(s.source >= 0)
    ]
    assert np.median(near) > 0.6
    background = np.concatenate([s.scores[s.source < 0] for s in scenes])
    assert np.median(background) < 0.1 < background.max()


def test_crowd_faces_overlap_and_spreading_removes_only_the_overlap(scenes):
    crowds = [s for s in scenes if s.crowd]
    for s in crowds:
        overlaps = sbm.box_iou(s.gt_boxes, s.gt_boxes)
        np.fill_diagonal(overlaps, 0)
        assert overlaps.max() > 0.2
        apart = sbw.spread_out(s)
        overlaps = sbm.box_iou(apart.gt_boxes, apart.gt_boxes)
        np.fill_diagonal(overlaps, 0)
        assert overlaps.max() == 0
        np.testing.assert_allclose(sizes(apart.gt_boxes), sizes(s.gt_boxes))
        np.testing.assert_array_equal(apart.scores, s.scores)
        np.testing.assert_array_equal(apart.occlusion, s.occlusion)
        # Each box sits on its object exactly as before: same IoU with its source.
        fired = np.flatnonzero(s.source >= 0)
        before = [sbm.box_iou(s.boxes[[d]], s.gt_boxes[[s.source[d]]]) for d in fired]
        after = [
            sbm.box_iou(apart.boxes[[d]], apart.gt_boxes[[s.source[d]]]) for d in fired
        ]
        np.testing.assert_allclose(before, after, atol=1e-9)
    occluded = np.concatenate([s.occlusion for s in crowds])
    assert (occluded > 0.2).mean() > 0.3  # faces behind faces


def test_bad_input_raises_clear_errors():
    with pytest.raises(TypeError, match="seed must be an integer"):
        sbw.make_scenes(1.5, 1, 1)
    with pytest.raises(ValueError, match="n_street must be >= 0"):
        sbw.make_scenes(1, -1, 1)
    with pytest.raises(TypeError, match="numpy Generator"):
        sbw.make_scene(42)
