"""Reminder emails in the recipient's language: Russian from the ``email`` catalogue,
English for everyone else; Babel dates, Russian plural forms, RFC 2047 subjects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from test_emails import (
    BASE_URL,
    DUE,
    as_sent,
    bodies,
    deadline_mail,
    parse,
    summit_mail,
)
from tracking_support import add, set_clock

from doctrack.engine.registry import Workflows
from doctrack.errors import UsageError
from doctrack.resources import data_dir
from doctrack.services.emails import (
    MailRenderer,
    RenderedMessage,
    SummitMailItem,
    templates_folder,
)
from doctrack.services.notify import Delivery, Outcome, SmtpSender
from doctrack.services.reminders import Dispatcher
from doctrack.services.tracking import Tracker
from helpers import ROOT, WORKFLOWS
from smtp_support import SmtpTestServer

TEMPLATES = data_dir("templates")
CATALOGUE = TEMPLATES / "locale" / "ru" / "LC_MESSAGES" / "email.po"

RU_DEADLINE_SUBJECT = (
    "[doctrack] Convention on countering extremism (convention-extremism): "
    "статус «Согласован ad referendum» — через 14 дней"
)
RU_DEADLINE_TEXT = f"""\
Здравствуйте, Chief Coordinator!

Документ «Convention on countering extremism» (convention-extremism) должен получить \
статус «Согласован ad referendum» не позднее 9 мая 2016\u202fг., 00:00 (Asia/Tashkent, \
UTC+05:00): через 14 дней.

Документ:         Convention on countering extremism (convention-extremism)
Текущий статус:   Экспертное рассмотрение
Требуемый статус: Согласован ad referendum
Срок:             9 мая 2016\u202fг., 00:00 (Asia/Tashkent, UTC+05:00), через 14 дней
Саммит:           Council of Heads of State, Tashkent, открытие 23 июня 2016\u202fг.

Ещё требуется:
- одобрение текущей редакции сторонами: CN, RU
- связанный документ anti-narcotics-strategy: ещё не принят (статус: Подготовка проекта)

Открыть документ: {BASE_URL}/instruments/convention-extremism

-- 
doctrack направляет это напоминание за 14 дней до истечения срока. Письмо сформировано \
автоматически, отвечать на него не нужно.
"""  # noqa: W291 - the signature separator is "-- " (with its space)

RU_SUMMIT_SUBJECT = (
    "[doctrack] Council of Heads of State, Tashkent, через 30 дней: 3 незавершённых документа"
)
RU_SUMMIT_TEXT = f"""\
Здравствуйте, Secretary!

Саммит «Council of Heads of State» (t16) пройдёт в городе Tashkent с 23 июня 2016\u202fг. \
по 24 июня 2016\u202fг. (Asia/Tashkent). До открытия осталось 30 дней.

3 документа ещё не достигли завершающей стадии:

- Convention on countering extremism (convention-extremism)
  Статус:         Экспертное рассмотрение
  Следующий этап: «Согласован ad referendum» не позднее 9 мая 2016\u202fг., 00:00 \
(Asia/Tashkent, UTC+05:00), СРОК ПРОПУЩЕН
  {BASE_URL}/instruments/convention-extremism

- Action Plan 2017-2022 (action-plan)
  Статус:         Согласован экспертами
  Следующий этап: «Одобрен Советом министров иностранных дел» не позднее 9 июня 2016\u202fг., \
00:00 (Asia/Tashkent, UTC+05:00), через 16 дней
  {BASE_URL}/instruments/action-plan

- Plan of measures 2016-2020 (crime-plan)
  Статус:         Подготовка проекта
  Следующий этап: ближайших сроков нет
  {BASE_URL}/instruments/crime-plan

Открыть страницу саммита: {BASE_URL}/summits/t16

-- 
doctrack направляет это напоминание за 30 дней до начала саммита. Письмо сформировано \
автоматически, отвечать на него не нужно.
"""  # noqa: W291


@pytest.fixture(scope="module")
def renderer() -> MailRenderer:
    return MailRenderer(
        TEMPLATES, base_url=BASE_URL + "/", mail_from="Doctrack <doctrack@example.org>"
    )


def summit_items() -> tuple[SummitMailItem, ...]:
    """The summit reminder's instruments, with labels of the shipped workflows."""
    plan = summit_mail().instruments[1]
    return (
        summit_mail().instruments[0],
        SummitMailItem(
            slug=plan.slug,
            title=plan.title,
            state_label="Agreed by experts",
            next_milestone_label="Approved by the Council of Foreign Ministers",
            next_due=plan.next_due,
            next_status="pending",
        ),
        summit_mail().instruments[2],
    )


