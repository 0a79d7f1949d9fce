"""The dispatcher against a real SMTP server (aiosmtpd): on time, retried, never lost.

Time is the tracker's fixed clock; the server is real and local.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from test_reminder_planning import listing, milestone_rows
from tracking_support import add, local, set_clock

from doctrack.errors import NotAllowedError, NotFoundError, RefusedError
from doctrack.services import reminders as reminders_module
from doctrack.services.emails import MailRenderer, templates_folder
from doctrack.services.notify import SmtpSender
from doctrack.services.reminders import Dispatcher, ReminderDesk
from doctrack.services.tracking import Tracker
from smtp_support import SmtpTestServer


def dispatcher(t: Tracker, server: SmtpTestServer, name: str = "d1") -> Dispatcher:
    renderer = MailRenderer(
        templates_folder(None), base_url="http://doctrack.test", mail_from="doctrack@example.org"
    )
    sender = SmtpSender(server.host, server.port, timeout=10)
    return Dispatcher(t.db, t.workflows, t.clock, renderer, sender, name=name)


def received_ids(server: SmtpTestServer) -> Counter[str]:
    return Counter(str(m.message["Message-ID"]) for m in server.messages)


# The 14-day reminders of `agreed` (due 2016-05-09 00:00+05:00) go out 2016-04-25 09:00+05:00.
AGREED_14 = "2016-04-25T09:00:00+05:00"


def test_nothing_goes_out_a_second_early_and_everything_at_its_time(
    world: Tracker, smtp_server: SmtpTestServer
) -> None:
    add(world, "conv")
    d = dispatcher(world, smtp_server)
    set_clock(world, local(AGREED_14) - timedelta(seconds=1))
    assert d.run().claimed == 0
    set_clock(world, AGREED_14)
    report = d.run()
    assert (report.sent, report.late) == (2, 0)  # coordinator and KZ's delegate
    rows = listing(world, instrument="conv", status="sent")
    assert {r["user"] for r in rows} == {"coord", "kz"}
    assert set(received_ids(smtp_server)) == {r["message_id"] for r in rows}
    message = smtp_server.messages[0].message
    assert "in 14 days" in message.get_body(("plain",)).get_content()
    assert "sent late" not in message.get_body(("plain",)).get_content()
    assert d.run().claimed == 0  # nothing twice


def test_a_run_asked_to_stop_ends_after_the_batch_in_flight(
    world: Tracker, smtp_server: SmtpTestServer
) -> None:
    """The scheduler's SIGTERM: the batch being sent is finished, the backlog waits."""
    add(world, "conv")
    add(world, "conv2")
    set_clock(world, local(AGREED_14) + timedelta(hours=1))  # 4 due: two per instrument
    d = dispatcher(world, smtp_server)
    d.policy = replace(d.policy, batch=1)
    asked: list[int] = []

    def stopping() -> bool:
        asked.append(len(smtp_server.messages))
        return len(asked) > 1  # asked before the first batch (no), then after it (yes)

    report = d.run(stopping=stopping)
    assert (report.claimed, report.sent, asked) == (1, 1, [0, 1])
    assert d.run().sent == 3  # the next run sends the rest
    assert len(received_ids(smtp_server)) == 4


def test_a_reminder_due_while_nothing_ran_goes_out_marked_late(
    world: Tracker, smtp_server: SmtpTestServer
) -> None:
    add(world, "conv")
    set_clock(world, local(AGREED_14) + timedelta(hours=3))
    report = dispatcher(world, smtp_server).run()
    assert (report.sent, report.late) == (2, 2)
    assert {r["status"] for r in listing(world, instrument="conv", days=14)} >= {"sent"}
    text = smtp_server.messages[0].message.get_body(("plain",)).get_content()
    assert "sent late" in text


def test_a_451_is_retried_after_backoff_and_delivered_once(
    world: Tracker, smtp_server: SmtpTestServer
) -> None:
    add(world, "conv")
    d = dispatcher(world, smtp_server)
    set_clock(world, AGREED_14)
    smtp_server.fail_next(2, "451 4.3.0 try later")
    report = d.run()
    assert (report.sent, report.retrying) == (0, 2)
    waiting = listing(world, instrument="conv", days=14, deadline_id=1)
    assert {r["status"] for r in waiting} == {"pending"}
    with world.db.read() as conn:
        from doctrack.storage import reminders as store

        rows = [store.get(conn, r["id"]) for r in waiting]
    assert {r.last_error for r in rows if r} == {"451 4.3.0 try later"}
    assert {r.next_attempt_at for r in rows if r} == {local(AGREED_14) + timedelta(minutes=5)}
    set_clock(world, local(AGREED_14) + timedelta(minutes=4))
    assert d.run().claimed == 0  # not before the backoff
    set_clock(world, local(AGREED_14) + timedelta(minutes=5))
    assert d.run().sent == 2
    assert set(received_ids(smtp_server).values()) == {1}
    assert len(received_ids(smtp_server)) == 2


