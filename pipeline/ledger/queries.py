"""What the ledger tells: files seen, submissions and their findings, runs, and the accepted data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from pipeline.findings import Finding
from pipeline.ledger.tables import (
    award_data,
    course_data,
    files,
    findings,
    indicator_data,
    item_data,
    runs,
    staff_data,
    submissions,
    title_data,
)
from pipeline.statuses import SubmissionStatus

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class KnownFile:
    path: str
    sha256: str
    size: int
    mtime: float
    submission_id: int
    first_seen: dt.datetime
    present: bool


@dataclass(frozen=True)
class StoredSubmission:
    id: int
    sha256: str
    kind: str
    school: str | None
    status: str
    arrived_at: dt.datetime
    processed_at: dt.datetime
    errors: int
    warnings: int
    duplicate_of: int | None
    archive: tuple[str, ...]
    paths: tuple[str, ...]


@dataclass(frozen=True)
class StatusRow:
    """What the collection status needs of a submission (not its archive, findings or data)."""

    school: str | None
    status: str
    arrived_at: dt.datetime
    first_path: str
    errors: int
    warnings: int


def chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    """*values* in slices of at most *size*, for IN lists within a driver's limit of bound parameters."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def has_runs(connection: Connection, year: int) -> bool:
    """Whether a collection of *year* has ever finished (a killed first run does not count)."""
    query = select(func.count()).select_from(runs).where(runs.c.year == year, runs.c.finished_at.is_not(None))
    return connection.execute(query).scalar_one() > 0


def last_run_unfinished(connection: Connection, year: int) -> bool:
    """Whether the latest collection of *year* started and never finished (it was killed)."""
    query = select(runs.c.finished_at).where(runs.c.year == year).order_by(runs.c.id.desc()).limit(1)
    latest = connection.execute(query).first()
    return latest is not None and latest.finished_at is None


def pending_feedback(connection: Connection, year: int) -> list[int]:
    """Submissions whose feedback was never written (a run stopped between recording and writing)."""
    query = select(submissions.c.id).where(submissions.c.year == year, submissions.c.feedback_at.is_(None))
    return list(connection.execute(query.order_by(submissions.c.id)).scalars())


def known_files(connection: Connection, year: int) -> dict[str, KnownFile]:
    """The latest file record per path in the campaign."""
    rows = connection.execute(select(files).where(files.c.year == year).order_by(files.c.id)).mappings()
    return {row["path"]: KnownFile(row["path"], row["sha256"], row["size"], row["mtime"], row["submission_id"],
                                   row["first_seen"], bool(row["present"])) for row in rows}


def judged_hashes(connection: Connection, year: int) -> set[str]:
    """Content hashes of the campaign's judged submissions (a unit with one of these is a duplicate)."""
    query = select(submissions.c.sha256).where(submissions.c.year == year,
                                               submissions.c.status != SubmissionStatus.DUPLICATE)
    return set(connection.execute(query).scalars())


def find_by_hash(connection: Connection, year: int, sha256: str) -> StoredSubmission | None:
    row = connection.execute(select(submissions).where(
        submissions.c.year == year, submissions.c.sha256 == sha256,
        submissions.c.status != SubmissionStatus.DUPLICATE)
        .order_by(submissions.c.id)).mappings().first()
    return _stored(row) if row else None


def _stored(row: Any) -> StoredSubmission:
    return StoredSubmission(
        id=row["id"], sha256=row["sha256"], kind=row["kind"], school=row["school"], status=row["status"],
        arrived_at=row["arrived_at"], processed_at=row["processed_at"], errors=row["errors"],
        warnings=row["warnings"], duplicate_of=row["duplicate_of"], archive=tuple(json.loads(row["archive"])),
        paths=tuple(json.loads(row["paths"])),
    )


def campaign_submissions(connection: Connection, year: int) -> list[StoredSubmission]:
    rows = connection.execute(select(submissions).where(submissions.c.year == year)
                              .order_by(submissions.c.arrived_at, submissions.c.id)).mappings()
    return [_stored(row) for row in rows]


def status_rows(connection: Connection, year: int, schools: set[str] | None = None) -> list[StatusRow]:
    """The campaign's submissions as the status sees them; of *schools* only, if given."""
    columns = (submissions.c.school, submissions.c.status, submissions.c.arrived_at, submissions.c.paths,
               submissions.c.errors, submissions.c.warnings)
    query = select(*columns).where(submissions.c.year == year)
    selections: list[list[str] | None] = [None] if schools is None else list(chunks(sorted(schools), 500))
    result = []
    for chunk in selections:
        selected = query if chunk is None else query.where(submissions.c.school.in_(chunk))
        for school, status, arrived_at, paths, errors, warnings in connection.execute(selected):
            first = json.loads(paths)[0] if paths != "[]" else ""
            result.append(StatusRow(school, status, arrived_at, first, errors, warnings))
    return result


