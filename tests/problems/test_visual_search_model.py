"""The visual search miniature's parts: InfoNCE and its gradient, recall, baselines."""

from __future__ import annotations

import dataclasses

import faiss
import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.decomposition import PCA

from snippets.concepts.ranking_metrics import recall_at_k as listwise_recall
from snippets.problems import visual_search_model as vs


def random_batch(rng, runs=2, anchors=5, negatives=7, dim=6, raw=9):
    weights = rng.standard_normal((runs, dim, raw))
    a, p = rng.standard_normal((2, runs, anchors, raw))
    n = rng.standard_normal((runs, negatives, raw))
    return weights, a, p, n


def reference_loss(weights, a, p, n, temperature, mask=None):
    """InfoNCE written out anchor by anchor, for one run."""

    def unit(x):
        h = weights @ x
        return h / np.sqrt(h @ h)

    losses = []
    for i in range(len(a)):
        kept = [j for j in range(len(n)) if mask is None or mask[i, j]]
        logits = [unit(a[i]) @ unit(p[i])] + [unit(a[i]) @ unit(n[j]) for j in kept]
        logits = np.array(logits) / temperature
        losses.append(logsumexp(logits) - logits[0])
    return np.mean(losses)


def test_loss_matches_a_loop_over_anchors_with_and_without_a_mask():
    rng = np.random.default_rng(0)
    weights, a, p, n = random_batch(rng)
    temperature = np.array([0.1, 0.7])[:, None, None]
    mask = rng.random((2, 5, 7)) < 0.6
    mask[..., 0] = True  # every anchor keeps at least one negative
    loss, _ = vs.info_nce(weights, a, p, n, temperature)
    masked, _ = vs.info_nce(weights, a, p, n, temperature, mask)
    for r, t in enumerate((0.1, 0.7)):
        assert loss[r] == pytest.approx(reference_loss(weights[r], a[r], p[r], n[r], t))
        expected = reference_loss(weights[r], a[r], p[r], n[r], t, mask[r])
        assert masked[r] == pytest.approx(expected)


