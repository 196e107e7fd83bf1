"""Ledger schema versions: a new ledger gets HEAD, one written before migrations is adopted, a newer one refused."""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, create_engine, create_mock_engine, event, inspect, select, text

from pipeline import ledger
from pipeline.ledger.migrate import BASELINE, revisions
from pipeline.ledger.migrations import baseline
from pipeline.ledger.version import HEAD, VERSION_TABLE, current_revisions

DATA = Path(__file__).parent / "data"
DIALECTS = ("sqlite", "postgresql")
YEAR = 2024
WRITES = re.compile(r"\s*(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE|BEGIN)\b", re.IGNORECASE)

# Rows a ledger of commit 83789a2 could hold: two submissions (the second a duplicate of the first), their
# files and findings, a run, and a row of every accepted-data table.
LEGACY_ROWS: dict[str, list[dict[str, Any]]] = {
    "runs": [{"id": 1, "year": YEAR, "started_at": dt.datetime(2024, 10, 1, 9, 0),
              "finished_at": dt.datetime(2024, 10, 1, 9, 5), "new_submissions": 2}],
    "submissions": [
        {"id": 1, "year": YEAR, "sha256": "a" * 64, "kind": "xlsx", "school": "70-001", "status": "accepted",
         "arrived_at": dt.datetime(2024, 9, 30, 18, 0), "processed_at": dt.datetime(2024, 10, 1, 9, 1),
         "errors": 0, "warnings": 1, "duplicate_of": None, "archive": '["2024/archive/a.xlsx"]',
         "paths": '["70-001 отчёт.xlsx"]', "feedback_at": dt.datetime(2024, 10, 1, 9, 2)},
        {"id": 2, "year": YEAR, "sha256": "a" * 64, "kind": "xlsx", "school": "70-001", "status": "duplicate",
         "arrived_at": dt.datetime(2024, 9, 30, 19, 0), "processed_at": dt.datetime(2024, 10, 1, 9, 1),
         "errors": 0, "warnings": 0, "duplicate_of": 1, "archive": '["2024/archive/a.xlsx"]',
         "paths": '["копия.xlsx"]', "feedback_at": None},
    ],
    "files": [
        {"id": 1, "year": YEAR, "path": "70-001 отчёт.xlsx", "sha256": "a" * 64, "size": 10240, "mtime": 1727712000.5,
         "first_seen": dt.datetime(2024, 9, 30, 18, 0), "submission_id": 1, "present": True},
        {"id": 2, "year": YEAR, "path": "копия.xlsx", "sha256": "a" * 64, "size": 10240, "mtime": 1727715600.0,
         "first_seen": dt.datetime(2024, 9, 30, 19, 0), "submission_id": 2, "present": False},
    ],
    "findings": [{"id": 1, "submission_id": 1, "code": "S06", "severity": "warning", "sheet": "Титул", "cell": "B2",
                  "value": "ИБЦ-2023", "message": "Устаревшая версия шаблона", "hint": "Заполните новый шаблон."}],
    "title_data": [{"submission_id": 1, "year": YEAR, "school": "70-001", "school_name": "МБОУ «Тестовая СОШ»",
                    "version": "ИБЦ-2023", "respondent": "Иванова И. И.", "position": "педагог-библиотекарь",
                    "phone": "+7 (3822) 12-34-56", "email": "lib@test-school.ru",
                    "filled_on": dt.date(2024, 9, 30), "library": "отдельное помещение"}],
    "item_data": [{"submission_id": 1, "year": YEAR, "school": "70-001", "item": "1.1", "status": "выполнено",
                   "done_on": dt.date(2024, 5, 20), "document": "приказ", "document_details": "№ 45-од",
                   "quantity": 2, "links": "https://test-school.ru/ibc", "comment": None}],
    "staff_data": [{"submission_id": 1, "year": YEAR, "school": "70-001", "row": 1, "person": "Сотрудник 1",
                    "position": "педагог-библиотекарь", "rate": 0.5, "employment": "основной работник",
                    "education": "высшее педагогическое", "years": 12, "kpk": True}],
    "course_data": [{"submission_id": 1, "year": YEAR, "school": "70-001", "row": 1, "person": "Сотрудник 1",
                     "programme": "КПК", "title": "Школьная библиотека", "organisation": "ТОИПКРО", "hours": 72,
                     "finished_on": dt.date(2024, 3, 1), "document": "удостоверение"}],
    "award_data": [{"submission_id": 1, "year": YEAR, "school": "70-001", "row": 1, "person": "Сотрудник 1",
                    "kind": "грамота", "level": "муниципальный", "status": "получено", "date": dt.date(2024, 4, 1)}],
    "indicator_data": [{"submission_id": 1, "year": YEAR, "school": "70-001", "code": "П1", "value": 1.0},
                       {"submission_id": 1, "year": YEAR, "school": "70-001", "code": "П2", "value": None}],
}

