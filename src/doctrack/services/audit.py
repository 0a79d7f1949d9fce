"""``audit verify``: walk every event chain and every revision; name what does not match.

Per chain (one per instrument, one per summit), events are checked in order: each must hash
to its stored ``hash`` (else it was changed after it was written), name the previous event's
hash (else an event before it was removed or replaced) and carry the next ``seq``; the last
one must be the head stored on the subject's row (else events after it were removed). Only
the first broken link of a chain is reported. Each revision's content must hash to its
``sha256``, which must be the one its (chained) revision event recorded.

The digest over all chains' heads changes with any change to the history, including a
complete, consistent rewrite that the chains alone cannot reveal: written down elsewhere, it
is compared with ``expect``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy.engine import Connection

from doctrack.domain import EventKind
from doctrack.storage import audit as store
from doctrack.storage import chain
from doctrack.storage.db import Database

#: ``progress`` is called after every this many events.
PROGRESS_EVERY = 100_000


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that does not match. ``what``: hash, link, sequence, tail, revision,
    subject or digest."""

    what: str
    detail: str
    subject: str | None = None
    slug: str | None = None
    event_id: int | None = None

    def line(self) -> str:
        where = f"{self.subject} {self.slug}: " if self.subject else ""
        return f"{where}{self.detail}"

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "subject": self.subject,
            "slug": self.slug,
            "event": self.event_id,
            "detail": self.detail,
        }


@dataclass(slots=True)
class AuditReport:
    """What was checked and what did not match."""

    instruments: int = 0
    summits: int = 0
    events: int = 0
    revisions: int = 0
    digest: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def chains(self) -> int:
        return self.instruments + self.summits

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "chains": self.chains,
            "instruments": self.instruments,
            "summits": self.summits,
            "events": self.events,
            "revisions": self.revisions,
            "digest": self.digest,
            "problems": [p.as_json() for p in self.problems],
        }


@dataclass(frozen=True, slots=True)
class _Recorded:
    """A revision as its revision event recorded it."""

    event_id: int
    slug: str
    sha256: str
    size: int


