"""Selection-bias remedies, MMR and the greedy DPP, user-model costs: checked."""

from __future__ import annotations

import re
from itertools import combinations, pairwise

import numpy as np
import pytest
from guide import assert_page_quotes, module_output, typographic_minus
from scipy import integrate
from scipy.special import ndtr
from sklearn.linear_model import LogisticRegression

from snippets.common.estimation import human_bytes
from snippets.concepts import position_bias as pb
from snippets.concepts import recommender_modelling as rm

PAGE = "concepts/recommender-modelling.md"
MODULE = "snippets.concepts.recommender_modelling"
NUMBER = r"[-+]?\d+\.\d+"


minus = typographic_minus  # the page writes a true minus sign


@pytest.fixture(scope="module")
def printed() -> dict:
    """The program's output, parsed into the values the page quotes."""
    out = module_output(MODULE)
    first = {}
    for m in re.finditer(
        rf"^(.{{24}}) +({NUMBER})(?: +({NUMBER}) +({NUMBER}))?$", out, re.M
    ):
        weights = None if m[3] is None else (float(m[3]), float(m[4]))
        first.setdefault(m[1].strip(), (float(m[2]), weights))
    seeds = {
        m[1]: tuple(float(x) for x in m.groups()[1:])
        for m in re.finditer(
            rf"^  (.+?) +({NUMBER})  ({NUMBER})  ({NUMBER})$", out, re.M
        )
    }
    paired = {
        (m[1], m[2]): (float(m[3]), float(m[4]), float(m[5]), bool(m[6]))
        for m in re.finditer(
            rf"^  (.+?) - (.+?): ({NUMBER}) \[({NUMBER}), ({NUMBER})\]( +tie)?$",
            out,
            re.M,
        )
    }
    cost = re.search(rf"cost ({NUMBER})% to ({NUMBER})%", out)
    ablation = re.search(
        rf"impressions only ({NUMBER}), unbiased labels ({NUMBER})", out
    )
    slate = {
        m[1]: (float(m[2]), float(m[3]), float(m[4]))
        for m in re.finditer(
            rf"^(top 10 by score|MMR lambda=\S+|DPP alpha=\S+) +({NUMBER}) +"
            rf"({NUMBER}) +({NUMBER})$",
            out,
            re.M,
        )
    }
    check = re.search(rf"log det: greedy ({NUMBER}), best of all (\d+) sets", out)
    lead = {
        m[1]: (float(m[2]), float(m[3]), float(m[4]))
        for m in re.finditer(
            rf"^  MMR - DPP alpha=(\d+): ({NUMBER}) \[({NUMBER}), ({NUMBER})\]$",
            out,
            re.M,
        )
    }
    user_model = out[out.index("User-model cost") :]
    macs_block = user_model[
        user_model.index("multiply-adds:") : user_model.index("L4s at")
    ]
    macs = {
        m[1]: m.groups()[1:]
        for m in re.finditer(
            r"^  (.{28}) +(\S+ [kMGT]) +(\S+ [kMGT]) +(\S+ [kMGT])$",
            macs_block,
            re.M,
        )
    }
    macs = {name.strip(): v for name, v in macs.items()}
    fleet = {
        m[1].strip(): tuple(int(x.replace(",", "")) for x in m.groups()[1:])
        for m in re.finditer(
            r"^  (.{28}) +([\d,]+) +([\d,]+) +([\d,]+)$", user_model, re.M
        )
    }
    fetched = re.search(r"^history fetched, float32 +(.+)$", user_model, re.M)[1].split(
        "  "
    )
    reads = re.search(r"^  read at .+? QPS +(.+)$", user_model, re.M)[1].split()
    return {
        "out": out,
        "first": first,
        "seeds": seeds,
        "paired": paired,
        "cost": (cost[1], cost[2]),
        "ablation": (ablation[1], ablation[2]),
        "slate": slate,
        "check": (float(check[1]), int(check[2])),
        "lead": lead,
        "macs": macs,
        "fleet": fleet,
        "fetched": [f.strip() for f in fetched if f.strip()],
        "reads": [" ".join(reads[i : i + 2]) for i in range(0, len(reads), 2)],
        "n_seeds": int(re.search(r"^(\d+) seeds", out, re.M)[1]),
    }


