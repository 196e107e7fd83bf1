"""Find the submissions in a campaign's drop folder: workbooks, groups of CSV parts, and the rest."""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

from pipeline.intake.read import CSV_SUFFIX, WORKBOOK_SUFFIXES

WORKBOOK = "workbook"
CSV_GROUP = "csv"
UNRECOGNIZED = "unrecognized"

# What a file that is not a regular file is, in the words of its S01 finding; none of them is ever opened
# (opening a FIFO waits for a writer, a device may act on being opened).
_NOT_A_FILE = {
    stat.S_IFLNK: "ссылка (symlink) не принимается: положите в папку сам файл",
    stat.S_IFIFO: "это не файл, а именованный канал (FIFO)",
    stat.S_IFSOCK: "это не файл, а сокет",
    stat.S_IFCHR: "это не файл, а устройство",
    stat.S_IFBLK: "это не файл, а устройство",
}
NOT_A_TABLE = "файл не является таблицей (.xlsx, .xls, .ods, .csv)"


@dataclass(frozen=True)
class DroppedFile:
    """One file in the drop folder, as seen at one moment."""

    location: str | Path  # absolute: where its bytes are read (the drop folder, or the archived copy)
    relative: str  # relative to the drop folder, with «/», as shown and recorded: see shown_name
    size: int
    mtime: float
    mode: int = stat.S_IFREG  # st_mode of lstat: symlinks are never followed

    @cached_property
    def path(self) -> Path:
        # Made when asked for: a re-run lists tens of thousands of files and opens a handful, and a
        # Path costs more than listing the file (≈ 30 µs against 15 µs).
        return Path(self.location)

    @property
    def name(self) -> str:
        """The file's own name as shown (the last part of *relative*)."""
        return self.relative.rpartition("/")[2]


@dataclass(frozen=True)
class Unit:
    """What is judged as one: a workbook, a school's CSV parts, or a file that is not a report."""

    kind: str
    files: tuple[DroppedFile, ...]
    reason: str = ""  # why an unrecognized file is not a report

    @property
    def key(self) -> str:
        return self.files[0].relative


def shown_name(name: str) -> str:
    """A file name as text that any database, page or terminal takes, and that names no other file.

    Names are bytes: a Windows share may hand over a Windows-1251 name that is not UTF-8, which Python
    keeps as lone surrogates (PEP 383) that UTF-8 cannot store. Such bytes are written «\\xee»; a
    backslash is then doubled, so a name that really contains «\\xee» is not taken for one that
    does not (the ledger knows files by this text). Valid UTF-8 names without a backslash are as they are.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if "\\" not in name:
            return name
    return os.fsencode(name).replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def list_drop_folder(folder: Path) -> list[DroppedFile]:
    """Every file under *folder* with its lstat (size, time, type); symlinks are listed but never followed.

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
            relative = prefix + shown_name(entry.name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, relative + "/"))
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished between listing and looking: seen on the next run
            found.append(DroppedFile(entry.path, relative, info.st_size, info.st_mtime, info.st_mode))
    return sorted(found, key=lambda dropped: dropped.relative)


def csv_group(relative: str) -> tuple[str, str]:
    """The CSV group a file *relative* belongs to: its folder and the prefix before «_» (REPORT_FORMAT §4).

    The prefix is compared NFC-normalised and case-folded: «й» typed as one character or as «и» with a
    combining breve (macOS writes names decomposed) is the same school's part.
    """
    folder, _, name = relative.rpartition("/")
    prefix = name.split("_", 1)[0] if "_" in name else PurePosixPath(name).stem
    return folder, unicodedata.normalize("NFC", prefix).casefold()


def group_units(files: list[DroppedFile]) -> list[Unit]:
    """Group CSV parts by csv_group; classify everything else as a workbook or not a report."""
    units: list[Unit] = []
    csv_groups: dict[tuple[str, str], list[DroppedFile]] = {}
    for dropped in files:
        kind, reason = classify(dropped)
        if kind == CSV_GROUP:
            csv_groups.setdefault(csv_group(dropped.relative), []).append(dropped)
        else:
            units.append(Unit(kind, (dropped,), reason))
    for parts in csv_groups.values():
        units.append(Unit(CSV_GROUP, tuple(sorted(parts, key=lambda part: part.relative))))
    return sorted(units, key=lambda unit: unit.key)


def classify(dropped: DroppedFile) -> tuple[str, str]:
    """(WORKBOOK | CSV_GROUP | UNRECOGNIZED, why it is not a report), told from the name and type alone."""
    name = dropped.name
    if name.startswith("~$") or name.startswith(".~lock"):
        return UNRECOGNIZED, "это служебный файл блокировки Excel/LibreOffice, а не отчёт"
    if name.startswith("."):
        return UNRECOGNIZED, "скрытый файл"
    if not stat.S_ISREG(dropped.mode):
        return UNRECOGNIZED, _NOT_A_FILE.get(stat.S_IFMT(dropped.mode), "это не обычный файл")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return WORKBOOK, ""
    if suffix == CSV_SUFFIX:
        return CSV_GROUP, ""
    return UNRECOGNIZED, NOT_A_TABLE


def is_read(dropped: DroppedFile, max_bytes: int) -> bool:
    """Whether collecting *dropped* reads its bytes: a workbook or CSV part within the size limit.

    Nothing else is ever opened: a file that is not a report is known by its name and size, and one
    over the limit is an S07 without being read (see unread_identity).
    """
    return classify(dropped)[0] != UNRECOGNIZED and dropped.size <= max_bytes


def unread_identity(dropped: DroppedFile) -> str:
    """The identity of a file that is never read: a hash of its name, type and size (not its time, so a
    file that is only touched stays the same file)."""
    kind = stat.S_IFMT(dropped.mode)
    return hashlib.sha256(f"unread\0{kind}\0{dropped.relative}\0{dropped.size}".encode()).hexdigest()


def hash_unit(hashes: list[tuple[str, str]]) -> str:
    """A CSV group's identity: the hash of its parts' names and hashes; a single file keeps its own."""
    if len(hashes) == 1:
        return hashes[0][1]
    digest = hashlib.sha256()
    for name, sha in sorted(hashes):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()
