"""Take a dropped file's bytes once, through a descriptor that follows no link and reads only a regular file."""

# Everything after this read uses these bytes: their hash is the file's identity, they are archived under
# it, and the judges read the archived copy. A file the school rewrites, deletes or swaps for a link
# while a run goes on cannot make the run judge one content and keep another.

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from pipeline.intake.discover import DroppedFile

# O_NONBLOCK: opening a FIFO swapped in after the listing returns at once instead of waiting for a
# writer. O_NOCTTY: a terminal swapped in does not become ours.
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
_OPEN_FOLDER = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY
# A path component that became a link, a socket (ENXIO) or no folder since the listing: the file
# changed under us and is looked at again next run.
_CHANGED = frozenset({errno.ELOOP, errno.ENOTDIR, errno.ENXIO, errno.EAGAIN})
UNREADABLE = "файл недоступен для чтения"


@dataclass(frozen=True)
class Captured:
    """The bytes of a file, as they were while its size and time matched the listing."""

    data: bytes


@dataclass(frozen=True)
class Changing:
    """The file differs from the listing or changed during the read (still being written): next run."""


@dataclass(frozen=True)
class Gone:
    """The file was deleted since the listing: not in the folder this run."""


@dataclass(frozen=True)
class Unreadable:
    """The file is there and will not be read (no permission, an I/O error): a file that is not a report."""

    reason: str = UNREADABLE


Capture = Captured | Changing | Gone | Unreadable


class DropFolder:
    """The drop folder held open, so each file is opened relative to it, one folder at a time."""

    def __init__(self, root: str):
        self.root = root
        self._prefix = os.fsencode(root).rstrip(b"/") + b"/"
        self._fd = os.open(root, _OPEN_FOLDER)

    def __enter__(self) -> DropFolder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        os.close(self._fd)

    def capture(self, dropped: DroppedFile) -> Capture:
        """Read *dropped* whole if it is still the regular file of its listing (size and mtime), else say why not."""
        location = os.fsencode(dropped.location)
        if not location.startswith(self._prefix):
            raise ValueError(f"{dropped.relative!r} is not in the drop folder {self.root}")
        *folders, name = location[len(self._prefix):].split(b"/")
        opened: list[int] = []
        try:
            folder = self._fd
            for part in folders:  # every folder on the way opened without following a link
                folder = os.open(part, _OPEN_FOLDER, dir_fd=folder)
                opened.append(folder)
            handle = os.open(name, _OPEN_FILE, dir_fd=folder)
            opened.append(handle)
            return _read_settled(handle, dropped)
        except OSError as error:
            if error.errno == errno.ENOENT:
                return Gone()
            if error.errno in _CHANGED:
                return Changing()
            return Unreadable()
        finally:
            for descriptor in reversed(opened):
                os.close(descriptor)


def _read_settled(handle: int, dropped: DroppedFile) -> Capture:
    before = os.fstat(handle)
    if not stat.S_ISREG(before.st_mode) or not _as_listed(before, dropped):
        return Changing()
    chunks = []
    left = dropped.size + 1  # one byte more than listed tells a file that grew
    while left > 0 and (chunk := os.read(handle, min(left, 1024 * 1024))):
        chunks.append(chunk)
        left -= len(chunk)
    data = b"".join(chunks)
    if len(data) != dropped.size or not _as_listed(os.fstat(handle), dropped):
        return Changing()
    return Captured(data)


def _as_listed(info: os.stat_result, dropped: DroppedFile) -> bool:
    return info.st_size == dropped.size and info.st_mtime == dropped.mtime