# The tables revisions after the baseline add, as an upgraded ledger holds them: empty.
NEW_SINCE_BASELINE: dict[str, list[tuple[Any, ...]]] = {"mail_messages": [], "mail_files": [], "outbox": []}


@pytest.fixture()
def new_database(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """A maker of empty databases of a dialect, as SQLAlchemy URLs; PostgreSQL ones are dropped afterwards."""
    numbers = itertools.count(1)
    created: list[str] = []

    def make(dialect: str) -> str:
        name = f"ledger_{next(numbers)}_{uuid.uuid4().hex[:8]}"
        if dialect == "sqlite":
            (tmp_path / name).mkdir()
            return ledger.default_url(tmp_path / name)
        created.append(name)
        return request.getfixturevalue("postgres_server").create_database(name)

    yield make
    for name in created:
        request.getfixturevalue("postgres_server").drop_database(name)


def frozen_statements(dialect: str) -> list[str]:
    """The statements of commit 83789a2's create_all on *dialect*, from tests/data (comment lines left out)."""
    script = (DATA / f"ledger_83789a2_create_all.{dialect}.sql").read_text(encoding="utf-8")
    lines = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [statement.strip() for statement in re.split(r";$", lines, flags=re.MULTILINE) if statement.strip()]


def write_legacy_ledger(url: str, dialect: str, tables: int | None = None) -> None:
    """Create the tables of commit 83789a2 (only the first *tables* of them, if given) and, if all, their rows."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            created = 0
            for statement in frozen_statements(dialect):
                created += statement.startswith("CREATE TABLE")
                if tables is not None and created > tables:
                    break
                connection.exec_driver_sql(statement)
            if tables is None:
                legacy = MetaData()
                legacy.reflect(connection)
                for table in legacy.sorted_tables:
                    connection.execute(table.insert(), LEGACY_ROWS[table.name])
    finally:
        engine.dispose()


def table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the ledger (the version table aside) as its rows, sorted."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = MetaData()
            tables.reflect(connection)
            return {table.name: sorted(connection.execute(select(table)).all(), key=repr)
                    for table in tables.sorted_tables if table.name != VERSION_TABLE}
    finally:
        engine.dispose()


def schema_of(url: str) -> dict[str, Any]:
    """Tables, columns, keys and indexes as the database reports them, comparable across two databases."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            return {name: {
                "columns": [(column["name"], str(column["type"]), column["nullable"])
                            for column in inspector.get_columns(name)],
                "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
                "foreign_keys": sorted((key["constrained_columns"], key["referred_table"], key["referred_columns"])
                                       for key in inspector.get_foreign_keys(name)),
                "indexes": sorted((index["name"], index["column_names"], index["unique"])
                                  for index in inspector.get_indexes(name)),
            } for name in sorted(inspector.get_table_names())}
    finally:
        engine.dispose()


def revisions_of(url: str) -> tuple[str, ...]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return current_revisions(connection)
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_open_ledger_adopts_a_ledger_written_before_migrations(
        dialect: str, new_database: Callable[[str], str]) -> None:
    url = new_database(dialect)
    write_legacy_ledger(url, dialect)
    before = table_rows(url)
    assert revisions_of(url) == ()

    ledger.open_ledger(url).dispose()

    assert revisions_of(url) == (HEAD,)
    assert table_rows(url) == {**before, **NEW_SINCE_BASELINE}
    assert {name: len(rows) for name, rows in before.items()} == {
        name: len(rows) for name, rows in LEGACY_ROWS.items()}
    assert schema_of(url) == schema_of(_fresh_ledger(new_database(dialect)))
    engine = ledger.open_ledger(url)
    try:
        with ledger.transaction(engine) as connection:
            stored = ledger.campaign_submissions(connection, YEAR)
            assert [(item.id, item.status, item.duplicate_of, item.paths) for item in stored] == [
                (1, "accepted", None, ("70-001 отчёт.xlsx",)), (2, "duplicate", 1, ("копия.xlsx",))]
            assert ledger.accepted_indicators(connection, YEAR) == {"70-001": {"П1": 1.0, "П2": None}}
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_open_ledger_upgrades_a_ledger_at_0001_to_the_mail_tables_keeping_every_row(
        dialect: str, new_database: Callable[[str], str]) -> None:
    url = new_database(dialect)
    write_legacy_ledger(url, dialect)
    engine = create_engine(url)
    with engine.begin() as connection:
        MigrationContext.configure(connection).stamp(revisions(), "0001")
    engine.dispose()
    before = table_rows(url)
    assert revisions_of(url) == ("0001",)

    engine = ledger.open_ledger(url)
    try:
        assert revisions_of(url) == (HEAD,) == ("0002",)
        assert table_rows(url) == {**before, **NEW_SINCE_BASELINE}
        assert schema_of(url) == schema_of(_fresh_ledger(new_database(dialect)))
        received = dt.datetime(2025, 5, 13, 8, 15)
        with ledger.transaction(engine) as connection:
            ledger.record_mail(connection, ledger.MailMessage(
                7, 41, "<a@school.ru>", "lib@test-school.ru", received, ledger.MailOutcome.TAKEN,
                paths=("почта/2025-05-13_41_отчёт.xlsx",)))
            ledger.record_mail(connection, ledger.MailMessage(
                7, 42, None, None, received, ledger.MailOutcome.AUTO_REPLY))
        with ledger.transaction(engine) as connection:
            assert ledger.taken_uids(connection, 7) == {41, 42}
            assert ledger.taken_uids(connection, 8) == set()
            assert ledger.taken_message_ids(connection, ["<a@school.ru>", "<b@school.ru>"]) == {"<a@school.ru>"}
            assert ledger.mail_facts(connection, "почта/2025-05-13_41_отчёт.xlsx") == (
                "lib@test-school.ru", received, "<a@school.ru>")
            assert ledger.mail_facts(connection, "70-001 отчёт.xlsx") is None
            assert ledger.mail_arrivals(connection, ["почта/2025-05-13_41_отчёт.xlsx", "70-001 отчёт.xlsx"]) == {
                "почта/2025-05-13_41_отчёт.xlsx": received}
    finally:
        engine.dispose()


