"""The ledger: every file seen, every submission judged, its findings, and the accepted data (SQLAlchemy)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

from pipeline.findings import Finding

ACCEPTED = "accepted"
REJECTED = "rejected"
SUPERSEDED = "superseded"
DUPLICATE = "duplicate"
UNRECOGNIZED = "unrecognized"
STATUSES = (ACCEPTED, REJECTED, SUPERSEDED, DUPLICATE, UNRECOGNIZED)

metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("year", Integer, nullable=False, index=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("new_submissions", Integer),
)

submissions = Table(
    "submissions", metadata,
    Column("id", Integer, primary_key=True),
    Column("year", Integer, nullable=False, index=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("school", String(32), index=True),
    Column("status", String(16), nullable=False),
    Column("arrived_at", DateTime, nullable=False),
    Column("processed_at", DateTime, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("warnings", Integer, nullable=False),
    Column("duplicate_of", Integer, ForeignKey("submissions.id")),
    Column("archive", Text, nullable=False),  # JSON list of archived copies (relative to outputs/)
    Column("paths", Text, nullable=False),  # JSON list of relative paths in the drop folder
    # Set once the school's feedback is written: a run killed in between writes it next time.
    Column("feedback_at", DateTime),
)

files = Table(
    "files", metadata,
    Column("id", Integer, primary_key=True),
    Column("year", Integer, nullable=False, index=True),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("mtime", Float, nullable=False),
    Column("first_seen", DateTime, nullable=False),
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
    Column("present", Boolean, nullable=False),
    Index("ix_files_year_path", "year", "path"),
)

findings = Table(
    "findings", metadata,
    Column("id", Integer, primary_key=True),
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
    Column("code", String(8), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("sheet", Text, nullable=False),
    Column("cell", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("hint", Text, nullable=False),
)


def _data_table(name: str, *columns: Column) -> Table:
    return Table(
        name, metadata,
        Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
        Column("year", Integer, nullable=False),
        Column("school", String(32), nullable=False),
        *columns,
    )


title_data = _data_table(
    "title_data",
    Column("school_name", Text), Column("version", Text), Column("respondent", Text), Column("position", Text),
    Column("phone", Text), Column("email", Text), Column("filled_on", Date), Column("library", Text),
)
item_data = _data_table(
    "item_data",
    Column("item", String(8), nullable=False), Column("status", Text, nullable=False), Column("done_on", Date),
    Column("document", Text), Column("document_details", Text), Column("quantity", Integer),
    Column("links", Text), Column("comment", Text),
)
staff_data = _data_table(
    "staff_data",
    Column("row", Integer, nullable=False), Column("person", Text), Column("position", Text), Column("rate", Float),
    Column("employment", Text), Column("education", Text), Column("years", Integer), Column("kpk", Boolean),
)
course_data = _data_table(
    "course_data",
    Column("row", Integer, nullable=False), Column("person", Text), Column("programme", Text), Column("title", Text),
    Column("organisation", Text), Column("hours", Integer), Column("finished_on", Date), Column("document", Text),
)
award_data = _data_table(
    "award_data",
    Column("row", Integer, nullable=False), Column("person", Text), Column("kind", Text), Column("level", Text),
    Column("status", Text), Column("date", Date),
)
indicator_data = _data_table(
    "indicator_data",
    Column("code", String(8), nullable=False), Column("value", Float),
)

# Sheet → (table, {ledger column: sheet column}) for the accepted data.
DATA_TABLES: dict[str, tuple[Table, dict[str, str]]] = {
    "Титул": (title_data, {
        "school_name": "Наименование ОО", "version": "Версия шаблона", "respondent": "ФИО ответственного",
        "position": "Должность ответственного", "phone": "Телефон", "email": "E-mail",
        "filled_on": "Дата заполнения", "library": "Библиотека"}),
    "Дорожная карта": (item_data, {
        "item": "Код", "status": "Статус", "done_on": "Дата выполнения", "document": "Документ",
        "document_details": "Реквизиты документа", "quantity": "Количество", "links": "Ссылки",
        "comment": "Комментарий"}),
    "Сотрудники": (staff_data, {
        "person": "Сотрудник", "position": "Должность", "rate": "Ставка", "employment": "Характер работы",
        "education": "Образование", "years": "Стаж в должности, лет", "kpk": "КПК за последние 3 года"}),
    "Курсы": (course_data, {
        "person": "Сотрудник", "programme": "Вид программы", "title": "Название программы",
        "organisation": "Организация", "hours": "Объём, часов", "finished_on": "Дата окончания",
        "document": "Документ"}),
    "Поощрения": (award_data, {
        "person": "Сотрудник", "kind": "Вид поощрения", "level": "Уровень", "status": "Статус", "date": "Дата"}),
}


def default_url(outputs: Path) -> str:
    return f"sqlite:///{(outputs / 'ledger.sqlite').resolve()}"


def open_ledger(url: str) -> Engine:
    """Connect (creating the tables if needed); SQLite gets WAL and a busy timeout for concurrent readers."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine


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
    data: dict[str, dict[str, list[Any]]] | None = None  # sheet → column → values, for an accepted one
    duplicate_of: int | None = None


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as connection:
        yield connection