@pytest.fixture(scope="module")
def small_traffic():
    return rm.log_traffic(1_500, seed=101)


# --- the logistic fit: soft labels and weights --------------------------------------


def test_soft_label_fit_matches_position_bias_fit(small_traffic):
    """Two implementations of log loss on soft targets: Newton steps and L-BFGS."""
    X = small_traffic.features[:, :10].reshape(-1, 3)
    soft = rm.click_probability(X)
    ours = rm.fit_logistic(X, soft)
    theirs = pb.fit_logistic(X, soft)
    np.testing.assert_allclose(ours, theirs, atol=2e-3)


def test_weighted_fit_matches_scikit_learn(small_traffic):
    """Hard labels with sample weights: the optimum of an unpenalised sklearn fit."""
    X = small_traffic.features[:, :6].reshape(-1, 3)
    y = small_traffic.clicks[:, :6].ravel().astype(float)
    w = np.random.default_rng(1).uniform(0.1, 5.0, len(y))
    model = LogisticRegression(C=np.inf, max_iter=5_000, tol=1e-10)
    model.fit(X, y, sample_weight=w)
    expected = np.r_[model.intercept_, model.coef_[0]]
    np.testing.assert_allclose(rm.fit_logistic(X, y, w), expected, atol=1e-4)


def test_integer_weights_equal_repeated_rows(small_traffic):
    X = small_traffic.features[:, :4].reshape(-1, 3)
    y = small_traffic.clicks[:, :4].ravel().astype(float)
    w = np.random.default_rng(0).integers(1, 4, len(y))
    weighted = rm.fit_logistic(X, y, w)
    repeated = rm.fit_logistic(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted, repeated, atol=1e-4)


# --- the selection-bias world and its remedies --------------------------------------


def test_ipw_weights_reweight_the_explored_log_to_every_candidate():
    """E[sum over shown of g / P(shown)] = sum of g over all 100 candidates."""
    traffic = rm.log_traffic(20_000, seed=5)
    X, _, w = rm.training_sets(traffic)["exploration, IPW"]
    g = rm.click_probability(X).reshape(-1, rm.SHOWN)
    weighted = (g * w.reshape(-1, rm.SHOWN)).sum(axis=1)
    every = rm.click_probability(traffic.features).sum(axis=1)
    diff = weighted - every
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(diff.size)
    # Without the weights the explored log is far from the whole candidate set.
    assert g.sum(axis=1).mean() < every.mean() / 4


def test_ipw_weights_count_every_rank_once_in_expectation():
    """Sum of weights landing on each old-ranker rank: 1 per request, on average."""
    traffic = rm.log_traffic(20_000, seed=11)
    X, _, w = rm.training_sets(traffic)["exploration, IPW"]
    shown = X.reshape(-1, rm.SHOWN, 3)
    rank = np.argsort(traffic.order, axis=1)  # candidate -> its rank, 0 = best
    counts = np.zeros((20_000, rm.CANDIDATES))
    for slot in range(rm.SHOWN):
        candidate = np.array(
            [
                np.flatnonzero((f == row).all(axis=1))[0]
                for f, row in zip(traffic.features, shown[:, slot], strict=True)
            ]
        )
        counts[np.arange(20_000), rank[np.arange(20_000), candidate]] += w.reshape(
            -1, rm.SHOWN
        )[:, slot]
    np.testing.assert_allclose(counts[:, : rm.SHOWN - 1], 1.0)  # always shown
    for column in (counts[:, rm.SHOWN - 1], counts[:, rm.SHOWN :].mean(axis=1)):
        se = column.std(ddof=1) / np.sqrt(column.size)
        assert abs(column.mean() - 1) < 4 * se, (column.mean(), se)


