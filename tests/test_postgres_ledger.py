"""The ledger on PostgreSQL holds exactly what the default SQLite ledger holds after the same collections."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT
from postgres_server import PostgresServer
from sqlalchemy import select

from pipeline import ledger
from pipeline.collect.run import CollectionSummary, collect
from pipeline.district.setup import load_setup
from pipeline.statuses import SubmissionStatus

YEARS = (2024, 2025)  # 2025's L05 compares against 2024's accepted indicators
NOW = dt.datetime(2025, 11, 1, 9, 0)  # after both campaigns closed: every state occurs


def run_collections(inputs: Path, outputs: Path, ledger_url: str | None) -> list[CollectionSummary]:
    return [collect(load_setup(inputs, outputs, year, ledger_url), now=NOW) for year in YEARS]


def ledger_content(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table as sorted rows without surrogate ids; a submission id becomes (sha256, paths) of that submission."""
    engine = ledger.open_ledger(url)
    try:
        with engine.connect() as connection:
            keys = {row.id: (row.sha256, row.paths)
                    for row in connection.execute(select(ledger.submissions.c.id, ledger.submissions.c.sha256,
                                                         ledger.submissions.c.paths))}
            content = {}
            for table in ledger.metadata.sorted_tables:
                rows = []
                for row in connection.execute(select(table)).mappings():
                    rows.append(tuple((name, _comparable(name, value, keys)) for name, value in row.items()
                                      if name != "id"))
                content[table.name] = sorted(rows, key=repr)
    finally:
        engine.dispose()
    return content


def _comparable(name: str, value: Any, keys: dict[int, tuple[str, str]]) -> Any:
    if name in ("submission_id", "duplicate_of") and value is not None:
        return keys[value]
    if name in ("paths", "archive"):
        return json.loads(value)
    return value


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> dict[str, Any]:
    """The demo district collected into SQLite, into PostgreSQL, and into PostgreSQL a second time."""
    root = tmp_path_factory.mktemp("postgres-ledger")
    inputs = root / "inputs"
    shutil.copytree(PROJECT / "inputs", inputs)  # copy2 keeps the mtimes that set first-run arrival times
    postgres_url = postgres_server.create_database("ledger_demo")
    sqlite_runs = run_collections(inputs, root / "outputs-sqlite", None)
    postgres_runs = run_collections(inputs, root / "outputs-postgres", postgres_url)
    after_first = ledger_content(postgres_url)
    again = run_collections(inputs, root / "outputs-postgres", postgres_url)
    return {"sqlite": sqlite_runs, "postgres": postgres_runs, "again": again,
            "sqlite_ledger": ledger_content(ledger.default_url(root / "outputs-sqlite")),
            "postgres_ledger": after_first, "postgres_ledger_again": ledger_content(postgres_url)}


def test_postgres_ledger_holds_the_same_content_as_sqlite(collected: dict[str, Any]) -> None:
    sqlite, postgres = collected["sqlite_ledger"], collected["postgres_ledger"]
    assert sorted(postgres) == sorted(sqlite)
    assert {name: len(rows) for name, rows in postgres.items()} == {name: len(rows) for name, rows in sqlite.items()}
    for name in sqlite:
        assert postgres[name] == sqlite[name], name
    assert len(sqlite["submissions"]) > 0 and len(sqlite["findings"]) > 0 and len(sqlite["item_data"]) > 0


def test_postgres_collection_reports_the_same_files_and_states(collected: dict[str, Any]) -> None:
    sqlite = [summary.to_json() for summary in collected["sqlite"]]
    postgres = [summary.to_json() for summary in collected["postgres"]]
    assert postgres == sqlite
    assert {item["status"] for summary in postgres for item in summary["files"]} == set(SubmissionStatus)


def test_postgres_second_collection_finds_nothing_new(collected: dict[str, Any]) -> None:
    assert [summary.processed for summary in collected["again"]] == [0, 0]
    assert [summary.to_json()["files"] for summary in collected["again"]] == [
        summary.to_json()["files"] for summary in collected["postgres"]]
    before, after = collected["postgres_ledger"], collected["postgres_ledger_again"]
    assert {name: rows for name, rows in after.items() if name != "runs"} == {
        name: rows for name, rows in before.items() if name != "runs"}
    assert len(after["runs"]) == 2 * len(before["runs"])
