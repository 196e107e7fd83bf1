"""Reminders on the chosen days around the deadline, to expected schools with no accepted report, template attached."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy.engine import Connection

from pipeline.collect.senders import register_address
from pipeline.collect.status import CampaignStatus
from pipeline.district.roadmap import Campaign
from pipeline.district.setup import Setup
from pipeline.ledger.outgoing_mail import Letter, LetterKind, recorded_keys, reminder_key
from pipeline.mail.compose import AUTO_GENERATED, XLSX_TYPE, Attachment, build_message, usable_address
from pipeline.mail.letters import SENDER_NAME, reminder_letter
from pipeline.mail.replies import letterhead
from pipeline.mail.settings import MailSettings
from pipeline.statuses import SchoolState

# Scheduled runs fire on working days only: a reminder day on a weekend is caught up on the Monday
# (or after a long holiday), never later: a week-old reminder would cross the next one.
CATCH_UP_DAYS = 3
WITHOUT_REPORT = (SchoolState.MISSING, SchoolState.REJECTED)


def reminder_days(campaign: Campaign, settings: MailSettings) -> list[dt.date]:
    """The days reminders are due: N days before the deadline and the chosen days after it, in order."""
    before = {campaign.deadline - dt.timedelta(days=days) for days in settings.reminder_days_before}
    after = {campaign.deadline + dt.timedelta(days=days) for days in settings.reminder_days_after if days}
    return sorted(before | after)


def due_reminder_day(campaign: Campaign, settings: MailSettings, today: dt.date) -> dt.date | None:
    """The reminder day a run on *today* answers: the latest one not after today, within the catch-up and the
    collection window; None when no reminder is due."""
    if not campaign.window_open <= today <= campaign.window_close:
        return None
    passed = [day for day in reminder_days(campaign, settings) if day <= today]
    if not passed or (today - passed[-1]).days > CATCH_UP_DAYS:
        return None
    return passed[-1]


def due_reminders(setup: Setup, settings: MailSettings, connection: Connection, status: CampaignStatus,
                  now: dt.datetime, written: frozenset[str] = frozenset()) -> list[Letter]:
    """The reminders due now and not yet in the outbox (nor among *written*, a dry run's drafts): one per
    school and reminder day (the outbox key)."""
    day = due_reminder_day(setup.campaign, settings, now.date())
    if day is None:
        return []
    waiting = [school for school in status.schools if school.state in WITHOUT_REPORT]
    done = recorded_keys(connection, [reminder_key(school.code, day) for school in waiting]) | written
    from pipeline.xlsx.templates import build_template  # openpyxl: ≈ 0.2 s to import, only when a reminder is due

    head = letterhead(setup, settings)
    letters = []
    for standing in waiting:
        school = setup.register[standing.code]
        recipient = usable_address(register_address(school))
        if recipient is None or reminder_key(school.code, day) in done:
            continue
        template_name = f"Шаблон_ИБЦ_{setup.year}_{school.code}.xlsx"
        subject, body = reminder_letter(head, school.name, school.code, now.date(),
                                        standing.state == SchoolState.REJECTED, template_name)
        buffer = io.BytesIO()
        build_template(setup.district, school, setup.year, send_to=settings.reply_to).save(buffer)
        message = build_message(settings, SENDER_NAME, recipient, subject, body,
                                [Attachment(template_name, buffer.getvalue(), *XLSX_TYPE)], now, auto=AUTO_GENERATED)
        letters.append(Letter(setup.year, LetterKind.REMINDER, reminder_key(school.code, day), school.code, recipient,
                              subject, message))
    return letters
