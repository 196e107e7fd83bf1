"""One pass of what goes out after a collection: owed replies and due reminders into the outbox, then to the server."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.collect.run import CollectionSummary
from pipeline.collect.status import CampaignStatus, current_status, write_status
from pipeline.district.setup import Setup
from pipeline.ledger.outgoing_mail import Letter, record_letters, unsent_letters
from pipeline.mail.reminders import due_reminders
from pipeline.mail.replies import owed_replies
from pipeline.mail.send import deliver, drafted_keys, write_drafts
from pipeline.mail.settings import MailSettings, for_campaign


@dataclass
class MailSummary:
    """What went out in one run (or, in a dry run, was written as .eml files), for the command line and Prefect."""

    dry_run: bool
    taken: int = 0  # messages whose reports were taken from the mailbox this run
    sent: int = 0
    held: int = 0  # replies about reports held for the analyst (sender is not the school's address)
    refused: int = 0  # the server refused the address for good
    unsent: int = 0  # recorded, waiting for the next run
    unanswerable: int = 0  # judged files or messages with no register address to answer at
    drafts: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    status: CampaignStatus | None = None  # the status rewritten after a refusal, else None

    def line(self) -> str:
        """«Писем отправлено: 3, задержано на проверке: 1», with refusals and waiting messages when there are any."""
        if self.dry_run:
            written = f"записано {len(self.drafts)} в папку {self.drafts[0].parent}" if self.drafts else "новых нет"
            text = f"Пробный запуск: писем не отправлено, {written}"
        else:
            text = f"Писем отправлено: {self.sent}"
        text += f", задержано на проверке: {self.held}"
        if self.refused:
            text += f", адрес не принимает почту: {self.refused}"
        if self.unsent:
            text += f"; ждут следующего запуска: {self.unsent}"
        return text + "."

    def to_json(self) -> dict[str, object]:
        return {"dry_run": self.dry_run, "taken": self.taken, "sent": self.sent, "held": self.held,
                "refused": self.refused, "unsent": self.unsent, "unanswerable": self.unanswerable,
                "drafts": [str(path) for path in self.drafts], "warnings": self.warnings}


def owed_letters(setup: Setup, settings: MailSettings, engine: Engine, status: CampaignStatus,
                 now: dt.datetime, written: frozenset[str] = frozenset()) -> tuple[list[Letter], int, int]:
    """The replies and reminders not yet in the outbox (nor among the keys *written*: a dry run's drafts);
    with the held and unanswerable counts.

    *status* is the run's: its time is when the run judged its files (they are answered), its states decide
    who is reminded.
    """
    states = {school.code: school.state for school in status.schools}
    with ledger.transaction(engine) as connection:
        replies = owed_replies(setup, settings, connection, status.generated_at, states, now, written)
        reminders = due_reminders(setup, settings, connection, status, now, written)
    return replies.letters + reminders, replies.held, replies.unanswerable


def record_owed(setup: Setup, settings: MailSettings, engine: Engine, status: CampaignStatus,
                now: dt.datetime) -> tuple[int, int]:
    """Record every owed message in the outbox with its bytes (before anything is sent); return held, unanswerable."""
    letters, held, unanswerable = owed_letters(setup, settings, engine, status, now)
    with ledger.transaction(engine) as connection:
        record_letters(connection, letters, now)
    return held, unanswerable


def send_mail(setup: Setup, settings: MailSettings, status: CampaignStatus, now: dt.datetime | None = None,
              dry_run: bool = False) -> MailSummary:
    """Answer what the run judged and remind who is due: record, then send (or write .eml files in a dry run).

    A dry run records nothing: a later real run still sends every message it wrote out.
    """
    now = now or dt.datetime.now().replace(microsecond=0)
    settings, notes = for_campaign(settings, setup.year, now.date())
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        if dry_run or settings.dry_run:
            written = drafted_keys(setup.outputs, setup.year)
            letters, held, unanswerable = owed_letters(setup, settings, engine, status, now, written)
            drafts = write_drafts(setup.outputs, setup.year, letters)
            return MailSummary(True, held=held, unanswerable=unanswerable, drafts=drafts, warnings=notes)
        held, unanswerable = record_owed(setup, settings, engine, status, now)
        delivery = deliver(engine, settings, setup.year, now)
        with ledger.transaction(engine) as connection:
            unsent = len(unsent_letters(connection, setup.year))
        refreshed = None
        if delivery.refused:  # status.html shows refused addresses: written again with this run's
            refreshed = current_status(setup, engine, status.generated_at)
            write_status(setup.outputs, refreshed)
        return MailSummary(False, sent=delivery.sent, held=held, refused=delivery.refused, unsent=unsent,
                           unanswerable=unanswerable, warnings=[delivery.warning] if delivery.warning else [],
                           status=refreshed)
    finally:
        engine.dispose()


@dataclass
class MailedCollection(CollectionSummary):
    """A collection run and what went out by mail after it (None: no [mail] in district.toml)."""

    mail: MailSummary | None = None

    def to_json(self, with_files: bool = True) -> dict[str, Any]:
        result = super().to_json(with_files)
        if self.mail is not None:
            result["mail"] = self.mail.to_json()
        return result


def with_mail(summary: CollectionSummary, mail: MailSummary | None) -> MailedCollection:
    """*summary* with *mail*; its status the one rewritten after the mail went out, if it was."""
    values = {item.name: getattr(summary, item.name) for item in fields(CollectionSummary)}
    if mail is not None and mail.status is not None:
        values["status"] = mail.status
    return MailedCollection(**values, mail=mail)
