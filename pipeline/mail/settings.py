"""The district's mailbox: the [mail] section of district.toml, and the passwords, which only the environment holds."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.district.roadmap import DistrictReader, district_reader

IMAP_PASSWORD = "EIBM_IMAP_PASSWORD"
SMTP_PASSWORD = "EIBM_SMTP_PASSWORD"
SECURITIES = ("ssl", "starttls")  # ssl: implicit TLS (993/465, Yandex 360, Mail.ru); starttls: 587
MAX_MESSAGES_PER_POLL = 500
# One address, nothing around it: these go into headers we write, so no spaces, brackets, commas or line breaks.
_ADDRESS = re.compile(r"^[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+\.[^\s@<>,;:\"()\[\]\\]+$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$")
_HOURS = re.compile(r"^(\d{2})-(\d{2})$")


class MailPasswordError(Exception):
    """A password the mailbox needs is not in the environment; the message names the variable."""


@dataclass(frozen=True)
class MailSettings:
    """How the product reaches the district's mailbox. No passwords: those are read when connecting."""

    imap_host: str
    imap_port: int
    smtp_host: str
    smtp_port: int
    smtp_security: str  # one of SECURITIES
    user: str
    from_address: str
    reply_to: str
    poll_minutes: int
    poll_hours: tuple[int, int]  # from the first hour to the second, e.g. (8, 18): 08:00–17:59
    max_attachment_bytes: int
    max_messages_per_poll: int
    reminder_days_before: tuple[int, ...]
    reminder_days_after: tuple[int, ...]
    dry_run: bool
    cafile: Path | None  # a private certificate authority to trust, besides the system's

    @property
    def poll_cron(self) -> str:
        """The polling schedule as cron: every poll_minutes within the working hours."""
        first, end = self.poll_hours
        return f"*/{self.poll_minutes} {first}-{end - 1} * * *"


def for_campaign(settings: MailSettings, year: int, today: dt.date) -> tuple[MailSettings, list[str]]:
    """The mailbox serves this year's campaign only: a run for another year neither takes new mail into its
    folder nor sends anything, and writes what it would send as .eml files (a dry run), saying so."""
    if settings.dry_run or year == today.year:
        return settings, []
    return replace(settings, dry_run=True), [
        f"кампания {year} — не текущая (сейчас {today.year} год): почтовый ящик не опрашивается, письма не "
        f"отправляются, а записываются файлами .eml в папку outputs/{year}/outbox/"]


def imap_password() -> str:
    return _password(IMAP_PASSWORD)


def smtp_password() -> str:
    return _password(SMTP_PASSWORD)


def _password(variable: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise MailPasswordError(f"не задан пароль почтового ящика: переменная окружения {variable}")
    return value


def load_mail_settings(inputs: Path) -> MailSettings | None:
    """Read [mail] of ``inputs/district.toml``; None when there is none (nothing is polled or sent).

    Raises DistrictDataError naming the file and key on any problem.
    """
    reader = district_reader(inputs)
    if reader.get("mail", dict, None) is None:
        return None
    security = reader.get("mail.smtp_security", str, "ssl")
    if security not in SECURITIES:
        raise reader.fail("mail.smtp_security",
                          f"«{_shown(security)}» — ожидается ssl (порт 465) или starttls (порт 587)")
    imap_host, smtp_host = _host(reader, "mail.imap_host"), _host(reader, "mail.smtp_host")
    user = _text(reader, "mail.user")
    from_address = _address(reader, "mail.from_address")
    cafile = reader.get("mail.cafile", str, "")
    if cafile and not (inputs / cafile).is_file():
        raise reader.fail("mail.cafile", f"файл сертификата «{cafile}» не найден")
    max_file_mb = reader.get("format.max_file_mb", (int, float))
    return MailSettings(
        imap_host=imap_host,
        imap_port=_number(reader, "mail.imap_port", 993, 1, 65535),
        smtp_host=smtp_host,
        smtp_port=_number(reader, "mail.smtp_port", 465 if security == "ssl" else 587, 1, 65535),
        smtp_security=security,
        user=user,
        from_address=from_address,
        reply_to=_address(reader, "mail.reply_to", from_address),
        poll_minutes=_number(reader, "mail.poll_minutes", 10, 1, 59),
        poll_hours=_hours(reader, "mail.poll_hours"),
        max_attachment_bytes=_megabytes(reader, "mail.max_attachment_mb", max_file_mb),
        max_messages_per_poll=_number(reader, "mail.max_messages_per_poll", MAX_MESSAGES_PER_POLL, 1, 100_000),
        reminder_days_before=_days(reader, "mail.reminder_days_before", (7, 1)),
        reminder_days_after=_days(reader, "mail.reminder_days_after", (1, 7)),
        dry_run=reader.get("mail.dry_run", bool, False),
        cafile=(inputs / cafile).resolve() if cafile else None,
    )


def _text(reader: DistrictReader, key: str) -> str:
    value = reader.get(key, str).strip()
    if not value or any(char in value for char in "\r\n\0"):
        raise reader.fail(key, "ожидается непустая строка без переводов строки")
    return value


def _host(reader: DistrictReader, key: str) -> str:
    value = reader.get(key, str).strip()
    if not _HOST.match(value):
        raise reader.fail(key, f"«{_shown(value)}» — не имя сервера (например, imap.yandex.ru)")
    return value


def _address(reader: DistrictReader, key: str, default: Any = ...) -> str:
    value = reader.get(key, str, default)
    if not _ADDRESS.match(value):
        raise reader.fail(key, f"«{_shown(value)}» — не адрес электронной почты (например, ibc@rayon.ru)")
    return value


def _number(reader: DistrictReader, key: str, default: int, low: int, high: int) -> int:
    value = reader.get(key, int, default)
    if not low <= value <= high:
        raise reader.fail(key, f"{value} — ожидается целое от {low} до {high}")
    return value


def _megabytes(reader: DistrictReader, key: str, default: float) -> int:
    value = reader.get(key, (int, float), default)
    if not 0 < value <= 1024:
        raise reader.fail(key, f"{value} — ожидается размер в МБ больше 0")
    return int(value * 1024 * 1024)


def _hours(reader: DistrictReader, key: str) -> tuple[int, int]:
    value = reader.get(key, str, "08-18")
    match = _HOURS.match(value)
    first, end = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not 0 <= first < end <= 24:
        raise reader.fail(key, f"«{_shown(value)}» — ожидаются часы вида «08-18»")
    return first, end


def _days(reader: DistrictReader, key: str, default: tuple[int, ...]) -> tuple[int, ...]:
    values = reader.get(key, list, list(default))
    if not all(isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 366 for value in values):
        raise reader.fail(key, "ожидается список целых чисел дней, например [7, 1]")
    return tuple(sorted(set(values)))


def _shown(value: str) -> str:
    """*value* with line breaks and other invisible characters written as escapes, for an error message."""
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in value)
