"""A line diff between two draft revisions of an instrument, with the standard library's
``difflib``.

Only text is compared, line by line (a byte-order mark and the kind of line ending are not
differences). A revision is refused (``UsageError``, 422 on the web) when its file name says
it is not text (a PDF, an image, a word processor's file), when its bytes hold a NUL or are
not UTF-8, and when it is larger than :data:`MAX_DIFF_BYTES` or longer than
:data:`MAX_DIFF_LINES`: difflib's matching is quadratic at worst (two 10,000-line texts with
an edit every other line take seconds), and one request must not hold a worker that long.
Nothing is written: revisions are read through :meth:`Tracker.revision_content`, as a
download reads them.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import StrEnum
from typing import Any

from doctrack.errors import NotFoundError, UsageError
from doctrack.services.tracking import Tracker

#: The largest revision compared: 2 MiB.
MAX_DIFF_BYTES = 2 * 1024 * 1024
#: The most lines a compared revision may have.
MAX_DIFF_LINES = 5_000
#: Unchanged lines shown around each change.
CONTEXT = 3
#: Python's own table of file types, not the system's: the same answer on every machine.
_TYPES = mimetypes.MimeTypes()
_TEXT_APPLICATIONS = frozenset(
    {"json", "xml", "javascript", "rtf", "x-tex", "x-latex", "x-sh", "x-yaml", "yaml", "toml"}
)


class LineKind(StrEnum):
    """What happened to a line between the two revisions."""

    CONTEXT = "context"
    ADDED = "added"
    REMOVED = "removed"

    @property
    def sign(self) -> str:
        """The line's mark in a unified diff: ``+``, ``-`` or a space."""
        return {"context": " ", "added": "+", "removed": "-"}[self.value]


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffLine:
    """One line of a hunk, with its number in the old and in the new revision."""

    kind: LineKind
    text: str
    old: int | None  # 1-based; None for an added line
    new: int | None  # 1-based; None for a removed line


@dataclass(frozen=True, slots=True, kw_only=True)
class Hunk:
    """A run of changes with the unchanged lines around them."""

    old_start: int  # 0-based, as difflib counts
    old_count: int
    new_start: int
    new_count: int
    lines: tuple[DiffLine, ...]

    @property
    def header(self) -> str:
        """``@@ -1,3 +1,4 @@``, as ``diff -u`` and ``difflib.unified_diff`` write it."""
        old = _range(self.old_start, self.old_count)
        return f"@@ -{old} +{_range(self.new_start, self.new_count)} @@"


@dataclass(frozen=True, slots=True, kw_only=True)
class Side:
    """One of the two revisions compared."""

    number: int
    filename: str
    lines: int

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "filename": self.filename, "lines": self.lines}


@dataclass(frozen=True, slots=True, kw_only=True)
class RevisionDiff:
    """What changed from revision ``a`` to revision ``b`` of an instrument."""

    slug: str
    a: Side
    b: Side
    hunks: tuple[Hunk, ...]
    added: int
    removed: int

    @property
    def identical(self) -> bool:
        return not self.hunks

    def unified(self) -> list[str]:
        """The diff as ``diff -u`` writes it, one string per line (none when identical)."""
        if self.identical:
            return []
        lines = [
            f"--- {self.a.filename} (revision {self.a.number})",
            f"+++ {self.b.filename} (revision {self.b.number})",
        ]
        for hunk in self.hunks:
            lines.append(hunk.header)
            lines.extend(f"{line.kind.sign}{line.text}" for line in hunk.lines)
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "identical": self.identical,
            "added": self.added,
            "removed": self.removed,
            "unified": self.unified(),
        }


