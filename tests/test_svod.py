"""svod.xlsx and files.csv as a user opens them: whole sheet names within Excel's 31 characters, Russian words."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from conftest import campaign_setup, good_report, set_cell, write_xlsx

from pipeline import ledger
from pipeline.collect.run import collect
from pipeline.district.roadmap import District
from pipeline.report.annual import build_report, write_report
from pipeline.report.conclusions import INDEX_SHEET, MISSING_SHEET, OUTLIER_SHEET
from pipeline.report.recommendations import SVOD_SHEETS
from pipeline.report.svod import MAX_TITLE, SHORT_TITLES, sheet_title, svod_tables

REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru;a@test-school.ru;;\n"
            "70-005;МБОУ «Пятая СОШ»;Тест;five.ru;a@five.ru;;\n"
            "70-006;МБОУ «Шестая СОШ»;Тест;six.ru;a@six.ru;;\n")
ENGLISH_WORDS = ("accepted", "rejected", "superseded", "duplicate", "unrecognized", "school", "path", "status",
                 "sha256", "arrived_at")


@pytest.mark.parametrize(("title", "taken", "expected"), [
    pytest.param("Ставки по должностям", [], "Ставки по должностям", id="a short title stays as it is"),
    pytest.param("Статусы мероприятий дорожной карты", [], "Мероприятия дорожной карты",
                 id="a known long title takes its short name"),
    pytest.param("Организации, проводившие обучение", [], "Обучение по организациям",
                 id="a known title with a comma takes its short name"),
    pytest.param("Численность пользователей библиотек по муниципалитетам", [], "Численность пользователей",
                 id="an unknown long title loses whole words and the dangling «по»"),
    pytest.param("Сведения об учебниках и художественной литературе", [], "Сведения об учебниках",
                 id="an unknown long title loses the dangling «и»"),
    pytest.param("Ссылки: разделы/публикации", [], "Ссылки_ разделы_публикации",
                 id="characters Excel forbids become «_»"),
    pytest.param("Ссылки", ["ссылки"], "Ссылки (2)", id="a repeated name gets a number, ignoring case"),
    pytest.param("Численность пользователей библиотек по району", ["Численность пользователей"],
                 "Численность пользователей (2)", id="a number takes the place of whole words"),
    pytest.param("Очень" * 8, [], ("Очень" * 8)[:MAX_TITLE], id="one word longer than the cap is cut"),
    pytest.param("  ", [], "Таблица", id="an empty title is «Таблица»"),
])
def test_sheet_title_fits_whole_words(title: str, taken: list[str], expected: str) -> None:
    assert sheet_title(title, taken) == expected


def test_short_titles_fit_and_differ() -> None:
    assert all(len(name) <= MAX_TITLE for name in SHORT_TITLES.values())
    assert len({name.lower() for name in SHORT_TITLES.values()}) == len(SHORT_TITLES)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, district: District) -> dict[str, Path]:
    """A campaign of three schools collected and reported: one accepted, one rejected, one silent."""
    root = tmp_path_factory.mktemp("svod")
    setup = campaign_setup(root, REGISTER)
    report = good_report(district)
    write_xlsx(report, setup.drop_folder / "70-001_ИБЦ_2025.xlsx")
    set_cell(report, "Титул", "B3", "70-005")
    set_cell(report, "Дорожная карта", "E3", "")
    write_xlsx(report, setup.drop_folder / "70-005_ИБЦ_2025.xlsx")
    collect(setup, now=dt.datetime(2025, 6, 1, 10, 0))
    engine = ledger.open_ledger(setup.ledger_url)
    year_report = build_report(setup, engine, dt.datetime(2025, 11, 1, 9, 0))
    titles = [title for title, _ in svod_tables(year_report)]
    (root / "titles.txt").write_text("\n".join(titles), encoding="utf-8")
    return {**write_report(setup, year_report), "titles": root / "titles.txt"}


def test_svod_names_every_sheet_by_its_whole_title_or_its_short_name(written: dict[str, Path]) -> None:
    titles = written["titles"].read_text(encoding="utf-8").splitlines()
    names = openpyxl.load_workbook(written["svod"], read_only=True).sheetnames
    assert names == [SHORT_TITLES.get(title, title) for title in titles]
    assert all(len(name) <= MAX_TITLE for name in names)


def test_svod_has_every_sheet_the_report_text_cites(written: dict[str, Path]) -> None:
    names = openpyxl.load_workbook(written["svod"], read_only=True).sheetnames
    cited = {MISSING_SHEET, INDEX_SHEET, OUTLIER_SHEET, *SVOD_SHEETS.values()}
    assert cited <= set(names)


def test_svod_lists_files_with_russian_headers_and_statuses(written: dict[str, Path]) -> None:
    sheet = openpyxl.load_workbook(written["svod"], read_only=True)["Файлы отчёта"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Файл", "SHA-256", "Код ОО", "Статус", "Получен")
    assert sorted((row[0], row[2], row[3]) for row in rows[1:]) == [
        ("70-001_ИБЦ_2025.xlsx", "70-001", "принят"), ("70-005_ИБЦ_2025.xlsx", "70-005", "отклонён")]


@pytest.mark.skipif(shutil.which("pdfdetach") is None, reason="poppler-utils (pdfdetach) not installed")
def test_files_csv_in_the_pdf_is_russian(written: dict[str, Path], tmp_path: Path) -> None:
    saved = tmp_path / "files.csv"
    subprocess.run(["pdfdetach", "-savefile", "files.csv", "-o", str(saved), str(written["pdf"])], check=True,
                   capture_output=True)
    text = saved.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Файл", "SHA-256", "Код ОО", "Статус", "Получен"]
    assert sorted((row[0], row[3]) for row in rows[1:]) == [
        ("70-001_ИБЦ_2025.xlsx", "принят"), ("70-005_ИБЦ_2025.xlsx", "отклонён")]
    assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", row[4]) for row in rows[1:])
    assert not any(word in text.lower() for word in ENGLISH_WORDS)
