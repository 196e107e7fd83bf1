"""The outbox: each message we send, recorded with its bytes before it is sent; and who mailed each report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import String, cast, literal, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from pipeline.ledger.queries import chunks
from pipeline.ledger.tables import files, mail_files, mail_messages, outbox, submissions
from pipeline.statuses import SubmissionStatus


class LetterKind(StrEnum):
    """What a message answers; the value is what the outbox holds."""

    REPLY = "reply"  # the judgement of one file
    REMINDER = "reminder"  # a school without an accepted report, before or after the deadline
    NO_ATTACHMENT = "no_attachment"  # a message with nothing usable attached: what to send
    REFUSAL = "refusal"  # a message whose attachment was refused (too big, a zip bomb)


@dataclass(frozen=True)
class Letter:
    """One message to send: its key names what it answers, so it is recorded (and sent) once."""

    year: int
    kind: LetterKind
    key: str
    school: str | None
    recipient: str
    subject: str
    message: bytes


@dataclass(frozen=True)
class OutboxRow:
    """A recorded message, as the sender and the status page need it."""

    id: int
    kind: LetterKind
    key: str
    school: str | None
    recipient: str
    subject: str
    message: bytes
    recorded_at: dt.datetime
    sent_at: dt.datetime | None
    refused: str | None
    attempts: int


@dataclass(frozen=True)
class MailedSubmission:
    """A submission with a file that came by mail, and the message's sender and Message-ID."""

    submission: int
    school: str | None
    sender: str | None
    message_id: str | None
    received_at: dt.datetime


def reply_key(submission: int) -> str:
    return f"{LetterKind.REPLY}:{submission}"


def reminder_key(school: str, day: dt.date) -> str:
    return f"{LetterKind.REMINDER}:{school}:{day.isoformat()}"


def mail_key(message: int) -> str:
    """The key of the one answer a taken message gets (no attachment, or a refusal)."""
    return f"mail:{message}"


def recorded_keys(connection: Connection, keys: Iterable[str]) -> set[str]:
    """Those of *keys* the outbox holds, sent or not."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(keys)), 500):
        found.update(connection.execute(select(outbox.c.key).where(outbox.c.key.in_(chunk))).scalars())
    return found


def record_letters(connection: Connection, letters: Iterable[Letter], now: dt.datetime) -> int:
    """Record *letters* not yet in the outbox (a key already there is skipped); return how many were new.

    Each in a savepoint: another campaign's run may record the same message key at the same moment.
    """
    recorded = 0
    for letter in letters:
        try:
            with connection.begin_nested():
                connection.execute(outbox.insert().values(
                    year=letter.year, kind=str(letter.kind), key=letter.key, school=letter.school,
                    recipient=letter.recipient, subject=letter.subject, message=letter.message,
                    recorded_at=now, sent_at=None, refused=None, attempts=0))
            recorded += 1
        except IntegrityError:
            continue
    return recorded


_ROW_COLUMNS = (outbox.c.id, outbox.c.kind, outbox.c.key, outbox.c.school, outbox.c.recipient, outbox.c.subject,
                outbox.c.message, outbox.c.recorded_at, outbox.c.sent_at, outbox.c.refused, outbox.c.attempts)


def _row(row: tuple) -> OutboxRow:
    number, kind, key, school, recipient, subject, message, recorded_at, sent_at, refused, attempts = row
    return OutboxRow(number, LetterKind(kind), key, school, recipient, subject, bytes(message), recorded_at, sent_at,
                     refused, attempts)


def unsent_letters(connection: Connection, year: int) -> list[OutboxRow]:
    """The campaign's messages recorded but neither sent nor refused, oldest first."""
    query = (select(*_ROW_COLUMNS).where(outbox.c.year == year, outbox.c.sent_at.is_(None),
                                         outbox.c.refused.is_(None)).order_by(outbox.c.id))
    return [_row(row) for row in connection.execute(query)]


def refused_letters(connection: Connection, year: int) -> list[OutboxRow]:
    """The campaign's messages the server refused for good (5xx), oldest first."""
    query = select(*_ROW_COLUMNS).where(outbox.c.year == year, outbox.c.refused.is_not(None)).order_by(outbox.c.id)
    return [_row(row) for row in connection.execute(query)]


def count_attempt(connection: Connection, letter: int) -> None:
    connection.execute(update(outbox).where(outbox.c.id == letter).values(attempts=outbox.c.attempts + 1))


def mark_sent(connection: Connection, letter: int, now: dt.datetime) -> None:
    connection.execute(update(outbox).where(outbox.c.id == letter).values(sent_at=now))


def mark_refused(connection: Connection, letter: int, answer: str) -> None:
    connection.execute(update(outbox).where(outbox.c.id == letter).values(refused=answer))


def mailed_submissions(connection: Connection, year: int) -> dict[int, MailedSubmission]:
    """The campaign's submissions with a file that came by mail, by id, with the message's sender.

    A CSV group whose parts came in several messages takes its first message's.
    """
    query = (select(submissions.c.id, submissions.c.school, mail_messages.c.sender, mail_messages.c.message_id,
                    mail_messages.c.received_at)
             .join(files, files.c.submission_id == submissions.c.id)
             .join(mail_files, mail_files.c.path == files.c.path)
             .join(mail_messages, mail_messages.c.id == mail_files.c.message)
             .where(submissions.c.year == year, files.c.year == year)
             .order_by(submissions.c.id, mail_messages.c.id))
    result: dict[int, MailedSubmission] = {}
    for number, school, sender, message_id, received_at in connection.execute(query):
        result.setdefault(number, MailedSubmission(number, school, sender, message_id, received_at))
    return result


def unanswered_submissions(connection: Connection, year: int, judged_since: dt.datetime) -> list[int]:
    """The campaign's submissions with no reply in the outbox, in id order; of the superseded ones only those
    judged at or after *judged_since* (an older one's school has the reply to its later file)."""
    key = literal(f"{LetterKind.REPLY}:").concat(cast(submissions.c.id, String))
    answered = select(outbox.c.id).where(outbox.c.key == key).exists()
    recent = or_(submissions.c.status != SubmissionStatus.SUPERSEDED, submissions.c.processed_at >= judged_since)
    query = select(submissions.c.id).where(submissions.c.year == year, ~answered, recent).order_by(submissions.c.id)
    return list(connection.execute(query).scalars())