def has_runs(connection: Connection, year: int) -> bool:
    """Whether a collection of *year* has ever finished (a killed first run does not count)."""
    query = select(func.count()).select_from(runs).where(runs.c.year == year, runs.c.finished_at.is_not(None))
    return connection.execute(query).scalar_one() > 0


def last_run_unfinished(connection: Connection, year: int) -> bool:
    """Whether the latest collection of *year* started and never finished (it was killed)."""
    query = select(runs.c.finished_at).where(runs.c.year == year).order_by(runs.c.id.desc()).limit(1)
    latest = connection.execute(query).first()
    return latest is not None and latest.finished_at is None


def mark_feedback(connection: Connection, submission_ids: list[int], now: dt.datetime) -> None:
    for chunk in _chunks(submission_ids, 500):
        connection.execute(update(submissions).where(submissions.c.id.in_(chunk)).values(feedback_at=now))


def pending_feedback(connection: Connection, year: int) -> list[int]:
    """Submissions whose feedback was never written (a run stopped between recording and writing)."""
    query = select(submissions.c.id).where(submissions.c.year == year, submissions.c.feedback_at.is_(None))
    return list(connection.execute(query.order_by(submissions.c.id)).scalars())


def start_run(connection: Connection, year: int, now: dt.datetime) -> int:
    return connection.execute(runs.insert().values(year=year, started_at=now)).inserted_primary_key[0]


def finish_run(connection: Connection, run_id: int, now: dt.datetime, new_submissions: int) -> None:
    connection.execute(update(runs).where(runs.c.id == run_id).values(finished_at=now,
                                                                      new_submissions=new_submissions))


def known_files(connection: Connection, year: int) -> dict[str, KnownFile]:
    """The latest file record per path in the campaign."""
    rows = connection.execute(select(files).where(files.c.year == year).order_by(files.c.id)).mappings()
    return {row["path"]: KnownFile(row["path"], row["sha256"], row["size"], row["mtime"], row["submission_id"],
                                   row["first_seen"], bool(row["present"])) for row in rows}


def judged_hashes(connection: Connection, year: int) -> set[str]:
    """Content hashes of the campaign's judged submissions (a unit with one of these is a duplicate)."""
    query = select(submissions.c.sha256).where(submissions.c.year == year, submissions.c.status != DUPLICATE)
    return set(connection.execute(query).scalars())


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


def find_by_hash(connection: Connection, year: int, sha256: str) -> StoredSubmission | None:
    row = connection.execute(select(submissions).where(
        submissions.c.year == year, submissions.c.sha256 == sha256, submissions.c.status != DUPLICATE)
        .order_by(submissions.c.id)).mappings().first()
    return _stored(row) if row else None


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
    accepted = [(submission_id, new) for submission_id, new in zip(ids, news, strict=True)
                if new.status == ACCEPTED and new.school is not None]
    _store_data(connection, year, accepted)
    return ids, _supersede(connection, year, {new.school for _, new in accepted if new.school})


