"""The ledger through its public functions, on a real SQLite file: what is recorded is what is read back."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from pipeline import ledger
from pipeline.findings import ERROR, WARNING, Finding
from pipeline.statuses import SubmissionStatus

ACCEPTED, REJECTED, SUPERSEDED, DUPLICATE, UNRECOGNIZED = SubmissionStatus

YEAR = 2025
NOW = dt.datetime(2025, 10, 2, 12, 0)
OUT_OF_DATE = Finding("S06", WARNING, "Титул", "B2", "ИБЦ-2024.1", "Устаревшая версия шаблона.", "Заполните новый.")
NO_DATE = Finding("R01", ERROR, "Дорожная карта", "E3", "", "Нет даты выполнения.", "Укажите дату.")
NO_SHEET = Finding("S02", ERROR, "", "", "", "Нет обязательного листа «Курсы».", "Используйте шаблон.")


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = ledger.open_ledger(ledger.default_url(tmp_path / "outputs"))
    yield engine
    engine.dispose()


def new(sha: str, school: str | None, status: str = ACCEPTED, *, hour: int = 9,
        paths: tuple[str, ...] = (), findings: tuple[Finding, ...] = (),
        data: dict[str, dict[str, list[Any]]] | None = None, duplicate_of: int | None = None) -> ledger.NewSubmission:
    """A judged submission of *school* arriving on 1 October at *hour*; one file named after *sha* unless *paths*."""
    names = paths or (f"{sha}.xlsx",)
    files = tuple((name, sha if len(names) == 1 else f"{sha}-{position}", 1000 + position, 1727770000.0 + position)
                  for position, name in enumerate(names))
    archive = () if status == UNRECOGNIZED else tuple(f"{YEAR}/archive/{name}" for name in names)
    return ledger.NewSubmission(sha, "xlsx", school, status, dt.datetime(2025, 10, 1, hour, 0), files, findings,
                                archive, data, duplicate_of)


def record(engine: Engine, *news: ledger.NewSubmission, year: int = YEAR) -> tuple[list[int], list[int]]:
    with ledger.transaction(engine) as connection:
        return ledger.record_many(connection, year, list(news), NOW)


def statuses(engine: Engine, year: int = YEAR) -> list[tuple[str, str | None, str]]:
    with ledger.transaction(engine) as connection:
        return [(item.sha256, item.school, item.status) for item in ledger.campaign_submissions(connection, year)]


def test_open_ledger_creates_the_outputs_folder_and_an_empty_ledger(tmp_path: Path) -> None:
    outputs = tmp_path / "new" / "outputs"
    engine = ledger.open_ledger(ledger.default_url(outputs))
    try:
        assert (outputs / "ledger.sqlite").is_file()
        with ledger.transaction(engine) as connection:
            assert ledger.campaign_submissions(connection, YEAR) == []
            assert not ledger.has_runs(connection, YEAR)
    finally:
        engine.dispose()


def test_record_many_stores_submissions_with_their_counts_files_and_archive(engine: Engine) -> None:
    ids, superseded = record(engine,
                             new("bbb", "70-002", REJECTED, hour=11, findings=(NO_DATE, OUT_OF_DATE, NO_DATE)),
                             new("aaa", "70-001", hour=10, paths=("70-001.xlsx", "70-001 фото.pdf"),
                                 findings=(OUT_OF_DATE,)))

    assert superseded == []
    assert ids[1] > ids[0]
    with ledger.transaction(engine) as connection:
        stored = ledger.campaign_submissions(connection, YEAR)
    # In order of arrival, not of recording.
    assert [(item.id, item.sha256, item.school, item.status, item.errors, item.warnings) for item in stored] == [
        (ids[1], "aaa", "70-001", ACCEPTED, 0, 1), (ids[0], "bbb", "70-002", REJECTED, 2, 1)]
    accepted = stored[0]
    assert accepted.paths == ("70-001.xlsx", "70-001 фото.pdf")
    assert accepted.archive == ("2025/archive/70-001.xlsx", "2025/archive/70-001 фото.pdf")
    assert (accepted.arrived_at, accepted.processed_at, accepted.duplicate_of) == (
        dt.datetime(2025, 10, 1, 10, 0), NOW, None)


def test_record_many_of_nothing_records_nothing(engine: Engine) -> None:
    assert record(engine) == ([], [])
    assert statuses(engine) == []


def test_newest_accepted_submission_supersedes_the_schools_earlier_ones(engine: Engine) -> None:
    first, _ = record(engine, new("a1", "70-001", hour=9), new("r1", "70-001", REJECTED, hour=10),
                      new("b1", "70-002", hour=9))
    record(engine, new("a0", "70-001", hour=8), year=2024)

    second, superseded = record(engine, new("a2", "70-001", hour=12), new("c1", "70-003", hour=12),
                                new("c2", "70-003", hour=13))

    assert superseded == sorted([first[0], second[1]])
    assert statuses(engine) == [
        ("a1", "70-001", SUPERSEDED), ("b1", "70-002", ACCEPTED), ("r1", "70-001", REJECTED),
        ("a2", "70-001", ACCEPTED), ("c1", "70-003", SUPERSEDED), ("c2", "70-003", ACCEPTED)]
    assert statuses(engine, 2024) == [("a0", "70-001", ACCEPTED)]


def test_a_rejected_submission_supersedes_nothing(engine: Engine) -> None:
    record(engine, new("a1", "70-001", hour=9))
    _, superseded = record(engine, new("r1", "70-001", REJECTED, hour=10, findings=(NO_SHEET,)))
    assert superseded == []
    assert statuses(engine) == [("a1", "70-001", ACCEPTED), ("r1", "70-001", REJECTED)]


def test_a_duplicate_points_at_its_original_and_is_not_judged_again(engine: Engine) -> None:
    (original,), _ = record(engine, new("aaa", "70-001", REJECTED, findings=(NO_DATE,)))
    with ledger.transaction(engine) as connection:
        found = ledger.find_by_hash(connection, YEAR, "aaa")
    assert found is not None and found.id == original

    (duplicate,), superseded = record(engine, new("aaa", "70-001", DUPLICATE, hour=10,
                                                  paths=("копия.xlsx",), duplicate_of=original))

    assert superseded == []
    with ledger.transaction(engine) as connection:
        assert ledger.judged_hashes(connection, YEAR) == {"aaa"}
        assert ledger.find_by_hash(connection, YEAR, "aaa") == found
        assert ledger.find_by_hash(connection, YEAR, "bbb") is None
        assert ledger.find_by_hash(connection, 2024, "aaa") is None
        stored = ledger.submissions_by_id(connection, [duplicate, original, duplicate])
    assert sorted(stored) == [original, duplicate]
    assert (stored[duplicate].status, stored[duplicate].duplicate_of, stored[duplicate].paths) == (
        DUPLICATE, original, ("копия.xlsx",))


def test_submission_findings_come_back_in_recorded_order(engine: Engine) -> None:
    (rejected, accepted, unrecognized), _ = record(
        engine, new("r", "70-001", REJECTED, findings=(NO_DATE, OUT_OF_DATE, NO_SHEET)),
        new("a", "70-002"), new("u", None, UNRECOGNIZED, findings=(NO_SHEET,)))

    with ledger.transaction(engine) as connection:
        found = ledger.submission_findings(connection, [rejected, accepted, unrecognized])
        only = ledger.submission_findings(connection, [unrecognized])
    assert found == {rejected: [NO_DATE, OUT_OF_DATE, NO_SHEET], accepted: [], unrecognized: [NO_SHEET]}
    assert only == {unrecognized: [NO_SHEET]}


def test_runs_tell_whether_a_collection_finished(engine: Engine) -> None:
    with ledger.transaction(engine) as connection:
        assert (ledger.has_runs(connection, YEAR), ledger.last_run_unfinished(connection, YEAR)) == (False, False)
        killed = ledger.start_run(connection, YEAR, NOW)
    with ledger.transaction(engine) as connection:
        assert (ledger.has_runs(connection, YEAR), ledger.last_run_unfinished(connection, YEAR)) == (False, True)
        ledger.finish_run(connection, ledger.start_run(connection, YEAR, NOW), NOW, new_submissions=3)
    with ledger.transaction(engine) as connection:
        assert (ledger.has_runs(connection, YEAR), ledger.last_run_unfinished(connection, YEAR)) == (True, False)
        assert (ledger.has_runs(connection, 2024), ledger.last_run_unfinished(connection, 2024)) == (False, False)
        ledger.start_run(connection, YEAR, NOW)
    with ledger.transaction(engine) as connection:
        assert (ledger.has_runs(connection, YEAR), ledger.last_run_unfinished(connection, YEAR)) == (True, True)
        rows = connection.execute(select(ledger.runs.c.id, ledger.runs.c.finished_at, ledger.runs.c.new_submissions)
                                  .order_by(ledger.runs.c.id)).all()
    assert [tuple(row) for row in rows] == [(killed, None, None), (killed + 1, NOW, 3), (killed + 2, None, None)]


def test_pending_feedback_lists_what_was_recorded_and_not_yet_answered(engine: Engine) -> None:
    ids, _ = record(engine, new("a", "70-001"), new("b", "70-002"), new("c", "70-003"))
    record(engine, new("d", "70-004"), year=2024)
    with ledger.transaction(engine) as connection:
        assert ledger.pending_feedback(connection, YEAR) == ids
        ledger.mark_feedback(connection, [ids[0], ids[2]], NOW)
    with ledger.transaction(engine) as connection:
        assert ledger.pending_feedback(connection, YEAR) == [ids[1]]


def test_present_files_follow_the_drop_folder(engine: Engine) -> None:
    (old, other, gone), _ = record(engine, new("v1", "70-001", paths=("школа 1.xlsx",)),
                                   new("r", "70-002", REJECTED, paths=("школа 2.xlsx",)),
                                   new("g", "70-003", paths=("ушёл.xlsx",)))
    # The same path with new content: a second file record for it.
    (newer,), _ = record(engine, new("v2", "70-001", hour=10, paths=("школа 1.xlsx",)))

    with ledger.transaction(engine) as connection:
        ledger.set_present(connection, YEAR, {"школа 1.xlsx", "школа 2.xlsx", "не записан.xlsx"})
    with ledger.transaction(engine) as connection:
        assert ledger.present_files(connection, YEAR) == [("школа 1.xlsx", "v2", newer), ("школа 2.xlsx", "r", other)]
        assert ledger.present_counts(connection, YEAR) == {ACCEPTED: 1, REJECTED: 1}
        assert ledger.all_files(connection, YEAR) == [
            ("ушёл.xlsx", "g", gone), ("школа 1.xlsx", "v1", old), ("школа 1.xlsx", "v2", newer),
            ("школа 2.xlsx", "r", other)]
        known = ledger.known_files(connection, YEAR)
    assert sorted(known) == ["ушёл.xlsx", "школа 1.xlsx", "школа 2.xlsx"]
    assert (known["школа 1.xlsx"].sha256, known["школа 1.xlsx"].submission_id, known["школа 1.xlsx"].present) == (
        "v2", newer, True)
    assert known["ушёл.xlsx"].present is False


def test_touch_files_changes_only_the_modification_time_of_unchanged_content(engine: Engine) -> None:
    record(engine, new("a", "70-001", paths=("a.xlsx",)), new("b", "70-002", paths=("b.xlsx",)))
    with ledger.transaction(engine) as connection:
        before = ledger.known_files(connection, YEAR)
        ledger.touch_files(connection, YEAR, [("a.xlsx", "a", 1800000000.5), ("b.xlsx", "not b", 1800000000.5)])
    with ledger.transaction(engine) as connection:
        after = ledger.known_files(connection, YEAR)
    assert after["a.xlsx"] == ledger.KnownFile("a.xlsx", "a", 1000, 1800000000.5, before["a.xlsx"].submission_id,
                                               before["a.xlsx"].first_seen, True)
    assert after["b.xlsx"] == before["b.xlsx"]


def test_status_rows_give_each_submission_its_first_file(engine: Engine) -> None:
    record(engine, new("a", "70-001", paths=("70-001.xlsx", "70-001.pdf")),
           new("b", "70-002", REJECTED, findings=(NO_DATE, OUT_OF_DATE)))
    with ledger.transaction(engine) as connection:
        every = ledger.status_rows(connection, YEAR)
        some = ledger.status_rows(connection, YEAR, {"70-002", "70-009"})
    arrived = dt.datetime(2025, 10, 1, 9, 0)
    assert sorted(every, key=lambda row: row.first_path) == [
        ledger.StatusRow("70-001", ACCEPTED, arrived, "70-001.xlsx", 0, 0),
        ledger.StatusRow("70-002", REJECTED, arrived, "b.xlsx", 1, 1)]
    assert some == [ledger.StatusRow("70-002", REJECTED, arrived, "b.xlsx", 1, 1)]


ACCEPTED_DATA = {
    "Титул": {"Наименование ОО": ["МБОУ «Тестовая СОШ»"], "Версия шаблона": ["ИБЦ-2025.1"],
              "Дата заполнения": [dt.date(2025, 5, 15)], "Библиотека": ["отдельное помещение"]},
    "Дорожная карта": {"Код": ["1.1", "2"], "Статус": ["выполнено", "не выполнено"],
                       "Дата выполнения": [dt.datetime(2025, 3, 10), None], "Количество": [2.0, math.nan],
                       "Ссылки": [("https://a.ru", "https://b.ru"), ()]},
    "Сотрудники": {"Сотрудник": ["Сотрудник 1", "Сотрудник 2"], "Ставка": [1.0, 0.5],
                   "КПК за последние 3 года": [True, False]},
    "Показатели": {"П1": [True], "П2": [12.5], "П3": [None], "П4": []},
}


def test_accepted_data_is_stored_typed_and_read_back_for_the_current_submission(engine: Engine) -> None:
    (superseded, current, rejected), _ = record(
        engine, new("old", "70-001", hour=9, data=ACCEPTED_DATA), new("new", "70-001", hour=10, data=ACCEPTED_DATA),
        new("r", "70-002", REJECTED, data=ACCEPTED_DATA))

    with ledger.transaction(engine) as connection:
        frames = ledger.accepted_frames(connection, YEAR)
        indicators = ledger.accepted_indicators(connection, YEAR)
        items = connection.execute(select(ledger.item_data).order_by(ledger.item_data.c.submission_id)).mappings().all()
        titled = connection.execute(select(ledger.title_data.c.submission_id)).scalars().all()

    assert sorted({row["submission_id"] for row in items}) == [superseded, current]  # not the rejected one's
    assert sorted(titled) == [superseded, current, rejected]  # but its «Титул»: whom to call (status.html)
    assert sorted((row["item"], row["status"], row["done_on"], row["quantity"], row["links"])
                  for row in items if row["submission_id"] == current) == [
        ("1.1", "выполнено", dt.date(2025, 3, 10), 2, "https://a.ru https://b.ru"),
        ("2", "не выполнено", None, None, "")]
    assert indicators == {"70-001": {"П1": 1.0, "П2": 12.5, "П3": None, "П4": None}}
    assert set(frames["items"]["submission_id"]) == {current}
    title = frames["title"].to_dict("records")
    assert [(row["school_name"], row["filled_on"], row["respondent"]) for row in title] == [
        ("МБОУ «Тестовая СОШ»", dt.date(2025, 5, 15), None)]
    staff = frames["staff"]
    assert staff[["row", "person", "rate", "kpk"]].to_dict("records") == [
        {"row": 1, "person": "Сотрудник 1", "rate": 1.0, "kpk": True},
        {"row": 2, "person": "Сотрудник 2", "rate": 0.5, "kpk": False}]
    assert (frames["courses"].empty, frames["awards"].empty) == (True, True)
    assert list(frames["courses"].columns) == [column.name for column in ledger.course_data.c]
    assert set(frames["indicators"]["submission_id"]) == {current}