def verify(
    db: Database,
    *,
    expect: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Check every chain and revision in one consistent snapshot of the database."""
    report = AuditReport()
    with db.snapshot() as conn:
        _Walk(conn, report, progress).run()
    if expect is not None and expect.strip().lower() != report.digest:
        report.problems.append(
            Problem(
                "digest",
                f"the heads digest is {report.digest}, expected {expect.strip()}: "
                "history was added or rewritten since that digest was taken",
            )
        )
    return report


class _Walk:
    def __init__(
        self, conn: Connection, report: AuditReport, progress: Callable[[int], None] | None
    ) -> None:
        self.conn = conn
        self.report = report
        self.progress = progress
        self.recorded: dict[tuple[int, int], _Recorded] = {}
        self.broken: set[int] = set()
        self.slugs: dict[int, str] = {}

    def run(self) -> None:
        digest = chain.HeadsDigest()
        for subject in (chain.INSTRUMENT, chain.SUMMIT):
            ends: list[tuple[int, int, str]] = []
            heads = store.heads(self.conn, subject)
            if subject == chain.INSTRUMENT:
                self.report.instruments = len(heads)
                self.slugs = {i: h.slug for i, h in heads.items()}
            else:
                self.report.summits = len(heads)
            events = self._counted(store.iter_chain_events(self.conn, subject))
            for subject_id, linked in groupby(events, key=lambda e: e.subject_id):
                head = heads.pop(subject_id, None)
                ends.append(self._chain(subject, subject_id, head, linked))
            for subject_id, head in heads.items():  # subjects without a single event
                self._problem(subject, subject_id, head.slug, None, "tail", "has no events")
                ends.append((subject_id, 0, chain.GENESIS))
            for subject_id, seq, last in sorted(ends):
                digest.add(subject, subject_id, seq, last)
        for event_id in store.subjectless_events(self.conn):
            self.report.problems.append(
                Problem(
                    "subject",
                    f"event {event_id} belongs to no instrument and no summit",
                    event_id=event_id,
                )
            )
        self._revisions()
        self.report.digest = digest.hexdigest()

    def _counted(self, events: Iterable[store.ChainEvent]) -> Iterator[store.ChainEvent]:
        for e in events:
            self.report.events += 1
            if self.progress is not None and self.report.events % PROGRESS_EVERY == 0:
                self.progress(self.report.events)
            yield e

    def _chain(
        self,
        subject: str,
        subject_id: int,
        head: store.Head | None,
        events: Iterable[store.ChainEvent],
    ) -> tuple[int, int, str]:
        """Check one chain; returns (subject id, length, last hash) for the digest."""
        slug = head.slug if head else f"#{subject_id}"
        prev, seq, last_id = chain.GENESIS, 0, None
        for e in events:
            detail = self._link_problem(subject, subject_id, e, prev, seq + 1, last_id)
            if detail is not None:
                what, text = detail
                self._problem(subject, subject_id, slug, e.id, what, text)
                return subject_id, seq, prev  # the rest is counted, not checked
            if subject == chain.INSTRUMENT and e.content.kind == EventKind.REVISION:
                self._record_revision(subject_id, slug, e)
            prev, seq, last_id = e.hash, e.seq, e.id
        if head is not None and head.chain_head != prev:
            self._problem(
                subject,
                subject_id,
                slug,
                last_id,
                "tail",
                f"the chain ends at event {last_id} (#{seq}) but the {subject} is at version "
                f"{head.version} and its recorded head is another event: "
                "events after it are missing",
            )
        return subject_id, seq, prev

    @staticmethod
    def _link_problem(
        subject: str,
        subject_id: int,
        e: store.ChainEvent,
        prev: str,
        seq: int,
        last_id: int | None,
    ) -> tuple[str, str] | None:
        computed = chain.event_hash(subject, subject_id, e.seq, e.prev_hash, e.content)
        name = f"event {e.id} (#{e.seq}, {e.content.kind})"
        if computed != e.hash:
            return "hash", f"{name} does not match its hash: it was changed after it was written"
        if e.prev_hash != prev:
            after = f"event {last_id}" if last_id is not None else "the start of the chain"
            return (
                "link",
                f"{name} does not follow {after}: "
                + "an event between them was removed, replaced or inserted",
            )
        if e.seq != seq:
            return "sequence", f"{name} should be #{seq}: events are missing before it"
        return None

    def _record_revision(self, instrument_id: int, slug: str, e: store.ChainEvent) -> None:
        try:
            payload = json.loads(e.content.payload or "")
            number, sha256, size = int(payload["number"]), str(payload["sha256"]), payload["size"]
        except (ValueError, KeyError, TypeError):
            self._problem(
                chain.INSTRUMENT,
                instrument_id,
                slug,
                e.id,
                "revision",
                f"event {e.id} names no revision",
            )
            return
        self.recorded[instrument_id, number] = _Recorded(e.id, slug, sha256, int(size))

    def _revisions(self) -> None:
        for rev in store.iter_revisions(self.conn):
            self.report.revisions += 1
            slug = self.slugs.get(rev.instrument_id, f"#{rev.instrument_id}")
            recorded = self.recorded.pop((rev.instrument_id, rev.number), None)
            event_id = recorded.event_id if recorded else None
            actual = hashlib.sha256(rev.content).hexdigest()
            if actual != rev.sha256:
                self._problem(
                    chain.INSTRUMENT,
                    rev.instrument_id,
                    slug,
                    event_id,
                    "revision",
                    f"revision {rev.number}: its content does not match its sha256 "
                    f"{rev.sha256[:12]}... (the content hashes to {actual[:12]}...)",
                )
            elif len(rev.content) != rev.size:
                self._problem(
                    chain.INSTRUMENT,
                    rev.instrument_id,
                    slug,
                    event_id,
                    "revision",
                    f"revision {rev.number}: its size {rev.size} is not its content's "
                    f"{len(rev.content)}",
                )
            elif recorded is None:
                if rev.instrument_id not in self.broken:
                    self._problem(
                        chain.INSTRUMENT,
                        rev.instrument_id,
                        slug,
                        None,
                        "revision",
                        f"revision {rev.number} has no revision event in the chain",
                    )
            elif (recorded.sha256, recorded.size) != (rev.sha256, rev.size):
                self._problem(
                    chain.INSTRUMENT,
                    rev.instrument_id,
                    slug,
                    recorded.event_id,
                    "revision",
                    f"revision {rev.number}: its sha256 is not the one event "
                    f"{recorded.event_id} recorded",
                )
        for (instrument_id, number), left in sorted(self.recorded.items()):
            self._problem(
                chain.INSTRUMENT,
                instrument_id,
                left.slug,
                left.event_id,
                "revision",
                f"event {left.event_id} records revision {number}, which is missing",
            )

    def _problem(
        self,
        subject: str,
        subject_id: int,
        slug: str,
        event_id: int | None,
        what: str,
        detail: str,
    ) -> None:
        if subject == chain.INSTRUMENT and what != "revision":
            self.broken.add(subject_id)
        self.report.problems.append(Problem(what, detail, subject, slug, event_id))
