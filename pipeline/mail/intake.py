"""Take the district's new mail into the drop folder: each message once, its spreadsheets saved, the rest recorded."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.atomic import atomic_path
from pipeline.district.setup import Setup
from pipeline.intake.preflight import check_file
from pipeline.intake.refusal import PreflightError
from pipeline.ledger import MailMessage, MailOutcome
from pipeline.mail.attachments import Attachment, other_attachments, report_attachments
from pipeline.mail.headers import date_of, is_machine_written, message_id_of, parse_message, sender_of
from pipeline.mail.mailbox import Envelope, Mailbox, open_mailbox
from pipeline.mail.settings import MailSettings, for_campaign, imap_password

log = logging.getLogger(__name__)

# The drop folder's subfolder for mail; each message gets a folder of its own in it, «<YYYY-MM-DD>_<UID>»,
# so that CSV parts group by message (CSV parts form a unit by folder and prefix: intake.discover.csv_group).
MAIL_FOLDER = "почта"
# A message may be this many times the attachment limit (base64 adds a third): two full-size workbooks and text.
MESSAGE_SIZE_FACTOR = 3
# How many of a message's other attachments the reply names.
NAMED_OTHERS = 5
# Containers whose real size preflight checks (a zip bomb is refused here, before it is saved anywhere).
_ZIP_SUFFIXES = (".xlsx", ".xlsm", ".ods")


@dataclass(frozen=True)
class PollSummary:
    """What one poll of the mailbox did: messages by outcome, files saved (relative to the drop folder)."""

    taken: int = 0
    no_attachment: int = 0
    auto_replies: int = 0
    refused: int = 0
    duplicates: int = 0
    left: int = 0  # new messages beyond this poll's limit: the next poll takes them
    files: tuple[str, ...] = field(default=())

    @property
    def messages(self) -> int:
        return self.taken + self.no_attachment + self.auto_replies + self.refused + self.duplicates


def poll_mailbox(setup: Setup, settings: MailSettings, engine: Engine, password: str | None = None,
                 now: dt.datetime | None = None) -> PollSummary:
    """Take the messages not yet recorded (at most max_messages_per_poll, oldest UID first) into the drop folder.

    Every message is recorded once, by (UIDVALIDITY, UID) and by Message-ID; one that cannot be taken is
    recorded «refused» and the poll goes on. A dry run connects to nothing. Raises MailboxError (Russian)
    when the mailbox cannot be reached or read, MailPasswordError without EIBM_IMAP_PASSWORD, OutputError when
    the drop folder cannot be written; the messages recorded before stay recorded.
    """
    now = now or dt.datetime.now().replace(microsecond=0)
    if for_campaign(settings, setup.year, now.date())[0].dry_run:
        log.info("Пробный запуск или не текущая кампания: почтовый ящик не опрашивается.")
        return PollSummary()
    counts = {outcome: 0 for outcome in MailOutcome}
    files: list[str] = []
    with open_mailbox(settings, password or imap_password()) as mailbox:
        with ledger.transaction(engine) as connection:
            taken = ledger.taken_uids(connection, mailbox.uidvalidity)
        new = [uid for uid in mailbox.uids() if uid not in taken]
        envelopes = mailbox.envelopes(new[:settings.max_messages_per_poll])
        ids = {envelope.uid: message_id_of(parse_message(envelope.header)) for envelope in envelopes}
        with ledger.transaction(engine) as connection:
            seen = ledger.taken_message_ids(connection, [value for value in ids.values() if value])
        for envelope in envelopes:
            message = _take(mailbox, envelope, setup, settings, engine, seen, now)
            if message is None:
                continue  # deleted from the mailbox meanwhile
            with ledger.transaction(engine) as connection:
                ledger.record_mail(connection, message)
            if message.message_id:
                seen.add(message.message_id)
            counts[message.outcome] += 1
            files += message.paths
    summary = PollSummary(
        taken=counts[MailOutcome.TAKEN], no_attachment=counts[MailOutcome.NO_ATTACHMENT],
        auto_replies=counts[MailOutcome.AUTO_REPLY], refused=counts[MailOutcome.REFUSED],
        duplicates=counts[MailOutcome.DUPLICATE], left=max(len(new) - settings.max_messages_per_poll, 0),
        files=tuple(files))
    if summary.messages:
        log.info("Почта: писем %d, взято с отчётами %d, без таблиц %d, автоответов %d, отклонено %d, повторов %d.",
                 summary.messages, summary.taken, summary.no_attachment, summary.auto_replies, summary.refused,
                 summary.duplicates)
    return summary


def _take(mailbox: Mailbox, envelope: Envelope, setup: Setup, settings: MailSettings, engine: Engine,
          seen: set[str], now: dt.datetime) -> MailMessage | None:
    """Decide one message, saving its spreadsheets; None when it left the mailbox before its body was read."""
    header = parse_message(envelope.header)
    message_id = message_id_of(header)
    received = envelope.received or date_of(header) or now

    def outcome(kind: MailOutcome, detail: str | None = None, paths: tuple[str, ...] = ()) -> MailMessage:
        return MailMessage(mailbox.uidvalidity, envelope.uid, message_id, sender_of(header), received, kind,
                           detail, paths)

    if message_id and message_id in seen:
        return outcome(MailOutcome.DUPLICATE, "письмо с этим Message-ID уже получено")
    if is_machine_written(header):
        return outcome(MailOutcome.AUTO_REPLY)
    message_limit = settings.max_attachment_bytes * MESSAGE_SIZE_FACTOR
    if envelope.size > message_limit:
        return outcome(MailOutcome.REFUSED, f"письмо {_megabytes(envelope.size)} — больше допустимых "
                       f"{_megabytes(message_limit)}; файл отчёта должен быть не больше "
                       f"{_megabytes(settings.max_attachment_bytes)}")
    raw = mailbox.body(envelope.uid)
    if raw is None:
        return None
    try:
        message = parse_message(raw)
        attachments = report_attachments(message)
        refusal = _refusal(attachments, settings, setup.district.max_rows_per_sheet)
        others = other_attachments(message) if not attachments else []
    except OSError:
        raise  # the machine's trouble (no room for preflight's temporary copy), not the message's
    except Exception as error:  # any fault of one message's MIME costs that message only
        log.warning("Письмо UID %d не разобрано: %r", envelope.uid, error)
        return outcome(MailOutcome.REFUSED, "письмо не удалось разобрать: его структура (MIME) нарушена")
    if refusal:
        log.warning("Письмо UID %d отклонено: %s", envelope.uid, refusal)
        return outcome(MailOutcome.REFUSED, refusal)
    if not attachments:
        return outcome(MailOutcome.NO_ATTACHMENT, _no_table(others))
    folder = _message_folder(engine, mailbox.uidvalidity, envelope.uid, received)
    paths = tuple(_save(setup.drop_folder, f"{folder}/{attachment.name}", attachment.data, received)
                  for attachment in attachments)
    return outcome(MailOutcome.TAKEN, paths=paths)


def _no_table(others: list[str]) -> str:
    """What a message without a spreadsheet had instead, for the reply saying what to send."""
    if not others:
        return "в письме нет вложений"
    shown = ", ".join(f"«{name}»" for name in others[:NAMED_OTHERS])
    more = f" и ещё {len(others) - NAMED_OTHERS}" if len(others) > NAMED_OTHERS else ""
    return f"во вложениях нет таблицы: {shown}{more}"


def _refusal(attachments: list[Attachment], settings: MailSettings, max_rows: int) -> str | None:
    """Why the message's attachments are not taken (too big, a zip bomb), or None."""
    for attachment in attachments:
        if len(attachment.data) > settings.max_attachment_bytes:
            return (f"вложение «{attachment.given_name}» — {_megabytes(len(attachment.data))}, больше допустимых "
                    f"{_megabytes(settings.max_attachment_bytes)}")
        reason = _container_refusal(attachment, settings.max_attachment_bytes, max_rows)
        if reason:
            return f"вложение «{attachment.given_name}» не принято: {reason}"
    return None


