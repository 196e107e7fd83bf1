"""Find the submissions in a campaign's drop folder: workbooks, groups of CSV parts, and the rest."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pipeline.intake.read import CSV_SUFFIX, WORKBOOK_SUFFIXES

WORKBOOK = "workbook"
CSV_GROUP = "csv"
UNRECOGNIZED = "unrecognized"


@dataclass(frozen=True)
class DroppedFile:
    """One file in the drop folder, as seen at one moment."""

    location: str | Path  # absolute
    relative: str  # relative to the drop folder, with «/»
    size: int
    mtime: float

    @cached_property
    def path(self) -> Path:
        # Made when asked for: a re-run lists tens of thousands of files and opens a handful, and a
        # Path costs more than listing the file (≈ 30 µs against 15 µs).
        return Path(self.location)


@dataclass(frozen=True)
class Unit:
    """What is judged as one: a workbook, a school's CSV parts, or a file that is not a report."""

    kind: str
    files: tuple[DroppedFile, ...]
    reason: str = ""  # why an unrecognized file is not a report

    @property
    def key(self) -> str:
        return self.files[0].relative


def list_drop_folder(folder: Path) -> list[DroppedFile]:
    """Every regular file under *folder*; symlinks are listed (and judged) but never followed out.

    os.scandir on strings: a re-run lists tens of thousands of files to find a handful of new ones.
    """
    found: list[DroppedFile] = []
    if not folder.is_dir():
        return found
    root = str(folder.resolve())
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue  # vanished or unreadable: seen on the next run
        for entry in entries:
            relative = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, relative + "/"))
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished between listing and looking: seen on the next run
            found.append(DroppedFile(entry.path, relative, info.st_size, info.st_mtime))
    return sorted(found, key=lambda dropped: dropped.relative)


def group_units(files: list[DroppedFile]) -> list[Unit]:
    """Group CSV parts by folder and the prefix before «_» (REPORT_FORMAT §4); classify everything."""
    units: list[Unit] = []
    csv_groups: dict[tuple[str, str], list[DroppedFile]] = {}
    for dropped in files:
        name = dropped.path.name
        suffix = dropped.path.suffix.lower()
        reason = _not_a_report(dropped)
        if reason:
            units.append(Unit(UNRECOGNIZED, (dropped,), reason))
        elif suffix in WORKBOOK_SUFFIXES:
            units.append(Unit(WORKBOOK, (dropped,)))
        elif suffix == CSV_SUFFIX:
            prefix = name.split("_", 1)[0] if "_" in name else dropped.path.stem
            folder = dropped.relative.rsplit("/", 1)[0] if "/" in dropped.relative else ""
            csv_groups.setdefault((folder, prefix.casefold()), []).append(dropped)
        else:
            units.append(Unit(UNRECOGNIZED, (dropped,), "файл не является таблицей (.xlsx, .xls, .ods, .csv)"))
    for parts in csv_groups.values():
        units.append(Unit(CSV_GROUP, tuple(sorted(parts, key=lambda part: part.relative))))
    return sorted(units, key=lambda unit: unit.key)


def _not_a_report(dropped: DroppedFile) -> str:
    name = dropped.path.name
    if name.startswith("~$") or name.startswith(".~lock"):
        return "это служебный файл блокировки Excel/LibreOffice, а не отчёт"
    if name.startswith("."):
        return "скрытый файл"
    if dropped.path.is_symlink():
        return "ссылка (symlink) не принимается: положите в папку сам файл"
    return ""


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def hash_unit(hashes: list[tuple[str, str]]) -> str:
    """A CSV group's identity: the hash of its parts' names and hashes; a single file keeps its own."""
    if len(hashes) == 1:
        return hashes[0][1]
    digest = hashlib.sha256()
    for name, sha in sorted(hashes):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()
