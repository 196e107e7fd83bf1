"""Keep a content-addressed copy of every judged file, so the district keeps exactly what it judged."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.atomic import atomic_path

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
        with atomic_path(target, durable=False, sweep=False, tag=campaign_tag(year)) as temporary:
            shutil.copyfile(source, temporary, follow_symlinks=False)
    return relative.as_posix()


def campaign_tag(year: int) -> str:
    return f"y{year}"
