"""The collection step: find what is new in a drop folder, judge it, record it, write feedback and status."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.archive import ARCHIVE_FOLDER, archive_file, campaign_tag
from pipeline.atomic import flush_to_disk, remove_stale_temporaries
from pipeline.collect.feedback import FeedbackInput, write_feedback
from pipeline.collect.status import CampaignStatus, SubmissionFact, build_status, status_json, write_status
from pipeline.district.register import School, expected_schools, load_register
from pipeline.district.roadmap import District, load_district
from pipeline.findings import Finding
from pipeline.intake.discover import (
    UNRECOGNIZED,
    DroppedFile,
    Unit,
    group_units,
    hash_file,
    hash_unit,
    list_drop_folder,
)
from pipeline.intake.isolation import IsolatedReader
from pipeline.intake.read import FILE_SHEET, read_csv_parts, read_workbook
from pipeline.judge.verdict import Rules, Verdict, judge_isolated, judging_pool

log = logging.getLogger(__name__)

BATCH_SIZE = 500
ARRIVALS_FOLDER = "arrivals"


@dataclass(frozen=True)
class Setup:
    """The district's data and where things live, loaded once per run."""

    inputs: Path
    outputs: Path
    year: int
    district: District
    register: dict[str, School]
    ledger_url: str

    @property
    def drop_folder(self) -> Path:
        return self.inputs / str(self.year)


def load_setup(inputs: Path, outputs: Path, year: int, ledger_url: str | None = None) -> Setup:
    """Load district data and register; raises DistrictDataError / RegisterError on broken files."""
    district = load_district(inputs)
    register = load_register(inputs)
    return Setup(inputs, outputs, year, district, register, ledger_url or ledger.default_url(outputs))


@dataclass(frozen=True)
class PlannedUnit:
    """A new or changed unit: when it arrived, its files' (path, sha256, size, mtime), and its content hash."""

    unit: Unit
    arrived: dt.datetime
    facts: tuple[tuple[str, str, int, float], ...]
    sha256: str
    # False when the same content was judged before, in an earlier run or earlier in this plan:
    # the unit is recorded as a duplicate of that judgement, not judged again.
    judge: bool


@dataclass
class Plan:
    """What a run has to do: the new units in arrival order, and files to look at again next run."""

    new_units: list[PlannedUnit]
    present: set[str]
    unsettled: list[str] = field(default_factory=list)
    # Whether the set of present files differs from the ledger's (only then is it rewritten).
    present_changed: bool = True


def plan_collection(setup: Setup, engine: Engine, now: dt.datetime) -> Plan:
    """Find units with a file that is new or changed since the ledger last saw it (by size, time, hash)."""
    dropped = list_drop_folder(setup.drop_folder)
    with ledger.transaction(engine) as connection:
        known = ledger.known_files(connection, setup.year)
        judged = ledger.judged_hashes(connection, setup.year)
        first_run = not ledger.has_runs(connection, setup.year)
    arrivals = load_arrivals(setup.inputs, setup.year) if first_run else {}
    hashes: dict[str, str] = {}
    changed: set[str] = set()
    unsettled: list[str] = []
    touched: list[tuple[str, str, float]] = []
    for file in dropped:
        previous = known.get(file.relative)
        if previous and previous.size == file.size and previous.mtime == file.mtime:
            hashes[file.relative] = previous.sha256
            continue
        sha = _stable_hash(file)
        if sha is None:
            unsettled.append(file.relative)
            continue
        hashes[file.relative] = sha
        if previous is None or previous.sha256 != sha:
            changed.add(file.relative)
        else:
            touched.append((file.relative, sha, file.mtime))
    if touched:
        with ledger.transaction(engine) as connection:
            ledger.touch_files(connection, setup.year, touched)
    settled = [file for file in dropped if file.relative in hashes]
    # Only a changed file's own unit is new: group just the files that may share one with it.
    groups = {_group_of(path) for path in changed}
    new_units = []
    for unit in group_units([file for file in settled if _group_of(file.relative) in groups]):
        if not any(file.relative in changed for file in unit.files):
            continue
        arrived = max(_arrival(file, first_run, arrivals, now) for file in unit.files)
        facts = tuple((file.relative, hashes[file.relative], file.size, file.mtime) for file in unit.files)
        sha = hash_unit([(Path(path).name, file_sha) for path, file_sha, *_ in facts])
        new_units.append(PlannedUnit(unit, arrived, facts, sha, judge=True))
    new_units.sort(key=lambda planned: (planned.arrived, planned.unit.key))
    for index, planned in enumerate(new_units):
        if planned.unit.kind != UNRECOGNIZED:
            new_units[index] = replace(planned, judge=planned.sha256 not in judged)
            judged.add(planned.sha256)
    present = {file.relative for file in settled}
    present_changed = bool(new_units) or present != {path for path, item in known.items() if item.present}
    return Plan(new_units, present, unsettled, present_changed)


