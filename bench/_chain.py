"""Hash-chain links for events written in bulk, as doctrack's use cases would have made them.

Where doctrack's schema chains its history (``doctrack.storage.chain``: ``event.seq``,
``prev_hash`` and ``hash``, each instrument's and summit's ``chain_head``), :func:`link` gives
each event, in id order, its place in its subject's chain, and each subject its head. Where it
does not (``CHAINED`` false), the generators write the events as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from doctrack.storage.tables import EVENT

#: Whether doctrack's event table has the chain's columns.
CHAINED = "hash" in EVENT.c
#: The extra columns of a chained event row, and of a chained instrument or summit row.
EVENT_COLUMNS = ("seq", "prev_hash", "hash") if CHAINED else ()
HEAD_COLUMNS = ("chain_head",) if CHAINED else ()

#: ("instrument" or "summit", id) -> the hash of its last event
Heads = dict[tuple[str, int], str]


def link(
    events: Iterable[Sequence[Any]], *, at: int, instrument: int, summit: int, content: int
) -> tuple[list[tuple[Any, ...]], Heads]:
    """Each event row (in id order) with ``(seq, prev_hash, hash)`` appended, and the heads.

    ``at``, ``instrument`` and ``summit`` are the positions in a row of the event's time (an
    aware datetime), instrument id and summit id; ``content`` that of ``actor``, followed by
    ``kind, trigger, from_state, to_state, comment, payload``. Without a chain in the schema
    the rows come back unchanged and there are no heads.
    """
    if not CHAINED:
        return [tuple(row) for row in events], {}
    from doctrack.storage import chain

    heads: Heads = {}
    lengths: dict[tuple[str, int], int] = {}
    linked: list[tuple[Any, ...]] = []
    for row in events:
        key = (
            (chain.INSTRUMENT, row[instrument])
            if row[instrument] is not None
            else (chain.SUMMIT, row[summit])
        )
        seq = lengths.get(key, 0) + 1
        moment: datetime = row[at]
        actor, kind, trigger, from_state, to_state, comment, payload = row[content : content + 7]
        made = chain.next_link(
            heads.get(key),
            key[0],
            key[1],
            seq,
            chain.EventContent(
                at=moment,
                actor=actor,
                kind=kind,
                trigger=trigger,
                from_state=from_state,
                to_state=to_state,
                comment=comment,
                payload=payload,
            ),
        )
        lengths[key], heads[key] = seq, made.hash
        linked.append((*row, made.seq, made.prev_hash, made.hash))
    return linked, heads


def head(heads: Heads, subject: str, subject_id: int) -> tuple[str | None, ...]:
    """The ``chain_head`` cell(s) to append to an instrument's or a summit's row."""
    return (heads.get((subject, subject_id)),) if CHAINED else ()
