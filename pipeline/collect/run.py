"""One collection pass over a drop folder: plan, judge batches ahead of recording them, write the status."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.archive import ARCHIVE_FOLDER, campaign_tag
from pipeline.atomic import remove_stale_temporaries
from pipeline.collect.plan import BATCH_SIZE, Plan, PlannedUnit, batches, plan_collection
from pipeline.collect.record import record_batch, recover_feedback
from pipeline.collect.status import CampaignStatus, current_status, status_json, write_status
from pipeline.district.setup import Setup
from pipeline.intake.isolation import IsolatedReader

if TYPE_CHECKING:
    # Judging's modules (pandas, pandera: ≈ 0.3 s) are imported where a batch is judged: a run with
    # nothing new never pays for them.
    from pipeline.judge.verdict import Rules, Verdict


def judge_batch(rules: Rules, batch: list[PlannedUnit], isolated: IsolatedReader | None = None) -> list[Verdict]:
    """Judge the units of *batch* that need it (not duplicates), in worker processes; pure, no ledger.

    Runs in the run's process with the run's pool, or on a Dask worker with a pool of its own.
    """
    from pipeline.judge.verdict import judge_isolated

    return judge_isolated([planned.unit for planned in batch if planned.judge], rules, isolated)


def judging_rules(setup: Setup, engine: Engine, now: dt.datetime) -> Rules:
    """The rules of this run: the district, its register, the campaign, today and last year's indicators."""
    from pipeline.judge.verdict import Rules

    with ledger.transaction(engine) as connection:
        previous = ledger.accepted_indicators(connection, setup.year - 1)
    return Rules(setup.district, setup.register, setup.campaign, now.date(), previous)


class Judging(Protocol):
    """Where batches are judged: submit(batch) starts judging it and returns something with .result()."""

    ahead: int  # how many batches may be judged at once, ahead of the recording

    def submit(self, batch: list[PlannedUnit]) -> Any: ...


# The seam of a pass: given the run's rules, a context in which batches are judged (this machine's
# worker processes by default; the application layer passes a Dask cluster's).
JudgingFactory = Callable[["Rules"], AbstractContextManager[Judging]]


class LocalJudging:
    """Judge batches in this machine's worker processes, one batch ahead of the recording.

    While the run records batch k (ledger, archive, feedback), the workers already read, type and
    check batch k+1: the two cores are busy at once.
    """

    ahead = 1

    def __init__(self, rules: Rules):
        from pipeline.judge.verdict import judging_pool

        self.rules = rules
        self._pool = judging_pool(rules)
        # One thread: the pool is not thread-safe, and one batch is judged at a time.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="judge")

    def submit(self, batch: list[PlannedUnit]) -> Future[list[Verdict]]:
        return self._thread.submit(judge_batch, self.rules, batch, self._pool)

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)
        self._pool.close()


@contextmanager
def local_judging(rules: Rules) -> Iterator[Judging]:
    judging = LocalJudging(rules)
    try:
        yield judging
    finally:
        judging.close()


@dataclass
class CollectionSummary:
    """What a collection run did and where the campaign stands.

    The per-file list (the --json contract) is read from the ledger on first use: a re-run over tens
    of thousands of files must not read every finding back just to print a few counts.
    """

    setup: Setup
    processed: int
    unsettled: list[str]
    counts: dict[str, int]  # files now in the drop folder by their submission's status
    status: CampaignStatus

    @property
    def year(self) -> int:
        return self.setup.year

    @cached_property
    def files(self) -> list[dict[str, Any]]:
        engine = ledger.open_ledger(self.setup.ledger_url)
        try:
            return file_statuses(self.setup, engine)
        finally:
            engine.dispose()

    def to_json(self, with_files: bool = True) -> dict[str, Any]:
        result = {"year": self.year, "processed": self.processed, "pending": self.unsettled,
                  "counts": self.counts, "schools": status_json(self.status)}
        if with_files:
            result["files"] = self.files
        return result


def file_statuses(setup: Setup, engine: Engine) -> list[dict[str, Any]]:
    """Every file now in the drop folder with its submission's status and findings (the --json contract)."""
    with ledger.transaction(engine) as connection:
        present = ledger.present_files(connection, setup.year)
        stored = {item.id: item for item in ledger.campaign_submissions(connection, setup.year)}
        found = ledger.submission_findings(connection, sorted({number for *_, number in present}))
    result = []
    for path, sha, number in present:
        submission = stored[number]
        result.append({
            "path": f"{setup.year}/{path}", "sha256": sha, "school": submission.school, "status": submission.status,
            "findings": [finding.to_dict() for finding in found[number]],
        })
    return result


def finish_collection(setup: Setup, engine: Engine, plan: Plan, processed: int, run_id: int,
                      now: dt.datetime) -> CollectionSummary:
    """Mark present files, close the run, write the status pages; return the summary."""
    with ledger.transaction(engine) as connection:
        if plan.present_changed:
            ledger.set_present(connection, setup.year, plan.present)
        ledger.finish_run(connection, run_id, now, processed)
    status = current_status(setup, engine, now)
    write_status(setup.outputs, status)
    with ledger.transaction(engine) as connection:
        counts = ledger.present_counts(connection, setup.year)
    return CollectionSummary(setup, processed, plan.unsettled, counts, status)


def collect(setup: Setup, judging: JudgingFactory = local_judging, *, now: dt.datetime | None = None,
            progress: Callable[[int, int], None] | None = None, batch_size: int = BATCH_SIZE) -> CollectionSummary:
    """Run a whole collection pass: recover, plan, judge and record batch by batch, write the status.

    Batches are recorded in arrival order, each in its own transaction, by this process only (the
    ledger has one writer); *judging* runs ahead of the recording.
    """
    now = now or dt.datetime.now().replace(microsecond=0)
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        with ledger.transaction(engine) as connection:
            interrupted = ledger.last_run_unfinished(connection, setup.year)
        if interrupted:  # a killed run leaves temporary files behind (a normal one removes its own)
            remove_stale_temporaries(setup.outputs / str(setup.year))
            # Shared by every campaign: only this campaign's (another may be writing there now).
            remove_stale_temporaries(setup.outputs / ARCHIVE_FOLDER, tag=campaign_tag(setup.year))
        recover_feedback(setup, engine, now)
        plan = plan_collection(setup, engine, now)
        with ledger.transaction(engine) as connection:
            run_id = ledger.start_run(connection, setup.year, now)
        processed = 0
        if plan.new_units:
            with judging(judging_rules(setup, engine, now)) as judges:
                upcoming = batches(plan, batch_size)
                in_flight: deque[tuple[list[PlannedUnit], Any]] = deque()

                def top_up() -> None:
                    while len(in_flight) < judges.ahead and (batch := next(upcoming, None)) is not None:
                        in_flight.append((batch, judges.submit(batch)))

                top_up()
                while in_flight:
                    batch, judged = in_flight.popleft()
                    verdicts = judged.result()
                    top_up()  # the next batch is judged while this one is recorded
                    processed += len(record_batch(setup, engine, batch, verdicts, now))
                    if progress:
                        progress(processed, len(plan.new_units))
        return finish_collection(setup, engine, plan, processed, run_id, now)
    finally:
        engine.dispose()
