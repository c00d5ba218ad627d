"""Thompson sampling loses fewer clicks than greedy or epsilon-greedy on new items."""

from __future__ import annotations

import numpy as np
import pytest
from guide import assert_page_quotes, module_output

from snippets.concepts import bandits

PAGE = "concepts/retrieval-and-ranking.md"


@pytest.fixture(scope="module")
def table():
    """Printed rows: policy -> (regret@500, regret@5k, regret in the last 1k)."""
    lines = module_output("snippets.concepts.bandits").splitlines()[2:]
    return {line.split()[0]: [float(x) for x in line.split()[1:]] for line in lines}


def test_regret_is_cumulative_and_non_negative():
    regret = bandits.simulate("greedy", impressions=300, runs=20)
    assert regret.shape == (300,)
    assert (regret >= 0).all() and (np.diff(regret) >= 0).all()


def test_thompson_beats_the_others_in_the_long_run_on_another_seed():
    final = {
        p: bandits.simulate(p, impressions=3_000, runs=60, seed=11)[-1]
        for p in bandits.POLICIES
    }
    assert final["thompson"] < min(final["epsilon-greedy"], final["greedy"])


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


def test_printed_table_supports_the_claims(table):
    greedy, eps, ts = table["greedy"], table["epsilon-greedy"], table["thompson"]
    assert ts[0] > greedy[0]  # exploring costs clicks at first ...
    assert ts[1] < min(eps[1], greedy[1])  # ... and pays back by 5,000 impressions
    assert ts[2] < eps[2] / 2  # epsilon-greedy keeps paying for epsilon


def test_page_quotes_the_numbers_the_code_prints(table):
    assert_page_quotes(
        PAGE,
        *(f"{table[p][1]:.1f}" for p in bandits.POLICIES),
        f"{table['thompson'][0]:.1f}",
        f"{table['greedy'][0]:.1f}",
        f"{table['thompson'][2]:.1f}",
        f"{table['epsilon-greedy'][2]:.1f}",
    )


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="policy must be"):
        bandits.simulate("ucb")
    with pytest.raises(ValueError, match="prior"):
        bandits.simulate("greedy", prior=(0.0, 1.0))
    with pytest.raises(ValueError, match="policy must be"):
        bandits.choose(
            "softmax",
            np.zeros((1, 2)),
            np.zeros((1, 2)),
            (1, 1),
            np.random.default_rng(0),
        )
