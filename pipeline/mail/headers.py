"""What a message's headers tell intake: who sent it, its Message-ID, when it came, and whether a machine wrote it."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
from email.message import EmailMessage

# RFC 5322 caps a line at 998 characters; a longer Message-ID is no identity we keep.
MAX_MESSAGE_ID = 998
# Precedence values mailing lists and vacation responders set (RFC 3834 §3.1.8, RFC 2076).
_MACHINE_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
_AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
# Local parts of the addresses bounces come from (RFC 5321 §4.5.1, RFC 3464).
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster")


def parse_message(data: bytes) -> EmailMessage:
    """A message, or its header block alone, parsed with the modern policy (RFC 2047 and 2231 decoded)."""
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def sender_of(message: EmailMessage) -> str | None:
    """The bare address of From (the first, if several), lower-case; None when there is none we can use."""
    try:
        header = message["From"]
        addresses = getattr(header, "addresses", ())
    except (ValueError, TypeError, IndexError):  # a From the parser cannot make sense of
        return None
    for address in addresses:
        text = address.addr_spec.strip().lower()
        if "@" in text and text.isprintable() and " " not in text and len(text) <= 320:
            return text
    return None


def message_id_of(message: EmailMessage) -> str | None:
    """The Message-ID as written, without spaces; None when the message has none."""
    try:
        value = message["Message-ID"]
    except (ValueError, TypeError, IndexError):
        return None
    text = "".join(str(value or "").split())
    if not text or not text.isprintable() or len(text) > MAX_MESSAGE_ID:
        return None
    return text


def date_of(message: EmailMessage) -> dt.datetime | None:
    """The Date header as a local time without zone (the ledger's times), or None when absent or unreadable."""
    try:
        value = message["Date"]
        stamp = email.utils.parsedate_to_datetime(str(value)) if value else None
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if stamp is None:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone().replace(tzinfo=None)
    return stamp.replace(microsecond=0)


def is_machine_written(message: EmailMessage) -> bool:
    """An auto-reply, a vacation notice, a list message or a bounce: never a report, never answered (RFC 3834)."""
    auto_submitted = _text(message, "Auto-Submitted")
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return True
    if _text(message, "Precedence") in _MACHINE_PRECEDENCE:
        return True
    if any(_text(message, name) for name in _AUTOREPLY_HEADERS):
        return True
    if message.get_content_type() == "multipart/report":  # a delivery or read report (RFC 6522)
        return True
    if "Return-Path" in message and _text(message, "Return-Path").replace(" ", "") == "<>":
        return True
    sender = sender_of(message) or ""
    return sender.split("@")[0] in _BOUNCE_SENDERS


def _text(message: EmailMessage, name: str) -> str:
    """A header's value lower-case and stripped; "" when absent or unreadable."""
    try:
        value = message[name]
    except (ValueError, TypeError, IndexError):
        return ""
    return str(value or "").strip().lower()
