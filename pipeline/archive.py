"""Keep a content-addressed copy of every judged file, so the district keeps exactly what it judged."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.atomic import atomic_path

ARCHIVE_FOLDER = "archive"


def archive_file(source: Path, sha256: str, outputs: Path) -> str:
    """Copy *source* to outputs/archive/<ab>/<sha256><suffix> once; return that path relative to outputs."""
    suffix = source.suffix.lower() if source.suffix.lower().isascii() and len(source.suffix) <= 6 else ""
    relative = Path(ARCHIVE_FOLDER) / sha256[:2] / f"{sha256}{suffix}"
    target = outputs / relative
    if not target.exists():
        with atomic_path(target) as temporary:
            shutil.copyfile(source, temporary, follow_symlinks=False)
    return relative.as_posix()