def test_logged_unshown_rows_stand_for_every_unshown_candidate():
    traffic = rm.log_traffic(5_000, seed=6)
    X, _, w = rm.training_sets(traffic)["distilled from heavy"]
    shown = rm.SHOWN * 5_000
    np.testing.assert_allclose(w[shown:].sum() / 5_000, rm.CANDIDATES - rm.SHOWN)
    logged = rm.click_probability(X[shown:]).reshape(5_000, -1).mean(axis=1)
    p = rm.click_probability(traffic.features)
    unshown = np.take_along_axis(p, traffic.order[:, rm.SHOWN :], axis=1).mean(axis=1)
    diff = logged - unshown  # a uniform sample of the unshown: no selection
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(diff.size)


def test_each_training_set_learns_what_the_page_says(small_traffic):
    sets = rm.training_sets(small_traffic)
    boost = {name: rm.train_light_ranker(*sets[name])[2] for name in rm.ROWS}
    assert boost["impressions only"] < -0.5  # boost "hurts": selection on the cross
    assert boost["+ unshown as negatives"] > 0.5  # imitates the old ranker's boost
    assert abs(boost["distilled from heavy"]) < 0.15
    assert abs(boost["unbiased labels (ideal)"]) < 0.15


def test_a_blind_teacher_hands_its_bias_to_the_student(small_traffic):
    """Distilled from a teacher blind to the cross feature: impressions only again."""
    sets = rm.training_sets(small_traffic)
    student = rm.train_light_ranker(*sets["distilled, blind teacher"])
    only = rm.train_light_ranker(*sets["impressions only"])
    np.testing.assert_allclose(student, only, atol=1e-6)
    assert student[2] < -0.5  # the boost "hurts", as in impressions only
    # The same rows distilled from the teacher that sees the cross feature do not.
    assert abs(rm.train_light_ranker(*sets["distilled from heavy"])[2]) < 0.15


def test_sorting_by_quality_is_the_light_rankers_ceiling():
    """P(click) averaged over the unseen cross feature: a closed form, rising in q."""
    quality = np.linspace(-4, 4, 9)
    by_quadrature = [
        integrate.quad(
            lambda c, q=q: (
                rm.click_probability(np.array([q, 0.0, c]))
                * np.exp(-(c**2) / 2)
                / np.sqrt(2 * np.pi)
            ),
            -np.inf,
            np.inf,
        )[0]
        for q in quality
    ]
    closed = ndtr((-1.6 + 0.5 * quality) / np.sqrt(1 + (0.8 + 0.25 * quality) ** 2))
    np.testing.assert_allclose(by_quadrature, closed, atol=1e-7)
    grid = np.linspace(-8, 4, 12_001)
    curve = ndtr((-1.6 + 0.5 * grid) / np.sqrt(1 + (0.8 + 0.25 * grid) ** 2))
    turn = grid[np.argmin(curve)]
    assert np.all(np.diff(curve[grid > turn]) > 0)
    assert_page_quotes(PAGE, f"for every quality above {minus(f'{turn:.1f}')}")
    # No test candidate lies below the turn, so the closed form sorts like quality.
    test = rm.log_traffic(300, seed=10_000).features
    assert test[..., 0].min() > turn


def test_heavy_teacher_is_close_to_unbiased_despite_misspecification(small_traffic):
    """A logistic fit to the probit world on impressions: boost weight near zero."""
    X, y, _ = rm.training_sets(small_traffic)["impressions only"]
    assert abs(rm.fit_logistic(X, y)[2]) < 0.1


def test_without_selection_on_the_cross_feature_impressions_are_fine():
    """The ablation: the old ranker shows by what the light ranker sees."""
    traffic = rm.log_traffic(1_500, seed=102, old_ranker=[0.5, 1.0, 0.0])
    w = rm.train_light_ranker(*rm.training_sets(traffic)["impressions only"])
    assert abs(w[2]) < 0.15


