"""What the ledger records and tells of the messages taken from the district's mailbox and the files they left."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.ledger.queries import chunks
from pipeline.ledger.tables import mail_files, mail_messages


class MailOutcome(StrEnum):
    """What became of one message in the mailbox; the value is what the ledger holds."""

    TAKEN = "taken"  # its spreadsheets are in the drop folder
    # The Message-ID of a message recorded before (the mailbox rebuilt with a new UIDVALIDITY, or the same
    # message delivered twice): nothing is taken and nothing is answered again.
    DUPLICATE = "duplicate"
    NO_ATTACHMENT = "no_attachment"  # nothing usable attached: the sender is told what to send
    AUTO_REPLY = "auto_reply"  # an auto-reply or a bounce: never a report, never answered
    REFUSED = "refused"  # too big, a zip bomb, broken: the sender is told why (detail)


@dataclass(frozen=True)
class MailMessage:
    """One message as intake records it, with the drop-folder paths of the attachments it saved."""

    uidvalidity: int
    uid: int
    message_id: str | None
    sender: str | None
    received_at: dt.datetime
    outcome: MailOutcome
    detail: str | None = None
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordedMail:
    """A message the ledger holds, as the replies need it (its id keys the reply: «mail:<id>»)."""

    id: int
    message_id: str | None
    sender: str | None
    received_at: dt.datetime
    outcome: MailOutcome
    detail: str | None


class MailFacts(NamedTuple):
    """Where a drop-folder file came from, when it came by mail."""

    sender: str | None
    received_at: dt.datetime
    message_id: str | None


def record_mail(connection: Connection, message: MailMessage) -> int:
    """Record one message taken from the mailbox and the files it saved; return its id."""
    message_id = connection.execute(mail_messages.insert().values(
        uidvalidity=message.uidvalidity, uid=message.uid, message_id=message.message_id, sender=message.sender,
        received_at=message.received_at, outcome=str(message.outcome), detail=message.detail,
    )).inserted_primary_key[0]
    if message.paths:
        connection.execute(mail_files.insert(), [{"message": message_id, "path": path} for path in message.paths])
    return message_id


def taken_uids(connection: Connection, uidvalidity: int) -> set[int]:
    """The UIDs of the mailbox (as of *uidvalidity*) whose messages are recorded, whatever became of them."""
    query = select(mail_messages.c.uid).where(mail_messages.c.uidvalidity == uidvalidity)
    return set(connection.execute(query).scalars())


def taken_message_ids(connection: Connection, message_ids: Iterable[str]) -> set[str]:
    """Those of *message_ids* the ledger has recorded under any UIDVALIDITY."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(message_ids)), 500):
        query = select(mail_messages.c.message_id).where(mail_messages.c.message_id.in_(chunk))
        found.update(connection.execute(query).scalars())
    return found


def mail_folder_used(connection: Connection, folder: str) -> bool:
    """Whether a recorded message saved its attachments under *folder* (relative to a drop folder)."""
    query = select(mail_files.c.id).where(mail_files.c.path.startswith(f"{folder}/", autoescape=True)).limit(1)
    return connection.execute(query).first() is not None


def mail_facts(connection: Connection, path: str) -> MailFacts | None:
    """The sender, receipt time and Message-ID of the message that left *path* in the drop folder; None if none did."""
    query = (select(mail_messages.c.sender, mail_messages.c.received_at, mail_messages.c.message_id)
             .join(mail_files, mail_files.c.message == mail_messages.c.id).where(mail_files.c.path == path))
    row = connection.execute(query).first()
    return MailFacts(*row) if row else None


def mail_arrivals(connection: Connection, paths: Iterable[str]) -> dict[str, dt.datetime]:
    """The receipt time of each of *paths* (relative to a drop folder) that came by mail: its arrival."""
    arrivals: dict[str, dt.datetime] = {}
    for chunk in chunks(sorted(set(paths)), 500):
        query = (select(mail_files.c.path, mail_messages.c.received_at)
                 .join(mail_messages, mail_files.c.message == mail_messages.c.id).where(mail_files.c.path.in_(chunk)))
        arrivals.update(dict(connection.execute(query).all()))
    return arrivals


def recorded_mail(connection: Connection, outcomes: Iterable[MailOutcome]) -> list[RecordedMail]:
    """The messages recorded with one of *outcomes*, oldest first (the replies answer refused and empty ones)."""
    query = (select(mail_messages.c.id, mail_messages.c.message_id, mail_messages.c.sender,
                    mail_messages.c.received_at, mail_messages.c.outcome, mail_messages.c.detail)
             .where(mail_messages.c.outcome.in_([str(outcome) for outcome in outcomes]))
             .order_by(mail_messages.c.id))
    return [RecordedMail(row.id, row.message_id, row.sender, row.received_at, MailOutcome(row.outcome), row.detail)
            for row in connection.execute(query)]
