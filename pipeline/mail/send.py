"""Hand the outbox to the SMTP server (TLS, certificates verified), or write the messages as .eml files in a dry run."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.atomic import write_bytes
from pipeline.ledger.outgoing_mail import (
    Letter,
    LetterKind,
    OutboxRow,
    count_attempt,
    mail_key,
    mark_refused,
    mark_sent,
    reminder_key,
    reply_key,
    unsent_letters,
)
from pipeline.mail.mailbox import tls_context
from pipeline.mail.settings import MailPasswordError, MailSettings, smtp_password

logger = logging.getLogger(__name__)

SMTP_TIMEOUT = 30  # seconds a silent server is waited for, per command
# A 4xx answer (greylisting, a full mailbox) is retried on the next runs; this many in a row make it final:
# with collections every 10 minutes that is most of a working day, and status.html then shows the address.
MAX_TEMPORARY_REFUSALS = 30
DRAFTS_FOLDER = "outbox"
NO_SCHOOL = "_без_кода"
_SAFE_PART = re.compile(r"^[0-9A-Za-zА-Яа-яЁё_-]{1,40}$")


@dataclass(frozen=True)
class Delivery:
    """What one pass over the outbox did."""

    sent: int
    refused: int  # refused for good (5xx, or 4xx MAX_TEMPORARY_REFUSALS times): recorded, shown, never retried
    unsent: int  # left for the next run: server unreachable, or a temporary (4xx) answer
    warning: str | None  # in Russian, for the analyst, when the server could not be used


def connect(settings: MailSettings) -> smtplib.SMTP:
    """A logged-in SMTP client: implicit TLS (465) or STARTTLS (587), as [mail] smtp_security says."""
    context = tls_context(settings)
    if settings.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT,
                                                context=context)
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
    try:
        if settings.smtp_security != "ssl":
            client.starttls(context=context)
        client.login(settings.user, smtp_password())
    except BaseException:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.close()
        raise
    return client


def deliver(engine: Engine, settings: MailSettings, year: int, now: dt.datetime) -> Delivery:
    """Send the campaign's recorded, unsent messages, each marked sent once the server accepted it.

    The attempt is counted before a message goes: a run killed after the server took it but before it is
    marked sends that one message again, and nothing else.
    """
    with ledger.transaction(engine) as connection:
        waiting = unsent_letters(connection, year)
    if not waiting:
        return Delivery(0, 0, 0, None)
    try:
        client = connect(settings)
    except (OSError, smtplib.SMTPException, MailPasswordError) as error:
        return Delivery(0, 0, len(waiting), unreachable(settings, error))
    sent = refused = 0
    warning = None
    try:
        for letter in waiting:
            with ledger.transaction(engine) as connection:
                count_attempt(connection, letter.id)
            try:
                client.sendmail(settings.from_address, [letter.recipient], letter.message)
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                refused += _settle(engine, letter, code, text)
                continue
            except smtplib.SMTPSenderRefused as error:  # our own From: the settings, not the school
                warning = f"почтовый сервер не принимает письма от {settings.from_address}: {_answer(error)}"
                break
            except smtplib.SMTPResponseException as error:  # the message itself (552 too big, 554 spam …)
                refused += _settle(engine, letter, error.smtp_code, error.smtp_error)
                continue
            except (OSError, smtplib.SMTPException) as error:
                warning = unreachable(settings, error)
                break
            with ledger.transaction(engine) as connection:
                mark_sent(connection, letter.id, now)
            sent += 1
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()
    return Delivery(sent, refused, len(waiting) - sent - refused, warning)


def _settle(engine: Engine, letter: OutboxRow, code: int, text: bytes | str) -> int:
    """A 5xx answer is final: record it (1); a 4xx one leaves the message for the next run (0), until it has
    been the answer MAX_TEMPORARY_REFUSALS times: then it is final too, rather than retried for ever."""
    answer = f"{code} {_text(text)}"
    if not 500 <= code < 600:
        if letter.attempts + 1 < MAX_TEMPORARY_REFUSALS:
            return 0
        answer = f"{answer} (временный отказ {MAX_TEMPORARY_REFUSALS} раз подряд)"
    with ledger.transaction(engine) as connection:
        mark_refused(connection, letter.id, answer)
    return 1


def _text(text: bytes | str) -> str:
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return " ".join(decoded.split())[:500]


def _answer(error: smtplib.SMTPResponseException) -> str:
    return f"{error.smtp_code} {_text(error.smtp_error)}"


def unreachable(settings: MailSettings, error: BaseException) -> str:
    """The analyst's line for a server that could not be used; the messages wait for the next run."""
    if isinstance(error, MailPasswordError):
        reason = str(error)
    elif isinstance(error, smtplib.SMTPAuthenticationError):
        reason = f"сервер не принял логин или пароль ({_answer(error)})"
    elif isinstance(error, ssl.SSLCertVerificationError):
        reason = f"сертификат сервера не прошёл проверку ({error.verify_message})"
    else:
        reason = f"{type(error).__name__}: {error}"
    return (f"Почтовый сервер {settings.smtp_host}:{settings.smtp_port} недоступен — {reason}. "
            "Письма сохранены и будут отправлены при следующем запуске.")


def draft_name(letter: Letter) -> str:
    """A stable, safe .eml name: «<Код ОО>_<kind>_<what it answers>.eml», e.g. «70-001_reply_17.eml»."""
    school = letter.school if letter.school and _SAFE_PART.match(letter.school) else NO_SCHOOL
    answered = letter.key.rpartition(":")[2]
    if not _SAFE_PART.match(answered):
        raise ValueError(f"unsafe outbox key: {letter.key!r}")
    return f"{school}_{letter.kind}_{answered}.eml"


def draft_key(name: str) -> str | None:
    """The outbox key of the letter in a draft, read back from the name draft_name gave it; None for another file."""
    if not name.endswith(".eml"):
        return None
    stem = name.removesuffix(".eml")
    for kind in LetterKind:
        school, marker, answered = stem.rpartition(f"_{kind}_")
        if not marker or not school:
            continue
        try:
            if kind == LetterKind.REPLY:
                return reply_key(int(answered))
            if kind == LetterKind.REMINDER:
                return reminder_key(school, dt.date.fromisoformat(answered))
            return mail_key(int(answered))
        except ValueError:
            return None
    return None


def drafted_keys(outputs: Path, year: int) -> frozenset[str]:
    """The letters earlier dry runs wrote out: a dry run writes each letter once, as a real run sends it once
    (and rebuilding them all was most of a collection with nothing new). Deleting a draft writes it again."""
    try:
        names = os.listdir(outputs / str(year) / DRAFTS_FOLDER)
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()
    return frozenset(key for key in map(draft_key, names) if key is not None)


def write_drafts(outputs: Path, year: int, letters: list[Letter]) -> list[Path]:
    """Write *letters* as .eml files under outputs/<year>/outbox/ (a dry run): nothing is recorded or sent."""
    folder = outputs / str(year) / DRAFTS_FOLDER
    paths = []
    for letter in letters:
        path = folder / draft_name(letter)
        write_bytes(path, letter.message, durable=False)
        paths.append(path)
    return paths
