"""The demo scenario of ``doctrack demo``: the road to the SCO summit in Tashkent, June 2016.

    >>> import doctrack
    >>> from doctrack.demo import load_scenario, render_summary, replay
    >>> scenario = load_scenario()  # the packaged tashkent2016.yaml
    >>> clock = doctrack.FixedClock(scenario.setup_at)
    >>> tracker = doctrack.connect(url, clock=clock)  # a fresh, initialised database
    >>> print(render_summary(replay(tracker, clock, scenario, progress=print)))

Each entry of the scenario says whether it comes from the seed article or is illustrative;
the progress lines and the summary's legend say so too.
"""

from __future__ import annotations

from doctrack.demo.replay import (
    DeadlineRow,
    DemoCounts,
    DemoSummary,
    InstrumentRow,
    Refusal,
    SourceCount,
    render_summary,
    replay,
)
from doctrack.demo.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "DEFAULT_SCENARIO",
    "DeadlineRow",
    "DemoCounts",
    "DemoSummary",
    "InstrumentRow",
    "Refusal",
    "Scenario",
    "ScenarioError",
    "SourceCount",
    "load_scenario",
    "parse_scenario",
    "render_summary",
    "replay",
]
