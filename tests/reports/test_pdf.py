"""The status report as PDF (WeasyPrint): text stays text in every script, and without
WeasyPrint the command says what to install and writes nothing.

The PDF is read back with pypdf. Text extraction breaks lines where the PDF wraps them (a
long title in a narrow column), so strings are compared with all whitespace removed.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from report_support import AS_OF, CJK_TITLE, DAYS, RU_TITLE, TEMPLATES, XSS_TITLE, html_string

from doctrack.cli import root
from doctrack.config import SETTINGS
from doctrack.services.pdf import INSTALL_HINT, html_to_pdf
from doctrack.services.tracking import Tracker
from helpers import ROOT, WORKFLOWS

#: The report's options on the command line (report_support renders the same report).
REPORT_ARGS = ("report", "status", "--summit", "t16", "--as-of", AS_OF.isoformat())
REPORT_ARGS += ("--days", str(DAYS))
#: The clock of ``season`` (report_support.populate): 20 May 2016, 09:00 in Tashkent.
NOW = "2016-05-20T04:00"
#: Every DOCTRACK_* setting unset, except this checkout's workflows and templates.
ENV: dict[str, str | None] = {s.env: None for s in SETTINGS} | {
    "DOCTRACK_WORKFLOWS": str(WORKFLOWS),
    "DOCTRACK_TEMPLATES": str(TEMPLATES),
    "DOCTRACK_DEBUG": None,
}
#: Fonts the report needs in the PDF: DejaVu (Latin, Cyrillic), Noto Sans CJK (Chinese).
FONT_HINT = "Debian: apt-get install fonts-dejavu-core fonts-noto-cjk (.ci/run does)"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


class Pdf:
    """A PDF read back: its pages, all their text, the fonts it embeds."""

    def __init__(self, data: bytes) -> None:
        assert data.startswith(b"%PDF-"), data[:20]
        self.reader = PdfReader(io.BytesIO(data))
        self.text = "\n".join(page.extract_text() for page in self.reader.pages)
        self.fonts = {
            str(font.get_object()["/BaseFont"])
            for page in self.reader.pages
            for font in (page["/Resources"].get("/Font") or {}).values()
        }

    def has(self, text: str) -> bool:
        return squash(text) in squash(self.text)

    def missing(self, *texts: str) -> list[str]:
        return [t for t in texts if not self.has(t)]

    def check_layout(self) -> None:
        """A4 landscape pages (status.css), text in fonts that cover the report's scripts."""
        for page in self.reader.pages:
            box = page.mediabox
            assert (round(float(box.width)), round(float(box.height))) == (842, 595)
        for family in ("DejaVu-Sans", "Noto-Sans-CJK"):
            assert any(family in f for f in self.fonts), (
                f"no {family} font in the PDF ({sorted(self.fonts)}): {FONT_HINT}"
            )


def test_html_to_pdf_english(season: Tracker) -> None:
    pdf = Pdf(html_to_pdf(html_string(season, "en")))
    pdf.check_layout()
    assert (
        pdf.missing(
            "Status of instruments",
            "34 days to the summit.",
            "on track",
            "at risk",
            "late",
            "Positions on the current draft",
            "Anti-narcotics strategy 2017-2022",
            XSS_TITLE,  # as text: the markup is escaped, WeasyPrint prints it
            RU_TITLE,
            CJK_TITLE,
            # The chart is inline SVG: its text (slugs, legend) is PDF text too.
            "xss-convention",
            "report date",
        )
        == []
    )


def test_cli_writes_a_russian_pdf(season: Tracker, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "status.pdf"  # the format comes from the suffix
    result = CliRunner().invoke(
        root, ["--db", db_url, "--now", NOW, *REPORT_ARGS, "--lang", "ru", "-o", str(out)], env=ENV
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"wrote the status report (pdf, ru) to {out}\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    pdf = Pdf(out.read_bytes())
    pdf.check_layout()
    assert (
        pdf.missing(
            "Состояние документов",
            "До саммита 34 дня.",
            "в срок",
            "под угрозой",
            "просрочено",
            "Позиции по текущему проекту",
            "дата отчёта",
            RU_TITLE,
            CJK_TITLE,
            XSS_TITLE,
        )
        == []
    )
    assert not pdf.has("Status of instruments")


# -- without WeasyPrint ----------------------------------------------------------------------

#: ``doctrack`` with ``import weasyprint`` failing as if the package were not installed.
WITHOUT_WEASYPRINT = (
    "import sys; sys.modules['weasyprint'] = None; sys.argv[0] = 'doctrack'; "
    "from doctrack.cli import main; main()"
)


@pytest.mark.slow
def test_without_weasyprint_the_cli_says_what_to_install(
    season: Tracker, db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCTRACK_")}
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env |= {k: v for k, v in ENV.items() if v is not None}
    env["PYTHONPATH"] = os.pathsep.join(paths)
    for output in (["-o", "status.pdf"], ["--format", "pdf", "-o", "report.out"]):
        args = ["--db", db_url, "--now", NOW, *REPORT_ARGS, *output]
        result = subprocess.run(
            [sys.executable, "-c", WITHOUT_WEASYPRINT, *args],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert result.stderr == f"doctrack: {INSTALL_HINT}\n"
        assert list(folder.iterdir()) == []  # no file, not even a temporary one
