"""Write feedback in a process of its own, one batch behind the recording, so that both cores stay busy."""

from __future__ import annotations

import datetime as dt
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.feedback import FeedbackInput, write_feedback
from pipeline.isolation import worker_context


class FeedbackQueue:
    """Feedback pages and annotated copies, written by one background process in the order given.

    The recording of a batch hands its feedback over and goes on with the next batch; the pages of a
    school superseded by a later batch are rewritten after its earlier ones (one process, in order).
    A batch's submissions are marked as having feedback only once its files are written: a run killed
    before that leaves them to collect.recover_feedback, as a run writing them itself would.
    """

    def __init__(self) -> None:
        # forkserver, as isolation.py explains: this process holds threads and locks not to be copied.
        self._pool = ProcessPoolExecutor(1, mp_context=worker_context())
        self._pending: deque[tuple[Future[None], list[int], dt.datetime]] = deque()

    def __enter__(self) -> FeedbackQueue:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def put(self, engine: Engine, outputs: Path, items: list[FeedbackInput], ids: list[int],
            now: dt.datetime) -> None:
        """Queue one batch's feedback; settle the batch before it (at most one batch is in flight)."""
        self._pending.append((self._pool.submit(write_all, outputs, items), ids, now))
        while len(self._pending) > 1:
            self._settle_first(engine)

    def drain(self, engine: Engine) -> None:
        """Wait for every queued batch and mark its feedback written (before the status is written)."""
        while self._pending:
            self._settle_first(engine)

    def _settle_first(self, engine: Engine) -> None:
        written, ids, now = self._pending.popleft()
        written.result()  # a write that failed (OutputError) fails the run here, as it would in this process
        with ledger.transaction(engine) as connection:
            ledger.mark_feedback(connection, ids, now)


def write_all(outputs: Path, items: list[FeedbackInput]) -> None:
    for item in items:
        write_feedback(outputs, item)
