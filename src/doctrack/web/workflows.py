"""A workflow's diagram as an SVG file, to link to or embed: ``GET
/workflows/{name}/diagram.svg?state=S`` (signed in; ``state`` is highlighted)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from doctrack.errors import UsageError
from doctrack.web.context import Web, get_web
from doctrack.web.diagram import diagram_svg
from doctrack.web.security import SessionUser

router = APIRouter(tags=["pages"], include_in_schema=False)
WebDep = Annotated[Web, Depends(get_web)]
SVG = "image/svg+xml"


@router.get("/workflows/{name}/diagram.svg")
def diagram(
    web: WebDep,
    user: SessionUser,
    name: str,
    state: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    wf = web.tracker.workflows.get(name)
    if state is not None and state not in wf.states:
        raise UsageError(
            f"no state {state!r} in workflow {name!r}: use one of {', '.join(wf.states)}"
        )
    svg = diagram_svg(wf, current=state)
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n{svg}\n', media_type=SVG)
