"""bench._history.plan, the one planner of bench.generate and bench.report, keeps each
caller's histories (the same actions for the same random stream as before the two copies
were merged), and bench._chain links bulk-written events as doctrack's use cases do.

No ``__init__.py`` in this folder: see test_generate.py.
"""

from __future__ import annotations

import hashlib
import random
import sys
from datetime import UTC, datetime

import pytest

from doctrack.engine.registry import Workflows
from helpers import ROOT, WORKFLOWS

if str(ROOT) not in sys.path:  # the benchmarks live beside the package, in the checkout
    sys.path.insert(0, str(ROOT))

from bench import _chain, _history
from bench import generate as gen
from bench import report as rep

TARGETS = {
    "convention": ("drafting", "expert_review", "agreed", "approved", "withdrawn", "signed",
                   "in_force"),
    "programme": ("drafting", "expert_review", "agreed", "approved", "withdrawn", "adopted"),
}  # fmt: skip
#: sha256 (first 16 hex digits) of 200 plans per (workflow, target), as each module's own
#: copy of the planner made them before the merge.
BEFORE = {"generate": "8297dd4deb428ac2", "report": "800a545305fc6fe8"}


def digest(odds: _history.Odds, texts: _history.Texts) -> str:
    workflows = Workflows.from_folder(WORKFLOWS)
    plans = []
    for name, targets in TARGETS.items():
        for target in targets:
            rng = random.Random(f"plans:{name}:{target}")
            plans += [
                _history.plan(rng, workflows.get(name), target, odds, texts) for _ in range(200)
            ]
    return hashlib.sha256(repr(plans).encode()).hexdigest()[:16]


def test_each_caller_keeps_the_histories_it_made_before() -> None:
    assert digest(gen.PLAN_ODDS, gen.PLAN_TEXTS) == BEFORE["generate"]
    assert digest(rep.PLAN_ODDS, rep.PLAN_TEXTS) == BEFORE["report"]


def test_the_callers_methods_use_the_shared_planner() -> None:
    workflows = Workflows.from_folder(WORKFLOWS)
    wf = workflows.get("convention")
    ours = gen.Generator(workflows, 300, fixed=100).plan(random.Random(7), wf, "agreed")
    assert ours == _history.plan(random.Random(7), wf, "agreed", gen.PLAN_ODDS, gen.PLAN_TEXTS)
    theirs = rep.Generator(workflows, 300)
    theirs.rng = random.Random(7)
    assert theirs.plan(wf, "agreed") == _history.plan(
        random.Random(7), wf, "agreed", rep.PLAN_ODDS, rep.PLAN_TEXTS
    )


def test_plans_reach_their_target_in_order() -> None:
    workflows = Workflows.from_folder(WORKFLOWS)
    plan = _history.plan(
        random.Random(1), workflows.get("convention"), "in_force", gen.PLAN_ODDS, gen.PLAN_TEXTS
    )
    triggers = [act[1] for act in plan if act[0] == "advance"]
    assert triggers[:1] == ["submit"]
    assert triggers[-4:] == ["agree", "approve", "sign", "enter_into_force"]
    assert plan.index(("session",)) < plan.index(("ratified",))


@pytest.mark.skipif(not _chain.CHAINED, reason="doctrack's events carry no hash chain")
def test_bulk_links_are_the_use_cases_links() -> None:
    from doctrack.storage import chain

    at = datetime(2016, 6, 1, 6, 0, tzinfo=UTC)
    rows = [
        (1, None, 7, at, "sec", "summit_created", None, None, None, None, "{}"),
        (2, 3, None, at, "coord", "created", None, None, None, None, "{}"),
        (3, 3, None, at, "coord", "transition", "submit", "drafting", "review", None, None),
        (4, None, 7, at, "sec", "summit_moved", None, None, None, "moved", "{}"),
    ]
    linked, heads = _chain.link(rows, at=3, instrument=1, summit=2, content=4)
    assert [r[:11] for r in linked] == rows
    assert [r[11] for r in linked] == [1, 1, 2, 2]  # seq: each subject's own
    assert linked[0][12] == linked[1][12] == chain.GENESIS
    assert linked[2][12] == linked[1][13] and linked[3][12] == linked[0][13]
    first = chain.next_link(
        None,
        chain.INSTRUMENT,
        3,
        1,
        chain.EventContent(at=at, actor="coord", kind="created", payload="{}"),
    )
    assert linked[1][11:] == (first.seq, first.prev_hash, first.hash)
    assert heads == {("summit", 7): linked[3][13], ("instrument", 3): linked[2][13]}
    assert _chain.head(heads, "instrument", 3) == (linked[2][13],)
    assert _chain.head(heads, "instrument", 4) == (None,)