def test_distillation_beats_impressions_only_on_another_world():
    traffic = rm.log_traffic(1_500, seed=103)
    test = rm.log_traffic(200, seed=104).features
    sets = rm.training_sets(traffic)
    kept = {
        name: rm.best_kept(
            rm.predict(rm.train_light_ranker(*sets[name]), test[..., rm.LIGHT]), test
        )
        for name in ("impressions only", "distilled from heavy")
    }
    assert kept["distilled from heavy"] > kept["impressions only"] + 0.1


def test_best_kept_against_an_independent_count():
    features = rm.log_traffic(50, seed=7).features
    scores = np.random.default_rng(8).normal(size=features.shape[:2])
    truth = rm.click_probability(features)
    expected = np.mean(
        [
            len(set(np.argsort(-s)[: rm.PASSED]) & set(np.argsort(-p)[:10])) / 10
            for s, p in zip(scores, truth, strict=True)
        ]
    )
    assert rm.best_kept(scores, features) == pytest.approx(expected)
    assert rm.best_kept(truth, features) == pytest.approx(1.0)


def test_exploration_cost_is_the_lost_share_of_true_clicks():
    traffic = rm.log_traffic(3_000, seed=9)
    p = rm.click_probability(traffic.features)
    shown = np.take_along_axis(p, traffic.order[:, : rm.SHOWN], axis=1)
    explored = shown.copy()
    rows = np.flatnonzero(traffic.explored)
    explored[rows, -1] = p[rows, traffic.explore_pick[rows]]
    expected = 1 - explored.sum() / shown.sum()
    assert rm.exploration_cost(traffic) == pytest.approx(expected)
    assert 0 < expected < 0.05


# --- MMR and the DPP ----------------------------------------------------------------


def mmr_by_hand(relevance, similarity, k, lam):
    """MMR written out: score every unpicked candidate against every picked one.

    The first pick is the best-scored item (at lam = 0 every score would tie).
    """
    picked = [max(range(len(relevance)), key=lambda i: relevance[i])]
    while len(picked) < k:
        best, best_score = None, -np.inf
        for i in range(len(relevance)):
            if i in picked:
                continue
            penalty = max((similarity[i][j] for j in picked), default=0.0)
            score = lam * relevance[i] - (1 - lam) * penalty
            if score > best_score:
                best, best_score = i, score
        picked.append(best)
    return picked


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.7, 1.0])
def test_mmr_matches_a_direct_implementation(lam):
    for seed in range(5):
        relevance, _, emb = rm.slate_candidates(np.random.default_rng(seed), n=25)
        unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
        sim = unit @ unit.T
        assert rm.mmr(relevance, sim, 6, lam) == mmr_by_hand(relevance, sim, 6, lam)
    if lam == 1.0:
        assert rm.mmr(relevance, sim, 6, 1.0) == list(np.argsort(-relevance)[:6])


def greedy_by_determinants(kernel, k):
    """Greedy MAP by the definition: largest det of the enlarged set, step by step."""
    picked, dets = [], []
    for _ in range(k):
        candidates = [i for i in range(len(kernel)) if i not in picked]
        det = [
            np.linalg.det(kernel[np.ix_([*picked, i], [*picked, i])])
            for i in candidates
        ]
        picked.append(candidates[int(np.argmax(det))])
        dets.append(max(det))
    return picked, dets


@pytest.mark.parametrize("seed", range(6))
def test_dpp_greedy_steps_match_brute_force_determinants(seed):
    rng = np.random.default_rng(seed)
    relevance, _, emb = rm.slate_candidates(rng, n=9)
    kernel = rm.dpp_kernel(relevance, emb, alpha=rng.uniform(0.5, 4))
    fast, gains = rm.dpp_greedy(kernel, 5)
    slow, dets = greedy_by_determinants(kernel, 5)
    assert fast == slow
    np.testing.assert_allclose(np.cumprod(gains), dets, rtol=1e-8)
    np.testing.assert_allclose(
        np.prod(gains), np.linalg.det(kernel[np.ix_(fast, fast)]), rtol=1e-8
    )


