"""Ad click prediction, the money half: a generalised second-price (GSP) auction over
pCTR-weighted bids, and what each auction pays, earns and delivers.

Clicks are decided by the world's true click probability, never by the pCTR that ran
the auction. Used by ``ad_click_prediction``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def _check_auction_inputs(
    bids: ArrayLike, pctr: ArrayLike, n_slots: int, reserve: float
) -> tuple[np.ndarray, np.ndarray]:
    bid_array = np.asarray(bids, dtype=float)
    pctr_array = np.asarray(pctr, dtype=float)
    if bid_array.ndim != 2 or bid_array.shape != pctr_array.shape or not bid_array.size:
        raise ValueError("bids and pctr must be non-empty 2-D arrays of one shape")
    if not np.isfinite(bid_array).all() or (bid_array <= 0).any():
        raise ValueError("bids must be positive and finite")
    if np.isnan(pctr_array).any() or (pctr_array <= 0).any() or (pctr_array > 1).any():
        raise ValueError("pctr must hold probabilities in (0, 1]")
    if isinstance(n_slots, bool) or not isinstance(n_slots, int) or n_slots < 1:
        raise ValueError(f"n_slots must be a positive integer, got {n_slots!r}")
    if isinstance(reserve, bool) or not isinstance(reserve, int | float):
        raise TypeError(f"reserve must be a number, got {type(reserve).__name__}")
    if not 0 <= reserve < np.inf:
        raise ValueError(f"reserve must be finite and non-negative, got {reserve}")
    return bid_array, pctr_array


# --8<-- [start:gsp]
def gsp_auction(
    bids: ArrayLike, pctr: ArrayLike, n_slots: int, reserve: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Rank each request's ads by bid x pCTR; fill n_slots with those whose score
    reaches the reserve. A winner pays per click the least bid that keeps its slot:
    max(next ad's score, reserve) / own pCTR. Returns the candidate index in each
    slot (-1 if empty) and the price per click (0 if empty), both (requests, slots)."""
    bids, pctr = _check_auction_inputs(bids, pctr, n_slots, reserve)
    score = bids * pctr  # expected value per impression, in the bid's currency
    padded = np.pad(score, ((0, 0), (0, n_slots + 1)))  # fewer ads than slots
    order = np.argsort(-padded, axis=1, kind="stable")[:, : n_slots + 1]
    ranked = np.take_along_axis(padded, order, axis=1)
    shown = ranked[:, :n_slots] >= max(reserve, np.finfo(float).tiny)
    threshold = np.maximum(ranked[:, 1:], reserve)  # the score to beat to stay
    own_pctr = np.take_along_axis(
        np.pad(pctr, ((0, 0), (0, n_slots + 1)), constant_values=1.0),
        order[:, :n_slots],
        axis=1,
    )
    price = np.where(shown, threshold / own_pctr, 0.0)
    return np.where(shown, order[:, :n_slots], -1), price
    # --8<-- [end:gsp]


@dataclass(frozen=True)
class MarketOutcome:
    """Totals over the requests of one auction run, in $ and expected clicks."""

    clicks: float  # expected clicks, from the true CTR
    revenue: float  # the platform's: price x P(click)
    surplus: float  # the advertisers': (value - price) x P(click)
    welfare: float  # value x P(click) = revenue + surplus
    ads_shown: int
    reserve_priced: int  # winners whose price the reserve set, not the next ad
    segment_surplus: float  # surplus of the advertisers in `segment`
    segment_shown: int  # impressions of those advertisers
    allocation: np.ndarray  # (requests, slots) candidate index per slot, -1 if empty


# --8<-- [start:market]
def run_market(
    bids: ArrayLike,
    pctr: ArrayLike,
    true_ctr: ArrayLike,
    values: ArrayLike,
    position_factor: ArrayLike,
    reserve: float,
    segment: ArrayLike | None = None,
) -> MarketOutcome:
    """Run the auction on pCTR, then let the true CTR decide the clicks."""
    factor = np.asarray(position_factor, dtype=float)
    if factor.ndim != 1 or not factor.size or (factor <= 0).any() or (factor > 1).any():
        raise ValueError("position_factor must be a 1-D array of values in (0, 1]")
    shape = np.shape(bids)
    for name, array in (("true_ctr", true_ctr), ("values", values)):
        if np.shape(array) != shape:
            raise ValueError(f"{name} must have the shape of bids, {shape}")
    if segment is not None and np.shape(segment) != shape:
        raise ValueError(f"segment must have the shape of bids, {shape}")
    truth_all = np.asarray(true_ctr, dtype=float)
    if np.isnan(truth_all).any() or (truth_all < 0).any() or (truth_all > 1).any():
        raise ValueError("true_ctr must hold probabilities in [0, 1]")
    n_slots = factor.size
    winners, price = gsp_auction(bids, pctr, n_slots, reserve)
    shown = winners >= 0
    index = np.where(shown, winners, 0)
    truth, value = (
        np.take_along_axis(np.asarray(a, dtype=float), index, axis=1)
        for a in (truth_all, values)
    )
    p_click = np.where(shown, truth * factor[None, :], 0.0)
    surplus = (value - price) * p_click
    own = (
        np.zeros_like(shown)
        if segment is None
        else np.take_along_axis(np.asarray(segment, dtype=bool), index, axis=1) & shown
    )
    return MarketOutcome(
        clicks=float(p_click.sum()),
        revenue=float((price * p_click).sum()),
        surplus=float(surplus.sum()),
        welfare=float((value * p_click).sum()),
        ads_shown=int(shown.sum()),
        reserve_priced=int(_reserve_bound(bids, pctr, winners, reserve).sum()),
        segment_surplus=float(surplus[own].sum()),
        segment_shown=int(own.sum()),
        allocation=winners,
    )
    # --8<-- [end:market]


def _reserve_bound(bids, pctr, winners, reserve) -> np.ndarray:
    """Winners whose price the reserve set: no shown-or-not ad below scores above it."""
    score = np.asarray(bids, dtype=float) * np.asarray(pctr, dtype=float)
    n_slots = winners.shape[1]
    padded = np.pad(score, ((0, 0), (0, n_slots + 1)))
    ranked = -np.sort(-padded, axis=1)[:, 1 : n_slots + 1]
    return (ranked <= reserve) & (winners >= 0)
