"""The budgets, and a verdict for each: met, missed, or not measured.

Every function reads a results dict as ``run.py`` writes it (older shapes too) and
tolerates a section that is absent or failed (``{"error": ...}``).
"""

from __future__ import annotations

from dataclasses import dataclass

BUDGETS = {
    "build_ratio": 2.0,
    "problem_page_gzip_kb": 500,
    "search_index_mb": 2.0,
    "search_ms": 300,
    "lighthouse_performance": 95,
    "lighthouse_accessibility": 100,
    "lighthouse_best-practices": 100,
    "lighthouse_seo": 95,
    "make_check_s": 60,
    "make_test_s": 240,
}
CATEGORIES = {
    "performance": "performance",
    "accessibility": "accessibility",
    "best-practices": "best practices",
    "seo": "SEO",
}
TARGETS = ("check", "test")  # the Make targets whose wall time has a budget


@dataclass(frozen=True)
class Verdict:
    """One budget: what was measured, and met (True), missed (False) or unknown."""

    label: str
    value: str
    met: bool | None


def check(label, value, limit, smaller_is_better=True, where="") -> Verdict:
    """Compare value with limit; value None means not measured."""
    if value is None:
        return Verdict(label, "not measured", None)
    met = value <= limit if smaller_is_better else value >= limit
    sign = "≤" if smaller_is_better else "≥"
    return Verdict(label, f"{value:g}{where} (budget {sign} {limit:g})", met)


def succeeded(section) -> bool:
    """A measured section: a dict without an error."""
    return isinstance(section, dict) and "error" not in section


def build_verdicts(results: dict) -> list[Verdict]:
    ratio = results.get("build", {}).get("ratio_warm")
    label = "build ratio (ours, warm cache / bare)"
    value = round(ratio, 2) if ratio is not None else None
    return [check(label, value, BUDGETS["build_ratio"])]


def weight_verdicts(results: dict) -> list[Verdict]:
    weight = results.get("page_weight", {})
    problem = weight.get("problem", {}).get("total", {}).get("gzip")
    index = weight.get("search_index", {}).get("bytes")
    return [
        check(
            "worked-problem page, gzip KB (no search index)",
            round(problem / 1000) if problem else None,
            BUDGETS["problem_page_gzip_kb"],
        ),
        check(
            "search index MB",
            round(index / 1e6, 2) if index else None,
            BUDGETS["search_index_mb"],
        ),
    ]


def search_verdicts(results: dict) -> list[Verdict]:
    median = results.get("search", {}).get("median_ms")
    return [
        check(
            "search, median ms to first result",
            round(median) if median is not None else None,
            BUDGETS["search_ms"],
        )
    ]


def lighthouse_pages(results: dict) -> dict[str, dict]:
    """Every audited page -> its scores (or error); reads the old 3-page shape too."""
    section = results.get("lighthouse", {})
    if not succeeded(section):
        return {}
    pages = section.get("pages", section)
    return {name: s for name, s in pages.items() if isinstance(s, dict)}


def worst_page(pages: dict[str, dict], category: str) -> tuple[str, int] | None:
    """(page, score) of the lowest score in category: the first such page in nav
    order, or "every page" when all share it; None when no page was measured."""
    scores = {name: s[category] for name, s in pages.items() if succeeded(s)}
    if not scores:
        return None
    score = min(scores.values())
    if len(scores) > 1 and all(value == score for value in scores.values()):
        return "every page", score
    return next(name for name, value in scores.items() if value == score), score


def lighthouse_verdicts(results: dict) -> list[Verdict]:
    pages = lighthouse_pages(results)
    measured = sum(succeeded(s) for s in pages.values())
    found = []
    for category, title in CATEGORIES.items():
        worst = worst_page(pages, category)
        found.append(
            check(
                f"Lighthouse {title}, worst of {measured} pages",
                worst[1] if worst else None,
                BUDGETS[f"lighthouse_{category}"],
                smaller_is_better=False,
                where=f" on {worst[0]}" if worst else "",
            )
        )
    return found


def suite_verdicts(results: dict) -> list[Verdict]:
    suite = results.get("tests", {})
    found = []
    for target in TARGETS:
        record = suite.get(target, {}) if succeeded(suite) else {}
        label = f"`make {target}` wall time, warm (s)"
        limit = BUDGETS[f"make_{target}_s"]
        if "wall_s" not in record:
            found.append(check(label, None, limit))
        elif record.get("returncode"):
            value = f"{record['wall_s']:g}, **failed** (exit {record['returncode']})"
            found.append(Verdict(label, f"{value} (budget ≤ {limit:g})", False))
        else:
            found.append(check(label, round(record["wall_s"]), limit))
    return found


def verdicts(results: dict) -> list[Verdict]:
    """Every budget, in the order of the report."""
    return [
        *build_verdicts(results),
        *weight_verdicts(results),
        *search_verdicts(results),
        *lighthouse_verdicts(results),
        *suite_verdicts(results),
    ]