def test_dpp_greedy_stops_when_no_volume_is_left():
    emb = np.random.default_rng(1).normal(size=(6, 2))  # rank 2: no third direction
    picked, gains = rm.dpp_greedy(rm.dpp_kernel(np.zeros(6), emb, 1.0), 4)
    assert len(picked) == len(gains) == 2


def test_dpp_kernel_separates_relevance_and_volume():
    relevance, _, emb = rm.slate_candidates(np.random.default_rng(2), n=7)
    alpha, subset = 1.5, [0, 2, 5]
    kernel = rm.dpp_kernel(relevance, emb, alpha)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    s = unit[subset] @ unit[subset].T
    expected = 2 * alpha * relevance[subset].sum() + np.linalg.slogdet(s)[1]
    assert np.linalg.slogdet(kernel[np.ix_(subset, subset)])[1] == pytest.approx(
        expected
    )


def test_trade_off_top_equals_mmr_at_lambda_one():
    requests = [rm.slate_candidates(np.random.default_rng(s)) for s in range(20)]
    np.testing.assert_allclose(
        rm.trade_off(requests, "MMR", 1.0), rm.trade_off(requests, "top")
    )
    assert rm.trade_off(requests, "top")[0] == pytest.approx(1.0)


def test_mmr_lead_reads_the_mmr_curve_at_the_dpp_relevance():
    """The interpolation written out: bracket the DPP's relevance by two lambdas."""
    rng = np.random.default_rng(21)
    requests = [rm.slate_candidates(rng) for _ in range(40)]
    lambdas = (0.3, 0.5, 0.7, 0.9, 0.95)
    lead = rm.mmr_lead(requests, (4, 1), lambdas)
    points = sorted(tuple(rm.trade_off(requests, "MMR", lam)[:2]) for lam in lambdas)
    for alpha, got in zip((4, 1), lead, strict=True):
        kept, topics, _ = rm.trade_off(requests, "DPP", alpha)
        (k0, t0), (k1, t1) = next(
            (a, b) for a, b in pairwise(points) if a[0] <= kept <= b[0]
        )
        expected = t0 + (t1 - t0) * (kept - k0) / (k1 - k0) - topics
        assert got == pytest.approx(expected)
    with pytest.raises(ValueError, match="span"):
        rm.mmr_lead(requests, (8,), (0.3, 0.5))


def test_printed_mmr_lead_supports_the_page(printed):
    lead = printed["lead"]
    assert set(lead) == {str(a) for a in rm.DPP_ALPHAS}
    assert all(low > 0 for _, low, _ in lead.values())  # MMR ahead at every alpha
    widest = max(lead.items(), key=lambda kv: kv[1][0])
    narrowest = min(lead.items(), key=lambda kv: kv[1][0])

    def quote(alpha):
        mean, low, high = lead[alpha]
        return f"{mean:+.4f} [{low:+.4f}, {high:+.4f}] at α = {alpha}"

    assert_page_quotes(
        PAGE,
        quote(narrowest[0]),
        quote(widest[0]),
        f"over {len(rm.DIVERSITY_SEEDS)} seeds of {rm.DIVERSITY_REQUESTS} requests",
    )


def test_printed_trade_off_moves_one_way(printed):
    slate = printed["slate"]
    assert slate["top 10 by score"][0] == pytest.approx(1.0)
    for prefix in ("MMR", "DPP"):
        rows = [v for k, v in slate.items() if k.startswith(prefix)]  # printed order
        assert len(rows) == 4
        kept, topics = [r[0] for r in rows], [r[1] for r in rows]
        assert kept == sorted(kept, reverse=True) and topics == sorted(topics)
        assert topics[0] > slate["top 10 by score"][1]
    greedy, sets = printed["check"]
    assert sets == len(list(combinations(range(8), 4)))
    assert "at every step: True" in printed["out"]
    assert greedy <= float(re.search(r"best of all 70 sets (\S+)", printed["out"])[1])


# --- user-model cost ----------------------------------------------------------------


