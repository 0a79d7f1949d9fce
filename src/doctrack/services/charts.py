"""The timeline chart of a status report, drawn with Matplotlib as inline SVG.

One row per instrument (the most urgent ones); on it, a marker per deadline at its due
date: met (filled), pending (hollow), missed (a cross). A vertical line marks the report's
moment and a band marks the summit's days. Text stays text in the SVG (``svg.fonttype:
none``) so the browser or the PDF engine draws it with fonts that cover the title's
script, and the output is the same bytes for the same input (no timestamps, fixed ids).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from doctrack.domain import DeadlineStatus
from doctrack.services.status import InstrumentLine
from doctrack.timerules import zone

_STYLE: dict[DeadlineStatus, dict[str, Any]] = {
    DeadlineStatus.MET: {"marker": "o", "color": "#2e7d32", "fill": True},
    DeadlineStatus.PENDING: {"marker": "o", "color": "#546e7a", "fill": False},
    DeadlineStatus.MISSED: {"marker": "X", "color": "#c62828", "fill": True},
}
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "doctrack",
    "font.family": "DejaVu Sans",  # ships with Matplotlib: measuring never falls back
    "font.size": 9,
}


def timeline_svg(
    lines: Sequence[InstrumentLine],
    *,
    tz: str,
    as_of: datetime,
    summit_starts: date,
    summit_ends: date,
    labels: dict[str, str],
    day_format: Callable[[date], str],
) -> str:
    """The chart as an ``<svg>`` element (no XML prolog), ready to inline in HTML.

    ``labels`` translates the legend: keys ``met``, ``pending``, ``missed``, ``today``,
    ``summit``. ``day_format`` writes the dates on the axis.
    """
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    place = zone(tz)
    today = as_of.astimezone(place).date()
    days: list[date] = [today, summit_starts, summit_ends]
    for line in lines:
        days.extend(d.due.astimezone(place).date() for d in line.deadlines)
    first, last = min(days) - timedelta(days=3), max(days) + timedelta(days=3)

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        height = 1.2 + 0.28 * max(len(lines), 1)
        fig = Figure(figsize=(12, height))  # about the page width: text keeps its size
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        ax.axvspan(
            summit_starts.toordinal(),
            summit_ends.toordinal() + 1,
            color="#ffe082",
            alpha=0.6,
            zorder=0,
        )
        ax.axvline(today.toordinal(), color="#1565c0", linewidth=1.2, zorder=1)
        for row, line in enumerate(lines):
            ax.axhline(row, color="#eceff1", linewidth=0.8, zorder=0)
            for d in line.deadlines:
                style = _STYLE[d.status]
                ax.plot(
                    [d.due.astimezone(place).date().toordinal()],
                    [row],
                    linestyle="none",
                    marker=style["marker"],
                    markersize=7,
                    markeredgecolor=style["color"],
                    markerfacecolor=style["color"] if style["fill"] else "white",
                    zorder=3,
                )
        ax.set_yticks(range(len(lines)), [line.slug for line in lines])
        ax.set_ylim(len(lines) - 0.5 if lines else 0.5, -0.5)
        ax.set_xlim(first.toordinal(), last.toordinal())
        ax.xaxis.set_major_locator(MaxNLocator(nbins=7, integer=True))
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda x, _pos: day_format(date.fromordinal(max(1, int(x)))))
        )
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        legend = [
            Line2D([], [], linestyle="none", marker="o", color=_STYLE[DeadlineStatus.MET]["color"]),
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markeredgecolor=_STYLE[DeadlineStatus.PENDING]["color"],
                markerfacecolor="white",
            ),
            Line2D(
                [], [], linestyle="none", marker="X", color=_STYLE[DeadlineStatus.MISSED]["color"]
            ),
            Line2D([], [], color="#1565c0"),
            Line2D([], [], color="#ffe082", linewidth=6),
        ]
        ax.legend(
            legend,
            [labels[k] for k in ("met", "pending", "missed", "today", "summit")],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12 if len(lines) > 3 else -0.3),
            ncols=5,
            frameon=False,
        )
        out = io.StringIO()
        with warnings.catch_warnings():
            # Text is measured with DejaVu Sans but stays text in the SVG: the reader's
            # fonts draw the glyphs it lacks (CJK dates and labels), so no warning.
            warnings.filterwarnings("ignore", "Glyph .* missing from font", UserWarning)
            fig.tight_layout()
            fig.savefig(out, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = out.getvalue()
    return svg[svg.index("<svg") :]
