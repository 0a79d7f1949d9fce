"""Scheduled status reports as emails: the Markdown report as text, the HTML report as the
HTML part, and the PDF attached when WeasyPrint is installed.

The dispatcher hands over the claimed rows of kind ``report``; each becomes one message in
its recipient's language (English when the reports have no catalogue for it). A report is
rendered once per summit, language and period in a batch, however many recipients get it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path

from doctrack import i18n
from doctrack.clock import Clock
from doctrack.engine.registry import Workflows
from doctrack.resources import template_folders
from doctrack.services.report_render import DOMAIN, ReportWriter
from doctrack.services.status import DEFAULT_CHANGES_DAYS, StatusReports
from doctrack.storage import reminders, repo, reporting
from doctrack.storage.db import Database
from doctrack.storage.records import ReminderRecord

_ONE_LINE = re.compile(r"[ \t\r\n]+")
_Rendered = tuple[str, str, str, bytes | None]  # subject, markdown, html, pdf


class ReportMailer:
    """Renders scheduled report emails; build one per dispatcher."""

    def __init__(
        self,
        db: Database,
        workflows: Workflows,
        clock: Clock,
        templates: Path,
        *,
        mail_from: str,
        attach_pdf: bool | None = None,
    ) -> None:
        self.db = db
        self.workflows = workflows
        self.clock = clock
        self.templates = templates
        self.mail_from = mail_from
        # None: decided when the first report is rendered, so that a dispatcher that sends
        # no report never loads WeasyPrint (half a second of start-up).
        self._attach_pdf = attach_pdf
        self._writers: dict[str, ReportWriter] = {}

    @property
    def attach_pdf(self) -> bool:
        """Whether report emails carry the report as a PDF (when WeasyPrint works here)."""
        if self._attach_pdf is None:
            from doctrack.services import pdf

            self._attach_pdf = pdf.available()
        return self._attach_pdf

    def _writer(self, lang: str) -> ReportWriter:
        if lang not in i18n.languages_in(template_folders(self.templates), DOMAIN):
            lang = i18n.SOURCE_LANGUAGE
        writer = self._writers.get(lang)
        if writer is None:
            writer = self._writers[lang] = ReportWriter(self.templates, lang)
        return writer

    def render(
        self, rows: Sequence[ReminderRecord], now: datetime
    ) -> Iterator[tuple[int, EmailMessage | None, str | None]]:
        """(reminder id, message or None, why not) for each row."""
        # One "what changed" start per summit: the report sent before this period's.
        period = {r.summit_id: r.send_at for r in rows}
        with self.db.read() as conn:
            users = reminders.recipients(conn, {r.user_id for r in rows})
            summits = {s.id: s for s in repo.list_summits(conn)}
            since = {
                summit_id: reporting.previous_report_sent(conn, summit_id, send_at)
                for summit_id, send_at in period.items()
            }
        cache: dict[tuple[int, str], _Rendered] = {}
        for r in rows:
            user, summit = users.get(r.user_id), summits.get(r.summit_id)
            if user is None or summit is None:
                yield r.id, None, "its recipient or summit no longer exists"
                continue
            writer = self._writer(user.language)
            key = (summit.id, writer.lang)
            try:
                if key not in cache:
                    start = since[summit.id] or now - timedelta(days=DEFAULT_CHANGES_DAYS)
                    cache[key] = self._render(writer, summit.slug, summit.title, now, start)
            except Exception as exc:  # noqa: BLE001 - a template bug fails its rows, not the run
                yield r.id, None, f"template error: {type(exc).__name__}: {exc}"
                continue
            subject, text, html, pdf = cache[key]
            yield (
                r.id,
                self._message(
                    r,
                    user.email,
                    user.full_name or user.name,
                    summit.slug,
                    now,
                    subject,
                    text,
                    html,
                    pdf,
                ),
                None,
            )

    def _render(
        self, writer: ReportWriter, slug: str, title: str, now: datetime, since: datetime
    ) -> _Rendered:
        reports = StatusReports(self.db, self.workflows, self.clock)
        with reports.open(summit=slug, as_of=now, since=min(since, now)) as status:
            text = io.StringIO()
            writer.write(status, "md", text)
            html = writer.html(status)
        pdf = None
        if self.attach_pdf:
            from doctrack.services.pdf import html_to_pdf

            pdf = html_to_pdf(html)
        day = i18n.Formats(writer.lang, "UTC").day(now.date())
        subject = writer.env.get_template("reports/mail.subject.txt").render(summit=title, day=day)
        # one line; only ASCII whitespace folds (Babel's narrow no-break spaces stay)
        return _ONE_LINE.sub(" ", subject).strip(), text.getvalue(), html, pdf

    def _message(
        self,
        r: ReminderRecord,
        to_email: str,
        to_name: str,
        slug: str,
        now: datetime,
        subject: str,
        text: str,
        html: str,
        pdf: bytes | None,
    ) -> EmailMessage:
        msg = EmailMessage(policy=SMTP)
        msg["From"] = self.mail_from
        msg["To"] = formataddr((to_name, to_email))
        msg["Subject"] = subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = r.message_id
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(text, subtype="plain", cte="quoted-printable")
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
        if pdf is not None:
            msg.add_attachment(
                pdf,
                maintype="application",
                subtype="pdf",
                filename=f"status-{slug}-{now:%Y-%m-%d}.pdf",
            )
        return msg
