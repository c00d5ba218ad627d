"""The 45-minute round as data: its phases, their minutes, and what each one produces.

A real round loses time to introductions and to the candidate's questions at the end,
so the plan spends the usable minutes only, and keeps a slot for the deep dive the
interviewer steers. Minutes are counted from the end of the introductions. This module
is the single source of the plan: the 45-minute plan page shows ``plan_table()`` (a test
checks that the page and the data agree), and a practice timer can read ``phases()``.

Run it: ``python -m snippets.framework.interview_plan`` prints the plan's table;
with ``--json`` it prints ``plan_json()``, the plan the mock-interview timer runs
(``docs/assets/practice/plan.json``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from numbers import Integral

ROUND_MINUTES = 45
USABLE_MINUTES = 36  # assumed: introductions and your questions take the rest
DEEP_DIVE = "Deep dive"
# The planned slot. A late start shrinks it, never below 12. When the interviewer opens
# the dive earlier, it starts then and still ends on the plan's minute, taking over the
# minutes of the phases it skipped; the phases after it keep theirs.
DEEP_DIVE_MINUTES = (12, 15)

# The framework's step pages (docs/framework/), with the short name a table links.
STEP_PAGES = {
    "problem-clarification.md": "clarify",
    "high-level-architecture.md": "architecture",
    "data.md": "data",
    "features.md": "features",
    "model-development.md": "model",
    "evaluation.md": "evaluation",
    "deployment-and-serving.md": "serving",
    "monitoring.md": "monitoring",
}


@dataclass(frozen=True)
class Phase:
    """One phase of the round: its length, the board it leaves, your cue."""

    name: str
    minutes: int
    board: str  # what the whiteboard holds when the phase ends
    prompt: str  # the one line that keeps you on track
    pages: tuple[str, ...]  # the framework step pages the phase draws on

    def __post_init__(self) -> None:
        for field in ("name", "board", "prompt"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise TypeError(f"Phase.{field} must be a non-empty string")
        if isinstance(self.minutes, bool) or not isinstance(self.minutes, Integral):
            raise TypeError(f"{self.name}: minutes must be an integer")
        if self.minutes <= 0:
            raise ValueError(
                f"{self.name}: minutes must be positive, got {self.minutes}"
            )
        if not isinstance(self.pages, tuple):
            raise TypeError(f"{self.name}: pages must be a tuple of page names")
        unknown = [page for page in self.pages if page not in STEP_PAGES]
        if unknown:
            raise ValueError(f"{self.name}: {unknown} are not framework step pages")


_PLAN = (
    Phase(
        "Clarify and metrics",
        5,
        "users, scale, latency, labels, privacy; ML objective; offline, online metrics",
        "name the business goal and a guardrail",
        ("problem-clarification.md",),
    ),
    Phase(
        "High-level design",
        5,
        "funnel with counts; per stage: inferences/s, feature reads/s, $/month; p99 "
        "budgets, stages + hops ≈ 75% of SLO (our rule); offline, online paths; a "
        "line each: data, features, model",
        "then ask where to go deep",
        ("high-level-architecture.md",),
    ),
    Phase(
        DEEP_DIVE,
        15,
        "the part they pick (any step: a later one then shrinks to its decisions in "
        "its slot), or the riskiest: options, numbers, a choice, how it fails",
        "say why this part is the hard one",
        ("data.md", "features.md", "model-development.md"),
    ),
    Phase(
        "Evaluation",
        5,
        "offline metric, time split; A/B unit, primary, guardrails; launch rule",
        "name the leak the split prevents",
        ("evaluation.md",),
    ),
    Phase(
        "Serving and monitoring",
        4,
        "online or batch, fallbacks; shadow → canary → A/B, rollback; drift, label "
        "delay",
        "how it fails, how we see it",
        ("deployment-and-serving.md", "monitoring.md"),
    ),
    Phase(
        "Wrap-up",
        2,
        "three risks; the next iterations",
        "risks, then next steps",
        (),
    ),
)


def _checked_type(plan: tuple[Phase, ...]) -> tuple[Phase, ...]:
    if not isinstance(plan, tuple) or not all(isinstance(p, Phase) for p in plan):
        raise TypeError(f"plan must be a tuple of Phase, got {type(plan).__name__}")
    return plan


def _as_plan(plan: tuple[Phase, ...] | None) -> tuple[Phase, ...]:
    return phases() if plan is None else _checked_type(plan)


def check_plan(plan: tuple[Phase, ...], usable_minutes: int) -> tuple[Phase, ...]:
    """Return the plan if it fills the usable minutes with one deep dive in range."""
    _checked_type(plan)
    names = [phase.name for phase in plan]
    if len(set(names)) != len(names):
        raise ValueError(f"phase names repeat: {names}")
    dives = [phase for phase in plan if phase.name == DEEP_DIVE]
    if len(dives) != 1:
        raise ValueError(f"the plan needs exactly one {DEEP_DIVE!r} phase")
    low, high = DEEP_DIVE_MINUTES
    if not low <= dives[0].minutes <= high:
        raise ValueError(
            f"the deep dive takes {dives[0].minutes} min, not {low}–{high}"
        )
    spent = sum(phase.minutes for phase in plan)
    if spent != usable_minutes:
        raise ValueError(
            f"the phases take {spent} min, not the {usable_minutes} usable"
        )
    return plan


def phases(usable_minutes: int = USABLE_MINUTES) -> tuple[Phase, ...]:
    """The plan for a round with this many usable minutes.

    Advice built in: when the introductions run long, the deep dive gives up minutes
    first, down to its floor; below that, cut breadth inside every phase instead.
    """
    if isinstance(usable_minutes, bool) or not isinstance(usable_minutes, Integral):
        raise TypeError(f"usable_minutes must be an integer, got {usable_minutes!r}")
    low, _ = DEEP_DIVE_MINUTES
    shortest = USABLE_MINUTES - (_deep_dive(_PLAN).minutes - low)
    if not shortest <= usable_minutes <= USABLE_MINUTES:
        raise ValueError(
            f"the plan fits {shortest}–{USABLE_MINUTES} usable minutes, "
            f"got {usable_minutes}: re-plan every phase"
        )
    lost = USABLE_MINUTES - usable_minutes
    plan = tuple(
        Phase(p.name, p.minutes - lost, p.board, p.prompt, p.pages)
        if p.name == DEEP_DIVE
        else p
        for p in _PLAN
    )
    return check_plan(plan, usable_minutes)


def _deep_dive(plan: tuple[Phase, ...]) -> Phase:
    return next(phase for phase in plan if phase.name == DEEP_DIVE)


def total_minutes(plan: tuple[Phase, ...] | None = None) -> int:
    """Minutes the plan spends (the default plan's: the usable minutes)."""
    return sum(phase.minutes for phase in _as_plan(plan))


def clock(plan: tuple[Phase, ...] | None = None) -> list[tuple[int, int, Phase]]:
    """Each phase with its start and end minute, counted from the end of the intros."""
    rows, start = [], 0
    for phase in _as_plan(plan):
        rows.append((start, start + phase.minutes, phase))
        start += phase.minutes
    return rows


def _phase_cell(start: int, end: int, phase: Phase) -> str:
    titles = [STEP_PAGES[page] for page in phase.pages]
    links = [
        f"[{title}]({page})" for title, page in zip(titles, phase.pages, strict=True)
    ]
    if len(links) == 1:
        name = f"[{phase.name}]({phase.pages[0]})"
    elif links and phase.name.lower() == " and ".join(titles):  # link the name's words
        name = " and ".join(links)
        name = name[:1] + name[1].upper() + name[2:]  # "[serving]" -> "[Serving]"
    else:
        name = f"{phase.name}: {', '.join(links)}" if links else phase.name
    return f"{start}–{end}: {name}"


def plan_table(plan: tuple[Phase, ...] | None = None) -> str:
    """The plan as the Markdown table the 45-minute plan page shows."""
    lines = ["| Minutes: phase | On the board — *your cue* |", "|---|---|"]
    for start, end, phase in clock(plan):
        cell = _phase_cell(start, end, phase)
        lines.append(f"| {cell} | {phase.board} — *{phase.prompt}* |")
    return "\n".join(lines)


def plan_json(plan: tuple[Phase, ...] | None = None) -> str:
    """The plan as the JSON the mock-interview page's timer reads (one source)."""
    rows = [
        {
            "name": phase.name,
            "minutes": phase.minutes,
            "start": start,
            "end": end,
            "prompt": phase.prompt,
            "board": phase.board,
        }
        for start, end, phase in clock(plan)
    ]
    data = {
        "round_minutes": ROUND_MINUTES,
        "usable_minutes": total_minutes(plan),
        "phases": rows,
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--json"]:
        print(plan_json(), end="")
    else:
        print(plan_table())
