"""Writes a status report as HTML, Markdown, JSON or PDF, in English or Russian.

HTML and Markdown come from the Jinja2 templates ``templates/reports/status.html`` and
``status.md``, translated with the ``reports`` catalogue (``doctrack.i18n``); JSON is
written by :func:`write_json` to the versioned schema ``doctrack/schemas/
status-report-1.schema.json``; PDF is the HTML laid out by WeasyPrint (``doctrack.services.
pdf``). HTML, Markdown and JSON are streamed to the output as they are rendered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from doctrack import i18n
from doctrack.resources import template_folders
from doctrack.services.dossier import Dossier, dossier_json
from doctrack.services.status import (
    ChangeLine,
    DeadlineLine,
    InstrumentLine,
    StatusReport,
    SummitReport,
)
from doctrack.timerules import to_local

FORMATS = ("html", "md", "json", "pdf")
SCHEMA = "doctrack.status-report/1"
DOMAIN = "reports"

#: Characters with a meaning in Markdown (CommonMark and GitHub tables).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+!|~>-])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def md_escape(value: object) -> str:
    """``value`` as literal text in Markdown: on one line (it goes into tables), HTML
    special characters as entities (Markdown passes raw HTML through) and Markdown
    punctuation backslash-escaped."""
    text = _LINE_BREAKS.sub(" ", str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


class ReportWriter:
    """Renders reports in one language from one templates folder; what the folder lacks
    (a template, the language's catalogue) is taken from the packaged templates."""

    def __init__(self, templates: Path, lang: str = "en") -> None:
        self.templates = templates
        self._folders = template_folders(templates)
        catalogues = i18n.catalogue_folder(self._folders, DOMAIN, lang)
        self.lang = lang
        self._translations = i18n.translations(catalogues, DOMAIN, lang)

    @cached_property
    def env(self) -> Environment:
        env = Environment(
            loader=FileSystemLoader(self._folders),
            autoescape=select_autoescape(["html"], default_for_string=False),
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.install_gettext_translations(self._translations, newstyle=True)  # type: ignore[attr-defined]
        env.filters["md"] = md_escape
        # Words that come from data (kinds, state labels, stances): translated when the
        # catalogue has them, but never markup and never %-formatted, unlike _().
        env.filters["label"] = self.label
        env.globals["formats"] = lambda tz: i18n.Formats(self.lang, tz)
        env.globals["lang"] = self.lang
        env.globals["chart"] = self._chart
        return env

    def label(self, value: object) -> str:
        """A word from the data, translated if the catalogue knows it: plain text."""
        return str(self._translations.gettext(str(value)))

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def write(self, report: StatusReport, fmt: str, out: IO[str]) -> None:
        """Write ``report`` as ``html``, ``md`` or ``json`` to the text stream ``out``."""
        if fmt == "json":
            write_json(report, out, self.lang, self.gettext)
            return
        name = {"html": "reports/status.html", "md": "reports/status.md"}[fmt]
        template = self.env.get_template(name)
        for piece in template.generate(report=report, summits=report.summits):
            out.write(piece)

    def html(self, report: StatusReport) -> str:
        template = self.env.get_template("reports/status.html")
        return template.render(report=report, summits=report.summits)

    def write_dossier(self, dossier: Dossier, fmt: str, out: IO[str]) -> None:
        """Write one instrument's dossier as ``html``, ``md`` or ``json``."""
        if fmt == "json":
            json.dump(dossier_json(dossier, self.lang, self.gettext), out, ensure_ascii=False)
            out.write("\n")
            return
        template = self.env.get_template(f"reports/dossier.{fmt}")
        for piece in template.generate(dossier=dossier):
            out.write(piece)

    def dossier_html(self, dossier: Dossier) -> str:
        return self.env.get_template("reports/dossier.html").render(dossier=dossier)

    def _chart(self, part: SummitReport, labels: Mapping[str, str]) -> Markup:
        from doctrack.services.charts import timeline_svg

        lines = part.timeline()
        if not lines:
            return Markup("")
        fmt = i18n.Formats(self.lang, part.tz)
        # Matplotlib escapes the text it writes: the SVG is markup, not text to escape.
        return Markup(  # noqa: S704
            timeline_svg(
                lines,
                tz=part.tz,
                as_of=part.as_of,
                summit_starts=part.summit.starts,
                summit_ends=part.summit.ends,
                # The template passes translated (escaped) labels; Matplotlib wants text.
                labels={k: Markup(v).unescape() for k, v in labels.items()},  # noqa: S704
                day_format=fmt.short_day,
            )
        )


# -- JSON ---------------------------------------------------------------------------------


def _iso(value: datetime | None, tz: str) -> str | None:
    return to_local(value, tz).isoformat() if value is not None else None


def _deadline(d: DeadlineLine, tz: str, _: Callable[[str], str]) -> dict[str, Any]:
    return {
        "milestone": d.milestone,
        "label": _(d.label),
        "due": _iso(d.due, tz),
        "met_at": _iso(d.met_at, tz),
        "status": d.status.value,
        "days_left": d.days_left,
    }


def instrument_json(line: InstrumentLine, tz: str, _: Callable[[str], str] = str) -> dict[str, Any]:
    """One instrument of the JSON report (see the schema)."""
    return {
        "slug": line.slug,
        "title": line.title,
        "kind": line.kind,
        "workflow": line.workflow,
        "state": line.state,
        "state_label": _(line.state_label),
        "state_since": _iso(line.state_since, tz),
        "days_in_state": line.days_in_state,
        "health": line.health.value,
        "final": line.final,
        "adopted": line.adopted,
        "lead": line.lead,
        "revision": line.revision,
        "next_deadline": _deadline(line.next_deadline, tz, _) if line.next_deadline else None,
        "deadlines": [_deadline(d, tz, _) for d in line.deadlines],
        "missed": [d.milestone for d in line.missed],
        "dependencies": [
            {
                "slug": d.slug,
                "state_label": _(d.state_label),
                "adopted": d.adopted,
                "blocks": d.blocks,
            }
            for d in line.dependencies
        ],
        "blocked": line.blocked,
        "positions": {
            p.party: ({"stance": p.stance, "comment": p.comment} if p.stance else None)
            for p in line.positions
        },
        "not_agreed": list(line.not_agreed),
    }


def change_json(c: ChangeLine, tz: str, _: Callable[[str], str] = str) -> dict[str, Any]:
    return {
        "at": _iso(c.at, tz),
        "actor": c.actor,
        "kind": c.kind,
        "instrument": c.instrument,
        "trigger": c.trigger,
        "from": _(c.from_label) if c.from_label else None,
        "to": _(c.to_label) if c.to_label else None,
        "comment": c.comment,
        "details": dict(c.details),
    }


def _summit_head(part: SummitReport) -> dict[str, Any]:
    s, h = part.summit, part.headline
    return {
        "slug": s.slug,
        "title": s.title,
        "city": s.city,
        "starts": s.starts.isoformat(),
        "ends": s.ends.isoformat(),
        "tz": s.tz,
        "as_of": _iso(part.as_of, s.tz),
        "changes_since": _iso(part.since, s.tz),
        "days_to_summit": part.days_to_summit,
        "in_session": part.in_session,
        "headline": {
            "total": h.total,
            "on_track": h.on_track,
            "at_risk": h.at_risk,
            "late": h.late,
            "closed": h.closed,
        },
        "parties": [{"code": p.code, "name": p.name} for p in part.parties],
    }


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_pieces(report: StatusReport, lang: str, _: Callable[[str], str]) -> Iterator[str]:
    yield "{"
    head: Mapping[str, object] = {
        "schema": SCHEMA,
        "generated_at": _iso(report.generated_at, "UTC"),
        "as_of": _iso(report.as_of, "UTC"),
        "lang": lang,
    }
    for key, value in head.items():
        yield f"{_dump(key)}: {_dump(value)}, "
    yield '"summits": ['
    for n, part in enumerate(report.summits):
        yield ", " if n else ""
        yield _dump(_summit_head(part))[:-1]
        yield ', "instruments": ['
        for i, line in enumerate(part.lines()):
            yield ",\n" if i else "\n"
            yield _dump(instrument_json(line, part.tz, _))
        yield '], "changes": ['
        for i, change in enumerate(part.changes()):
            yield ",\n" if i else "\n"
            yield _dump(change_json(change, part.tz, _))
        yield "]}"
    yield "]}\n"


def write_json(
    report: StatusReport, out: IO[str], lang: str = "en", _: Callable[[str], str] = str
) -> None:
    """The report as JSON (schema ``doctrack.status-report/1``), streamed to ``out``."""
    for piece in _json_pieces(report, lang, _):
        out.write(piece)


def schema_path() -> Path:
    return Path(__file__).resolve().parents[1] / "schemas" / "status-report-1.schema.json"


__all__ = ["FORMATS", "SCHEMA", "ReportWriter", "md_escape", "write_json"]
