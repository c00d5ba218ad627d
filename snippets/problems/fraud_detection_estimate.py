"""Back-of-envelope for the fraud problem: what sizes the system, and the online test.

Peak authorisations, the feature store's memory, every log stream a year, the
compute for scoring, the review capacity and the latency budget; then how many
frauds, and days, a champion/challenger slice needs to see a change in fraud.

Its numbers are printed by ``python -m snippets.problems.fraud_detection``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from snippets.common.estimation import (
    human_bytes,
    peak_qps,
    remaining_budget_ms,
    servers_needed,
    storage_bytes,
)


# --8<-- [start:estimate]
def estimate_capacity() -> dict[str, float | str]:
    """Peak TPS, what sizes the fleet (memory and logs, not compute), the budget."""
    cards, payments_per_card_per_day = 50e6, 2.0  # assumed: a large issuer-processor
    payments_per_day = cards * payments_per_card_per_day
    tps = peak_qps(cards, payments_per_card_per_day, peak_to_average=3.0)
    # One record per entity (card, merchant, device) holds its streaming counters
    # and its batch profile, so a payment costs 3 reads, in parallel.
    reads = 3 * tps
    # Per card: ~30 window counters and sums, last location, merchant/device
    # sketches, and the batch profile written into the same record.
    card_state = storage_bytes(cards, bytes_per_item=1_000, replicas=3)
    # Every log stream, kept a year: (events a day, bytes an event), assumed.
    streams = {
        "authorisations + features as served": (payments_per_day, 2_000),
        "raw event stream, for backfills": (payments_per_day, 1_000),
        "3-D Secure requests + device data": (0.2 * payments_per_day, 3_000),
        "clearing records": (payments_per_day, 500),
        "fraud claims and case outcomes": (0.002 * payments_per_day, 2_000),
    }
    logs = {name: storage_bytes(n * 365, size) for name, (n, size) in streams.items()}
    # Assumed unit costs: a key-value node serves 100,000 reads/s from 64 GB of
    # usable RAM; an in-process GBDT of a few hundred trees takes ~10 us a payment.
    reads_per_node, ram_per_node, gbdt_s = 100_000, 64e9, 10e-6
    reviews_per_day = 2_000  # assumed: the analyst team's daily capacity
    stages_ms = {  # server-side p99 targets inside the issuer's authorisation
        "network and parsing": 5,
        "feature fetch (3 reads in parallel)": 10,
        "rules": 2,
        "GBDT scoring": 5,
        "decision, post-model rules, logging": 3,
    }
    budget_ms = 50.0  # assumed: what the processor gives the fraud check
    return {
        "peak_tps": tps,
        "feature_reads": reads,
        "card_state": human_bytes(card_state),
        "nodes_for_memory": servers_needed(card_state, ram_per_node),
        "nodes_for_reads": reads / reads_per_node,  # a fraction of one node
        "scoring_cores": tps * gbdt_s,  # core-seconds per second at peak
        **{f"log:{name}": human_bytes(size) for name, size in logs.items()},
        "logs_per_year": human_bytes(sum(logs.values())),
        "reviews_per_day": reviews_per_day,
        "review_share": reviews_per_day / payments_per_day,
        "budget_ms": budget_ms,
        # The fetch waits for the slowest of 3 reads: each needs p^3 = 0.99.
        "per_read_quantile": 0.99 ** (1 / 3),
        "headroom_ms": remaining_budget_ms(budget_ms, stages_ms),
        **{f"stage:{name}": float(ms) for name, ms in stages_ms.items()},
    }
    # --8<-- [end:estimate]


# --8<-- [start:experiment]
def challenger_frauds_needed(
    relative_change: float,
    slice_share: float,
    amount_cv: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Frauds the challenger must approve to detect a relative change in them.

    Approved frauds are Poisson counts; the test is on the log of the ratio of the
    two arms' rates, of variance 1/N_challenger + 1/N_champion. Weighting each fraud
    by its amount multiplies the variance by 1 + CV^2 (a compound Poisson sum).
    """
    if not 0 < relative_change < 1 or not 0 < slice_share < 1:
        raise ValueError("relative_change and slice_share must be in (0, 1)")
    if amount_cv < 0 or not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("amount_cv must be >= 0; alpha and power in (0, 1)")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    ratio = 1 - relative_change  # challenger rate / champion rate
    champion_per_challenger = (1 - slice_share) / slice_share / ratio
    variance_factor = (1 + 1 / champion_per_challenger) * (1 + amount_cv**2)
    return float((z / np.log(ratio)) ** 2 * variance_factor)


def experiment_duration() -> dict[str, float]:
    """Days of a 5% champion/challenger slice to detect a 5% change in fraud."""
    payments_per_day, fraud_rate = 100e6, 0.001  # from the clarifying questions
    slice_share, change = 0.05, 0.05  # assumed: the slice and the effect to detect
    approved_share = 0.5  # assumed: half of all fraud gets through today
    sigma = 1.0  # assumed: fraud amounts log-normal with this sigma
    amount_cv = np.sqrt(np.exp(sigma**2) - 1)
    per_day = payments_per_day * slice_share * fraud_rate * approved_share
    count = challenger_frauds_needed(change, slice_share)
    dollars = challenger_frauds_needed(change, slice_share, amount_cv)
    return {
        "frauds_per_day": per_day,
        "frauds_needed": count,
        "days": count / per_day,
        "cv_squared": amount_cv**2,
        "frauds_needed_dollars": dollars,
        "days_dollars": dollars / per_day,
    }
    # --8<-- [end:experiment]
