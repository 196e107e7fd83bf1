"""The spreadsheets a message carries and the safe names they are saved under: nothing a message says is a path."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import PurePosixPath

from pipeline.intake.read import CSV_SUFFIX, WORKBOOK_SUFFIXES

REPORT_SUFFIXES = (*WORKBOOK_SUFFIXES, CSV_SUFFIX)
# What the sender's program declares when the name says nothing (or there is no name).
SUFFIX_BY_TYPE = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "text/csv": ".csv",
}
FALLBACK_STEM = "вложение"
# A file name is at most 255 bytes on Linux file systems (UTF-8 Cyrillic is 2 a letter), and the atomic
# write's temporary «.<name>.XXXXXXXX.tmp» needs 14 of them.
MAX_NAME_BYTES = 255 - 14
# A message walks at most this many MIME parts: a report with its CSV parts has about ten.
MAX_PARTS = 200
# Characters never kept in a name: path separators, and what Windows forbids (the drop folder may be a share).
_REPLACED = set('/\\<>:"|?*')
# Unicode categories dropped: controls (CR, LF, NUL …), format characters (bidi overrides), surrogates,
# private use, unassigned, line and paragraph separators.
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class MessageShapeError(Exception):
    """A message too odd to take (too many parts); the message is Russian, for the refusal reply."""


@dataclass(frozen=True)
class Attachment:
    """A spreadsheet or CSV part: the name it is saved under (no folder) and its decoded bytes."""

    name: str
    data: bytes
    given_name: str  # the name the message gave, made printable, for the refusal reply and the log


def report_attachments(message: EmailMessage) -> list[Attachment]:
    """The parts of *message* that are spreadsheets or CSV, by the suffix of their name or their declared type.

    Names are made safe (safe_name) and unique within the message. Raises MessageShapeError for a message of
    more than MAX_PARTS parts.
    """
    found: list[Attachment] = []
    taken: set[str] = set()
    for number, part in enumerate(message.walk(), start=1):
        if number > MAX_PARTS:
            raise MessageShapeError(f"в письме больше {MAX_PARTS} частей")
        if part.is_multipart():
            continue
        given = part.get_filename() or ""
        suffix = report_suffix(given, part.get_content_type())
        if suffix is None:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        name = _unique(safe_name(given, suffix), taken)
        taken.add(name)
        found.append(Attachment(name, data, printable(given) or name))
    return found


def other_attachments(message: EmailMessage) -> list[str]:
    """The names of the attached files that are not spreadsheets, made printable (for the reply saying what to send)."""
    names = []
    for number, part in enumerate(message.walk(), start=1):
        if number > MAX_PARTS:
            break
        given = printable(part.get_filename() or "") if not part.is_multipart() else ""
        if given and report_suffix(given, part.get_content_type()) is None:
            names.append(given)
    return names


def report_suffix(given: str, content_type: str) -> str | None:
    """The report suffix of a part named *given* of *content_type*, or None when it is no spreadsheet."""
    suffix = PurePosixPath(_cleaned(given)).suffix.lower()
    if suffix in REPORT_SUFFIXES:
        return suffix
    return SUFFIX_BY_TYPE.get(content_type.lower())


def safe_name(given: str, suffix: str) -> str:
    """A file name made from *given*: no folder, no control or bidi characters, no leading dot, *suffix* kept,
    at most MAX_NAME_BYTES of UTF-8; «вложение<suffix>» when nothing usable is left."""
    cleaned = _cleaned(given)
    stem = cleaned[: -len(suffix)] if cleaned.lower().endswith(suffix) else cleaned
    stem = stem.lstrip(". ").rstrip(". ")
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    while len(stem.encode("utf-8")) > budget:
        stem = stem[:-1]
    stem = stem.rstrip(". ")
    return f"{stem or FALLBACK_STEM}{suffix}"


def printable(text: str) -> str:
    """*text* with every character safe_name would drop left out (for showing a given name in a reply)."""
    return "".join(char for char in text if unicodedata.category(char) not in _DROPPED_CATEGORIES).strip()


def _cleaned(given: str) -> str:
    text = "".join(" " if char.isspace() else char for char in unicodedata.normalize("NFC", given))
    kept = "".join("_" if char in _REPLACED else char for char in text
                   if unicodedata.category(char) not in _DROPPED_CATEGORIES)
    return " ".join(kept.split())


def _unique(name: str, taken: set[str]) -> str:
    """*name*, or «stem (2).suffix» and so on when another part of the message has it (within the byte cap)."""
    if name not in taken:
        return name
    path = PurePosixPath(name)
    for number in range(2, MAX_PARTS + 2):
        mark = f" ({number})"
        stem = path.stem
        while len(f"{stem}{mark}{path.suffix}".encode()) > MAX_NAME_BYTES:
            stem = stem[:-1]
        candidate = f"{stem}{mark}{path.suffix}"
        if candidate not in taken:
            return candidate
    raise MessageShapeError(f"в письме больше {MAX_PARTS} вложений с одним именем")
