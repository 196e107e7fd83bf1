"""The collection step: find what is new in a drop folder, judge it, record it, write feedback and status."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.archive import archive_file
from pipeline.discover import UNRECOGNIZED, DroppedFile, Unit, group_units, hash_file, hash_unit, list_drop_folder
from pipeline.feedback import FeedbackInput, write_feedback
from pipeline.findings import Finding
from pipeline.isolation import IsolatedReader
from pipeline.judge import Rules, Verdict, judge_units
from pipeline.read import FILE_SHEET, read_csv_parts, read_workbook
from pipeline.register import School, expected_schools, load_register
from pipeline.roadmap import District, load_district
from pipeline.status import CampaignStatus, SubmissionFact, build_status, status_json, write_status

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


@dataclass
class Plan:
    """What a run has to do: the new units in arrival order, and files to look at again next run."""

    new_units: list[tuple[Unit, dt.datetime, list[tuple[str, str, int, float]]]]
    present: set[str]
    unsettled: list[str] = field(default_factory=list)


def plan_collection(setup: Setup, engine: Engine, now: dt.datetime) -> Plan:
    """Find units with a file that is new or changed since the ledger last saw it (by size, time, hash)."""
    dropped = list_drop_folder(setup.drop_folder)
    with ledger.transaction(engine) as connection:
        known = ledger.known_files(connection, setup.year)
        first_run = not ledger.has_runs(connection, setup.year)
    arrivals = load_arrivals(setup.inputs, setup.year) if first_run else {}
    hashes: dict[str, str] = {}
    changed: set[str] = set()
    unsettled: list[str] = []
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
            with ledger.transaction(engine) as connection:
                ledger.touch_file(connection, setup.year, file.relative, sha, file.mtime)
    settled = [file for file in dropped if file.relative in hashes]
    new_units = []
    for unit in group_units(settled):
        if not any(file.relative in changed for file in unit.files):
            continue
        arrived = max(_arrival(file, first_run, arrivals, now) for file in unit.files)
        facts = [(file.relative, hashes[file.relative], file.size, file.mtime) for file in unit.files]
        new_units.append((unit, arrived, facts))
    new_units.sort(key=lambda entry: (entry[1], entry[0].key))
    return Plan(new_units, {file.relative for file in settled}, unsettled)


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


def batches(plan: Plan, size: int = BATCH_SIZE) -> Iterator[list[tuple[Unit, dt.datetime, list[Any]]]]:
    for start in range(0, len(plan.new_units), size):
        yield plan.new_units[start:start + size]


def process_batch(setup: Setup, engine: Engine, batch: list[tuple[Unit, dt.datetime, list[Any]]],
                  now: dt.datetime, isolated: IsolatedReader) -> list[int]:
    """Judge, archive and record one batch (one transaction); write each file's feedback. Return the ids.

    Files are parsed in *isolated*'s worker processes: a file that crashes or hangs its parser
    becomes a finding for that file only (calamine can abort the process: MEASURED.md).
    """
    rules = Rules(setup.district, setup.register, setup.district.campaign(setup.year), now.date())
    with ledger.transaction(engine) as connection:
        previous = ledger.accepted_indicators(connection, setup.year - 1)
        to_judge = []
        duplicates = []
        judged_here: set[str] = set()
        for unit, arrived, facts in batch:
            sha = hash_unit([(Path(path).name, file_sha) for path, file_sha, *_ in facts])
            known = unit.kind != UNRECOGNIZED and (
                sha in judged_here or ledger.find_by_hash(connection, setup.year, sha) is not None)
            if known:
                duplicates.append((unit, arrived, facts, sha))
            else:
                judged_here.add(sha)
                to_judge.append((unit, arrived, facts, sha))
    units = [unit for unit, *_ in to_judge]
    verdicts = judge_units(units, rules, previous.get, reader=isolated.read_ahead(units, setup.district))
    recorded: list[tuple[int, Verdict | None]] = []
    changed_status: list[int] = []
    with ledger.transaction(engine) as connection:
        for (unit, arrived, facts, sha), verdict in zip(to_judge, verdicts, strict=True):
            archived = () if verdict.status == UNRECOGNIZED else tuple(
                archive_file(file.path, file_sha, setup.outputs)
                for file, (_, file_sha, *_) in zip(unit.files, facts, strict=True))
            data = None
            if verdict.status == ledger.ACCEPTED and verdict.submission is not None:
                data = {name: sheet.values for name, sheet in verdict.submission.sheets.items()}
            new = ledger.NewSubmission(sha, unit.kind, verdict.school, verdict.status, arrived, tuple(facts),
                                       tuple(verdict.findings), archived, data)
            submission_id, superseded = ledger.record(connection, setup.year, new, now)
            recorded.append((submission_id, verdict))
            changed_status += superseded
        for unit, arrived, facts, sha in duplicates:
            # Identical content judged before (in an earlier run or earlier in this batch).
            original = ledger.find_by_hash(connection, setup.year, sha)
            assert original is not None
            new = ledger.NewSubmission(sha, unit.kind, original.school, ledger.DUPLICATE, arrived, tuple(facts),
                                       (), original.archive, duplicate_of=original.id)
            submission_id, _ = ledger.record(connection, setup.year, new, now)
            recorded.append((submission_id, None))
    write_batch_feedback(setup, engine, recorded, changed_status, now)
    return [submission_id for submission_id, _ in recorded]


def write_batch_feedback(setup: Setup, engine: Engine, recorded: list[tuple[int, Verdict | None]],
                         changed_status: list[int], now: dt.datetime) -> None:
    """Feedback pages for the new submissions and for the ones a new file superseded."""
    status = current_status(setup, engine, now)
    states = {school.code: school.state for school in status.schools}
    campaign = status.campaign
    with ledger.transaction(engine) as connection:
        ids = [submission_id for submission_id, _ in recorded] + changed_status
        stored = {number: ledger.submission_by_id(connection, number) for number in ids}
        found = ledger.submission_findings(connection, ids)
    verdicts = dict(recorded)
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


def current_status(setup: Setup, engine: Engine, now: dt.datetime) -> CampaignStatus:
    campaign = setup.district.campaign(setup.year)
    with ledger.transaction(engine) as connection:
        stored = ledger.campaign_submissions(connection, setup.year)
    facts = [SubmissionFact(item.school, item.status, item.arrived_at, item.paths[0] if item.paths else "",
                            item.errors, item.warnings) for item in stored]
    return build_status(expected_schools(setup.register, campaign), facts, campaign, now)


@dataclass
class CollectionSummary:
    """What a collection run did and where the campaign stands."""

    year: int
    processed: int
    unsettled: list[str]
    files: list[dict[str, Any]]
    status: CampaignStatus

    def to_json(self) -> dict[str, Any]:
        return {"year": self.year, "processed": self.processed, "pending": self.unsettled, "files": self.files,
                "schools": status_json(self.status)}

    @property
    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for item in self.files:
            result[item["status"]] = result.get(item["status"], 0) + 1
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
        ledger.set_present(connection, setup.year, plan.present)
        ledger.finish_run(connection, run_id, now, processed)
    status = current_status(setup, engine, now)
    write_status(setup.outputs, status)
    return CollectionSummary(setup.year, processed, plan.unsettled, file_statuses(setup, engine), status)


@dataclass(frozen=True)
class Steps:
    """The steps of a collection pass; the Prefect flow passes the same functions wrapped as tasks."""

    recover: Callable[..., int] = recover_feedback
    plan: Callable[..., Plan] = plan_collection
    process: Callable[..., list[int]] = process_batch
    finish: Callable[..., CollectionSummary] = finish_collection


def collect(setup: Setup, now: dt.datetime | None = None, progress: Callable[[int, int], None] | None = None,
            batch_size: int = BATCH_SIZE, steps: Steps = Steps()) -> CollectionSummary:
    """Run a whole collection pass: recover, plan, judge and record batch by batch, write the status."""
    now = now or dt.datetime.now().replace(microsecond=0)
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        steps.recover(setup, engine, now)
        plan = steps.plan(setup, engine, now)
        with ledger.transaction(engine) as connection:
            run_id = ledger.start_run(connection, setup.year, now)
        processed = 0
        with IsolatedReader() as isolated:  # not thread-safe: batches run one after another
            for batch in batches(plan, batch_size):
                processed += len(steps.process(setup, engine, batch, now, isolated))
                if progress:
                    progress(processed, len(plan.new_units))
        return steps.finish(setup, engine, plan, processed, run_id, now)
    finally:
        engine.dispose()