def test_a_550_fails_only_that_recipient_and_keeps_the_reply(
    world: Tracker, smtp_server: SmtpTestServer
) -> None:
    add(world, "conv")
    smtp_server.reply_for("kz@example.org", "550 5.1.1 no such user")
    set_clock(world, AGREED_14)
    report = dispatcher(world, smtp_server).run()
    assert (report.sent, report.failed) == (1, 1)
    failed = list(ReminderDesk(world.db, world.clock).list(status="failed"))
    assert [(f.user, f.status) for f in failed] == [("kz", "failed")]
    assert failed[0].last_error is not None and "550" in failed[0].last_error
    assert "no such user" in failed[0].to_json()["last_error"]


def test_server_down_then_up_nothing_lost_nothing_twice(
    world: Tracker, smtp_server: SmtpTestServer
) -> None:
    add(world, "conv")
    d = dispatcher(world, smtp_server)
    set_clock(world, "2016-05-24T10:00:00+05:00")  # 7 due: late, but planned in time
    smtp_server.stop()
    first = d.run()
    assert first.sent == 0
    assert first.retrying == first.claimed == 7
    smtp_server.start()
    set_clock(world, "2016-05-24T10:05:00+05:00")
    second = d.run()
    assert second.sent == second.claimed == 7
    ids = received_ids(smtp_server)
    assert set(ids.values()) == {1}
    assert set(ids) == {r["message_id"] for r in listing(world, status="sent")}


def test_transient_failures_give_up_after_a_day(
    world: Tracker, smtp_server: SmtpTestServer
) -> None:
    add(world, "conv")
    d = dispatcher(world, smtp_server)
    set_clock(world, AGREED_14)
    smtp_server.stop()
    start = local(AGREED_14)
    attempts = []
    for hours in range(30):
        set_clock(world, start + timedelta(hours=hours))
        report = d.run()
        if report.claimed:
            attempts.append((hours, report.retrying, report.failed))
    assert attempts[0] == (0, 2, 0)
    assert attempts[-1][2] == 2  # failed after the retry window
    assert attempts[-1][0] >= 24
    failed = list(ReminderDesk(world.db, world.clock).list(status="failed"))
    assert len(failed) == 2
    for f in failed:
        assert re.match(r"gave up after 1 day( \d+ hours?)? of failures: ", f.last_error or "")


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(0), "0 minutes"),
        (timedelta(seconds=59), "0 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(hours=2, minutes=25, seconds=7), "2 hours 25 minutes"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=1, hours=1, minutes=59), "1 day 1 hour"),
        (timedelta(days=3461, hours=6, minutes=56, seconds=14.98), "3461 days 6 hours"),
    ],
)
def test_spans_are_said_in_words(span: timedelta, words: str) -> None:
    assert reminders_module._span(span) == words


def test_an_expired_lease_is_taken_over(world: Tracker, smtp_server: SmtpTestServer) -> None:
    add(world, "conv")
    set_clock(world, AGREED_14)
    first, second = dispatcher(world, smtp_server, "a"), dispatcher(world, smtp_server, "b")
    held = first.claim(10)  # claimed, then the process "dies" before sending
    assert len(held) == 2
    set_clock(world, local(AGREED_14) + timedelta(minutes=9))
    assert second.run().claimed == 0  # the lease still holds
    set_clock(world, local(AGREED_14) + timedelta(minutes=11))
    assert second.run().sent == 2
    assert len(received_ids(smtp_server)) == 2


def test_staff_retry_and_cancel(world: Tracker, smtp_server: SmtpTestServer) -> None:
    add(world, "conv")
    desk = ReminderDesk(world.db, world.clock)
    pending = milestone_rows(world, "conv", "approved", days=7, user="coord")[0]
    desk.cancel(pending["id"], as_user="sec")
    again = next(r for r in listing(world) if r["id"] == pending["id"])
    assert (again["status"], again["note"]) == ("cancelled", "cancelled by sec")
    world.plan_reminders()  # planning does not undo a staff cancellation
    assert next(r for r in listing(world) if r["id"] == pending["id"])["status"] == "cancelled"
    with pytest.raises(RefusedError, match="only a pending one"):
        desk.cancel(pending["id"], as_user="sec")
    with pytest.raises(NotAllowedError):
        desk.cancel(pending["id"], as_user="drafter")
    with pytest.raises(NotFoundError):
        desk.cancel(99999, as_user="sec")
    desk.retry(pending["id"], as_user="coord")
    assert next(r for r in listing(world) if r["id"] == pending["id"])["status"] == "pending"
    assert dispatcher(world, smtp_server).run().sent >= 1
    assert pending["message_id"] in received_ids(smtp_server)
    with pytest.raises(RefusedError, match="only a failed or cancelled"):
        desk.retry(pending["id"], as_user="coord")