# -- what a Russian email says -------------------------------------------------------------


def test_a_deadline_reminder_in_russian(renderer: MailRenderer) -> None:
    msg = renderer.deadline(deadline_mail(lang="ru"))
    text, html = bodies(msg)
    assert msg["Subject"] == RU_DEADLINE_SUBJECT
    assert msg["Content-Language"] == "ru"
    assert text == RU_DEADLINE_TEXT
    assert '<html lang="ru">' in html
    assert (
        "Документ «<strong>Convention on countering extremism</strong>» (convention-extremism) "
        "должен получить статус «<strong>Согласован ad referendum</strong>» не позднее "
        "9 мая 2016\u202fг., 00:00 (Asia/Tashkent, UTC+05:00): <strong>через 14 дней</strong>."
    ) in html
    assert '<td style="padding:4px 0;">Экспертное рассмотрение</td>' in html
    assert (
        "связанный документ anti-narcotics-strategy: ещё не принят (статус: Подготовка проекта)"
        in html
    )
    assert "Agreed ad referendum" not in text + html  # the labels are translated too


def test_a_late_deadline_reminder_says_so_in_russian(renderer: MailRenderer) -> None:
    later = datetime(2016, 4, 26, 5, 30, tzinfo=UTC)
    text, html = bodies(renderer.deadline(deadline_mail(lang="ru", late=True, now=later)))
    line = (
        "Это напоминание следовало отправить 25 апреля 2016\u202fг., 09:00 (Asia/Tashkent, "
        "UTC+05:00); оно направляется с опозданием."
    )
    assert f"\n{line}\n" in text
    assert line in html
    assert "через 13 дней" in text


def test_a_summit_reminder_in_russian(renderer: MailRenderer) -> None:
    msg = renderer.summit(summit_mail(lang="ru", instruments=summit_items()))
    text, html = bodies(msg)
    assert msg["Subject"] == RU_SUMMIT_SUBJECT
    assert text == RU_SUMMIT_TEXT
    assert (
        "Саммит «<strong>Council of Heads of State</strong>» (t16) пройдёт в городе "
        "<strong>Tashkent</strong> с 23 июня 2016\u202fг. по 24 июня 2016\u202fг. (Asia/Tashkent). "
        "<strong>До открытия осталось 30 дней.</strong>"
    ) in html
    for header in ("Документ", "Статус", "Следующий этап", "Срок"):
        assert f">{header}</th>" in html
    assert '<strong style="color:#cf222e;">СРОК ПРОПУЩЕН</strong>' in html
    assert ">ближайших сроков нет</td>" in html


def test_dates_are_babel_s_in_russian(renderer: MailRenderer) -> None:
    # CLDR's long date, with a narrow no-break space before "г." (год): never a line apart.
    _, html = bodies(renderer.deadline(deadline_mail(lang="ru")))
    assert "открытие 23 июня 2016\u202fг." in html
    text, _ = bodies(renderer.summit(summit_mail(lang="ru")))
    assert "с 23 июня 2016\u202fг. по 24 июня 2016\u202fг." in text
    assert "9 июня 2016\u202fг., 00:00 (Asia/Tashkent, UTC+05:00)" in text


@pytest.mark.parametrize(
    ("days", "day_word", "left_word", "instruments_line"),
    [
        (1, "1 день", "Открытие — завтра.", "1 документ ещё не достиг завершающей стадии:"),
        (2, "2 дня", "До открытия осталось 2 дня.", "2 документа ещё не достигли"),
        (5, "5 дней", "До открытия осталось 5 дней.", "5 документов ещё не достигли"),
        (11, "11 дней", "До открытия осталось 11 дней.", "11 документов ещё не достигли"),
        (21, "21 день", "До открытия остался 21 день.", "21 документ ещё не достиг"),
    ],
)
def test_russian_plural_forms(
    renderer: MailRenderer, days: int, day_word: str, left_word: str, instruments_line: str
) -> None:
    # A deadline `days` calendar days away, and a reminder sent `days` days before.
    now = DUE - timedelta(days=days)
    msg = renderer.deadline(deadline_mail(lang="ru", now=now, send_at=now, days_before=days))
    text, html = bodies(msg)
    assert str(msg["Subject"]).endswith(f"— через {day_word}")
    assert (
        f"Срок:             9 мая 2016\u202fг., 00:00 (Asia/Tashkent, UTC+05:00), "
        f"через {day_word}\n" in text
    )
    footer = f"doctrack направляет это напоминание за {day_word} до истечения срока."
    assert footer in text
    assert footer in html
    # A summit `days` days away, with `days` open instruments.
    summit_now = datetime(2016, 6, 23, 4, 0, tzinfo=UTC) - timedelta(days=days)
    items = tuple(
        SummitMailItem(
            slug=f"i{n}",
            title=f"Instrument {n}",
            state_label="Drafting",
            next_milestone_label=None,
            next_due=None,
            next_status=None,
        )
        for n in range(days)
    )
    summit = renderer.summit(
        summit_mail(
            lang="ru", now=summit_now, send_at=summit_now, days_before=days, instruments=items
        )
    )
    text, html = bodies(summit)
    assert left_word in text
    assert left_word in html
    assert instruments_line in text
    open_word = {
        1: "1 незавершённый документ",
        2: "2 незавершённых документа",
        5: "5 незавершённых документов",
        11: "11 незавершённых документов",
        21: "21 незавершённый документ",
    }[days]
    assert summit["Subject"] == (
        f"[doctrack] Council of Heads of State, Tashkent, через {day_word}: {open_word}"
    )
    assert f"за {day_word} до начала саммита." in text


