"""Read the district's mailbox over IMAP with implicit TLS: INBOX examined read-only, messages fetched by UID."""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.mail.settings import MailSettings

FOLDER = "INBOX"
TIMEOUT_SECONDS = 60
# UIDs per FETCH command: keeps each command line short (servers cap it near 8 KB).
FETCH_CHUNK = 200

_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class MailboxError(Exception):
    """The mailbox could not be reached or read; the message is Russian and says what to check."""


@dataclass(frozen=True)
class Envelope:
    """What the server tells of a message before its body is fetched: its UID, size, receipt time and header."""

    uid: int
    size: int
    received: dt.datetime | None  # INTERNALDATE as a local time without zone
    header: bytes


class Mailbox:
    """A logged-in IMAP session with INBOX examined (read-only: nothing in the mailbox is changed or flagged)."""

    def __init__(self, client: imaplib.IMAP4, uidvalidity: int):
        self.client = client
        self.uidvalidity = uidvalidity

    def uids(self) -> list[int]:
        """Every message's UID, ascending."""
        data = self._command("SEARCH", "ALL")
        return sorted(int(number) for line in data if isinstance(line, bytes) for number in line.split())

    def envelopes(self, uids: list[int]) -> list[Envelope]:
        """The envelopes of *uids* (those still in the mailbox), in the order asked."""
        found: dict[int, Envelope] = {}
        for start in range(0, len(uids), FETCH_CHUNK):
            wanted = set(uids[start:start + FETCH_CHUNK])
            numbers = ",".join(str(uid) for uid in sorted(wanted))
            facts = {}
            for line in self._command("FETCH", numbers, "(UID RFC822.SIZE INTERNALDATE)"):
                text = line if isinstance(line, bytes) else b""
                uid, size = _UID.search(text), _SIZE.search(text)
                if uid and size and int(uid.group(1)) in wanted:
                    facts[int(uid.group(1))] = (int(size.group(1)), _internaldate(text))
            for uid, header in self._literals(numbers, "BODY.PEEK[HEADER]", wanted):
                if uid in facts:
                    found[uid] = Envelope(uid, facts[uid][0], facts[uid][1], header)
        return [found[uid] for uid in uids if uid in found]

    def body(self, uid: int) -> bytes | None:
        """The whole message of *uid* as the server stores it (not marked seen); None if it is gone."""
        for found, literal in self._literals(str(uid), "BODY.PEEK[]", {uid}):
            if found == uid:
                return literal
        return None

    def _literals(self, numbers: str, item: str, wanted: set[int]) -> Iterator[tuple[int, bytes]]:
        """(UID, bytes) of FETCH *item* for the UIDs in *numbers*. imaplib gives a tuple (line, literal) per
        message, and the UID may stand before the literal or after it, in the bytes that follow the tuple."""
        data = self._command("FETCH", numbers, f"(UID {item})")
        for index, element in enumerate(data):
            if not isinstance(element, tuple):
                continue
            after = data[index + 1] if index + 1 < len(data) and isinstance(data[index + 1], bytes) else b""
            uid = _UID.search(element[0]) or _UID.search(after)
            if uid and int(uid.group(1)) in wanted:
                yield int(uid.group(1)), element[1]

    def _command(self, command: str, *args: str) -> list[bytes | tuple[bytes, bytes]]:
        """Run UID *command* with *args*; a dropped connection or a refusal is a MailboxError."""
        try:
            status, data = self.client.uid(command, *args)
        except (imaplib.IMAP4.error, OSError) as error:
            raise MailboxError(f"почтовый сервер недоступен: связь прервалась ({_reason(error)})") from error
        if status != "OK":
            raise MailboxError(f"почтовый сервер отказал в команде UID {command}: {_answer(data)}")
        return data


@contextlib.contextmanager
def open_mailbox(settings: MailSettings, password: str) -> Iterator[Mailbox]:
    """Connect (TLS, the server's certificate checked), log in and examine INBOX; log out at the end.

    Raises MailboxError in Russian when the server cannot be reached, its certificate fails, or it refuses
    the login or the folder.
    """
    where = f"{settings.imap_host}:{settings.imap_port}"
    try:
        context = tls_context(settings)
    except (OSError, ssl.SSLError) as error:
        raise MailboxError(f"файл сертификата {settings.cafile} из [mail] cafile не читается: {_reason(error)}") \
            from error
    try:
        client = imaplib.IMAP4_SSL(settings.imap_host, settings.imap_port, ssl_context=context,
                                   timeout=TIMEOUT_SECONDS)
    except ssl.SSLCertVerificationError as error:
        raise MailboxError(f"почтовый сервер недоступен: {where}: сертификат сервера не прошёл проверку "
                           f"({error.verify_message}); для частного удостоверяющего центра укажите cafile "
                           f"в [mail]") from error
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(f"почтовый сервер недоступен: {where}: {_reason(error)}") from error
    try:
        uidvalidity = _examine(client, settings, password, where)
    except BaseException:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
        raise
    try:
        yield Mailbox(client, uidvalidity)
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def _examine(client: imaplib.IMAP4, settings: MailSettings, password: str, where: str) -> int:
    """Log in and examine INBOX; return its UIDVALIDITY."""
    try:
        client.login(settings.user, password)
    except imaplib.IMAP4.error as error:
        raise MailboxError(f"почтовый ящик {settings.user} на {where} не принял вход: {_reason(error)}; "
                           f"проверьте user в [mail] и пароль в EIBM_IMAP_PASSWORD") from error
    except OSError as error:
        raise MailboxError(f"почтовый сервер недоступен: {where}: {_reason(error)}") from error
    try:
        status, data = client.select(FOLDER, readonly=True)
        _, validity = client.response("UIDVALIDITY")
    except (imaplib.IMAP4.error, OSError) as error:
        raise MailboxError(f"почтовый ящик {settings.user}: папка {FOLDER} не открылась: {_reason(error)}") from error
    if status != "OK":
        raise MailboxError(f"почтовый ящик {settings.user}: папка {FOLDER} не открылась: {_answer(data)}")
    if not validity or not isinstance(validity[0], bytes) or not validity[0].isdigit():
        raise MailboxError(f"почтовый сервер {where} не сообщил UIDVALIDITY папки {FOLDER}")
    return int(validity[0])


def tls_context(settings: MailSettings) -> ssl.SSLContext:
    """The system's trusted authorities and, if configured, the district's own (cafile); hostnames checked."""
    context = ssl.create_default_context()
    if settings.cafile is not None:
        context.load_verify_locations(cafile=str(settings.cafile))
    return context


def _internaldate(line: bytes) -> dt.datetime | None:
    moment = imaplib.Internaldate2tuple(line)
    return dt.datetime.fromtimestamp(time.mktime(moment)) if moment else None


def _reason(error: BaseException) -> str:
    """Why a connection failed, in Russian where the reason is a common one."""
    if isinstance(error, socket.gaierror):
        return "имя сервера не найдено"
    if isinstance(error, ConnectionRefusedError):
        return "соединение отклонено (сервер не запущен или порт неверен)"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"сервер не ответил за {TIMEOUT_SECONDS} с"
    if isinstance(error, ssl.SSLError):
        return f"ошибка TLS: {error.reason or error}"
    if isinstance(error, imaplib.IMAP4.error):
        return str(error) or type(error).__name__
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _answer(data: list[object]) -> str:
    text = b" ".join(item for item in data if isinstance(item, bytes)).decode("utf-8", "replace")
    return text.strip() or "без пояснения"
