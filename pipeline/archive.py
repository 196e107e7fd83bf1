"""Keep a content-addressed copy of every judged file, so the district keeps exactly what it judged."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipeline.atomic import atomic_file

ARCHIVE_FOLDER = "archive"


def archive_file(source: Path, sha256: str, outputs: Path, year: int) -> str:
    """Copy *source* to outputs/archive/<ab>/<sha256><suffix> once; return that path relative to outputs.

    Not yet durable: the caller flushes a whole batch of copies before the ledger commit that names them.
    Every campaign writes here; its temporary files carry its *year* (see campaign_tag).
    """
    suffix = source.suffix.lower() if source.suffix.lower().isascii() and len(source.suffix) <= 6 else ""
    relative = Path(ARCHIVE_FOLDER) / sha256[:2] / f"{sha256}{suffix}"
    target = outputs / relative
    if not target.exists():
        # O_NOFOLLOW: a symlink is never a report (discover.py) and is never followed out of the folder.
        with (open(os.open(source, os.O_RDONLY | os.O_NOFOLLOW), "rb") as original,
              atomic_file(target, durable=False, sweep=False, tag=campaign_tag(year)) as copy):
            shutil.copyfileobj(original, copy)
    return relative.as_posix()


def campaign_tag(year: int) -> str:
    return f"y{year}"