def _container_refusal(attachment: Attachment, max_bytes: int, max_rows: int) -> str | None:
    """Preflight's S07 reason for a workbook whose container is over the limits (a zip bomb); None otherwise.

    Other faults (a damaged or encrypted book) are the judges' to tell: the file is taken and gets its page.
    """
    suffix = Path(attachment.name).suffix.lower()
    if suffix not in _ZIP_SUFFIXES:
        return None
    with tempfile.TemporaryDirectory(prefix="eibm-mail-") as folder:
        path = Path(folder) / f"attachment{suffix}"
        path.write_bytes(attachment.data)
        try:
            check_file(path, max_bytes, max_rows)
        except PreflightError as error:
            return error.reason if error.code == "S07" else None
    return None


def _message_folder(engine: Engine, uidvalidity: int, uid: int, received: dt.datetime) -> str:
    """«почта/<date>_<UID>», or with the UIDVALIDITY too when a message of an earlier UIDVALIDITY has that one.

    A run killed after saving and before recording takes the message again into the same folder, over its
    own files.
    """
    folder = f"{MAIL_FOLDER}/{received:%Y-%m-%d}_{uid}"
    with ledger.transaction(engine) as connection:
        if ledger.mail_folder_used(connection, folder):
            folder = f"{folder}_{uidvalidity}"
    return folder


def _save(drop_folder: Path, relative: str, data: bytes, received: dt.datetime) -> str:
    """Write *data* atomically at *relative* under the drop folder, modified at the receipt time; return *relative*."""
    stamp = received.timestamp()
    with atomic_path(drop_folder / relative) as temporary:
        temporary.write_bytes(data)
        os.utime(temporary, (stamp, stamp))
    return relative


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} МБ".replace(".", ",")