def _range(start: int, count: int) -> str:
    """A hunk's range as difflib writes it: ``3`` for one line, ``2,0`` for none."""
    if count == 1:
        return f"{start + 1}"
    return f"{start + 1 if count else start},{count}"


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: split at ``\\n``, ``\\r\\n`` or ``\\r`` only."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def _is_text_type(filename: str) -> tuple[bool, str | None]:
    media = _TYPES.guess_type(filename, strict=False)[0]
    if media is None:
        return True, None  # unknown by name: the bytes decide
    top, _, sub = media.partition("/")
    text = top == "text" or (
        top == "application" and (sub in _TEXT_APPLICATIONS or sub.endswith(("+xml", "+json")))
    )
    return text, media


def revision_lines(slug: str, number: int, filename: str, content: bytes) -> list[str]:
    """The revision's text as lines; a ``UsageError`` saying why when it cannot be compared."""
    which = f"revision {number} of {slug!r} ({filename!r})"
    if len(content) > MAX_DIFF_BYTES:
        raise UsageError(
            f"{which} has {len(content)} bytes: drafts over {MAX_DIFF_BYTES // 2**20} MiB "
            "are not compared; download them instead"
        )
    text_type, media = _is_text_type(filename)
    if not text_type:
        raise UsageError(f"{which} is {media}, not text: only text drafts are compared")
    if b"\x00" in content:
        raise UsageError(f"{which} is binary, not text: only text drafts are compared")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{which} is not UTF-8 text (byte {exc.start}): only text drafts are compared"
        ) from None
    lines = split_lines(text)
    if len(lines) > MAX_DIFF_LINES:
        raise UsageError(
            f"{which} has {len(lines)} lines: drafts over {MAX_DIFF_LINES} lines "
            "are not compared; download them instead"
        )
    return lines


def line_diff(
    old: list[str], new: list[str], *, context: int = CONTEXT
) -> tuple[tuple[Hunk, ...], int, int]:
    """The hunks from ``old`` to ``new``, and how many lines were added and removed."""
    hunks: list[Hunk] = []
    added = removed = 0
    matcher = SequenceMatcher(None, old, new)
    for group in matcher.get_grouped_opcodes(context):
        lines: list[DiffLine] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [
                    DiffLine(kind=LineKind.CONTEXT, text=old[i], old=i + 1, new=j + 1)
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            lines += [
                DiffLine(kind=LineKind.REMOVED, text=old[i], old=i + 1, new=None)
                for i in range(i1, i2)
            ]
            lines += [
                DiffLine(kind=LineKind.ADDED, text=new[j], old=None, new=j + 1)
                for j in range(j1, j2)
            ]
            removed += i2 - i1
            added += j2 - j1
        first, last = group[0], group[-1]
        hunks.append(
            Hunk(
                old_start=first[1],
                old_count=last[2] - first[1],
                new_start=first[3],
                new_count=last[4] - first[3],
                lines=tuple(lines),
            )
        )
    return tuple(hunks), added, removed


def diff_revisions(
    tracker: Tracker, slug: str, a: int | None = None, b: int | None = None
) -> RevisionDiff:
    """The diff from revision ``a`` to revision ``b`` of ``slug``. ``b`` defaults to the
    current revision, ``a`` to the one before ``b``; ``a == b`` is no change.

    Raises ``NotFoundError`` for an unknown instrument or revision, ``UsageError`` for a
    revision that is not text or too large to compare.
    """
    if b is None:
        current = tracker.show(slug).revision
        if current is None:
            raise NotFoundError("draft of", slug)
        b = current
    if a is None:
        a = max(b - 1, 1)
    sides: dict[int, tuple[Side, list[str]]] = {}
    for number in dict.fromkeys((a, b)):
        filename, content = tracker.revision_content(slug, number)
        lines = revision_lines(slug, number, filename, content)
        sides[number] = Side(number=number, filename=filename, lines=len(lines)), lines
    (old, old_lines), (new, new_lines) = sides[a], sides[b]
    hunks, added, removed = line_diff(old_lines, new_lines)
    return RevisionDiff(slug=slug, a=old, b=new, hunks=hunks, added=added, removed=removed)
