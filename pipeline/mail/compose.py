"""Build one outgoing message: headers only from the register, the settings and our words; safe attachment names."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from pipeline.mail.settings import MailSettings

# RFC 3834: a reply to a message (or to a file a school dropped) is auto-replied; a reminder is auto-generated.
AUTO_REPLIED = "auto-replied"
AUTO_GENERATED = "auto-generated"
# One address, nothing around it (the settings hold the same for theirs): the register's text goes into «To».
_ADDRESS = re.compile(r"^[^\s@<>,;:\"()\[\]\\]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}$")
# A Message-ID we may cite in In-Reply-To: printable ASCII, no spaces or brackets inside, of sane length.
_MESSAGE_ID = re.compile(r"^<[!-;=?-~]{1,250}@[!-;=?-~]{1,250}>$")
_UNSAFE_NAME_CHAR = re.compile(r"[^0-9A-Za-zА-Яа-яЁё_.-]+")
MAX_ATTACHMENT_NAME = 80
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
HTML_TYPE = ("text", "html")


@dataclass(frozen=True)
class Attachment:
    name: str  # shown to the school; reduced to safe characters before it reaches a header
    content: bytes
    maintype: str
    subtype: str


def usable_address(text: str | None) -> str | None:
    """*text* as one bare e-mail address, lower-case, or None when it is not exactly one (CR/LF, commas, names)."""
    address = (text or "").strip().lower()
    return address if _ADDRESS.match(address) else None


def usable_message_id(text: str | None) -> str | None:
    """An incoming Message-ID we may cite in In-Reply-To/References, or None when it could carry anything else."""
    value = (text or "").strip()
    return value if _MESSAGE_ID.match(value) else None


def safe_attachment_name(name: str) -> str:
    """*name* reduced to letters, digits, «.», «-» and «_», at most 80 characters, the extension kept."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    extension = _UNSAFE_NAME_CHAR.sub("", extension)[:10]
    stem = re.sub(r"_{2,}", "_", _UNSAFE_NAME_CHAR.sub("_", stem)).strip("_.-")
    stem = stem[:MAX_ATTACHMENT_NAME - len(extension) - 1].strip("_.-") or "файл"
    return f"{stem}.{extension}" if extension else stem


def our_domain(settings: MailSettings) -> str:
    return settings.from_address.rpartition("@")[2]


def build_message(settings: MailSettings, sender_name: str, recipient: str, subject: str, body: str,
                  attachments: list[Attachment], now: dt.datetime, *, auto: str = AUTO_REPLIED,
                  in_reply_to: str | None = None) -> bytes:
    """The message's exact bytes, as they will be sent (and kept in the outbox).

    *recipient* must be a usable_address; *in_reply_to* an incoming Message-ID, cited only when usable.
    policy.SMTP refuses a header value with CR or LF; the names are reduced before they get there anyway.
    """
    if usable_address(recipient) != recipient:
        raise ValueError(f"not one bare address: {recipient!r}")
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = Address(display_name=_one_line(sender_name), addr_spec=settings.from_address)
    message["To"] = recipient
    message["Reply-To"] = settings.reply_to
    message["Subject"] = _one_line(subject)
    message["Date"] = format_datetime(now.astimezone())
    message["Message-ID"] = make_msgid(idstring="eibm", domain=our_domain(settings))
    cited = usable_message_id(in_reply_to)
    if cited:
        message["In-Reply-To"] = cited
        message["References"] = cited
    message["Auto-Submitted"] = auto
    # Exchange and Outlook: no out-of-office answers to an automatic message.
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(body, subtype="plain", charset="utf-8")
    for attachment in attachments:
        message.add_attachment(attachment.content, maintype=attachment.maintype, subtype=attachment.subtype,
                               filename=safe_attachment_name(attachment.name))
    return message.as_bytes()


def _one_line(text: str) -> str:
    """Text for a header: every control character (CR, LF, tab, NUL …) becomes a space, runs of spaces one."""
    return " ".join("".join(" " if ord(char) < 32 or ord(char) == 127 else char for char in text).split())
