"""M/M/1 quantiles match a simulated queue; replica counts and batching add up."""

from __future__ import annotations

import re

import numpy as np
import pytest
from guide import assert_page_quotes, module_output

from snippets.concepts import serving_capacity as cap

PAGE = "concepts/serving.md"


def simulated_time_in_system(utilisation, n, rng):
    """One FIFO server, Poisson arrivals, exponential service of mean 1 (Lindley)."""
    gaps = rng.exponential(1 / utilisation, n)
    service = rng.exponential(1.0, n)
    wait = np.zeros(n)
    for i in range(1, n):
        wait[i] = max(0.0, wait[i - 1] + service[i - 1] - gaps[i])
    return (wait + service)[n // 10 :]  # drop the warm-up from an empty queue


@pytest.mark.parametrize("utilisation", [0.5, 0.7])
def test_mm1_mean_and_p99_match_a_simulated_queue(utilisation):
    times = simulated_time_in_system(utilisation, 400_000, np.random.default_rng(7))
    assert times.mean() == pytest.approx(cap.time_in_system(utilisation), rel=0.05)
    assert np.quantile(times, 0.99) == pytest.approx(
        cap.time_in_system(utilisation, 0.99), rel=0.07
    )
    # The p99 is ln(100) times the mean at every utilisation: the tail scales too.
    ratio = cap.time_in_system(utilisation, 0.99) / cap.time_in_system(utilisation)
    assert ratio == pytest.approx(np.log(100))


def test_batching_cost_model_and_bad_input():
    assert cap.batch_latency_ms(32, fixed_ms=4, per_item_ms=0.25) == pytest.approx(12.0)
    with pytest.raises(ValueError, match="utilisation"):
        cap.time_in_system(1.0)
    with pytest.raises(TypeError, match="number"):
        cap.time_in_system("0.5")
    with pytest.raises(ValueError, match="quantile"):
        cap.time_in_system(0.5, 1.0)
    with pytest.raises(ValueError, match="at least 1"):
        cap.batch_latency_ms(0, 4, 0.25)
    with pytest.raises(TypeError, match="int"):
        cap.batch_latency_ms(2.5, 4, 0.25)


def test_page_quotes_the_numbers_the_code_prints():
    lines = module_output("snippets.concepts.serving_capacity").splitlines()
    qps = next(x for x in lines if x.startswith("Capacity")).split("-> ")[1].split()[0]
    bare = next(x for x in lines if "no headroom" in x).split()[-2]
    replicas = next(x for x in lines if "lose 1" in x).split()[-2]
    # Brute force: the smallest per-zone count whose two surviving zones carry the
    # peak at 60% of the 500 QPS saturation throughput.
    peak = float(qps.replace(",", ""))
    per_zone = next(k for k in range(1, 10_000) if 2 * k * 500 * 0.6 >= peak)
    assert int(replicas) == 3 * per_zone and int(bare) == int(np.ceil(peak / 500))
    assert_page_quotes(PAGE, f"{qps} QPS", f"{replicas}\nreplicas", f"gives {bare}")
    # Size by the work: every request scores its candidates and reads their features.
    work = re.search(
        r"x (\d+) candidates per request -> ([\d.]+)M inferences/s", "\n".join(lines)
    )
    reads = next(x for x in lines if "item-feature reads/s" in x).split()[0]
    assert float(work[2]) == pytest.approx(peak * int(work[1]) / 1e6, abs=0.05)
    assert reads == f"{work[2]}M"
    assert_page_quotes(
        PAGE, f"{work[2]}M inferences a second", f"{reads} item-feature reads"
    )
    start = next(i for i, x in enumerate(lines) if x.lstrip().startswith("utilisation"))
    rows = {x.split()[0]: x.split() for x in lines[start + 1 : start + 5]}
    for rho, (_, mean, p99, ratio) in rows.items():
        u = float(rho.rstrip("%")) / 100
        assert float(mean.rstrip("x")) == pytest.approx(1 / (1 - u), abs=0.05)
        assert float(p99.rstrip("x")) == pytest.approx(np.log(100) / (1 - u), abs=0.05)
        assert float(ratio) == pytest.approx(np.log(100), abs=0.005)
    means = [rows[r][1] for r in ("50%", "70%", "90%")]
    p99s = [rows[r][2] for r in ("50%", "70%", "90%")]
    said = "mean is {} the service time at 50% utilisation, {}\nat 70% and {} at 90%"
    assert_page_quotes(
        PAGE,
        said.format(*means),
        "p99 is {}, {} and {}".format(*p99s),
        f"always {rows['50%'][3]} times the mean",
    )
    # From 50% to 90% the p99 moves ln(100) times as far as the mean.
    p99_growth = cap.time_in_system(0.9, 0.99) - cap.time_in_system(0.5, 0.99)
    mean_growth = cap.time_in_system(0.9) - cap.time_in_system(0.5)
    assert p99_growth == pytest.approx(np.log(100) * mean_growth)
    assert_page_quotes(
        PAGE, f"p99 sits {p99_growth:.1f} service", f"the mean {mean_growth:.1f})"
    )
    batches = [x.split() for x in lines if x.lstrip().startswith("batch ")]
    throughput = [int(row[-2].replace(",", "")) for row in batches]
    assert throughput == sorted(throughput)
    assert_page_quotes(
        PAGE, f"takes {batches[0][2]} ms and gives {batches[0][-2]} items"
    )
    assert_page_quotes(
        PAGE, f"{batches[2][-2]}\nitems per second at {batches[2][2]} ms"
    )
    assert_page_quotes(PAGE, f"{batches[3][-2]} items per second", batches[3][2])
