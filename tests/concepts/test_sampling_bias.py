"""The logQ correction removes the popularity penalty of in-batch negatives."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from scipy import stats

from snippets.concepts import sampling_bias as sb

PAGE = "concepts/retrieval-and-ranking.md"


@pytest.fixture(scope="module")
def table():
    """Printed rows: name -> (mean hit@10, head share, slope, min hit, max hit)."""
    rows = {}
    out = module_output("snippets.concepts.sampling_bias")
    for line in out.split("hit@10 differences")[0].splitlines()[3:]:
        name, numbers = line[:21].strip(), line[21:].split()
        low, high = numbers[1].split("-")
        rows[name] = (float(numbers[0]), float(numbers[2]), float(numbers[3]))
        rows[name] += (float(low), float(high))
    return rows


@pytest.fixture(scope="module")
def gaps():
    """Paired hit@10 differences: (a, b) -> (min, max) over the seeds."""
    out = module_output("snippets.concepts.sampling_bias")
    found = re.findall(r"^  (.+) minus (.+): (\S+) to (\S+)$", out, re.M)
    return {(a, b): (float(low), float(high)) for a, b, low, high in found}


def in_batch_loss(model, user, item, log_q):
    """Mean softmax cross-entropy over the batch, accidental hits masked."""
    logits = model.users[user] @ model.items[item].T + model.bias[item]
    if log_q is not None:
        logits = logits - log_q[item]
    logits[(item[:, None] == item[None, :]) & ~np.eye(len(item), dtype=bool)] = -np.inf
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.mean(np.diag(log_probs))


@pytest.mark.parametrize("corrected", [False, True])
def test_gradients_match_finite_differences(corrected):
    rng = np.random.default_rng(0)
    model = sb.Tower(
        rng.normal(size=(4, 3)), rng.normal(size=(6, 3)), rng.normal(size=6)
    )
    user, item = np.array([0, 1, 2, 3, 1]), np.array([0, 2, 2, 5, 1])  # a repeat
    log_q = np.log(rng.dirichlet(np.ones(6))) if corrected else None
    grads = sb._in_batch_gradients(model, user, item, log_q)
    for param, grad in zip((model.users, model.items, model.bias), grads, strict=True):
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + 1e-6
            up = in_batch_loss(model, user, item, log_q)
            param[index] = saved - 1e-6
            down = in_batch_loss(model, user, item, log_q)
            param[index] = saved
            assert grad[index] == pytest.approx((up - down) / 2e-6, abs=1e-6)


def test_frequencies_are_a_distribution_without_zeros():
    q = sb.item_frequencies(np.array([[0, 1], [1, 1], [2, 0]]), n_items=4)
    assert q.sum() == pytest.approx(1.0)
    assert (q > 0).all() and q[1] > q[0] > q[3]


def test_the_world_follows_zipf_popularity():
    world = sb.make_world(n_train=20_000, seed=4)
    counts = np.bincount(world.train[:, 1], minlength=1000)
    assert counts[:10].sum() > counts[-500:].sum()  # a long, thin tail
    rank_correlation = np.corrcoef(np.argsort(np.argsort(-counts)), np.arange(1000))
    assert rank_correlation[0, 1] > 0.5


def test_correction_recovers_popularity_on_another_seed():
    world = sb.make_world(n_users=150, n_items=500, n_train=25_000, seed=7)
    log_q = np.log(sb.item_frequencies(world.train, 500))
    oracle = sb.evaluate(world.true_logits, world, log_q)
    plain = sb.evaluate(sb.train_in_batch(world, None).scores(), world, log_q)
    fixed = sb.evaluate(sb.train_in_batch(world, log_q).scores(), world, log_q)
    assert fixed.hit_rate > plain.hit_rate + 0.1
    assert fixed.head_share == pytest.approx(oracle.head_share, abs=0.1)
    assert plain.head_share < oracle.head_share / 2  # head items pushed down
    assert plain.popularity_slope < fixed.popularity_slope - 0.4


def test_printed_table_supports_the_claims(table):
    oracle, popular = table["oracle (true logits)"], table["popularity only"]
    plain, fixed = table["in-batch, no logQ"], table["in-batch, logQ"]
    assert plain[0] < popular[0] < fixed[0] <= oracle[0]
    assert fixed[0] > oracle[0] - 0.05  # close to the best possible scores
    assert abs(fixed[1] - oracle[1]) < 0.05 and plain[1] < oracle[1] / 3
    assert plain[2] < 0 < oracle[2]


def test_every_seed_shows_the_gain_and_the_small_gap_to_the_oracle(table, gaps):
    assert len(gaps) == 2
    gain = gaps["in-batch, logQ", "in-batch, no logQ"]
    gap = gaps["oracle (true logits)", "in-batch, logQ"]
    assert gain[0] > 0.2  # on every seed, by a wide margin
    assert 0 < gap[0] <= gap[1] < gain[0] / 5  # the oracle stays ahead, narrowly
    for name, (mean, _, _, low, high) in table.items():
        assert low <= mean <= high, name


def test_page_quotes_the_numbers_the_code_prints(table, gaps):
    names = ["oracle (true logits)", "popularity only"]
    names += ["in-batch, no logQ", "in-batch, logQ"]
    quoted = [f"{table[name][0]:.3f}" for name in names]
    quoted += [f"{table[name][1]:.2f}" for name in ("in-batch, no logQ",)]
    quoted += [f"{table['oracle (true logits)'][1]:.2f}"]
    quoted += [
        f"{table[name][3]:.3f}–{table[name][4]:.3f}"
        for name in ("oracle (true logits)", "in-batch, no logQ", "in-batch, logQ")
    ]
    quoted += [f"{low:+.3f} to {high:+.3f}" for low, high in gaps.values()]
    assert_page_quotes(PAGE, *quoted)


def test_bad_input_fails_clearly():
    world = sb.make_world(n_users=5, n_items=20, n_train=100, n_test=10)
    with pytest.raises(ValueError, match="one entry per item"):
        sb.train_in_batch(world, np.zeros(3))
    with pytest.raises(ValueError, match="batch_size"):
        sb.train_in_batch(world, None, batch_size=1)
    with pytest.raises(ValueError, match="sizes"):
        sb.make_world(n_items=0)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        sb.item_frequencies(np.arange(5), 5)
    with pytest.raises(ValueError, match="matrix"):
        sb.evaluate(np.zeros((2, 2)), world, np.zeros(20))


def test_the_log_draws_items_with_the_true_choice_probabilities():
    world = sb.make_world(n_users=20, n_items=30, n_train=200_000, n_test=1, seed=5)
    choice = np.exp(world.true_logits)
    choice /= choice.sum(axis=1, keepdims=True)
    users = np.bincount(world.train[:, 0], minlength=20)
    expected = users[:, None] * choice  # each user's draws follow their own softmax
    observed = np.zeros((20, 30))
    np.add.at(observed, (world.train[:, 0], world.train[:, 1]), 1)
    keep = expected > 5  # chi-square needs enough expected counts per cell
    statistic = ((observed - expected)[keep] ** 2 / expected[keep]).sum()
    assert stats.chi2.sf(statistic, keep.sum() - 20) > 0.001
