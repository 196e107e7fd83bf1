"""Read units in worker processes with memory and time limits, so a file that kills its reader harms only itself."""

# python-calamine aborts the whole process (SIGABRT, not an exception) on some hostile workbooks
# (calamine #693); preflight stops every such file we know of, and this is the layer for the ones we do
# not. A dead worker breaks its ProcessPoolExecutor and every task in flight on it, so the pool is rebuilt
# and the units that were in flight are read again one at a time: exactly the faulty file gets the finding.

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any

from pipeline import findings as catalogue
from pipeline.district.roadmap import District
from pipeline.findings import Finding
from pipeline.intake.discover import CSV_GROUP, UNRECOGNIZED, Unit
from pipeline.intake.preflight import size_reason
from pipeline.intake.read import FILE_SHEET, RawSubmission, read_csv_parts, read_workbook, unread_part

log = logging.getLogger(__name__)

# (unit, district or IsolatedReader.context) → RawSubmission, or what a custom reader returns
# (judge.prejudge_unit: a Prejudged); crashes and timeouts become a RawSubmission with one finding.
Reader = Callable[[Unit, Any], Any]

MEMORY_LIMIT = 1536 * 1024 * 1024  # a normal report reads in < 50 MB; calamine needs ~2 GB for 3 M rows
TIME_LIMIT = 60.0  # seconds per file; a normal report takes milliseconds
# Units per task: one unit per task cost ≈ 0.6–0.9 ms more per file than chunks of 32 (measured, 300 files).
CHUNK_SIZE = 32
# A worker killed at the time limit is told apart from one that crashed by how long its file ran.
TOO_SLOW = "файл обрабатывается слишком долго"
# Every crash measured here comes from what the file declares, not from damage (damage raises an
# exception and is S01 in read.py): a huge range or string exhausting memory (calamine #693 aborts, the
# rlimit turns Python's allocations into MemoryError). So a crash is S07, whose hint says what to remove.
TOO_BIG = "файл слишком велик для обработки"
DAMAGED = "файл повреждён"
# The parent's own guard, should a worker outlive its alarm (a reader blocking SIGALRM): so long after
# the time limit, the pool is killed from outside.
GRACE = 5.0
# How often a worker looks whether the run that made it is still there.
OWNER_CHECK_SECONDS = 1.0
# forkserver: each worker is forked from a small single-threaded server that already imported the
# reader, not from the run itself, which holds Prefect's and SQLAlchemy's threads and locks (fork would
# copy them mid-use). Measured per pool of two: fork 10–25 ms, forkserver 30–60 ms, spawn ≈ 300 ms. Both
# forkserver and spawn make each worker import the run's __main__ again (Python 3.11 cannot preload it
# into the server): free under the eibm CLI, ≈ 3 s per worker under flows.py, which imports Prefect.
START_METHOD = "forkserver"
# The reader's own module is preloaded too (judge.prejudge_unit: pandas, pandera), so workers start warm.
_PRELOAD = ["pipeline.intake.read", "pipeline.intake.discover", "pipeline.district.roadmap", "python_calamine"]


def read_unit(unit: Unit, district: District) -> RawSubmission:
    """Read one workbook or CSV group in this process (what a worker runs).

    A file over the size limit is an S07 without being opened: a collection never read it (see
    collect.plan), so it has no archived copy, and its place in the drop folder may hold anything by now.
    """
    limits = (district.max_file_bytes, district.max_rows_per_sheet)
    too_big = [_file_finding(f"{dropped.name}: {size_reason(dropped.size)}" if unit.kind == CSV_GROUP
                             else size_reason(dropped.size), district)
               for dropped in unit.files if dropped.size > district.max_file_bytes]
    if unit.kind != CSV_GROUP:
        return RawSubmission([], too_big) if too_big else read_workbook(unit.files[0].path, *limits)
    parts = [dropped for dropped in unit.files if dropped.size <= district.max_file_bytes]
    raw = read_csv_parts([dropped.path for dropped in parts], *limits, names=[dropped.name for dropped in parts])
    if not too_big:
        return raw
    refused = [unread_part(dropped.name) for dropped in unit.files if dropped.size > district.max_file_bytes]
    return RawSubmission(raw.sheets + refused, too_big + raw.findings)


