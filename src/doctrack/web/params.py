"""Request parameters shared by the API and the pages, bounded before they reach the
database (a number past a 32-bit integer is a 422, not a driver's overflow)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_INT = 2**31 - 1
#: The most items one page of a listing holds.
MAX_PAGE = 500
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]
Limit = Annotated[int, Query(ge=0, le=MAX_PAGE)]
Number = Annotated[int, Path(ge=1, le=MAX_INT)]
