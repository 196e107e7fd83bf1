"""The template as a librarian meets it: the instruction sheet, the hints on input cells, and what the judge says."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from conftest import SCHOOL, TODAY, YEAR, good_report
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.district.layout import INSTRUCTION_SHEET, LAYOUTS, SHEETS
from pipeline.district.register import School
from pipeline.district.roadmap import District
from pipeline.judge.verdict import Rules, judge_paths
from pipeline.xlsx.templates import LAST_TEMPLATE_ROW, write_templates

MAILBOX = "ibc@example.test"
DATE = re.compile(r"\b(\d{2})\.(\d{2})\.(\d{4})\b")


def save_template(district: District, school: School, year: int, folder: Path, send_to: str | None = MAILBOX) -> Path:
    [path] = write_templates(district, [school], year, folder, send_to=send_to)
    return path


def instruction(path: Path) -> dict[str, str]:
    """The instruction's labelled rows as calamine reads them, {label: text}, and its title under «»."""
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        rows = workbook.get_sheet_by_name(INSTRUCTION_SHEET).to_python()
    finally:
        workbook.close()
    return {"": rows[0][0], **{row[0]: row[1] for row in rows[1:] if row[0] and row[1]}}


def dates_in(text: str) -> list[dt.date]:
    return [dt.date(int(year), int(month), int(day)) for day, month, year in DATE.findall(text)]


def prompts_at(sheet: Worksheet, coordinate: str) -> list[tuple[str, str]]:
    return [(validation.promptTitle, validation.prompt) for validation in sheet.data_validations.dataValidation
            if coordinate in validation.sqref and validation.showInputMessage]


def input_cells(workbook: openpyxl.Workbook) -> list[tuple[str, str]]:
    """Every cell a school types into: unlocked cells of the fixed sheets, rows 2 and the last of the tables."""
    cells = []
    for name in ("Титул", "Дорожная карта", "Показатели"):
        cells += [(name, cell.coordinate) for row in workbook[name].iter_rows(min_row=2) for cell in row
                  if not cell.protection.locked]
    for name in ("Сотрудники", "Курсы", "Поощрения"):
        letters = [cell.column_letter for cell in workbook[name][1]]
        cells += [(name, f"{letter}{row}") for letter in letters for row in (2, LAST_TEMPLATE_ROW)]
    return cells


@pytest.mark.parametrize("year", [2025, 2026])
def test_instruction_shows_the_campaigns_own_dates(district: District, register: dict[str, School], tmp_path: Path,
                                                    year: int):
    shown = instruction(save_template(district, register[SCHOOL], year, tmp_path))
    assert shown[""] == f"Отчёт ИБЦ за {year} год: как заполнить и сдать"
    assert shown["Отчётный период"].startswith(f"с 01.09.{year - 1} по 31.08.{year} ({year - 1}/{year} учебный год)")
    assert shown["Приём отчётов"] == f"с 01.04.{year} по 31.10.{year}."
    assert shown["Срок сдачи"].startswith(f"01.10.{year} включительно.")
    assert f"например 20.05.{year}." in shown["Общие правила"]
    assert f"{SCHOOL}_ИБЦ_{year}.xlsx" in shown["Какие файлы"]


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_date_the_template_shows_belongs_to_its_campaign(district: District, register: dict[str, School],
                                                               tmp_path: Path, year: int):
    path = save_template(district, register[SCHOOL], year, tmp_path)
    campaign = district.campaign(year)
    workbook = openpyxl.load_workbook(path)
    texts = [str(cell.value) for cell in workbook[INSTRUCTION_SHEET]["B"] if cell.value]
    texts += [validation.prompt for sheet in workbook.worksheets for validation in sheet.data_validations.dataValidation
              if validation.prompt]
    shown = sorted({date for text in texts for date in dates_in(text)})
    assert shown
    # The one date before the period: «выполнено ранее» may not be earlier than the Model's start (R02).
    assert all(campaign.period_start <= date <= campaign.window_close or date == district.model_start
               for date in shown), shown


