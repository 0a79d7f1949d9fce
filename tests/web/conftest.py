"""Fixtures of the web tests: the ``world`` with one convention, served in-process."""

from __future__ import annotations

import pytest
from web_support import Site, make_site

from doctrack.services.tracking import Tracker


@pytest.fixture
def site(world: Tracker) -> Site:
    """The app over the world, with ``conv`` (a convention for t16, lead KZ, no draft yet)."""
    world.add_instrument(
        "conv",
        title="Convention on countering extremism",
        workflow="convention",
        summit="t16",
        lead="KZ",
        actor="setup",
    )
    return make_site(world)
