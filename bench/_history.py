"""The one planner of an instrument's history, shared by ``bench.generate`` and ``bench.report``.

:func:`plan` gives the actions that take an instrument from its workflow's initial state to a
target state, in order: ``("revise",)``, ``("position", party, stance, comment, on_behalf)``,
``("advance", trigger, comment)``, and for the states reached at a summit ``("session",)``
(what follows happens during the summit) and ``("ratified",)``. The caller plays them, with
times, guards and rows of its own. How often each thing happens is an :class:`Odds`; each
caller keeps its own, so that the data it generates for a seed does not change.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from doctrack.engine.definition import WorkflowDef

Action = tuple[Any, ...]

#: The stances a party takes on a draft, and their weights.
STANCES = (("approve", 65), ("reserve", 25), ("object", 10))
#: Where a withdrawn instrument was before it was withdrawn, and the weights.
BEFORE_WITHDRAWN = (("drafting", 3), ("expert_review", 5), ("agreed", 2))
#: The share of positions recorded by a coordinator on a party's behalf.
ON_BEHALF = 0.15
#: The share of approvals that come with a comment.
APPROVE_COMMENT = 0.15
#: The share of agreements "ad referendum" (with a comment).
AGREE_COMMENT = 0.2
#: A programme left in drafting: the share sent back to the drafters after a submission.
REWORKED = 0.25
#: A revised instrument left in drafting: the share with one position on its draft.
DRAFT_POSITION = 0.3
#: Positions taken before the all-party approval: the share that leads to a new draft.
EARLY_REVISE = 0.5


@dataclass(frozen=True, slots=True)
class Odds:
    """How often the things that differ between callers happen."""

    #: an instrument left in drafting has a draft
    drafting_revise: float
    #: positions on the first draft of an instrument left in expert review (lowest, highest)
    review_positions: tuple[int, int]
    #: ... that then has a second draft
    review_revise: float
    #: positions on that second draft
    review_more_positions: tuple[int, int]
    #: an instrument that goes past expert review has positions before the all-party approval
    early_positions: float
    #: how many
    early_positions_count: tuple[int, int]
    #: an agreed instrument got a reservation after the agreement (0: never; no draw then)
    agreed_reserve: float = 0.0


@dataclass(frozen=True, slots=True)
class Texts:
    """The parties and the comments a plan picks from."""

    parties: Sequence[str]
    position_comments: Mapping[str, Sequence[str]]
    withdraw_comments: Sequence[str]


def weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    """One of the values, drawn by weight."""
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def plan(
    rng: random.Random, wf: WorkflowDef, target: str, odds: Odds, texts: Texts
) -> list[Action]:
    """The actions that take an instrument of ``wf`` from its initial state to ``target``."""
    parties = sorted(texts.parties)
    acts: list[Action] = []
    stances: dict[str, str] = {}

    def positions(k: int) -> None:
        for party in rng.sample(parties, k):
            stance = weighted(rng, STANCES)
            comment = None
            if stance != "approve" or rng.random() < APPROVE_COMMENT:
                comment = rng.choice(texts.position_comments[stance])
            acts.append(("position", party, stance, comment, rng.random() < ON_BEHALF))
            stances[party] = stance

    def revise() -> None:
        acts.append(("revise",))
        stances.clear()

    def all_approve() -> None:
        for party in parties:
            if stances.get(party) != "approve":
                lifted = "Reservation lifted." if party in stances else None
                acts.append(("position", party, "approve", lifted, rng.random() < ON_BEHALF))
                stances[party] = "approve"

    def advance(trigger: str, comment: str | None = None) -> None:
        acts.append(("advance", trigger, comment))

    if target == "withdrawn":
        before = weighted(rng, BEFORE_WITHDRAWN)
        acts = plan(rng, wf, before, odds, texts)
        acts.append(("advance", "withdraw", rng.choice(texts.withdraw_comments)))
        return acts
    if target == "drafting":
        if rng.random() < odds.drafting_revise:
            revise()
            if wf.name == "programme" and rng.random() < REWORKED:
                advance("submit")
                positions(rng.randint(1, 2))
                advance("rework", "Back to the drafters: see the reservations.")
                revise()
            elif rng.random() < DRAFT_POSITION:
                positions(1)
        return acts
    revise()
    advance("submit")
    if target == "expert_review":
        positions(rng.randint(*odds.review_positions))
        if rng.random() < odds.review_revise:
            revise()
            positions(rng.randint(*odds.review_more_positions))
        return acts
    if rng.random() < odds.early_positions:
        positions(rng.randint(*odds.early_positions_count))
        if rng.random() < EARLY_REVISE:
            revise()
    all_approve()
    advance("agree", "Agreed ad referendum." if rng.random() < AGREE_COMMENT else None)
    if target == "agreed":
        if odds.agreed_reserve and rng.random() < odds.agreed_reserve:
            party = rng.choice(parties)
            reserve = rng.choice(texts.position_comments["reserve"])
            acts.append(("position", party, "reserve", reserve, False))
        return acts
    advance("approve")
    if target == "approved":
        return acts
    # Adopted (programmes) or signed (conventions) at the summit, then in force after
    # ratification.
    acts.append(("session",))
    advance("adopt" if wf.name == "programme" else "sign")
    if target == "in_force":
        acts.append(("ratified",))
        advance("enter_into_force")
    return acts


def payload(**values: Any) -> str:
    """An event payload, serialized as doctrack's use cases serialize it."""
    return json.dumps(values, sort_keys=True, ensure_ascii=False)