def test_instruction_follows_a_campaigns_own_deadline(district: District, register: dict[str, School],
                                                      tmp_path: Path):
    moved = dataclasses.replace(district, _overrides={2026: {"deadline": dt.date(2026, 10, 15)}})
    shown = instruction(save_template(moved, register[SCHOOL], 2026, tmp_path))
    assert shown["Срок сдачи"].startswith("15.10.2026 включительно.")


def test_instruction_says_where_to_send_and_whom_to_ask(district: District, register: dict[str, School],
                                                        tmp_path: Path):
    by_mail = instruction(save_template(district, register[SCHOOL], YEAR, tmp_path / "mail"))
    assert by_mail["Куда"].startswith(f"По электронной почте на адрес {MAILBOX}: заполненный файл вложением.")
    assert "с адреса школы lib@test-school.ru" in by_mail["Куда"]
    assert by_mail["Проверка"].startswith("Каждый присланный файл проверяется автоматически. Ответ придёт по "
                                          "электронной почте")
    assert by_mail["Контакт"].split("\n") == [
        "Петрова Анна Сергеевна, методист информационно-методического центра",
        "тел. 8 (3822) 00-00-00; e-mail metodist@demo-uo.example.ru",
        "Управление образования Администрации Демонстрационного района"]

    by_hand = instruction(save_template(district, register[SCHOOL], YEAR, tmp_path / "hand", send_to=None))
    assert by_hand["Куда"].startswith("Передайте заполненный файл в Управление образования Администрации "
                                      "Демонстрационного района")
    assert MAILBOX not in "\n".join(by_hand.values())
    assert "передаст специалист управления образования" in by_hand["Проверка"]


def test_instruction_sheet_is_readable_and_locked(district: District, register: dict[str, School], tmp_path: Path):
    sheet = openpyxl.load_workbook(save_template(district, register[SCHOOL], YEAR, tmp_path))[INSTRUCTION_SHEET]
    assert sheet.protection.sheet and not sheet.protection.password
    assert sheet.column_dimensions["B"].width >= 80
    labelled = [row for row in sheet.iter_rows(min_row=3) if row[1].value]
    assert labelled and all(row[0].font.bold and row[1].alignment.wrap_text for row in labelled)
    # Heights follow the text: the roadmap's paragraph needs more lines than the one-line window of collection.
    heights = {row[0].value: sheet.row_dimensions[row[0].row].height for row in labelled}
    assert heights["Дорожная карта"] > heights["Приём отчётов"] > 0
    headings = [row[0].value for row in sheet.iter_rows(min_row=3) if row[0].font.sz == 12]
    assert headings == ["Сроки", "Как заполнить", "Как сдать", "Что будет дальше", "Вопросы"]
    assert [row[0].value for row in labelled if row[0].value in SHEETS] == list(SHEETS)


def test_every_input_cell_has_a_short_russian_hint(district: District, register: dict[str, School], tmp_path: Path):
    workbook = openpyxl.load_workbook(save_template(district, register[SCHOOL], YEAR, tmp_path))
    cells = input_cells(workbook)
    assert len(cells) > 100
    missing = [(sheet, cell) for sheet, cell in cells if len(prompts_at(workbook[sheet], cell)) != 1]
    assert missing == []
    for sheet, cell in cells:
        [(title, text)] = prompts_at(workbook[sheet], cell)
        assert 0 < len(title) <= 32 and 0 < len(text) <= 255, (sheet, cell)
        assert re.search("[а-яё]", text), (sheet, cell)


