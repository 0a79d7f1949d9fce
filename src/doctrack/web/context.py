"""What every request handler shares: the use cases, the settings, the page renderer."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from fastapi import Request

from doctrack.config import Settings
from doctrack.services.accounts import Accounts
from doctrack.services.tracking import Tracker

if TYPE_CHECKING:
    from doctrack.web.rendering import Pages

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Web:
    """Built once by ``create_app``; each use case opens its own transaction."""

    tracker: Tracker
    accounts: Accounts
    settings: Settings
    secret_key: str
    templates: Path  # the templates folder: web/ pages and reports/
    pages: Pages


async def get_web(request: Request) -> Web:
    """Dependency: the application's :class:`Web` (async: it does no I/O, so FastAPI runs it
    on the event loop instead of handing it to the thread pool)."""
    return cast("Web", request.app.state.web)


def first(items: Iterator[T], limit: int, *, skip: int = 0) -> list[T]:
    """Items ``skip`` to ``skip + limit`` of a streamed listing, which is then closed (its
    read transaction ends at once, not when the generator is collected)."""
    try:
        return list(islice(items, skip, skip + limit))
    finally:
        if isinstance(items, Generator):
            items.close()