def test_overdue_today_and_in_session_in_russian(renderer: MailRenderer) -> None:
    overdue = renderer.deadline(deadline_mail(lang="ru", now=DUE + timedelta(hours=1)))
    assert str(overdue["Subject"]).endswith("— срок истёк")
    evening = datetime(2016, 5, 9, 13, 0, tzinfo=UTC)  # 18:00 in Tashkent
    morning = datetime(2016, 5, 9, 4, 0, tzinfo=UTC)
    today = renderer.deadline(deadline_mail(lang="ru", due=evening, now=morning))
    assert str(today["Subject"]).endswith("— сегодня")
    in_session = datetime(2016, 6, 23, 6, 0, tzinfo=UTC)
    summit = renderer.summit(summit_mail(lang="ru", now=in_session, send_at=in_session))
    assert summit["Subject"] == (
        "[doctrack] Council of Heads of State, Tashkent, саммит идёт: 3 незавершённых документа"
    )
    assert "Открытие — сегодня." in bodies(summit)[0]
    after = datetime(2016, 6, 25, 6, 0, tzinfo=UTC)  # the day after the summit's last day
    over = renderer.summit(summit_mail(lang="ru", now=after, send_at=after, late=True))
    assert over["Subject"] == (
        "[doctrack] Council of Heads of State, Tashkent, саммит завершён: 3 незавершённых документа"
    )


# -- who gets which language --------------------------------------------------------------


def test_languages_without_a_catalogue_get_english(renderer: MailRenderer) -> None:
    english = as_sent(renderer.deadline(deadline_mail()))
    for lang in ("de", "en-GB", "", "xx-YY", "DE"):
        assert as_sent(renderer.deadline(deadline_mail(lang=lang))) == english
        assert renderer.language_for(lang) == "en"
    assert as_sent(renderer.deadline(deadline_mail(lang="ru-RU"))) == as_sent(
        renderer.deadline(deadline_mail(lang="ru"))
    )
    assert renderer.language_for("ru_RU") == "ru"
    assert renderer.languages == ("en", "ru")
    assert renderer.deadline(deadline_mail(lang="de"))["Content-Language"] == "en"


def test_the_same_reminder_in_english_and_in_russian(renderer: MailRenderer) -> None:
    english = renderer.deadline(deadline_mail(lang="en"))
    russian = renderer.deadline(deadline_mail(lang="ru"))
    assert english["Subject"] == (
        "[doctrack] Convention on countering extremism (convention-extremism): "
        '"Agreed ad referendum" due in 14 days'
    )
    assert russian["Subject"] == RU_DEADLINE_SUBJECT
    assert bodies(english)[0].startswith("Dear Chief Coordinator,\n")
    assert bodies(russian)[0].startswith("Здравствуйте, Chief Coordinator!\n")
    assert english["Message-ID"] == russian["Message-ID"]


def test_html_stays_escaped_inside_translated_sentences(renderer: MailRenderer) -> None:
    title = 'Конвенция <script>alert("x")</script> & co'
    msg = renderer.deadline(deadline_mail(lang="ru", instrument_title=title, to_name="<b>Иван</b>"))
    text, html = bodies(msg)
    assert f"Документ «{title}»" in text
    assert "<script>" not in html
    assert "Здравствуйте, &lt;b&gt;Иван&lt;/b&gt;!" in html
    assert (
        "«<strong>Конвенция &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co</strong>»"
        in html
    )