@pytest.mark.parametrize("use_mask", [False, True])
def test_gradient_matches_central_finite_differences(use_mask):
    rng = np.random.default_rng(1)
    weights, a, p, n = random_batch(rng)
    temperature = np.array([0.2, 1.5])[:, None, None]
    mask = None
    if use_mask:
        mask = rng.random((2, 5, 7)) < 0.5
        mask[..., 3] = True
    _, grad = vs.info_nce(weights, a, p, n, temperature, mask)
    numeric, step = np.zeros_like(weights), 1e-6
    for index in np.ndindex(weights.shape):
        shifted = [weights.copy(), weights.copy()]
        shifted[0][index] += step
        shifted[1][index] -= step
        up, down = (vs.info_nce(w, a, p, n, temperature, mask)[0] for w in shifted)
        numeric[index] = (up[index[0]] - down[index[0]]) / (2 * step)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_a_perfectly_separated_batch_has_near_zero_loss_and_gradient():
    """Positives identical to their anchors, a cold softmax: nothing left to learn."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1, 4, 5))
    weights = np.eye(5)[None]
    loss, grad = vs.info_nce(weights, a, a.copy(), -a[0][None], 0.01)
    assert loss[0] < 1e-12 and np.abs(grad).max() < 1e-12


def test_hardest_negative_mask_picks_the_highest_cosine():
    rng = np.random.default_rng(3)
    weights, a, _, n = random_batch(rng, runs=1)
    mask = vs.hardest_negative_mask(weights, a, n)[0]
    assert mask.sum(axis=1).tolist() == [1] * len(a[0])
    emb = lambda x: (weights[0] @ x) / np.linalg.norm(weights[0] @ x)  # noqa: E731
    for i, row in enumerate(mask):
        cosines = [emb(a[0][i]) @ emb(neg) for neg in n[0]]
        assert np.flatnonzero(row)[0] == int(np.argmax(cosines))


def test_recall_matches_faiss_exact_search_and_the_listwise_metric():
    rng = np.random.default_rng(4)
    gallery = rng.standard_normal((300, 8)).astype(np.float32)
    targets = rng.choice(300, 100, replace=False)
    queries = gallery[targets] + rng.standard_normal((100, 8)).astype(np.float32)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(8)
    index.add(gallery)
    for k in (1, 5, 10):
        _, ids = index.search(queries, k)
        hits = np.mean([t in row for t, row in zip(targets, ids, strict=True)])
        listwise = np.mean(
            [
                listwise_recall(row.tolist(), {t}, k)
                for t, row in zip(targets, ids, strict=True)
            ]
        )
        ours = vs.checked_recall_at_k(queries, gallery, targets, k)
        assert ours == pytest.approx(hits) == pytest.approx(listwise)
        assert 0 < ours < 1


def test_a_tie_with_the_target_does_not_push_it_down():
    gallery = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    queries = np.array([[1.0, 0.0]])
    assert vs.recall_at_k(queries, gallery, np.array([1]), k=1) == 1.0


def test_pca_encoder_spans_the_same_subspace_as_scikit_learn():
    rng = np.random.default_rng(5)
    raw = rng.standard_normal((400, 12)) @ rng.standard_normal((12, 12)) + 3.0
    ours = vs.pca_encoder(raw, 4)
    theirs = PCA(4).fit(raw).components_
    np.testing.assert_allclose(ours.T @ ours, theirs.T @ theirs, atol=1e-8)


def test_augment_redraws_exactly_the_touched_coordinates():
    rng = np.random.default_rng(6)
    world = vs.make_world(rng)
    _, nuisance = vs.draw_images(world, 50, rng)
    touched = vs.AUGMENTATIONS["colour only"]
    view = vs.augment(world, nuisance, touched, rng)
    assert np.array_equal(view[:, ~touched], nuisance[:, ~touched])
    assert np.all(view[:, touched] != nuisance[:, touched])


def test_sensitivity_is_zero_for_an_encoder_blind_to_the_nuisance():
    rng = np.random.default_rng(7)
    world = vs.make_world(rng)
    images = vs.draw_images(world, 400, rng)
    # Rows orthogonal to every nuisance direction: the encoder cannot see nuisance.
    basis = np.linalg.svd(world.nuisance_map, full_matrices=True)[0]
    blind = basis[:, vs.NUISANCE_DIM : vs.NUISANCE_DIM + vs.EMBED_DIM].T
    every = vs.AUGMENTATIONS["colour and crop"]
    assert vs.sensitivity(blind, world, images, every, rng) < 1e-20
    assert vs.sensitivity(np.eye(vs.RAW_DIM), world, images, every, rng) > 0.1


def test_variance_kept_matches_the_variance_of_projected_photos():
    """Photos of identity alone (or nuisance alone), no sensor noise, projected on
    the encoder's row space: the share of their variance that survives."""
    rng = np.random.default_rng(11)
    world = dataclasses.replace(vs.make_world(rng), nuisance_scale=2.0)
    # Rows far from orthogonal: the row space, not the rows, must be what counts.
    shared = rng.standard_normal((1, vs.RAW_DIM))
    weights = shared + 0.3 * rng.standard_normal((vs.EMBED_DIM, vs.RAW_DIM))
    basis = np.linalg.svd(weights, full_matrices=False)[2]  # orthonormal rows
    n = 200_000
    parts = (
        rng.standard_normal((n, vs.IDENTITY_DIM)) @ world.identity_map.T,
        2.0 * rng.standard_normal((n, vs.NUISANCE_DIM)) @ world.nuisance_map.T,
    )
    expected = [
        np.var(x @ basis.T, axis=0).sum() / np.var(x, axis=0).sum() for x in parts
    ]
    assert vs.variance_kept(weights, world) == pytest.approx(expected, rel=0.02)
    assert vs.variance_kept(np.eye(vs.RAW_DIM), world) == pytest.approx((1.0, 1.0))


def test_no_anchor_meets_its_own_image_among_the_negatives(monkeypatch):
    """Spy on the photographs each step takes: anchors and positives are the same
    images, and no negative is one of them (sampled with replacement from 200
    images, most steps would have one)."""
    rng = np.random.default_rng(12)
    world = vs.make_world(rng)
    images = vs.draw_images(world, 200, rng)
    batches = []
    real = vs.photograph

    def spy(world, identity, nuisance, rng):
        batches.append(identity)
        return real(world, identity, nuisance, rng)

    monkeypatch.setattr(vs, "photograph", spy)
    runs = [vs.Run(0.1, 64)]
    vs.train_encoders(world, images, runs, rng, steps=20, batch=16, max_negatives=64)
    assert len(batches) == 20
    for identity in batches:
        assert np.array_equal(identity[:16], identity[16:32])  # anchor, positive
        assert len(np.unique(identity[16:], axis=0)) == 16 + 64  # all distinct


