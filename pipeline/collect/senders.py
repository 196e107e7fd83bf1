"""The mail loop as status sees it: reports held for the analyst, mail nobody may answer, addresses refusing mail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from pipeline import ledger
from pipeline.district.register import School
from pipeline.district.setup import Setup
from pipeline.findings import to_visible
from pipeline.ledger.outgoing_mail import MailedSubmission, mailed_submissions, refused_letters
from pipeline.statuses import SubmissionStatus

HELD_LABEL = "на проверке: отправитель не совпадает"
REFUSED_LABEL = "адрес не принимает почту"


@dataclass(frozen=True)
class HeldReport:
    """A mailed report whose sender is not the register's address of the school its «Титул» gives."""

    submission: int
    school: str  # the school in the file: only its register address is told
    sender: str  # the address it came from, as the message gave it (shown, never written to)


@dataclass(frozen=True)
class HeldFile:
    """A held report as status.html lists it."""

    path: str  # as the school named it, hidden characters written out
    school: str
    sender: str
    status: SubmissionStatus


@dataclass(frozen=True)
class RefusedLetter:
    """A message the mail server refused for good: the school's register address does not take mail."""

    school: str
    recipient: str
    subject: str
    answer: str  # the server's code and text
    recorded_at: dt.datetime


@dataclass(frozen=True)
class UnansweredMail:
    """Mail the product cannot answer: no school of the register to answer, so it is only shown on status."""

    received_at: dt.datetime
    sender: str
    what: str  # in Russian, for status.html


def register_address(school: School | None) -> str | None:
    """The school's address in the register, lower-case; None when the register gives none."""
    if school is None:
        return None
    return school.email.strip().lower() or None


def address_book(register: dict[str, School]) -> dict[str, School]:
    """Each register address, lower-case, with its school (the first by code when schools share one)."""
    book: dict[str, School] = {}
    for code in sorted(register):
        address = register_address(register[code])
        if address:
            book.setdefault(address, register[code])
    return book


def school_of_address(book: dict[str, School], address: str | None) -> School | None:
    """The school whose register address *address* is (see address_book); None when it is nobody's."""
    return book.get((address or "").strip().lower())


def is_held(mailed: MailedSubmission, register: dict[str, School]) -> bool:
    """Whether a mailed report of a register school came from another address than the school's."""
    school = register.get(mailed.school) if mailed.school else None
    if school is None:
        return False  # no school to hold it for: it is answered, if at all, at the sender's register address
    return (mailed.sender or "").strip().lower() != register_address(school)


def held_reports(connection: Connection, year: int, register: dict[str, School]) -> list[HeldReport]:
    """The campaign's held reports, in submission order."""
    return [HeldReport(item.submission, item.school or "", item.sender or "")
            for item in mailed_submissions(connection, year).values() if is_held(item, register)]


def unanswered_mail(connection: Connection, year: int, register: dict[str, School],
                    since: dt.date) -> list[UnansweredMail]:
    """Mail of the campaign whose sender is no school's register address: reports of no register school,
    and messages without a usable attachment or with a refused one received on or after *since*."""
    book = address_book(register)
    result = [UnansweredMail(item.received_at, item.sender or "", "файл без кода ОО из реестра")
              for item in mailed_submissions(connection, year).values()
              if not (item.school and item.school in register) and school_of_address(book, item.sender) is None]
    outcomes = (ledger.MailOutcome.NO_ATTACHMENT, ledger.MailOutcome.REFUSED)
    for message in ledger.recorded_mail(connection, outcomes):
        if message.received_at.date() >= since and school_of_address(book, message.sender) is None:
            what = ("письмо без файла отчёта" if message.outcome == ledger.MailOutcome.NO_ATTACHMENT
                    else "вложение не принято")
            result.append(UnansweredMail(message.received_at, message.sender or "", what))
    return sorted(result, key=lambda item: (item.received_at, item.sender))


def mail_states(connection: Connection,
                setup: Setup) -> tuple[list[HeldFile], list[RefusedLetter], list[UnansweredMail]]:
    """What status.html shows of the mail loop: held reports, refused messages, mail nobody may answer."""
    held = held_reports(connection, setup.year, setup.register)
    stored = ledger.submissions_by_id(connection, [item.submission for item in held])
    shown = [HeldFile(to_visible(", ".join(stored[item.submission].paths)), item.school, to_visible(item.sender),
                      SubmissionStatus(stored[item.submission].status)) for item in held]
    refused = [RefusedLetter(row.school or "", row.recipient, row.subject, row.refused or "", row.recorded_at)
               for row in refused_letters(connection, setup.year)]
    return shown, refused, unanswered_mail(connection, setup.year, setup.register, setup.campaign.window_open)