# -- the wire ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["deadline", "summit"])
def test_a_russian_subject_is_rfc2047_encoded_and_the_wire_form_holds(
    renderer: MailRenderer, kind: str
) -> None:
    msg = (
        renderer.deadline(deadline_mail(lang="ru"))
        if kind == "deadline"
        else renderer.summit(summit_mail(lang="ru", instruments=summit_items()))
    )
    assert isinstance(msg, RenderedMessage)
    wire = msg.wire()
    assert wire is not None
    data = wire[2]
    assert data == as_sent(msg)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert b"\r\nSubject: =?utf-8?b?" in head
    back = parse(data)
    assert back["Subject"] == msg["Subject"]
    assert bodies(back)[0].replace("\r\n", "\n") == bodies(msg)[0]
    assert bodies(back)[1].replace("\r\n", "\n") == bodies(msg)[1]


# -- through the dispatcher ------------------------------------------------------------------

#: The 14-day reminders of `agreed` (due 2016-05-09 00:00+05:00) go out then.
AGREED_14 = "2016-04-25T09:00:00+05:00"


class Collecting:
    """A sender that keeps the messages."""

    def __init__(self) -> None:
        self.messages: dict[str, RenderedMessage] = {}

    def send(self, deliveries: list[Delivery]) -> list[Outcome]:
        for d in deliveries:
            assert isinstance(d.message, RenderedMessage)
            self.messages[d.message["To"].addresses[0].addr_spec] = d.message
        return [Outcome(d.reminder_id, sent=True) for d in deliveries]


def add_coordinators(world: Tracker) -> None:
    world.add_user(
        "ivanov",
        email="ivanov@example.org",
        full_name="Иван Иванов",
        roles=["coordinator"],
        language="ru",
        actor="setup",
    )
    world.add_user(
        "mueller", email="mueller@example.org", roles=["coordinator"], language="de", actor="setup"
    )


def dispatcher(world: Tracker, sender: object) -> Dispatcher:
    renderer = MailRenderer(
        templates_folder(None), base_url="http://doctrack.test", mail_from="doctrack@example.org"
    )
    return Dispatcher(world.db, world.workflows, world.clock, renderer, sender, name="d")  # type: ignore[arg-type]


def test_each_recipient_gets_the_reminder_in_their_language(world: Tracker) -> None:
    add_coordinators(world)
    add(world, "conv")
    set_clock(world, AGREED_14)
    sender = Collecting()
    report = dispatcher(world, sender).run()
    assert report.sent == 4  # coord (en), kz (en), ivanov (ru), mueller (de)
    by_to = sender.messages
    english_subject = '[doctrack] Instrument conv (conv): "Agreed ad referendum" due in 14 days'
    assert by_to["coord@example.org"]["Subject"] == english_subject
    assert by_to["kz@example.org"]["Subject"] == english_subject
    assert by_to["mueller@example.org"]["Subject"] == english_subject
    assert by_to["mueller@example.org"]["Content-Language"] == "en"
    russian = by_to["ivanov@example.org"]
    assert russian["Subject"] == (
        "[doctrack] Instrument conv (conv): статус «Согласован ad referendum» — через 14 дней"
    )
    assert russian["Content-Language"] == "ru"
    text = bodies(russian)[0]
    assert text.startswith("Здравствуйте, Иван Иванов!\n")
    assert "Текущий статус:   Подготовка проекта\n" in text
    assert "- одобрение текущей редакции сторонами: CN, KG, KZ, RU, TJ, UZ\n" in text


def test_a_russian_reminder_through_a_real_smtp_server(
    world: Tracker, smtp_server: SmtpTestServer
) -> None:
    add_coordinators(world)
    add(world, "conv")
    set_clock(world, AGREED_14)
    sender = SmtpSender(smtp_server.host, smtp_server.port, timeout=10)
    assert dispatcher(world, sender).run().sent == 4
    got = {m.rcpt_tos: m for m in smtp_server.messages}
    delivered = got[("ivanov@example.org",)]
    head = delivered.raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"\r\nSubject: =?utf-8?b?" in head
    assert b"\r\nContent-Language: ru\r\n" in head
    message = delivered.message  # decoded by the email package
    assert message["Subject"] == (
        "[doctrack] Instrument conv (conv): статус «Согласован ad referendum» — через 14 дней"
    )
    assert message["To"].addresses[0].display_name == "Иван Иванов"
    text = message.get_body(("plain",)).get_content()
    lines = text.replace("\r\n", "\n").splitlines()
    assert lines[0] == "Здравствуйте, Иван Иванов!"
    assert (
        "Документ «Instrument conv» (conv) должен получить статус «Согласован ad referendum» "
        "не позднее 9 мая 2016\u202fг., 00:00 (Asia/Tashkent, UTC+05:00): через 14 дней."
    ) in lines
    assert (
        "Срок:             9 мая 2016\u202fг., 00:00 (Asia/Tashkent, UTC+05:00), "
        "через 14 дней" in lines
    )
    assert "Открыть документ: http://doctrack.test/instruments/conv" in lines
    html = message.get_body(("html",)).get_content()
    assert '<html lang="ru">' in html
    english = got[("coord@example.org",)].message
    assert (
        english["Subject"]
        == '[doctrack] Instrument conv (conv): "Agreed ad referendum" due in 14 days'
    )
    assert "Dear coord," in english.get_body(("plain",)).get_content()