def test_a_longer_run_shares_the_shorter_runs_batches():
    """A run with its own shorter budget ends where a separate run of that length
    would: the same batches, the same weights."""
    rng = np.random.default_rng(13)
    world = vs.make_world(rng)
    images = vs.draw_images(world, 300, rng)
    runs = [vs.Run(0.1, 16, steps=20), vs.Run(0.3, 16, steps=40)]
    both = vs.train_encoders(
        world, images, runs, np.random.default_rng(0), steps=5, max_negatives=16
    )
    alone = [
        vs.train_encoders(
            world, images, [run], np.random.default_rng(0), steps=5, max_negatives=16
        )[0]
        for run in runs
    ]
    np.testing.assert_allclose(both, alone, rtol=1e-5, atol=1e-6)
    assert not np.allclose(both[0], both[1])


def test_each_run_trains_for_exactly_its_budget(monkeypatch):
    """Spy on the loss: how many runs it sees at each step."""
    rng = np.random.default_rng(14)
    world = vs.make_world(rng)
    images = vs.draw_images(world, 100, rng)
    seen, real = [], vs.info_nce

    def spy(weights, *args):
        seen.append(len(weights))
        return real(weights, *args)

    monkeypatch.setattr(vs, "info_nce", spy)
    runs = [vs.Run(0.1, 8, steps=3), vs.Run(0.1, 8), vs.Run(0.1, 8, steps=6)]
    vs.train_encoders(world, images, runs, rng, steps=4, max_negatives=8)
    assert seen == [3, 3, 3, 2, 1, 1]


def test_dimensions_used_runs_from_one_axis_to_all():
    rng = np.random.default_rng(8)
    spread = rng.standard_normal((5_000, 8))
    assert vs.dimensions_used(spread) == pytest.approx(8, rel=0.02)
    one_axis = np.zeros((100, 8))
    one_axis[:, 0] = rng.standard_normal(100)
    assert vs.dimensions_used(one_axis) == pytest.approx(1)


def test_training_learns_the_invariance_the_augmentation_teaches():
    rng = np.random.default_rng(9)
    world = vs.make_world(rng)
    images = vs.draw_images(world, 500, rng)
    runs = [vs.Run(0.1, 16, "colour and crop"), vs.Run(0.1, 16, "colour only")]
    weights = vs.train_encoders(world, images, runs, rng, steps=150, max_negatives=16)
    colour, crop = vs.AUGMENTATIONS["colour only"], ~vs.AUGMENTATIONS["colour only"]
    full, colour_only = weights
    assert vs.sensitivity(full, world, images, crop, rng) < 0.05
    assert vs.sensitivity(colour_only, world, images, colour, rng) < 0.05
    assert vs.sensitivity(colour_only, world, images, crop, rng) > 0.15


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([], "at least one run"),
        (["run"], "must hold Run"),
        ([vs.Run(temperature=0.0)], "temperature"),
        ([vs.Run(temperature=float("nan"))], "temperature"),
        ([vs.Run(augmentation="blur")], "unknown augmentation"),
        ([vs.Run(negatives=0)], "negatives must be >= 1"),
        ([vs.Run(negatives=129)], "> max 128"),
        ([vs.Run(negatives=4, hardest=True)], "exactly 1 negative"),
        ([vs.Run(steps=0)], "steps must be >= 1"),
    ],
)
def test_bad_runs_are_refused(runs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        vs.check_runs(runs, 128)


def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(10)
    world = vs.make_world(rng)
    images = vs.draw_images(world, 20, rng)
    with pytest.raises(TypeError, match="Generator"):
        vs.make_world(0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        vs.draw_images(world, 0, rng)
    with pytest.raises(TypeError, match="steps must be an integer"):
        vs.train_encoders(world, images, [vs.Run()], rng, steps=1.5)
    with pytest.raises(ValueError, match="cannot give 32 anchors"):
        vs.train_encoders(world, images, [vs.Run()], rng, steps=2)
    with pytest.raises(ValueError, match="columns"):
        vs.variance_kept(np.ones((2, 5)), world)
    with pytest.raises(TypeError, match="numpy array"):
        vs.embed([[1.0]], np.ones((2, 1)))
    with pytest.raises(ValueError, match="columns"):
        vs.embed(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="finite"):
        vs.pca_encoder(np.full((5, 3), np.nan), 2)
    with pytest.raises(ValueError, match="exceeds"):
        vs.pca_encoder(np.ones((5, 3)), 4)
    with pytest.raises(ValueError, match="finite array"):
        vs.dimensions_used(np.ones(5))
    q, g = np.ones((3, 2)), np.ones((4, 2))
    with pytest.raises(ValueError, match="same dimension"):
        vs.checked_recall_at_k(q, np.ones((4, 3)), np.arange(3))
    with pytest.raises(ValueError, match="one integer"):
        vs.checked_recall_at_k(q, g, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="index the gallery"):
        vs.checked_recall_at_k(q, g, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match="k must be >= 1"):
        vs.checked_recall_at_k(q, g, np.arange(3), k=0)