def _group_of(relative: str) -> tuple[str, str]:
    """Files that may form one unit (CSV parts: folder and the prefix before «_», as group_units groups
    them; any other file: itself), told from the name alone: grouping looks at every file's type."""
    folder, _, name = relative.rpartition("/")
    if name.lower().endswith(".csv"):
        return folder, (name.split("_", 1)[0] if "_" in name else name[:-4]).casefold()
    return relative, ""


def _stable_hash(file: DroppedFile) -> str | None:
    """Hash a file, or None if it changed while we looked (still being written: judge it next run)."""
    try:
        if file.path.is_symlink():  # never followed: its identity is where it points
            sha = hashlib.sha256(f"symlink:{os.readlink(file.path)}".encode()).hexdigest()
        else:
            sha = hash_file(file.path)
        after = file.path.lstat()
    except OSError:
        return None
    if after.st_size != file.size or after.st_mtime != file.mtime:
        return None
    return sha


def _arrival(file: DroppedFile, first_run: bool, arrivals: dict[str, dt.datetime], now: dt.datetime) -> dt.datetime:
    """A file arrives when a run first sees it; on a campaign's first run, when it was last modified."""
    if not first_run:
        return now
    if file.relative in arrivals:
        return arrivals[file.relative]
    # A file cannot have arrived after the run that sees it (clocks and copied mtimes can lie).
    return min(dt.datetime.fromtimestamp(file.mtime).replace(microsecond=0), now)


def load_arrivals(inputs: Path, year: int) -> dict[str, dt.datetime]:
    """Arrival times carried over from before the pipeline (e-mail receipts): inputs/arrivals/<year>.csv.

    Columns «Файл;Получен» (path relative to the drop folder; ДД.ММ.ГГГГ ЧЧ:ММ). Used only on the first
    run of a campaign, for files already in the folder; git does not keep modification times.
    """
    path = inputs / ARRIVALS_FOLDER / f"{year}.csv"
    if not path.exists():
        return {}
    result = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            try:
                result[row["Файл"].strip()] = dt.datetime.strptime(row["Получен"].strip(), "%d.%m.%Y %H:%M")
            except (KeyError, ValueError, AttributeError):
                log.warning("%s: строка с неверной датой пропущена: %s", path, row)
    return result


def batches(plan: Plan, size: int = BATCH_SIZE) -> Iterator[list[PlannedUnit]]:
    for start in range(0, len(plan.new_units), size):
        yield plan.new_units[start:start + size]


def judge_batch(rules: Rules, batch: list[PlannedUnit], isolated: IsolatedReader | None = None) -> list[Verdict]:
    """Judge the units of *batch* that need it (not duplicates), in worker processes; pure, no ledger.

    Runs in the run's process with the run's pool, or on a Dask worker with a pool of its own.
    """
    return judge_isolated([planned.unit for planned in batch if planned.judge], rules, isolated)


def judging_rules(setup: Setup, engine: Engine, now: dt.datetime) -> Rules:
    """The rules of this run: the district, its register, the campaign, today and last year's indicators."""
    with ledger.transaction(engine) as connection:
        previous = ledger.accepted_indicators(connection, setup.year - 1)
    return Rules(setup.district, setup.register, setup.district.campaign(setup.year), now.date(), previous)