class IsolatedReader:
    """A pool of reader processes; use as a context manager, or close() it.

    *reader* must be a module-level function (it is pickled by name); tests pass their own. It is
    called with a unit and *context* if given, else the district of the call.
    """

    def __init__(self, max_workers: int | None = None, memory_limit: int = MEMORY_LIMIT,
                 time_limit: float = TIME_LIMIT, chunk_size: int = CHUNK_SIZE, reader: Reader = read_unit,
                 grace: float = GRACE, context: Any = None):
        self.max_workers = max_workers or os.cpu_count() or 1
        # What *reader* gets instead of the district, sent once to each worker (it may hold a whole
        # register: too big to send with every chunk).
        self.context = context
        self.memory_limit = memory_limit
        self.time_limit = time_limit
        self.chunk_size = chunk_size
        self.reader = reader
        self.grace = grace
        self.rebuilds = 0  # pools replaced after a crash or a timeout
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __call__(self, unit: Unit, district: District) -> RawSubmission:
        """Read one unit in a worker: a drop-in `reader` for judge_units (one round trip per unit)."""
        return self.read_all([unit], district)[0]

    def read_ahead(self, units: Sequence[Unit], district: District) -> Reader:
        """Read *units* in parallel now; return a `reader` for judge_units that hands out the results."""
        ready = {unit: raw for unit, raw in zip(units, self.read_all(units, district), strict=True)
                 if unit.kind != UNRECOGNIZED}

        def reader(unit: Unit, district: District) -> RawSubmission:
            raw = ready.pop(unit, None)
            return raw if raw is not None else self(unit, district)

        return reader

    def read_all(self, units: Sequence[Unit], district: District) -> list[RawSubmission]:
        """Read every unit in worker processes; the result is in the order of *units*.

        An unrecognized unit is never opened (it may be a symlink out of the drop folder): it gets
        its S01 finding, as judge_units gives it.
        """
        results: list[RawSubmission | None] = [None] * len(units)
        todo = []
        for index, unit in enumerate(units):
            if unit.kind == UNRECOGNIZED:
                results[index] = RawSubmission([], [catalogue.build("S01", FILE_SHEET, "", reason=unit.reason)])
            else:
                todo.append(index)
        # Small batches are spread over every worker; big ones go in chunks of chunk_size.
        size = max(1, min(self.chunk_size, math.ceil(len(todo) / self.max_workers)))
        waiting = deque(todo[start:start + size] for start in range(0, len(todo), size))
        # At most one chunk per worker is out at a time, so when the pool breaks, the chunks that
        # failed are exactly those that were running: the rest have not been sent yet.
        running: dict[Future[list[RawSubmission]], tuple[list[int], float]] = {}
        suspects: list[int] = []
        while waiting or running:
            while waiting and len(running) < self.max_workers and not suspects:
                chunk = waiting.popleft()
                future = self._submit([units[index] for index in chunk], district)
                running[future] = (chunk, time.monotonic() + self.time_limit * len(chunk) + self.grace)
            deadline = min(limit for _, limit in running.values())
            done, _ = wait(running, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
            if not done:
                self._kill_pool()  # a chunk outlived every alarm
                done, _ = wait(running, timeout=self.grace)  # the executor now fails its futures as broken
            for future in done:
                chunk, _ = running.pop(future)
                try:
                    for index, raw in zip(chunk, future.result(), strict=True):
                        results[index] = raw
                except (BrokenProcessPool, MemoryError):  # MemoryError: raised while sending the results back
                    suspects += chunk
            if suspects and not running:
                self._replace_pool()
                for index in sorted(suspects):
                    results[index] = self._read_alone(units[index], district)
                suspects = []
        read = [raw for raw in results if raw is not None]
        assert len(read) == len(units), "every unit is read or given a finding"
        return read

    def _read_alone(self, unit: Unit, district: District) -> RawSubmission:
        """Read one suspect in a pool of its own making: if the pool breaks now, this unit broke it."""
        # Start the worker first: its start-up (which imports the run's __main__) must not count as reading.
        self._warm()
        started = time.monotonic()
        future = self._submit([unit], district)
        try:
            return future.result(timeout=self.time_limit + self.grace)[0]
        except MemoryError:
            return RawSubmission([], [_file_finding(TOO_BIG, district)])
        except BrokenProcessPool:
            elapsed = time.monotonic() - started
        except TimeoutError:
            self._kill_pool()
            elapsed = time.monotonic() - started
        self._replace_pool()
        reason = TOO_SLOW if elapsed >= self.time_limit else TOO_BIG
        log.warning("%s: %s (worker lost after %.1f s)", unit.key, reason, elapsed)
        return RawSubmission([], [_file_finding(reason, district)])

    def _submit(self, units: list[Unit], district: District) -> Future[list[RawSubmission]]:
        return self._live_pool().submit(_read_chunk, self.reader, units, district, self.time_limit)

    def _warm(self) -> None:
        self._live_pool().submit(os.getpid).result()

    def _live_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context(START_METHOD)
            # No effect once the server runs; harmless.
            context.set_forkserver_preload([*_PRELOAD, self.reader.__module__])
            self._pool = ProcessPoolExecutor(self.max_workers, mp_context=context, initializer=_start_worker,
                                             initargs=(self.memory_limit, self.context, os.getpid()))
        return self._pool

    def _replace_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self.rebuilds += 1

    def _kill_pool(self) -> None:
        # ProcessPoolExecutor has no public way to stop a running task before Python 3.14
        # (kill_workers); killing its processes makes it fail every pending future as broken.
        processes = getattr(self._pool, "_processes", None) or {}
        for process in list(processes.values()):
            process.kill()


def read_units_isolated(units: Sequence[Unit], district: District, max_workers: int | None = None,
                        memory_limit: int = MEMORY_LIMIT, time_limit: float = TIME_LIMIT) -> list[RawSubmission]:
    """Read *units* in a pool of worker processes made for this call only."""
    with IsolatedReader(max_workers, memory_limit, time_limit) as isolated:
        return isolated.read_all(units, district)


_context: Any = None  # a worker's IsolatedReader.context


def _start_worker(memory_limit: int, context: Any, owner: int) -> None:
    """Limit a fresh worker: address space, no core dumps, SIGALRM kills; keep the reader's context.

    The worker also ends when *owner*, the run that made the pool, is gone: a run killed outright
    (SIGKILL) cannot shut its pool down, and its workers would wait for work for ever.
    """
    global _context
    _context = context
    threading.Thread(target=_end_with, args=(owner,), name="owner-watch", daemon=True).start()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    # An aborting calamine would otherwise leave a core file of up to the memory limit behind.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The default action ends the process even inside native code that never returns to Python,
    # where a Python-level handler would never run.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    # A Rust abort prints «memory allocation of N bytes failed»; with RUST_BACKTRACE=1 inherited from a
    # developer's shell it adds ~30 frames to the run's log for every hostile file.
    os.environ["RUST_BACKTRACE"] = "0"


def _end_with(owner: int) -> None:
    while _is_running(owner):
        time.sleep(OWNER_CHECK_SECONDS)
    os._exit(0)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"  # killed, not yet reaped
    except (ProcessLookupError, FileNotFoundError):
        return False
    except OSError:
        return True  # alive but not ours to look at


def _read_chunk(reader: Reader, units: list[Unit], district: District, time_limit: float) -> list[RawSubmission]:
    """Read *units* one by one in a worker, each under its own alarm."""
    results = []
    for unit in units:
        signal.setitimer(signal.ITIMER_REAL, time_limit)
        try:
            raw = reader(unit, district if _context is None else _context)
        except MemoryError:
            # Only Python's allocations raise (the rlimit at work); Rust's abort instead, as a crash.
            raw = RawSubmission([], [_file_finding(TOO_BIG, district)])
        except BaseException as error:
            # A Rust panic in calamine arrives as pyo3's PanicException, a BaseException that cannot be
            # imported by name: it is the parser failing on this file, not our bug.
            if type(error).__name__ != "PanicException":
                raise
            raw = RawSubmission([], [_file_finding(DAMAGED, district, "S01")])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        results.append(raw)
    return results


def _file_finding(reason: str, district: District, code: str = "S07") -> Finding:
    # The limits as read.py states them in its own S07 findings.
    limit = f"{district.max_file_bytes // 1024 // 1024} МБ и {district.max_rows_per_sheet} строк на листе"
    return catalogue.build(code, FILE_SHEET, "", reason=reason, limit=limit)
