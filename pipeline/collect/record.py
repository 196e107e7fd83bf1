"""Record judged batches: archive the files, write the ledger in one transaction per batch, then the feedback."""

from __future__ import annotations

import datetime as dt
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.atomic import flush_to_disk
from pipeline.collect.feedback import FeedbackInput, write_feedback
from pipeline.collect.plan import PlannedUnit
from pipeline.collect.status import current_status
from pipeline.district.setup import Setup
from pipeline.findings import Finding
from pipeline.intake.read import FILE_SHEET, read_csv_parts, read_workbook
from pipeline.judge.identity import named_schools
from pipeline.statuses import SubmissionStatus

if TYPE_CHECKING:
    from pipeline.judge.verdict import Verdict


def record_batch(setup: Setup, engine: Engine, batch: list[PlannedUnit], verdicts: list[Verdict],
                 now: dt.datetime) -> list[int]:
    """Archive and record one judged batch (one transaction), then write its feedback; return the ids.

    *verdicts* are judge_batch's, in the order of the batch's units to judge.
    """
    judged = [planned for planned in batch if planned.judge]
    with ledger.transaction(engine) as connection:
        news = []
        for planned, verdict in zip(judged, verdicts, strict=True):
            # Archived by the plan, which read them: the ledger names the copies of the bytes judged.
            archived = () if verdict.status == SubmissionStatus.UNRECOGNIZED else planned.archive
            data = None  # the ledger keeps a rejected file's «Титул» only: whom to call about its errors
            if verdict.status in (SubmissionStatus.ACCEPTED, SubmissionStatus.REJECTED) and verdict.submission:
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
            new = ledger.NewSubmission(planned.sha256, planned.unit.kind, original.school, SubmissionStatus.DUPLICATE,
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
    for number in ids:
        submission = stored[number]
        verdict = verdicts.get(number)
        school = setup.register.get(submission.school) if submission.school else None
        workbook = None
        if submission.archive and submission.kind == "workbook" and submission.archive[0].endswith((".xlsx", ".xlsm")) \
                and not is_unreadable(found[number]):
            workbook = setup.outputs / submission.archive[0]
        item = FeedbackInput(
            file_name=", ".join(submission.paths), sha256=submission.sha256, year=setup.year,
            status=submission.status, processed_at=submission.processed_at, findings=found[number],
            school_code=school.code if school else None, school_name=school.name if school else None,
            school_state=states.get(school.code) if school else None, deadline=setup.campaign.deadline,
            workbook=workbook, sheets=verdict.sheets if verdict and verdict.sheets else _archived_sheets(
                setup, submission, found[number]),
            arrived_at=submission.arrived_at, window_close=setup.campaign.window_close,
        )
        write_feedback(setup.outputs, item)
        if any(finding.code == "S10" for finding in found[number]):
            # Sent under another school's name: that school is told too (it may have sent it by mistake,
            # or someone reports in its name).
            named = set().union(*(named_schools(path, setup.register) for path in submission.paths))
            for other in sorted(named - {submission.school}):
                write_feedback(setup.outputs, item, folder_school=other)
    with ledger.transaction(engine) as connection:
        ledger.mark_feedback(connection, ids, now)


def _archived_sheets(setup: Setup, submission: ledger.StoredSubmission, found: list[Finding]) -> list[Any] | None:
    """Re-read a CSV group, .xls or .ods from the archive (the annotated copy is rebuilt from its sheets).

    Only files that were read once without trouble: one that failed its pre-parse checks or crashed
    its worker (a whole-file S01/S07) is never parsed in this process.
    """
    if not submission.archive or submission.status == SubmissionStatus.UNRECOGNIZED or is_unreadable(found):
        return None
    copies = [setup.outputs / path for path in submission.archive]
    if submission.kind == "csv":
        names = [PurePosixPath(path).name for path in submission.paths]
        raw = read_csv_parts(copies, setup.district.max_file_bytes, setup.district.max_rows_per_sheet, names)
    elif copies[0].suffix in (".xls", ".ods"):
        raw = read_workbook(copies[0], setup.district.max_file_bytes, setup.district.max_rows_per_sheet)
    else:
        return None
    return raw.sheets or None


def is_unreadable(found: list[Finding]) -> bool:
    """Whether a file failed its pre-parse checks or crashed its worker (a whole-file S01/S07): it has no
    cells to mark, so it gets no annotated copy, and no parser opens it in the run's process."""
    return any(finding.code in ("S01", "S07") and finding.sheet == FILE_SHEET for finding in found)


def recover_feedback(setup: Setup, engine: Engine, now: dt.datetime) -> int:
    """Write the feedback a killed run recorded but never wrote; return how many."""
    with ledger.transaction(engine) as connection:
        pending = ledger.pending_feedback(connection, setup.year)
    if pending:
        write_batch_feedback(setup, engine, [(number, None) for number in pending], [], now)
    return len(pending)