class MacCounter:
    """A tiny transformer forward pass in numpy that counts its multiply-adds."""

    def __init__(self):
        self.macs = 0

    def matmul(self, a, b):
        self.macs += a.shape[0] * a.shape[1] * b.shape[1]
        return a @ b

    def encoder_layer(self, x, d):
        rng = np.random.default_rng(0)
        w = {n: rng.normal(size=(d, d)) for n in "qkvo"}
        q, k, v = (self.matmul(x, w[n]) for n in "qkv")
        attention = self.matmul(q, k.T)
        mixed = self.matmul(attention, v)
        out = self.matmul(mixed, w["o"])
        hidden = self.matmul(out, rng.normal(size=(d, 4 * d)))
        return self.matmul(hidden, rng.normal(size=(4 * d, d)))


def test_user_model_macs_match_a_counted_forward_pass():
    history, width, layers, candidates = 7, 4, 2, 3
    macs = rm.user_model_macs(history, width, layers, candidates)
    encoder = MacCounter()
    x = np.ones((history, width))
    for _ in range(layers):
        x = encoder.encoder_layer(x, width)
    assert macs["encoder, once a request"] == encoder.macs
    target = MacCounter()
    h = np.ones((history, width))
    keys = target.matmul(h, np.ones((width, width)))
    values = target.matmul(h, np.ones((width, width)))
    for _ in range(candidates):
        query = target.matmul(np.ones((1, width)), np.ones((width, width)))
        target.matmul(target.matmul(query, keys.T), values)
    assert macs["dot-product target attention"] == target.macs
    din = MacCounter()
    rng = np.random.default_rng(0)
    w1, w2, w3 = (rng.normal(size=s) for s in ((4 * width, 5), (5, 3), (3, 1)))
    h = rng.normal(size=(history, width))
    for c in rng.normal(size=(candidates, width)):
        pairs = np.hstack([h, np.tile(c, (history, 1)), h - c, h * c])
        hidden = din.matmul(din.matmul(pairs, w1), w2)
        scores = din.matmul(hidden, w3)
        din.matmul(scores.T, h)  # the weighted sum of the history
    assert (
        rm.user_model_macs(history, width, layers, candidates, (5, 3))[
            "DIN attention (MLP per pair)"
        ]
        == din.macs
    )
    per_candidate = MacCounter()
    for _ in range(candidates):
        x = np.ones((history + 1, width))
        for _ in range(layers):
            x = per_candidate.encoder_layer(x, width)
    assert macs["encoder per candidate"] == per_candidate.macs
    assert macs["mean of the history"] == history * width


# --- what the page says -------------------------------------------------------------


