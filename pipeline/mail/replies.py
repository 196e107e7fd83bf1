"""The replies owed: one per judged file, to its school's register address only; one per empty or refused message."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from pipeline import ledger
from pipeline.collect.feedback import FeedbackInput, feedback_folder, safe_stem, status_explanation
from pipeline.collect.senders import address_book, is_held, register_address, school_of_address
from pipeline.district.register import School
from pipeline.district.setup import Setup
from pipeline.findings import Finding
from pipeline.ledger.outgoing_mail import (
    Letter,
    LetterKind,
    mail_key,
    mailed_submissions,
    recorded_keys,
    reply_key,
    unanswered_submissions,
)
from pipeline.mail.compose import HTML_TYPE, XLSX_TYPE, Attachment, build_message, usable_address
from pipeline.mail.letters import (
    SENDER_NAME,
    Judgement,
    Letterhead,
    no_attachment_letter,
    refusal_letter,
    reply_body,
    reply_subject,
)
from pipeline.mail.settings import MailSettings
from pipeline.statuses import SchoolState, SubmissionStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OwedReplies:
    """The replies this pass writes, and what it could not answer (shown on status.html)."""

    letters: list[Letter]
    held: int  # replies about held reports among them
    unanswerable: int  # judged files or messages with no register address to answer at


def letterhead(setup: Setup, settings: MailSettings) -> Letterhead:
    office = setup.district.office
    # A librarian with a question calls a person: the report's executor, when the district names one.
    contact = [office.executor_name, office.executor_phone and f"тел. {office.executor_phone}",
               office.executor_email and f"e-mail {office.executor_email}"]
    signed = "; ".join(filter(None, [office.full_name or setup.district.name, ", ".join(filter(None, contact))]))
    return Letterhead(office=signed, reply_to=settings.reply_to, year=setup.year, deadline=setup.campaign.deadline)


def owed_replies(setup: Setup, settings: MailSettings, connection: Connection, judged_since: dt.datetime,
                 states: dict[str, SchoolState], now: dt.datetime,
                 written: frozenset[str] = frozenset()) -> OwedReplies:
    """The replies not yet in the outbox: one to every judged file of the campaign, whichever run judged it
    (a dry run records nothing: a later real run sends what it wrote out), but to a superseded file only when
    it was judged since *judged_since*; and one to each message with nothing to judge. Keys in *written*
    (a dry run's drafts) count as in the outbox."""
    mailed = mailed_submissions(connection, setup.year)
    pending = [number for number in unanswered_submissions(connection, setup.year, judged_since)
               if reply_key(number) not in written]
    stored = ledger.submissions_by_id(connection, pending)
    found = ledger.submission_findings(connection, pending)
    head = letterhead(setup, settings)
    book = address_book(setup.register)
    letters, held, unanswerable = [], 0, 0
    for number in pending:
        submission = stored[number]
        school = setup.register.get(submission.school) if submission.school else None
        by_mail = mailed.get(number)
        holding = by_mail is not None and is_held(by_mail, setup.register)
        addressee = school
        if school is None and by_mail is not None:
            addressee = school_of_address(book, by_mail.sender)  # a register school wrote: it is told
        recipient = usable_address(register_address(addressee))
        if addressee is None or recipient is None:
            unanswerable += 1
            continue
        attachments = feedback_attachments(setup, submission, school)
        if attachments is None:
            logger.warning("feedback of submission %s not written yet: replied next run", number)
            continue
        judgement = Judgement(
            school_name=addressee.name, school_code=addressee.code, files=submission.paths,
            arrived_at=submission.arrived_at, status=SubmissionStatus(submission.status), findings=found[number],
            explanation=status_explanation(_feedback_input(setup, submission, found[number], school, states)),
            attachments=tuple(attachment.name for attachment in attachments),
            held_sender=(by_mail.sender or "неизвестный адрес") if holding and by_mail else None)
        errors = sum(1 for finding in found[number] if finding.is_error)
        subject = reply_subject(setup.year, judgement.status, errors, len(found[number]) - errors, holding)
        message = build_message(settings, SENDER_NAME, recipient, subject, reply_body(head, judgement), attachments,
                                now, in_reply_to=by_mail.message_id if by_mail else None)
        letters.append(Letter(setup.year, LetterKind.REPLY, reply_key(number), addressee.code, recipient, subject,
                              message))
        held += holding
    answers, silent = message_answers(setup, settings, connection, head, book, now, written)
    return OwedReplies(letters + answers, held, unanswerable + silent)


def message_answers(setup: Setup, settings: MailSettings, connection: Connection, head: Letterhead,
                    book: dict[str, School], now: dt.datetime,
                    written: frozenset[str] = frozenset()) -> tuple[list[Letter], int]:
    """Answers to messages with no usable attachment or a refused one, when their sender is a register address.

    Anyone can write to the district's mailbox: a sender who is no school of the register gets nothing
    (an answer would make the mailbox a reflector of forged senders); status.html lists it instead.
    """
    outcomes = (ledger.MailOutcome.NO_ATTACHMENT, ledger.MailOutcome.REFUSED)
    messages = ledger.recorded_mail(connection, outcomes)
    done = recorded_keys(connection, [mail_key(message.id) for message in messages]) | written
    letters, silent = [], 0
    for message in messages:
        if mail_key(message.id) in done or message.received_at.date() < setup.campaign.window_open:
            continue
        school = school_of_address(book, message.sender)
        recipient = usable_address(register_address(school))
        if school is None or recipient is None:
            silent += 1
            continue
        if message.outcome == ledger.MailOutcome.NO_ATTACHMENT:
            kind, (subject, body) = LetterKind.NO_ATTACHMENT, no_attachment_letter(head)
        else:
            kind, (subject, body) = LetterKind.REFUSAL, refusal_letter(head, message.detail)
        raw = build_message(settings, SENDER_NAME, recipient, subject, body, [], now, in_reply_to=message.message_id)
        letters.append(Letter(setup.year, kind, mail_key(message.id), school.code, recipient, subject, raw))
    return letters, silent


def feedback_attachments(setup: Setup, submission: ledger.StoredSubmission,
                         school: School | None) -> list[Attachment] | None:
    """The feedback page and, when one was written, the annotated workbook; None when the page is not there yet."""
    folder = feedback_folder(setup.outputs, setup.year, school.code if school else None, submission.sha256)
    name = f"{safe_stem(', '.join(submission.paths))}_{submission.sha256[:8].lower()}"
    page = folder / f"{name}.html"
    if not page.is_file():
        return None
    attachments = [Attachment(f"Проверка_{name}.html", page.read_bytes(), *HTML_TYPE)]
    annotated: Path = folder / f"{name}_замечания.xlsx"
    if annotated.is_file():
        attachments.append(Attachment(annotated.name, annotated.read_bytes(), *XLSX_TYPE))
    return attachments


def _feedback_input(setup: Setup, submission: ledger.StoredSubmission, findings: list[Finding], school: School | None,
                    states: dict[str, SchoolState]) -> FeedbackInput:
    return FeedbackInput(
        file_name=", ".join(submission.paths), sha256=submission.sha256, year=setup.year,
        status=SubmissionStatus(submission.status), processed_at=submission.processed_at, findings=findings,
        school_code=school.code if school else None, school_name=school.name if school else None,
        school_state=states.get(school.code) if school else None, deadline=setup.campaign.deadline,
        workbook=None, sheets=None, arrived_at=submission.arrived_at, window_close=setup.campaign.window_close)