def record_batch(setup: Setup, engine: Engine, batch: list[PlannedUnit], verdicts: list[Verdict],
                 now: dt.datetime) -> list[int]:
    """Archive and record one judged batch (one transaction), then write its feedback; return the ids.

    *verdicts* are judge_batch's, in the order of the batch's units to judge.
    """
    judged = [planned for planned in batch if planned.judge]
    with ledger.transaction(engine) as connection:
        news = []
        for planned, verdict in zip(judged, verdicts, strict=True):
            archived = () if verdict.status == UNRECOGNIZED else tuple(
                archive_file(file.path, file_sha, setup.outputs, setup.year)
                for file, (_, file_sha, *_) in zip(planned.unit.files, planned.facts, strict=True))
            data = None
            if verdict.status == ledger.ACCEPTED and verdict.submission is not None:
                data = {name: sheet.values for name, sheet in verdict.submission.sheets.items()}
            news.append(ledger.NewSubmission(planned.sha256, planned.unit.kind, verdict.school, verdict.status,
                                             planned.arrived, planned.facts, tuple(verdict.findings), archived,
                                             data))
        flush_to_disk()  # the copies the ledger is about to name are on disk before it commits
        ids, superseded = ledger.record_many(connection, setup.year, news, now)
        recorded: list[tuple[int, Verdict | None]] = list(zip(ids, verdicts, strict=True))
        for planned in batch:
            if planned.judge:
                continue
            # Identical content judged before (in an earlier run, or earlier in this plan).
            original = ledger.find_by_hash(connection, setup.year, planned.sha256)
            assert original is not None, "plan_collection marks a duplicate only after its original"
            new = ledger.NewSubmission(planned.sha256, planned.unit.kind, original.school, ledger.DUPLICATE,
                                       planned.arrived, planned.facts, (), original.archive,
                                       duplicate_of=original.id)
            (submission_id,), _ = ledger.record_many(connection, setup.year, [new], now)
            recorded.append((submission_id, None))
    write_batch_feedback(setup, engine, recorded, superseded, now)
    return [submission_id for submission_id, _ in recorded]


def write_batch_feedback(setup: Setup, engine: Engine, recorded: list[tuple[int, Verdict | None]],
                         changed_status: list[int], now: dt.datetime) -> None:
    """Feedback pages for the new submissions and for the ones a new file superseded."""
    verdicts = dict(recorded)
    ids = list(dict.fromkeys([submission_id for submission_id, _ in recorded] + changed_status))
    with ledger.transaction(engine) as connection:
        stored = ledger.submissions_by_id(connection, ids)
        found = ledger.submission_findings(connection, ids)
    schools = {item.school for item in stored.values() if item.school}
    states = {school.code: school.state for school in current_status(setup, engine, now, schools).schools}
    campaign = setup.district.campaign(setup.year)
    for number in ids:
        submission = stored[number]
        verdict = verdicts.get(number)
        school = setup.register.get(submission.school) if submission.school else None
        workbook = None
        if submission.archive and submission.kind == "workbook" and submission.archive[0].endswith((".xlsx", ".xlsm")):
            workbook = setup.outputs / submission.archive[0]
        write_feedback(setup.outputs, FeedbackInput(
            file_name=", ".join(submission.paths), sha256=submission.sha256, year=setup.year,
            status=submission.status, processed_at=submission.processed_at, findings=found[number],
            school_code=school.code if school else None, school_name=school.name if school else None,
            school_state=states.get(school.code) if school else None, deadline=campaign.deadline,
            workbook=workbook, sheets=verdict.sheets if verdict and verdict.sheets else _archived_sheets(
                setup, submission, found[number]),
        ))
    with ledger.transaction(engine) as connection:
        ledger.mark_feedback(connection, ids, now)


def _archived_sheets(setup: Setup, submission: ledger.StoredSubmission, found: list[Finding]) -> list[Any] | None:
    """Re-read a CSV group, .xls or .ods from the archive (the annotated copy is rebuilt from its sheets).

    Only files that were read once without trouble: one that failed its pre-parse checks or crashed
    its worker (a whole-file S01/S07) is never parsed in this process.
    """
    unreadable = any(finding.code in ("S01", "S07") and finding.sheet == FILE_SHEET for finding in found)
    if not submission.archive or submission.status == ledger.UNRECOGNIZED or unreadable:
        return None
    copies = [setup.outputs / path for path in submission.archive]
    if submission.kind == "csv":
        raw = read_csv_parts(copies, setup.district.max_file_bytes, setup.district.max_rows_per_sheet)
    elif copies[0].suffix in (".xls", ".ods"):
        raw = read_workbook(copies[0], setup.district.max_file_bytes, setup.district.max_rows_per_sheet)
    else:
        return None
    return raw.sheets or None


def recover_feedback(setup: Setup, engine: Engine, now: dt.datetime) -> int:
    """Write the feedback a killed run recorded but never wrote; return how many."""
    with ledger.transaction(engine) as connection:
        pending = ledger.pending_feedback(connection, setup.year)
    if pending:
        write_batch_feedback(setup, engine, [(number, None) for number in pending], [], now)
    return len(pending)