# -- the catalogue ---------------------------------------------------------------------------


def extracted() -> dict[str, str | tuple[str, ...]]:
    """Every msgid of templates/email, extracted as scripts/i18n does (babel.cfg)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2)}
    found: dict[str, str | tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(TEMPLATES / "email"), method_map, options_map, keywords=keywords
    ):
        key = message if isinstance(message, str) else message[0]
        found[key] = message
    return found


def test_every_message_of_the_templates_is_translated_in_russian() -> None:
    with CATALOGUE.open("rb") as fh:
        catalog = read_po(fh, locale="ru", domain="email")
    assert catalog.num_plurals == 3
    messages = extracted()
    assert len(messages) > 40
    assert {"Dear %(name)s,", "in %(num)d day", "Drafting", "MISSED"} <= set(messages)
    for key, message in messages.items():
        entry = catalog.get(key)
        assert entry is not None, f"not in the ru catalogue: {key!r}"
        assert not entry.fuzzy, f"fuzzy: {key!r}"
        if isinstance(message, tuple):
            assert entry.id == message, key
            assert isinstance(entry.string, tuple) and len(entry.string) == 3, key
            assert all(entry.string), f"a plural form is missing: {key!r}"
        else:
            assert isinstance(entry.string, str) and entry.string, f"untranslated: {key!r}"
    # Placeholders match (Babel's python-format checks), and nothing obsolete lingers.
    assert [(m.id, errors) for m, errors in catalog.check() if errors] == []
    assert not catalog.obsolete
    assert {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id} == set(messages)


def test_every_state_label_of_the_workflows_is_translated() -> None:
    with CATALOGUE.open("rb") as fh:
        catalog = read_po(fh, locale="ru", domain="email")
    workflows = Workflows.from_folder(WORKFLOWS)
    labels = {
        state.label for name in workflows.names() for state in workflows.get(name).states.values()
    }
    assert "Agreed ad referendum" in labels
    for label in labels:
        entry = catalog.get(label)
        assert entry is not None and entry.string and not entry.fuzzy, label


# -- templates folders -----------------------------------------------------------------------


def test_a_custom_template_is_translated_by_the_packaged_catalogue(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "deadline.txt").write_text(
        '{{ _("Due:") }} {{ due|local(tz, false) }}, {{ due|days_until(now, tz) }}\n'
        "{% trans %}Milestone:{% endtrans %} {{ milestone_label }}\n"
        "{{ _(instrument_slug) }} "
        "{{ ngettext('in %(num)d day', 'in %(num)d days', days_before) }}\n",
        encoding="utf-8",
    )
    custom = MailRenderer(tmp_path, base_url=BASE_URL, mail_from="doctrack@localhost")
    assert custom.languages == ("en", "ru")
    text, _ = bodies(custom.deadline(deadline_mail(lang="ru", days_before=21)))
    assert text == (
        "Срок: 9 мая 2016\u202fг., 00:00, через 14 дней\n"
        "Требуемый статус: Согласован ad referendum\n"
        "convention-extremism через 21 день\n"
    )
    text, _ = bodies(custom.deadline(deadline_mail(days_before=1)))
    assert text == (
        "Due: Mon 9 May 2016, 00:00, in 14 days\n"
        "Milestone: Agreed ad referendum\n"
        "convention-extremism in 1 day\n"
    )


def test_a_broken_catalogue_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "locale" / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "email.po").write_text('msgid "Due:"\n', encoding="utf-8")  # no msgstr
    with pytest.raises(UsageError, match=r"email\.po"):
        MailRenderer(tmp_path, base_url=BASE_URL, mail_from="doctrack@localhost")