def test_printed_fleet_and_fetch_follow_from_the_costs(printed):
    """The L4 counts and bytes, recomputed here from the assumptions."""
    lengths = (100, 1_000, 54_000)
    for name, fleet in printed["fleet"].items():
        expected = [
            -(-rm.user_model_macs(n, 64, 2, 500)[name] * 50_000 // 6.05e12)
            for n in lengths
        ]
        assert list(fleet) == [max(1, int(e)) for e in expected], name
    assert printed["fetched"] == [human_bytes(n * 64 * 4) for n in lengths]
    assert printed["reads"] == [
        human_bytes(n * 64 * 4 * 50_000) + "/s" for n in lengths
    ]
    assert printed["fetched"][-1] == "13.8 MB"  # 54,000 float32 vectors of width 64
    assert_page_quotes(
        PAGE,
        f"assumed {rm.PEAK_QPS:,} peak QPS",
        f"{rm.L4_MACS / 1e12:.2f} T multiply-adds",
        f"{121e12 / 1e12:.0f} TFLOP/s dense FP16 peak",
    )


def test_printed_selection_results_support_the_page(printed):
    first, seeds, paired = printed["first"], printed["seeds"], printed["paired"]
    assert printed["n_seeds"] >= 5
    assert set(seeds) == set(rm.ROWS) | set(rm.REFERENCES)
    for name, (mean, low, high) in seeds.items():
        assert low <= mean <= high, name
    assert first["impressions only"][1][1] < 0 < first["+ unshown as negatives"][1][1]
    gain = paired["distilled from heavy", "impressions only"]
    assert gain[1] > 0.1 and not gain[3]
    assert not paired["exploration, IPW", "impressions only"][3]
    negatives = paired["+ unshown as negatives", "impressions only"]
    assert negatives[1] > 0 and negatives[2] < gain[1]
    assert paired["unbiased labels (ideal)", "distilled from heavy"][3]  # a tie
    assert paired["unbiased labels", "impressions only"][3]  # the ablation ties
    assert paired["unbiased labels (ideal)", "exploration, IPW"][3]
    assert paired["sort by quality", "unbiased labels (ideal)"][3]  # the ceiling
    blind, only = seeds["distilled, blind teacher"], seeds["impressions only"]
    np.testing.assert_allclose(blind, only, atol=1e-3)
    heavy = seeds["old heavy ranker"][1]  # its worst seed
    assert all(seeds[name][2] < heavy for name in rm.ROWS)
    assert seeds["heavy, retrained"][1] > 0.95  # the teacher the box relies on
    assert abs(first["heavy, retrained"][1][1]) < 0.05  # its boost weight


def test_page_quotes_the_numbers_the_code_prints(printed):
    seeds, paired, first = printed["seeds"], printed["paired"], printed["first"]

    def interval(a, b):
        mean, low, high, _ = paired[a, b]
        return minus(f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]")

    only, ideal, distilled = (
        seeds[n]
        for n in ("impressions only", "unbiased labels (ideal)", "distilled from heavy")
    )
    explore, blind = seeds["exploration, IPW"], seeds["distilled, blind teacher"]
    quality, old, teacher = (seeds[n] for n in rm.REFERENCES)
    assert_page_quotes(
        PAGE,
        f"{printed['n_seeds']} seeds",
        f"keeps {only[0]:.3f} of the",
        f"{only[1]:.3f} to {only[2]:.3f}",
        f"against {ideal[0]:.3f} for the ideal",
        minus(f"{first['impressions only'][1][1]:.2f}"),
        f"{first['+ unshown as negatives'][1][1]:+.2f}",
        interval("+ unshown as negatives", "impressions only"),
        f"{distilled[0]:.3f} of the best 10 ({distilled[1]:.3f} to {distilled[2]:.3f})",
        minus(f"{first['distilled from heavy'][1][1]:.2f}"),
        interval("distilled from heavy", "impressions only"),
        interval("unbiased labels (ideal)", "distilled from heavy"),
        interval("exploration, IPW", "impressions only"),
        f"{explore[1]:.3f} to {explore[2]:.3f}",
        f"{printed['cost'][0]}% to {printed['cost'][1]}%",
        f"{printed['ablation'][0]} against {printed['ablation'][1]}",
        interval("unbiased labels", "impressions only"),
        f"student keeps {blind[0]:.3f} ({blind[1]:.3f} to {blind[2]:.3f})",
        minus(f"boost weight of {first['distilled, blind teacher'][1][1]:.2f}"),
        interval("unbiased labels (ideal)", "exploration, IPW"),
        f"Its mean, {explore[0]:.3f} against {ideal[0]:.3f}",
        f"by quality keeps {quality[0]:.3f} ({quality[1]:.3f} to {quality[2]:.3f})",
        interval("sort by quality", "unbiased labels (ideal)"),
        f"old heavy ranker's {old[0]:.3f} ({old[1]:.3f} to",
        f"{old[2]:.3f} over the {printed['n_seeds']} seeds",
        f"or to the {teacher[0]:.3f} of the heavy ranker retrained",
        minus(f"its boost weight is {first['heavy, retrained'][1][1]:.2f}"),
        f"({teacher[1]:.3f} of the best 10 on every seed)",
    )
    assert teacher[1] == teacher[2]  # "on every seed"
    # The exploration arithmetic: a share of requests, each explored slot's weight.
    explored = round(0.1 * 2_000)
    weight = round((rm.CANDIDATES - rm.SHOWN) / 0.1)
    assert_page_quotes(PAGE, f"about {explored} explored", f"weighted {weight}")

    slate = printed["slate"]
    assert_page_quotes(
        PAGE,
        f"covers {slate['top 10 by score'][1]:.2f} topics",
        f"{slate['MMR lambda=0.7'][0]:.3f} of the relevance and covers "
        f"{slate['MMR lambda=0.7'][1]:.2f}",
        f"{slate['MMR lambda=0.5'][0]:.3f} and covers {slate['MMR lambda=0.5'][1]:.2f}",
    )
    assert_page_quotes(
        PAGE,
        f"{slate['DPP alpha=2'][0]:.3f} and covers {slate['DPP alpha=2'][1]:.2f}",
        f"{slate['DPP alpha=1'][0]:.3f} and covers {slate['DPP alpha=1'][1]:.2f}",
        f"log det {printed['check'][0]:.3f}",
        f"all {printed['check'][1]} sets",
    )
    macs, fleet = printed["macs"], printed["fleet"]
    short, long, _ = macs["encoder, once a request"]
    target = macs["dot-product target attention"]
    ratio = round(float(long.split()[0]) / float(short.split()[0]))
    assert_page_quotes(
        PAGE,
        f"costs {macs['mean of the history'][1]} multiply-adds",
        f"500 candidates {target[1]}",
        f"MLP per pair {macs['DIN attention (MLP per pair)'][1]}",
        f"once a request {long}",
        f"{macs['encoder per candidate'][1]}: five hundred",
        f"that is {fleet['dot-product target attention'][1]:,} L4 for",
        f"{fleet['DIN attention (MLP per pair)'][1]:,} for DIN",
        f"{fleet['encoder, once a request'][1]:,} for the encoder once",
        f"and {fleet['encoder per candidate'][1]:,} for the encoder per",
        f"from {short} to {long}, about {ratio}",
        f"{target[0]} to {target[1]}",
        f"only {fleet['dot-product target attention'][2]:,} L4s",
        f"{printed['fetched'][2]} of history per request, {printed['reads'][2]}",
        f"({fleet['DIN attention (MLP per pair)'][2]:,} L4s)",
        f"whole history ({fleet['encoder, once a request'][2]:,})",
    )


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="explore_share"):
        rm.log_traffic(10, seed=0, explore_share=0.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rm.fit_logistic(np.zeros((2, 1)), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="both clicks"):
        rm.fit_logistic(np.zeros((2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        rm.fit_logistic(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="requests, candidates"):
        rm.best_kept(np.zeros(3), rm.log_traffic(2, seed=0).features)
    sim = np.eye(3)
    with pytest.raises(ValueError, match="lam"):
        rm.mmr(np.ones(3), sim, 2, 1.5)
    with pytest.raises(ValueError, match="k must be"):
        rm.mmr(np.ones(3), sim, 4, 0.5)
    with pytest.raises(ValueError, match=r"\(n, n\)"):
        rm.mmr(np.ones(3), np.eye(2), 2, 0.5)
    with pytest.raises(ValueError, match="1-D"):
        rm.mmr(np.ones((3, 3)), sim, 2, 0.5)
    with pytest.raises(ValueError, match="finite"):
        rm.mmr(np.array([1.0, np.nan, 0.0]), sim, 2, 0.5)
    with pytest.raises(ValueError, match="symmetric"):
        rm.dpp_greedy(np.array([[1.0, 0.5], [0.0, 1.0]]), 1)
    with pytest.raises(ValueError, match="square"):
        rm.dpp_greedy(np.ones(3), 1)
    with pytest.raises(ValueError, match=">= 1"):
        rm.user_model_macs(0, 64, 2, 500)
    with pytest.raises(ValueError, match=">= 1"):
        rm.user_model_macs(10, 64, 2, 500, din=(80, 0))
    with pytest.raises(ValueError, match="method"):
        rm.trade_off([rm.slate_candidates(np.random.default_rng(0))], "BM25")
    with pytest.raises(ValueError, match="separable"):
        rm.fit_logistic(np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.r_[0, 0, 1, 1.0])
