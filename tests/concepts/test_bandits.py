"""Thompson sampling loses fewer clicks than greedy or epsilon-greedy on new items."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output
from scipy import stats

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


@pytest.fixture(scope="module")
def paired():
    """Printed paired differences: (a, b, at) -> (mean, half-width, tie)."""
    out = module_output("snippets.concepts.bandits")
    found = re.findall(
        r"^  (\S+) - (\S+), regret(@\S+) +([+-][\d.]+) \+/- +([\d.]+)( +tie)?$",
        out,
        re.M,
    )
    return {
        (a, b, at): (float(mean), float(half), bool(tie))
        for a, b, at, mean, half, tie in found
    }


def test_paired_differences_match_a_recomputation(paired):
    runs = {p: bandits.simulate(p) for p in bandits.POLICIES}
    assert len(paired) == 4
    for (a, b, at), (mean, half, tie) in paired.items():
        step = 499 if at == "@500" else -1
        gap = runs[a].regret[:, step] - runs[b].regret[:, step]
        # An independent interval: scipy's t-interval is within rounding of 1.96 sd/√n
        ci = stats.ttest_1samp(gap, 0.0).confidence_interval(0.95)
        assert mean == pytest.approx(gap.mean(), abs=0.05)
        assert half == pytest.approx((ci.high - ci.low) / 2, rel=0.02, abs=0.05)
        assert tie == (ci.low <= 0 <= ci.high)


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


def test_printed_table_supports_the_claims(table, paired):
    eps, ts = table["epsilon-greedy"], table["thompson"]

    def clearly_positive(key):  # the paired 95% interval excludes zero
        mean, half, tie = paired[key]
        return mean - half > 0 and not tie

    assert clearly_positive(("thompson", "greedy", "@500"))  # exploring costs first
    assert clearly_positive(("greedy", "thompson", "@5k"))  # ... and pays back
    assert clearly_positive(("epsilon-greedy", "thompson", "@5k"))
    assert paired["greedy", "epsilon-greedy", "@5k"][2]  # a tie on this evidence
    assert eps[2][0] - eps[2][1] > ts[2][0] + ts[2][1]


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


def test_page_quotes_the_paired_differences(paired):
    quoted = [f"{abs(mean):.1f} ± {half:.1f}" for mean, half, _ in paired.values()]
    assert_page_quotes(PAGE, *quoted)


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