def current_status(setup: Setup, engine: Engine, now: dt.datetime, schools: set[str] | None = None) -> CampaignStatus:
    """The campaign's status now; of *schools* only, if given (a batch's feedback needs no more)."""
    campaign = setup.district.campaign(setup.year)
    with ledger.transaction(engine) as connection:
        rows = ledger.status_rows(connection, setup.year, schools)
    facts = [SubmissionFact(row.school, row.status, row.arrived_at, row.first_path, row.errors, row.warnings)
             for row in rows]
    expected = expected_schools(setup.register, campaign)
    if schools is not None:
        expected = [school for school in expected if school.code in schools]
    return build_status(expected, facts, campaign, now)


@dataclass
class CollectionSummary:
    """What a collection run did and where the campaign stands.

    The per-file list (the --json contract) is built on first use: a re-run over tens of thousands
    of files must not read every finding back from the ledger just to print a few counts.
    """

    year: int
    processed: int
    unsettled: list[str]
    counts: dict[str, int]  # files now in the drop folder by their submission's status
    status: CampaignStatus
    list_files: Callable[[], list[dict[str, Any]]] = field(default=list, repr=False)

    @cached_property
    def files(self) -> list[dict[str, Any]]:
        return self.list_files()

    def to_json(self, with_files: bool = True) -> dict[str, Any]:
        result = {"year": self.year, "processed": self.processed, "pending": self.unsettled,
                  "counts": self.counts, "schools": status_json(self.status)}
        if with_files:
            result["files"] = self.files
        return result


def _file_statuses_at(setup: Setup, url: str) -> list[dict[str, Any]]:
    engine = ledger.open_ledger(url)
    try:
        return file_statuses(setup, engine)
    finally:
        engine.dispose()


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
            "findings": [finding_json(finding) for finding in found[number]],
        })
    return result


def finding_json(finding: Finding) -> dict[str, str]:
    return {"code": finding.code, "severity": finding.severity, "sheet": finding.sheet, "cell": finding.cell,
            "value": finding.value, "message": finding.message, "hint": finding.hint}


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
    url = setup.ledger_url
    return CollectionSummary(setup.year, processed, plan.unsettled, counts, status,
                             lambda: _file_statuses_at(setup, url))


class Judging(Protocol):
    """Where batches are judged: submit(batch) starts judging it and returns something with .result()."""

    ahead: int  # how many batches may be judged at once, ahead of the recording

    def submit(self, batch: list[PlannedUnit]) -> Any: ...


class LocalJudging:
    """Judge batches in this machine's worker processes, one batch ahead of the recording.

    While the run records batch k (ledger, archive, feedback), the workers already read, type and
    check batch k+1: the two cores are busy at once.
    """

    ahead = 1

    def __init__(self, rules: Rules):
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


@dataclass(frozen=True)
class Steps:
    """The steps of a collection pass; the Prefect flow passes the same functions wrapped as tasks."""

    recover: Callable[..., int] = recover_feedback
    plan: Callable[..., Plan] = plan_collection
    judging: Callable[[Rules], AbstractContextManager[Judging]] = local_judging
    record: Callable[..., list[int]] = record_batch
    finish: Callable[..., CollectionSummary] = finish_collection


def collect(setup: Setup, now: dt.datetime | None = None, progress: Callable[[int, int], None] | None = None,
            batch_size: int = BATCH_SIZE, steps: Steps = Steps()) -> CollectionSummary:
    """Run a whole collection pass: recover, plan, judge and record batch by batch, write the status.

    Batches are recorded in arrival order, each in its own transaction; judging runs ahead of the
    recording (steps.judging: this machine's worker processes, or a Dask cluster).
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
        steps.recover(setup, engine, now)
        plan = steps.plan(setup, engine, now)
        with ledger.transaction(engine) as connection:
            run_id = ledger.start_run(connection, setup.year, now)
        processed = 0
        if plan.new_units:
            rules = judging_rules(setup, engine, now)
            with steps.judging(rules) as judging:
                upcoming = batches(plan, batch_size)
                in_flight: deque[tuple[list[PlannedUnit], Any]] = deque()

                def top_up() -> None:
                    while len(in_flight) < judging.ahead and (batch := next(upcoming, None)) is not None:
                        in_flight.append((batch, judging.submit(batch)))

                top_up()
                while in_flight:
                    batch, judged = in_flight.popleft()
                    verdicts = judged.result()
                    top_up()  # the next batch is judged while this one is recorded
                    processed += len(steps.record(setup, engine, batch, verdicts, now))
                    if progress:
                        progress(processed, len(plan.new_units))
        return steps.finish(setup, engine, plan, processed, run_id, now)
    finally:
        engine.dispose()