def _supersede(connection: Connection, year: int, schools: set[str]) -> list[int]:
    """Leave each school in *schools* one accepted submission, its newest; return the ids superseded."""
    latest: dict[str, int] = {}
    for chunk in _chunks(sorted(schools), 500):
        query = select(submissions.c.school, func.max(submissions.c.id)).where(
            submissions.c.year == year, submissions.c.status == ACCEPTED, submissions.c.school.in_(chunk),
        ).group_by(submissions.c.school)
        latest.update(dict(connection.execute(query).all()))
    superseded: list[int] = []
    for chunk in _chunks(sorted(schools), 500):
        query = select(submissions.c.id, submissions.c.school).where(
            submissions.c.year == year, submissions.c.status == ACCEPTED, submissions.c.school.in_(chunk))
        superseded += [number for number, school in connection.execute(query) if number != latest[school]]
    for chunk in _chunks(sorted(superseded), 500):
        connection.execute(update(submissions).where(submissions.c.id.in_(chunk)).values(status=SUPERSEDED))
    return sorted(superseded)


def _store_data(connection: Connection, year: int, accepted: list[tuple[int, NewSubmission]]) -> None:
    """Insert the accepted values, one statement per table; a submission's data maps sheet → column → values."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for submission_id, new in accepted:
        data = new.data or {}
        base = {"submission_id": submission_id, "year": year, "school": new.school}
        for sheet, (table, columns) in DATA_TABLES.items():
            values = data.get(sheet)
            rows = len(next(iter(values.values()), [])) if values else 0
            for position in range(rows):
                record_ = dict(base)
                if "row" in table.c:
                    record_["row"] = position + 1
                for column, source in columns.items():
                    record_[column] = _to_db(values[source][position] if source in values else None)
                by_table.setdefault(table.name, []).append(record_)
        for code, column in (data.get("Показатели") or {}).items():
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


@dataclass(frozen=True)
class StatusRow:
    """What the collection status needs of a submission (not its archive, findings or data)."""

    school: str | None
    status: str
    arrived_at: dt.datetime
    first_path: str
    errors: int
    warnings: int


def status_rows(connection: Connection, year: int, schools: set[str] | None = None) -> list[StatusRow]:
    """The campaign's submissions as the status sees them; of *schools* only, if given."""
    columns = (submissions.c.school, submissions.c.status, submissions.c.arrived_at, submissions.c.paths,
               submissions.c.errors, submissions.c.warnings)
    query = select(*columns).where(submissions.c.year == year)
    chunks: list[list[str] | None] = [None] if schools is None else list(_chunks(sorted(schools), 500))
    result = []
    for chunk in chunks:
        selected = query if chunk is None else query.where(submissions.c.school.in_(chunk))
        for school, status, arrived_at, paths, errors, warnings in connection.execute(selected):
            first = json.loads(paths)[0] if paths != "[]" else ""
            result.append(StatusRow(school, status, arrived_at, first, errors, warnings))
    return result


def submissions_by_id(connection: Connection, submission_ids: list[int]) -> dict[int, StoredSubmission]:
    result = {}
    for chunk in _chunks(sorted(set(submission_ids)), 500):
        rows = connection.execute(select(submissions).where(submissions.c.id.in_(chunk))).mappings()
        result.update({row["id"]: _stored(row) for row in rows})
    return result


def submission_findings(connection: Connection, submission_ids: list[int]) -> dict[int, list[Finding]]:
    result: dict[int, list[Finding]] = {number: [] for number in submission_ids}
    for chunk in _chunks(submission_ids, 500):
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
             .where(submissions.c.year == year, submissions.c.status == ACCEPTED))
    result: dict[str, dict[str, float | None]] = {}
    for school, code, value in connection.execute(query):
        result.setdefault(school, {})[code] = value
    return result


def accepted_frames(connection: Connection, year: int) -> dict[str, pd.DataFrame]:
    """The campaign's current accepted data, one frame per table, for aggregation."""
    result = {}
    for name, table in (("title", title_data), ("items", item_data), ("staff", staff_data),
                        ("courses", course_data), ("awards", award_data), ("indicators", indicator_data)):
        query = (select(table).join(submissions, submissions.c.id == table.c.submission_id)
                 .where(submissions.c.year == year, submissions.c.status == ACCEPTED))
        rows = connection.execute(query).mappings().all()
        result[name] = pd.DataFrame([dict(row) for row in rows], columns=[column.name for column in table.c])
    return result


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
