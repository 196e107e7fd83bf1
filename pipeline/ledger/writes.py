"""What the ledger records: runs, judged submissions with their files, findings and accepted data, file states."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Table, bindparam, func, select, update
from sqlalchemy.engine import Connection

from pipeline.findings import Finding
from pipeline.ledger.queries import chunks
from pipeline.ledger.tables import (
    DATA_TABLES,
    files,
    findings,
    indicator_data,
    metadata,
    runs,
    submissions,
    title_data,
)
from pipeline.statuses import SubmissionStatus


@dataclass(frozen=True)
class NewSubmission:
    """A judged submission to record."""

    sha256: str
    kind: str
    school: str | None
    status: str
    arrived_at: dt.datetime
    files: tuple[tuple[str, str, int, float], ...]  # (relative path, sha256, size, mtime)
    findings: tuple[Finding, ...]
    archive: tuple[str, ...]
    data: dict[str, dict[str, list[Any]]] | None = None  # sheet → column → values, of an accepted or rejected one
    duplicate_of: int | None = None


def start_run(connection: Connection, year: int, now: dt.datetime) -> int:
    return connection.execute(runs.insert().values(year=year, started_at=now)).inserted_primary_key[0]


def finish_run(connection: Connection, run_id: int, now: dt.datetime, new_submissions: int) -> None:
    connection.execute(update(runs).where(runs.c.id == run_id).values(finished_at=now,
                                                                      new_submissions=new_submissions))


def mark_feedback(connection: Connection, submission_ids: list[int], now: dt.datetime) -> None:
    for chunk in chunks(submission_ids, 500):
        connection.execute(update(submissions).where(submissions.c.id.in_(chunk)).values(feedback_at=now))


def set_present(connection: Connection, year: int, present_paths: set[str]) -> None:
    """Mark which file records are currently in the drop folder (the latest record of each present path).

    Only rows whose flag changes are written, in one statement: one UPDATE per file grew with the
    square of the folder (36 s at 12,500 files, benchmarks/RESULTS.md).
    """
    rows = connection.execute(select(files.c.id, files.c.path, files.c.present)
                              .where(files.c.year == year).order_by(files.c.id)).all()
    latest = {path: row_id for row_id, path, _ in rows}
    wanted = {latest[path] for path in present_paths if path in latest}
    changes = [{"row_id": row_id, "flag": row_id in wanted} for row_id, _, present in rows
               if bool(present) != (row_id in wanted)]
    if changes:
        connection.execute(update(files).where(files.c.id == bindparam("row_id")).values(present=bindparam("flag")),
                           changes)


def touch_files(connection: Connection, year: int, touched: list[tuple[str, str, float]]) -> None:
    """Remember new modification times of files whose content did not change: (path, sha256, mtime)."""
    connection.execute(
        update(files).where(files.c.year == year, files.c.path == bindparam("file_path"),
                            files.c.sha256 == bindparam("file_sha")).values(mtime=bindparam("new_mtime")),
        [{"file_path": path, "file_sha": sha, "new_mtime": mtime} for path, sha, mtime in touched])


def record_many(connection: Connection, year: int, news: list[NewSubmission],
                now: dt.datetime) -> tuple[list[int], list[int]]:
    """Insert judged submissions in order, one statement per table; return their ids and the ids superseded.

    A school's newest accepted submission supersedes its earlier accepted ones (one statement per
    row cost ≈ 3 ms a school: benchmarks/RESULTS.md).
    """
    if not news:
        return [], []
    rows = []
    for new in news:
        errors = sum(1 for finding in new.findings if finding.is_error)
        rows.append({
            "year": year, "sha256": new.sha256, "kind": new.kind, "school": new.school, "status": new.status,
            "arrived_at": new.arrived_at, "processed_at": now, "errors": errors,
            "warnings": len(new.findings) - errors, "duplicate_of": new.duplicate_of,
            "archive": json.dumps(list(new.archive), ensure_ascii=False),
            "paths": json.dumps([path for path, *_ in new.files], ensure_ascii=False),
        })
    ids = list(connection.execute(
        submissions.insert().returning(submissions.c.id, sort_by_parameter_order=True), rows).scalars())
    connection.execute(files.insert(), [
        {"year": year, "path": path, "sha256": sha, "size": size, "mtime": mtime, "first_seen": new.arrived_at,
         "submission_id": submission_id, "present": True}
        for submission_id, new in zip(ids, news, strict=True) for path, sha, size, mtime in new.files
    ])
    found = [{"submission_id": submission_id, **finding.to_dict()}
             for submission_id, new in zip(ids, news, strict=True) for finding in new.findings]
    _bulk_insert(connection, findings, found)
    with_data = [(submission_id, new) for submission_id, new in zip(ids, news, strict=True)
                 if new.data is not None and new.school is not None]
    _store_data(connection, year, with_data)
    accepted = {new.school for new in news if new.status == SubmissionStatus.ACCEPTED and new.school}
    return ids, _supersede(connection, year, accepted)


def _supersede(connection: Connection, year: int, schools: set[str]) -> list[int]:
    """Leave each school in *schools* one accepted submission, its newest; return the ids superseded."""
    latest: dict[str, int] = {}
    for chunk in chunks(sorted(schools), 500):
        query = select(submissions.c.school, func.max(submissions.c.id)).where(
            submissions.c.year == year, submissions.c.status == SubmissionStatus.ACCEPTED,
            submissions.c.school.in_(chunk),
        ).group_by(submissions.c.school)
        latest.update(dict(connection.execute(query).all()))
    superseded: list[int] = []
    for chunk in chunks(sorted(schools), 500):
        query = select(submissions.c.id, submissions.c.school).where(
            submissions.c.year == year, submissions.c.status == SubmissionStatus.ACCEPTED,
            submissions.c.school.in_(chunk))
        superseded += [number for number, school in connection.execute(query) if number != latest[school]]
    for chunk in chunks(sorted(superseded), 500):
        connection.execute(update(submissions).where(submissions.c.id.in_(chunk))
                           .values(status=SubmissionStatus.SUPERSEDED))
    return sorted(superseded)


def _store_data(connection: Connection, year: int, stored: list[tuple[int, NewSubmission]]) -> None:
    """Insert the submissions' values, one statement per table; a submission's data maps sheet → column → values.
    An accepted one's every sheet; a rejected one's «Титул» only, whom status.html shows to call about its errors
    (the report's readers take accepted submissions only)."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for submission_id, new in stored:
        data = new.data or {}
        base = {"submission_id": submission_id, "year": year, "school": new.school}
        accepted = new.status == SubmissionStatus.ACCEPTED
        for sheet, (table, columns) in DATA_TABLES.items():
            if not accepted and table is not title_data:
                continue
            values = data.get(sheet)
            rows = len(next(iter(values.values()), [])) if values else 0
            for position in range(rows):
                record_ = dict(base)
                if "row" in table.c:
                    record_["row"] = position + 1
                for column, source in columns.items():
                    record_[column] = _to_db(values[source][position] if source in values else None)
                by_table.setdefault(table.name, []).append(record_)
        for code, column in (data.get("Показатели") or {}).items() if accepted else ():
            value = _to_db(column[0] if column else None)
            # A yes/no indicator is stored as 1/0 (the column is numeric; PostgreSQL refuses a boolean).
            by_table.setdefault(indicator_data.name, []).append(
                {**base, "code": code, "value": float(value) if isinstance(value, bool) else value})
    for name, records in by_table.items():
        _bulk_insert(connection, metadata.tables[name], records)


def _bulk_insert(connection: Connection, table: Table, records: list[dict[str, Any]]) -> None:
    """Insert rows of equal keys with the driver's executemany.

    SQLAlchemy's per-row parameter processing cost ≈ 2.7 ms a school for ≈ 35 data rows (profiled at
    10,000 schools); the values here are plain ones both drivers adapt alike (str, int, float, bool,
    None), dates go to SQLite as the ISO text SQLAlchemy's Date type stores there.
    """
    if not records:
        return
    columns = list(records[0])
    quote = connection.dialect.identifier_preparer.quote
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(column) for column in columns)}) "
           f"VALUES ({', '.join([marker] * len(columns))})")
    rows = [tuple(record[column] for column in columns) for record in records]
    dated = [index for index, column in enumerate(columns) if isinstance(table.c[column].type, Date)]
    if dated and connection.dialect.name == "sqlite":
        rows = [tuple(_sqlite_date(value) if index in dated else value for index, value in enumerate(row))
                for row in rows]
    connection.exec_driver_sql(sql, rows)


def _sqlite_date(value: Any) -> Any:
    """A date as SQLAlchemy's Date type stores it in SQLite (YYYY-MM-DD)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, dt.date) else value


def _to_db(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, tuple):  # links
        return " ".join(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
