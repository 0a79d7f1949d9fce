from __future__ import annotations

from helpers import approve_all

from doctrack.services.tracking import Tracker


def test_convention_reaches_agreed(world: Tracker) -> None:
    world.add_instrument("conv", title="Convention", workflow="convention", summit="t16",
                         lead="KZ", actor="setup")
    world.revise("conv", content=b"text", filename="d1.txt", as_user="drafter")
    world.advance("conv", "submit", as_user="drafter")
    approve_all(world, "conv")
    result = world.advance("conv", "agree", as_user="coord")
    assert result.to_state == "agreed"
    assert world.show("conv").version == 2 + 1 + 6 + 1
