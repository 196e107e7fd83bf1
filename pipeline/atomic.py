"""Write output files atomically: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_UMASK = os.umask(0o022)  # reading it means setting it: once, here
os.umask(_UMASK)


def use_umask(mask: int) -> None:
    """Make *mask* the process's umask and the one new outputs follow (the warm runner's child takes its
    command's, eibm/runner.py)."""
    global _UMASK
    os.umask(mask)
    _UMASK = mask


class OutputError(Exception):
    """An output could not be written (disk full, no permission); nothing half-written is left."""


# What the analyst can do about the usual reasons a write fails; the system's own words are English.
_OS_ERRORS_RU = {
    errno.EACCES: "нет прав на запись — проверьте права на папку результатов или укажите другую (--outputs)",
    errno.EPERM: "операция запрещена — проверьте права на папку результатов или укажите другую (--outputs)",
    errno.EROFS: "файловая система только для чтения — укажите другую папку результатов (--outputs)",
    errno.ENOSPC: "на диске нет места — освободите место и повторите",
    errno.EDQUOT: "превышена дисковая квота — освободите место и повторите",
    errno.ENOENT: "папка не найдена — проверьте путь",
    errno.ENOTDIR: "в пути вместо папки файл — проверьте путь",
    errno.EISDIR: "на месте файла папка — удалите или переименуйте её",
}


def describe_os_error(error: OSError) -> str:
    """The reason of *error* in Russian with what to do, or the system's text for rare ones."""
    return _OS_ERRORS_RU.get(error.errno or 0, f"ошибка системы: {error.strerror or error}")


def output_error(target: Path, error: OSError) -> OutputError:
    """An OutputError naming *target* and saying, in Russian, why and what to do."""
    return OutputError(f"не удалось записать {target}: {describe_os_error(error)}")


@contextlib.contextmanager
def atomic_path(target: Path, durable: bool = True, sweep: bool = True, tag: str = "") -> Iterator[Path]:
    """Yield a temporary path next to *target*; on success fsync it and rename it over *target*.

    *durable* = False skips the fsyncs for documents the next run can write again (feedback pages),
    or that the caller makes durable in bulk (flush_to_disk): the rename still makes the switch
    atomic. *sweep* = False leaves stale temporaries of *target* to remove_stale_temporaries (a
    listing of the folder per file costs more than the file, for thousands of files a run). *tag*
    marks the temporary file as its writer's (a campaign), for a sweep of a folder others write to.
    """
    handle, temporary = _create_temporary(target, sweep, tag)
    os.close(handle)
    with _replacing(target, temporary, durable):
        yield temporary
        if durable:
            with temporary.open("rb+") as written:
                os.fsync(written.fileno())


@contextlib.contextmanager
def atomic_file(target: Path, durable: bool = True, sweep: bool = True, tag: str = "") -> Iterator[BinaryIO]:
    """Like atomic_path, but yield the temporary file open for writing (one open instead of two:
    half the cost of a small file, for the thousands a collection writes)."""
    handle, temporary = _create_temporary(target, sweep, tag)
    with _replacing(target, temporary, durable), os.fdopen(handle, "wb") as stream:
        yield stream
        if durable:
            stream.flush()
            os.fsync(stream.fileno())


def _create_temporary(target: Path, sweep: bool, tag: str) -> tuple[int, Path]:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A run killed mid-write leaves its temporary file behind; the campaign lock means no other
        # writer of this target is alive, so any such leftover is stale.
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp") if sweep else ():
            stale.unlink(missing_ok=True)
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{tag + '.' if tag else ''}",
                                        suffix=".tmp")
        # mkstemp makes the file private (0600); outputs are documents for others to read.
        os.fchmod(handle, 0o666 & ~_UMASK)
    except OSError as error:
        raise output_error(target, error) from error
    return handle, Path(name)


@contextlib.contextmanager
def _replacing(target: Path, temporary: Path, durable: bool) -> Iterator[None]:
    """Rename *temporary* over *target* when the block succeeds; remove it when it fails."""
    try:
        yield
        os.replace(temporary, target)
        if durable:
            _fsync_folder(target.parent)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise output_error(target, error) from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes(target: Path, data: bytes, durable: bool = True, sweep: bool = True) -> None:
    with atomic_file(target, durable, sweep) as stream:
        stream.write(data)


def write_text(target: Path, text: str, durable: bool = True, sweep: bool = True) -> None:
    write_bytes(target, text.encode("utf-8"), durable, sweep)


def remove_stale_temporaries(folder: Path, tag: str = "") -> int:
    """Remove atomic_path's leftovers («.name.XXXX.tmp») under *folder*, only those tagged *tag* if
    given; return how many. Call it holding the lock of everyone who writes them."""
    removed = 0
    marker = f".{tag}." if tag else ""
    pending = [str(folder)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.name.startswith(".") and entry.name.endswith(".tmp") and marker in entry.name:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                continue
    return removed


def flush_to_disk() -> None:
    """Make every file written so far durable at once (before a ledger commit that refers to them):
    one sync instead of two fsyncs per file."""
    os.sync()


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
