"""Parameter types shared by the commands."""

from __future__ import annotations

from datetime import date
from typing import Any

import click


class DateParam(click.ParamType[date]):
    """A calendar date, YYYY-MM-DD."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date: use YYYY-MM-DD", param, ctx)


DATE = DateParam()

#: The largest id or version a command accepts: what every backend stores (the web's MAX_INT).
ID = click.IntRange(min=1, max=2**31 - 1)


class PathParam(click.Path):
    """``click.Path`` that refuses a NUL character in one line (``os.stat`` raises
    ``ValueError`` for it, which click does not expect)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\x00" in value:
            self.fail("bad path: it holds a NUL character", param, ctx)
        return super().convert(value, param, ctx)
