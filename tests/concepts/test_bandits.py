"""Thompson sampling loses fewer clicks than greedy or epsilon-greedy on new items."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output

from snippets.concepts import bandits

PAGE = "concepts/retrieval-and-ranking.md"
CELL = r"([\d.]+) \+/- ([\d.]+)"


@pytest.fixture(scope="module")
def table():
    """Printed rows: policy -> [(mean, half-width)] at 500, at 5k, in the last 1k."""
    out = module_output("snippets.concepts.bandits")
    rows = re.findall(rf"^(\S+) +{CELL} +{CELL} +{CELL}$", out, re.M)
    return {
        name: [(float(cells[i]), float(cells[i + 1])) for i in (0, 2, 4)]
        for name, *cells in rows
    }


def test_regret_is_cumulative_and_non_negative():
    runs = bandits.simulate("greedy", impressions=300, runs=20)
    assert runs.regret.shape == (20, 300) and runs.true_ctr.shape == (20, 20)
    assert (runs.regret >= 0).all() and (np.diff(runs.regret, axis=1) >= 0).all()


def test_thompson_beats_the_others_in_the_long_run_on_another_seed():
    final = {p: bandits.simulate(p, seed=11).regret[:, -1] for p in bandits.POLICIES}
    # Same seed, same items: compare run by run, with a paired 95% interval.
    for other in ("greedy", "epsilon-greedy"):
        gap = final[other] - final["thompson"]
        assert gap.mean() > 1.96 * gap.std(ddof=1) / np.sqrt(gap.size)


def test_thompson_draws_follow_the_beta_posterior():
    rng = np.random.default_rng(0)
    clicks, shows = np.array([[3.0, 0.0]]), np.array([[10.0, 0.0]])
    picks = [
        bandits.choose("thompson", clicks, shows, (1, 1), rng)[0] for _ in range(4000)
    ]
    # P(Beta(4, 8) > Beta(1, 1)) = E[1 - X] for X ~ Beta(4, 8), i.e. 8/12
    assert np.mean(np.array(picks) == 0) == pytest.approx(1 - 8 / 12, abs=0.03)


def test_epsilon_greedy_explores_about_epsilon_of_the_time():
    rng = np.random.default_rng(1)
    clicks, shows = np.zeros((20_000, 4)), np.ones((20_000, 4))
    clicks[:, 2] = 1  # arm 2 is clearly best
    picks = bandits.choose("epsilon-greedy", clicks, shows, (1, 1), rng, epsilon=0.2)
    assert np.mean(picks != 2) == pytest.approx(0.2 * 3 / 4, abs=0.01)


def test_exploration_cost_is_what_the_random_share_loses():
    """With the right favourite, epsilon-greedy loses exactly the exploration cost."""
    rng = np.random.default_rng(2)
    true_ctr = rng.beta(2, 38, size=(5, 20))
    shows = np.full(true_ctr.shape, 1e6)
    clicks = true_ctr * shows  # posterior means are the true CTRs: favourite = best
    best = true_ctr.max(axis=1)
    lost = np.zeros(5)
    draws = 20_000
    for _ in range(draws):
        arm = bandits.choose("epsilon-greedy", clicks, shows, (2, 38), rng)
        lost += best - true_ctr[np.arange(5), arm]
    assert lost / draws == pytest.approx(bandits.exploration_cost(true_ctr), rel=0.1)


def test_printed_table_supports_the_claims(table):
    greedy, eps, ts = table["greedy"], table["epsilon-greedy"], table["thompson"]

    def clearly_above(x, y):  # 95% intervals do not overlap
        return x[0] - x[1] > y[0] + y[1]

    assert clearly_above(ts[0], greedy[0])  # exploring costs clicks at first ...
    assert clearly_above(greedy[1], ts[1]) and clearly_above(eps[1], ts[1])  # pays
    assert not clearly_above(greedy[1], eps[1])  # greedy vs epsilon-greedy: a tie
    assert clearly_above(eps[2], ts[2])


def test_page_quotes_the_numbers_the_code_prints(table):
    out = module_output("snippets.concepts.bandits")
    assert_page_quotes(
        PAGE,
        *(f"{table[p][1][0]:.1f}" for p in bandits.POLICIES),
        f"{table['thompson'][0][0]:.1f}",
        f"{table['greedy'][0][0]:.1f}",
        f"{table['thompson'][2][0]:.1f}",
        f"{table['epsilon-greedy'][2][0]:.1f}",
    )
    split = re.search(r"([\d.]+) clicks lost =\n +([\d.]+) on .*\n +([\d.]+) on", out)
    total, explore, exploit = (float(x) for x in split.groups())
    assert explore + exploit == pytest.approx(total, abs=0.11)
    assert exploit > explore  # most of the late loss is not the random share
    assert_page_quotes(PAGE, *split.groups())


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="policy must be"):
        bandits.simulate("ucb")
    with pytest.raises(ValueError, match="prior"):
        bandits.simulate("greedy", prior=(0.0, 1.0))
    with pytest.raises(ValueError, match="epsilon"):
        bandits.simulate("epsilon-greedy", epsilon=1.5)
    with pytest.raises(ValueError, match="policy must be"):
        bandits.choose(
            "softmax",
            np.zeros((1, 2)),
            np.zeros((1, 2)),
            (1, 1),
            np.random.default_rng(0),
        )