def test_open_ledger_completes_a_ledger_whose_first_open_was_killed_halfway(
        new_database: Callable[[str], str]) -> None:
    url = new_database("sqlite")
    write_legacy_ledger(url, "sqlite", tables=2)
    assert sorted(table_rows(url)) == ["runs", "submissions"]

    ledger.open_ledger(url).dispose()

    assert revisions_of(url) == (HEAD,)
    assert schema_of(url) == schema_of(_fresh_ledger(new_database("sqlite")))


def _fresh_ledger(url: str) -> str:
    ledger.open_ledger(url).dispose()
    return url


@pytest.mark.parametrize("dialect", DIALECTS)
def test_open_ledger_builds_a_new_ledger_at_head_with_the_tables_of_the_code(
        dialect: str, new_database: Callable[[str], str]) -> None:
    url = new_database(dialect)

    engine = ledger.open_ledger(url)
    try:
        with engine.connect() as connection:
            assert current_revisions(connection) == (HEAD,)
            assert compare_metadata(MigrationContext.configure(connection), ledger.metadata) == []
            assert set(inspect(connection).get_table_names()) == {*ledger.metadata.tables, VERSION_TABLE}
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_open_ledger_at_head_only_reads(dialect: str, new_database: Callable[[str], str]) -> None:
    url = _fresh_ledger(new_database(dialect))
    statements: list[str] = []

    def remember(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", remember)
    try:
        ledger.open_ledger(url).dispose()
    finally:
        event.remove(Engine, "before_cursor_execute", remember)
    assert any(VERSION_TABLE in statement for statement in statements)
    assert [statement for statement in statements if WRITES.match(statement)] == []


def test_open_ledger_refuses_a_ledger_newer_than_the_code(new_database: Callable[[str], str]) -> None:
    url = _fresh_ledger(new_database("sqlite"))
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))
    engine.dispose()

    with pytest.raises(ledger.LedgerVersionError, match=r"создан более новой версией программы.*0099"):
        ledger.open_ledger(url)
    assert revisions_of(url) == ("0099",)


def test_head_is_the_newest_revision_and_baseline_the_first() -> None:
    script = revisions()
    assert script.get_current_head() == HEAD
    assert script.get_base() == BASELINE


@pytest.mark.parametrize("dialect", DIALECTS)
def test_revision_0001_creates_what_commit_83789a2_created(dialect: str) -> None:
    emitted: list[str] = []
    url = {"sqlite": "sqlite://", "postgresql": "postgresql+psycopg://"}[dialect]
    mock = create_mock_engine(url, lambda sql, *_, **__: emitted.append(str(sql.compile(dialect=mock.dialect))))
    baseline.metadata.create_all(mock, checkfirst=False)
    assert sorted(statement.strip() for statement in emitted) == sorted(frozen_statements(dialect))


def _open_when_all_are_ready(url: str, ready: Any) -> None:
    ready.wait()
    ledger.open_ledger(url).dispose()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_processes_opening_a_new_ledger_at_once_create_it_once(
        dialect: str, new_database: Callable[[str], str]) -> None:
    url = new_database(dialect)
    fork = multiprocessing.get_context("fork")  # at once: no child spends seconds importing before the barrier
    ready = fork.Barrier(3)
    processes = [fork.Process(target=_open_when_all_are_ready, args=(url, ready)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0, 0]
    assert revisions_of(url) == (HEAD,)
    assert all(rows == [] for rows in table_rows(url).values())
