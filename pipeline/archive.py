"""Keep a content-addressed copy of every judged file, so the district keeps exactly what it judged."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from pipeline.atomic import atomic_file

ARCHIVE_FOLDER = "archive"


def archive_path(sha256: str, name: str) -> str:
    """Where content *sha256* of a file called *name* is kept: archive/<ab>/<sha256><suffix>, under outputs."""
    suffix = PurePosixPath(name).suffix.lower()
    if not (suffix.isascii() and len(suffix) <= 6):
        suffix = ""
    return f"{ARCHIVE_FOLDER}/{sha256[:2]}/{sha256}{suffix}"


def archive_bytes(data: bytes, sha256: str, name: str, outputs: Path, year: int) -> str:
    """Keep *data*, whose hash the caller computed as *sha256*, once; return its archive_path.

    The caller hashes the very bytes it passes, so a name in the archive always matches its content.
    Not yet durable: the caller flushes a whole batch of copies before the ledger commit that names them.
    Every campaign writes here; its temporary files carry its *year* (see campaign_tag).
    """
    relative = archive_path(sha256, name)
    target = outputs / relative
    try:
        kept = os.stat(target).st_size == len(data)
    except FileNotFoundError:
        kept = False
    if not kept:
        with atomic_file(target, durable=False, sweep=False, tag=campaign_tag(year)) as copy:
            copy.write(data)
    return relative


def campaign_tag(year: int) -> str:
    return f"y{year}"