@pytest.mark.parametrize(("sheet", "cell", "expected"), [
    pytest.param("Титул", "B10", ("Дата заполнения", "не раньше 01.09.2024"), id="Дата заполнения names the start"),
    pytest.param("Титул", "B4", ("Заполнено заранее", "реестра района"), id="the locked name says where it comes"),
    pytest.param("Дорожная карта", "E3", ("Дата выполнения", "с 01.09.2024 по 31.08.2025"),
                 id="Дата выполнения names the period"),
    pytest.param("Дорожная карта", "H3", ("Количество", "число мероприятий, в которых участвовал библиотекарь"),
                 id="Количество of 1.2 says what to count"),
    pytest.param("Дорожная карта", "H2", ("Количество", "Необязательно"), id="Количество of 1.1 is optional"),
    pytest.param("Курсы", "E2", ("Объём, часов", "повышение квалификации — 16"), id="Объём names the minimum"),
    pytest.param("Показатели", "D12", ("P11, %", "в процентах"), id="P11 says percent, not a share"),
    pytest.param("Показатели", "D13", ("P12, м²", "Необязательно"), id="P12 is optional"),
])
def test_hints_say_what_the_cell_needs(district: District, register: dict[str, School], tmp_path: Path, sheet: str,
                                       cell: str, expected: tuple[str, str]):
    workbook = openpyxl.load_workbook(save_template(district, register[SCHOOL], YEAR, tmp_path))
    [(title, text)] = prompts_at(workbook[sheet], cell)
    assert title == expected[0]
    assert expected[1] in text


def test_blank_template_gets_only_missing_value_findings(district: District, register: dict[str, School],
                                                         tmp_path: Path):
    for year in (2025, 2026):
        path = save_template(district, register[SCHOOL], year, tmp_path / str(year))
        rules = Rules(district, register, district.campaign(year), dt.date(year, 9, 15))
        [verdict] = judge_paths([path], rules)
        assert verdict.school == SCHOOL
        assert {finding.code for finding in verdict.findings} == {"V01"}


def test_filled_template_is_accepted_without_findings(district: District, register: dict[str, School],
                                                      tmp_path: Path):
    path = save_template(district, register[SCHOOL], YEAR, tmp_path)
    workbook = openpyxl.load_workbook(path)
    for name, rows in good_report(district).items():
        for row_number, row in enumerate(rows[1:], start=2):
            for column_number, value in enumerate(row, start=1):
                cell = workbook[name].cell(row_number, column_number)
                if cell.value in (None, "") and value != "":
                    cell.value = value
    filled = tmp_path / f"{SCHOOL}_ИБЦ_{YEAR}.xlsx"
    workbook.save(filled)
    [verdict] = judge_paths([filled], Rules(district, register, district.campaign(YEAR), TODAY))
    assert [(finding.code, finding.sheet, finding.cell) for finding in verdict.findings] == []


def test_every_table_header_is_locked_and_its_rows_open(district: District, register: dict[str, School],
                                                        tmp_path: Path):
    workbook = openpyxl.load_workbook(save_template(district, register[SCHOOL], YEAR, tmp_path))
    for name in SHEETS:
        sheet = workbook[name]
        assert sheet.protection.sheet, name
        assert [cell.value for cell in sheet[1] if cell.protection.locked] == [
            cell.value for cell in sheet[1]], name
    assert [row[1].value for row in workbook["Титул"].iter_rows(min_row=2, max_row=5)] == [
        "ИБЦ-2025.1", SCHOOL, "МБОУ «Тестовая СОШ»", YEAR]
    assert all(row[1].protection.locked for row in workbook["Титул"].iter_rows(min_row=2, max_row=5))
    assert not any(row[1].protection.locked for row in workbook["Титул"].iter_rows(min_row=6))
    for name in ("Сотрудники", "Курсы", "Поощрения"):
        assert len(workbook[name][1]) == len(LAYOUTS[name].columns)


def test_hint_of_a_positive_indicator_does_not_invite_a_zero(district: District, register: dict[str, School],
                                                             tmp_path: Path):
    workbook = openpyxl.load_workbook(save_template(district, register[SCHOOL], YEAR, tmp_path))
    assert prompts_at(workbook["Показатели"], "D13") == [("P12, м²", "Необязательно. Число больше 0, без единиц "
                                                                     "измерения.")]
