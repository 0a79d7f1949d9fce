"""The hash chain over history events: one chain per instrument and one per summit.

An event's hash is sha256 over a canonical JSON encoding of: the format number, the
subject (``instrument`` or ``summit``, and its id), the event's place in its subject's chain
(``seq``, from 1), the previous event's hash (:data:`GENESIS` for the first) and every
content column. The event's own id is not included: it is unknown before the insert.

Format 1 must never change: stored hashes depend on it byte for byte. A new encoding gets a
new format number, kept beside this one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

FORMAT: Final = 1
#: The "previous hash" of a subject's first event.
GENESIS: Final = "0" * 64
INSTRUMENT: Final = "instrument"
SUMMIT: Final = "summit"


@dataclass(frozen=True, slots=True, kw_only=True)
class EventContent:
    """What an event says: every column but its id, subject and chain link."""

    at: datetime
    actor: str
    kind: str
    trigger: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    comment: str | None = None
    payload: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """An event's place in its chain."""

    seq: int
    prev_hash: str
    hash: str


def _utc(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetime in an event")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(
    subject: str, subject_id: int, seq: int, prev_hash: str, content: EventContent
) -> bytes:
    """The bytes an event's hash is taken over (format 1)."""
    fields = {
        "format": FORMAT,
        "subject": subject,
        "subject_id": subject_id,
        "seq": seq,
        "prev": prev_hash,
        "at": _utc(content.at),
        "actor": str(content.actor),
        "kind": str(content.kind),
        "trigger": _text(content.trigger),
        "from_state": _text(content.from_state),
        "to_state": _text(content.to_state),
        "comment": _text(content.comment),
        "payload": _text(content.payload),
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")


def _text(value: str | None) -> str | None:
    return None if value is None else str(value)


def event_hash(
    subject: str, subject_id: int, seq: int, prev_hash: str, content: EventContent
) -> str:
    """sha256 (hex) of :func:`canonical`."""
    return hashlib.sha256(canonical(subject, subject_id, seq, prev_hash, content)).hexdigest()


def next_link(
    head: str | None, subject: str, subject_id: int, seq: int, content: EventContent
) -> Link:
    """The link of a new event ``seq`` after the chain's ``head`` (None: the first event)."""
    prev = head or GENESIS
    return Link(seq, prev, event_hash(subject, subject_id, seq, prev, content))


class HeadsDigest:
    """sha256 over every chain's (subject, id, length, last hash), fed in subject and id
    order: one value that changes if any chain is rewritten, extended or cut."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256(f"doctrack-heads:{FORMAT}\n".encode("ascii"))

    def add(self, subject: str, subject_id: int, seq: int, head: str) -> None:
        self._sha.update(f"{subject}:{subject_id}:{seq}:{head}\n".encode("ascii"))

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def heads_digest(heads: Iterable[tuple[str, int, int, str]]) -> str:
    """:class:`HeadsDigest` over ``heads`` given already in order."""
    digest = HeadsDigest()
    for subject, subject_id, seq, head in heads:
        digest.add(subject, subject_id, seq, head)
    return digest.hexdigest()