def submissions_with_finding(connection: Connection, year: int, code: str) -> list[StoredSubmission]:
    """The campaign's submissions with a finding *code* (S10: named after another school), in arrival order."""
    marked = select(findings.c.submission_id).where(findings.c.code == code)
    rows = connection.execute(select(submissions).where(submissions.c.year == year, submissions.c.id.in_(marked))
                              .order_by(submissions.c.arrived_at, submissions.c.id)).mappings()
    return [_stored(row) for row in rows]


def submissions_by_id(connection: Connection, submission_ids: list[int]) -> dict[int, StoredSubmission]:
    result = {}
    for chunk in chunks(sorted(set(submission_ids)), 500):
        rows = connection.execute(select(submissions).where(submissions.c.id.in_(chunk))).mappings()
        result.update({row["id"]: _stored(row) for row in rows})
    return result


def submission_findings(connection: Connection, submission_ids: list[int]) -> dict[int, list[Finding]]:
    result: dict[int, list[Finding]] = {number: [] for number in submission_ids}
    for chunk in chunks(submission_ids, 500):
        rows = connection.execute(select(findings).where(findings.c.submission_id.in_(chunk))
                                  .order_by(findings.c.id)).mappings()
        for row in rows:
            result[row["submission_id"]].append(Finding(
                row["code"], row["severity"], row["sheet"], row["cell"], row["value"], row["message"], row["hint"]))
    return result


def present_files(connection: Connection, year: int) -> list[tuple[str, str, int]]:
    """(path, sha256, submission id) of every file currently in the drop folder."""
    rows = connection.execute(select(files.c.path, files.c.sha256, files.c.submission_id)
                              .where(files.c.year == year, files.c.present.is_(True)))
    # Sorted here: ORDER BY follows the database's collation (PostgreSQL's ru_RU differs from SQLite's).
    return sorted((path, sha, submission_id) for path, sha, submission_id in rows)


def present_counts(connection: Connection, year: int) -> dict[str, int]:
    """How many files now in the drop folder have each submission status."""
    query = (select(submissions.c.status, func.count()).join(files, files.c.submission_id == submissions.c.id)
             .where(files.c.year == year, files.c.present.is_(True)).group_by(submissions.c.status))
    return {status: number for status, number in connection.execute(query)}


def all_files(connection: Connection, year: int) -> list[tuple[str, str, int]]:
    """(path, sha256, submission id) of every file the campaign has seen, present or gone."""
    rows = connection.execute(select(files.c.id, files.c.path, files.c.sha256, files.c.submission_id)
                              .where(files.c.year == year))
    ordered = sorted(rows, key=lambda row: (row.path, row.id))  # not ORDER BY: see present_files
    return [(path, sha, submission_id) for _, path, sha, submission_id in ordered]


def accepted_indicators(connection: Connection, year: int) -> dict[str, dict[str, float | None]]:
    """Per school, the indicator values of its current accepted submission in campaign *year*."""
    query = (select(indicator_data.c.school, indicator_data.c.code, indicator_data.c.value)
             .join(submissions, submissions.c.id == indicator_data.c.submission_id)
             .where(submissions.c.year == year, submissions.c.status == SubmissionStatus.ACCEPTED))
    result: dict[str, dict[str, float | None]] = {}
    for school, code, value in connection.execute(query):
        result.setdefault(school, {})[code] = value
    return result


def accepted_frames(connection: Connection, year: int) -> dict[str, pd.DataFrame]:
    """The campaign's current accepted data, one frame per table, for aggregation."""
    import pandas as pd  # here: a collection never needs it, and its import is ≈ 0.3 s of every command

    result = {}
    for name, table in (("title", title_data), ("items", item_data), ("staff", staff_data),
                        ("courses", course_data), ("awards", award_data), ("indicators", indicator_data)):
        query = (select(table).join(submissions, submissions.c.id == table.c.submission_id)
                 .where(submissions.c.year == year, submissions.c.status == SubmissionStatus.ACCEPTED))
        rows = connection.execute(query).mappings().all()
        result[name] = pd.DataFrame([dict(row) for row in rows], columns=[column.name for column in table.c])
    return result
