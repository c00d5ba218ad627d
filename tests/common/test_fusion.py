"""Reciprocal rank fusion: the formula by hand, ranks only, bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from snippets.common.fusion import reciprocal_rank_fusion


def test_rrf_by_hand():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    assert list(fused) == [1, 3, 2]  # best first


def test_rrf_of_one_list_keeps_its_order_and_ties_break_by_id():
    assert list(reciprocal_rank_fusion([[9, 4, 7]])) == [9, 4, 7]
    # 5 and 2 both sit once at rank 1 and once at rank 2: equal scores, lower id first.
    assert list(reciprocal_rank_fusion([[5, 2], [2, 5]])) == [2, 5]
    assert reciprocal_rank_fusion([[], []]) == {}


def test_smaller_k_rewards_the_top_of_each_list_more():
    # 1 is first in one list only; 2 is third in both.
    rankings = [[1, 4, 2], [3, 5, 2]]
    sharp, flat = (
        reciprocal_rank_fusion(rankings, k=0),
        reciprocal_rank_fusion(rankings),
    )
    assert sharp[1] > sharp[2]  # 1 > 1/3 + 1/3
    assert flat[2] > flat[1]  # 2 / 63 > 1 / 61


@given(
    scores=st.lists(st.integers(-50, 50), min_size=1, max_size=30, unique=True),
    other=st.permutations(list(range(10))),
)
def test_rrf_sees_ranks_only_so_a_monotone_rescaling_changes_nothing(scores, other):
    scores = np.array(scores)
    ranked = [int(d) for d in np.argsort(-scores)]
    rescaled = [int(d) for d in np.argsort(-np.exp(scores / 10))]  # monotone
    assert reciprocal_rank_fusion([ranked, other]) == reciprocal_rank_fusion(
        [rescaled, other]
    )


@pytest.mark.parametrize(
    ("rankings", "k", "error", "message"),
    [
        ([], 60, ValueError, "at least one ranked list"),
        ([[1]], -1, ValueError, "non-negative integer"),
        ([[1]], 1.5, ValueError, "non-negative integer"),
        ([[1]], True, ValueError, "non-negative integer"),
        ("12", 60, TypeError, "sequence of ranked lists"),
        ([[1], 2], 60, TypeError, r"rankings\[1\] must be a sequence"),
        ([[1, "a"]], 60, TypeError, "document ids must be integers"),
        ([[1, 2, 1]], 60, ValueError, "more than once"),
    ],
)
def test_bad_input_raises_a_clear_error(rankings, k, error, message):
    with pytest.raises(error, match=message):
        reciprocal_rank_fusion(rankings, k=k)
