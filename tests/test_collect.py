"""Collection over a real drop folder: every file one status, history across resubmissions, nothing lost."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from pathlib import Path

import openpyxl
import pytest
from conftest import campaign_setup, set_cell, write_csv_parts, write_xlsx

from pipeline import ledger
from pipeline.collect.run import collect
from pipeline.district.setup import Setup

REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru test-r70.gosweb.gosuslugi.ru;a@test-school.ru;;\n"
            "70-005;МБОУ «Пятая СОШ»;Тест;five.ru;a@five.ru;;\n"
            "70-006;МБОУ «Шестая СОШ»;Тест;six.ru;a@six.ru;;\n")
BEFORE_DEADLINE = dt.datetime(2025, 6, 1, 10, 0)
AFTER_DEADLINE = dt.datetime(2025, 10, 15, 10, 0)


@pytest.fixture()
def setup(tmp_path: Path) -> Setup:
    return campaign_setup(tmp_path, REGISTER)


def statuses(summary) -> dict[str, str]:
    return {item["path"]: item["status"] for item in summary.files}


def snapshot(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file() and not path.is_symlink()}


def test_collect_gives_every_file_exactly_one_status(setup: Setup, report: dict) -> None:
    drop = setup.drop_folder
    write_xlsx(report, drop / "good.xlsx")
    (drop / "sub folder").mkdir()
    shutil.copy(drop / "good.xlsx", drop / "sub folder" / "копия отчёта.xlsx")
    bad = {sheet: [list(row) for row in rows] for sheet, rows in report.items()}
    set_cell(bad, "Титул", "B3", "70-005")
    set_cell(bad, "Дорожная карта", "E3", "")
    write_xlsx(bad, drop / "bad.xlsx")
    csv_report = {sheet: [list(row) for row in rows] for sheet, rows in report.items()}
    set_cell(csv_report, "Титул", "B3", "70-006")
    set_cell(csv_report, "Дорожная карта", "I7", "https://six.ru/ibc")
    write_csv_parts(csv_report, drop / "csv", encoding="cp1251")
    for path in (drop / "csv").iterdir():
        path.rename(path.with_name(path.name.replace("70-001", "70-006")))
    (drop / "~$good.xlsx").write_bytes(b"lock")
    (drop / ".hidden").write_text("x")
    (drop / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (drop / "empty.xlsx").write_bytes(b"")
    (drop / "fake.xlsx").write_text("hello")
    os.symlink("/etc/passwd", drop / "passwd.xlsx")
    before = snapshot(drop)

    summary = collect(setup, now=BEFORE_DEADLINE)

    in_folder = sorted(f"2025/{path.relative_to(drop).as_posix()}" for path in drop.rglob("*")
                       if path.is_file() or path.is_symlink())
    assert sorted(statuses(summary)) == in_folder
    assert statuses(summary) == {
        "2025/good.xlsx": "accepted", "2025/sub folder/копия отчёта.xlsx": "duplicate", "2025/bad.xlsx": "rejected",
        **{f"2025/csv/70-006_{sheet}.csv": "accepted"
           for sheet in ("Титул", "Дорожная карта", "Сотрудники", "Курсы", "Поощрения", "Показатели")},
        "2025/~$good.xlsx": "unrecognized", "2025/.hidden": "unrecognized", "2025/photo.jpg": "unrecognized",
        "2025/empty.xlsx": "rejected", "2025/fake.xlsx": "rejected", "2025/passwd.xlsx": "unrecognized",
    }
    assert snapshot(drop) == before  # inputs are never modified, moved or deleted
    states = {item["school"]: item["state"] for item in summary.to_json()["schools"]}
    assert states == {"70-001": "on_time", "70-005": "rejected", "70-006": "on_time"}
    assert not any("passwd" in path.name and path.read_bytes().startswith(b"root")
                   for path in setup.outputs.rglob("*") if path.is_file())


def test_collect_again_with_nothing_new_changes_nothing(setup: Setup, report: dict) -> None:
    write_xlsx(report, setup.drop_folder / "good.xlsx")
    first = collect(setup, now=BEFORE_DEADLINE)
    feedback = snapshot(setup.outputs / "2025" / "feedback")
    second = collect(setup, now=AFTER_DEADLINE)
    assert second.processed == 0
    assert statuses(second) == statuses(first)
    assert snapshot(setup.outputs / "2025" / "feedback") == feedback


def test_fix_moves_school_from_rejected_to_accepted(setup: Setup, report: dict) -> None:
    path = setup.drop_folder / "70-001.xlsx"
    broken = {sheet: [list(row) for row in rows] for sheet, rows in report.items()}
    set_cell(broken, "Дорожная карта", "E3", "")
    write_xlsx(broken, path)
    first = collect(setup, now=BEFORE_DEADLINE)
    assert statuses(first) == {"2025/70-001.xlsx": "rejected"}
    assert first.to_json()["schools"][0] == {"school": "70-001", "state": "rejected"}
    page = next((setup.outputs / "2025" / "feedback" / "70-001").glob("*.html")).read_text(encoding="utf-8")
    assert "R01" in page and "отклонён" in page

    write_xlsx(report, path)  # the school overwrites its file with the fixed one
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    second = collect(setup, now=AFTER_DEADLINE)
    assert statuses(second) == {"2025/70-001.xlsx": "accepted"}
    assert second.to_json()["schools"][0] == {"school": "70-001", "state": "late"}
    # The rejected version is still in the ledger and its archived copy is kept.
    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        history = [(item.status, item.school) for item in ledger.campaign_submissions(connection, 2025)]
        archived = [item.archive for item in ledger.campaign_submissions(connection, 2025)]
    engine.dispose()
    assert history == [("rejected", "70-001"), ("accepted", "70-001")]
    assert all((setup.outputs / copy).exists() for copies in archived for copy in copies)


def test_later_accepted_file_supersedes_earlier(setup: Setup, report: dict) -> None:
    write_xlsx(report, setup.drop_folder / "first.xlsx")
    collect(setup, now=BEFORE_DEADLINE)
    set_cell(report, "Показатели", "D27", 20)
    write_xlsx(report, setup.drop_folder / "second.xlsx")
    summary = collect(setup, now=AFTER_DEADLINE)
    assert statuses(summary) == {"2025/first.xlsx": "superseded", "2025/second.xlsx": "accepted"}
    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        frames = ledger.accepted_frames(connection, 2025)
    engine.dispose()
    indicators = frames["indicators"].set_index("code")
    assert indicators.at["P20", "value"] == 20
    assert len(frames["items"]) == 10


def test_accepted_data_is_typed_for_aggregation(setup: Setup, report: dict) -> None:
    write_xlsx(report, setup.drop_folder / "good.xlsx")
    collect(setup, now=BEFORE_DEADLINE)
    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        frames = ledger.accepted_frames(connection, 2025)
    engine.dispose()
    items = frames["items"].set_index("item")
    assert items.at["1.1", "done_on"] == dt.date(2024, 5, 20)
    assert items.at["1.2", "quantity"] == 2
    assert frames["staff"]["rate"].tolist() == [1.0, 0.5]
    assert frames["title"].at[0, "filled_on"] == dt.date(2025, 5, 15)


def test_feedback_workbook_marks_the_faulty_cell(setup: Setup, report: dict) -> None:
    set_cell(report, "Дорожная карта", "E3", "")
    write_xlsx(report, setup.drop_folder / "70-001.xlsx")
    collect(setup, now=BEFORE_DEADLINE)
    annotated = next((setup.outputs / "2025" / "feedback" / "70-001").glob("*_замечания.xlsx"))
    workbook = openpyxl.load_workbook(annotated)
    assert workbook.sheetnames[0] == "Замечания"
    assert workbook["Дорожная карта"]["E3"].comment is not None
    assert "R01" in workbook["Дорожная карта"]["E3"].comment.text


def test_first_run_uses_arrivals_file_for_files_already_there(setup: Setup, report: dict) -> None:
    write_xlsx(report, setup.drop_folder / "good.xlsx")
    (setup.inputs / "arrivals").mkdir()
    (setup.inputs / "arrivals" / "2025.csv").write_text("Файл;Получен\ngood.xlsx;02.10.2025 09:00\n",
                                                        encoding="utf-8")
    summary = collect(setup, now=dt.datetime(2025, 10, 20))
    assert summary.to_json()["schools"][0] == {"school": "70-001", "state": "late"}


def test_one_changed_csv_part_brings_its_whole_group_back(setup: Setup, report: dict) -> None:
    drop = setup.drop_folder
    bad = {sheet: [list(row) for row in rows] for sheet, rows in report.items()}
    set_cell(bad, "Дорожная карта", "E3", "")  # «выполнено» without a date: the group is rejected
    parts = write_csv_parts(bad, drop)
    other = {sheet: [list(row) for row in rows] for sheet, rows in report.items()}
    set_cell(other, "Титул", "B3", "70-005")
    write_xlsx(other, drop / "other.xlsx")  # in the same folder, unchanged: not judged again
    first = collect(setup, now=BEFORE_DEADLINE)
    assert set(statuses(first).values()) == {"rejected", "accepted"}

    fixed = {sheet: [list(row) for row in rows] for sheet, rows in report.items()}
    roadmap = next(path for path in parts if "Дорожная карта" in path.name)
    write_csv_parts({"Дорожная карта": fixed["Дорожная карта"]}, drop)  # only this part is rewritten
    os.utime(roadmap, (BEFORE_DEADLINE.timestamp() + 60,) * 2)
    second = collect(setup, now=BEFORE_DEADLINE + dt.timedelta(days=1))

    assert second.processed == 1  # one new submission: the group, read with all its parts
    assert {path: status for path, status in statuses(second).items() if path.endswith(".csv")} == {
        f"2025/{path.name}": "accepted" for path in parts}
    assert statuses(second)["2025/other.xlsx"] == "accepted"
