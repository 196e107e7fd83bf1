"""Write output files atomically: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_UMASK = os.umask(0o022)
os.umask(_UMASK)


class OutputError(Exception):
    """An output could not be written (disk full, no permission); nothing half-written is left."""


@contextlib.contextmanager
def atomic_path(target: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to *target*; on success fsync it and rename it over *target*.

    *durable* = False skips the fsyncs for documents the next run can write again (feedback pages):
    the rename still makes the switch atomic; only a power cut could lose the newest version.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A run killed mid-write leaves its temporary file behind; the campaign lock means no other
        # writer of this target is alive, so any such leftover is stale.
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
            stale.unlink(missing_ok=True)
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        # mkstemp makes the file private (0600); outputs are documents for others to read.
        os.fchmod(handle, 0o666 & ~_UMASK)
        os.close(handle)
    except OSError as error:
        raise OutputError(f"не удалось записать {target}: {error.strerror or error}") from error
    temporary = Path(name)
    try:
        yield temporary
        if durable:
            with temporary.open("rb+") as written:
                os.fsync(written.fileno())
        os.replace(temporary, target)
        if durable:
            _fsync_folder(target.parent)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"не удалось записать {target}: {error.strerror or error}") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes(target: Path, data: bytes, durable: bool = True) -> None:
    with atomic_path(target, durable) as temporary:
        temporary.write_bytes(data)


def write_text(target: Path, text: str, durable: bool = True) -> None:
    write_bytes(target, text.encode("utf-8"), durable)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
