"""The blank school workbooks: sheets, pre-filled labels, dropdowns, checks and protection."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.district.layout import INSTRUCTION_SHEET, LAYOUTS, LISTS_SHEET, SHEETS, TITLE_COLUMNS, TITLE_FIELDS
from pipeline.district.register import School
from pipeline.district.roadmap import District, load_district
from pipeline.intake.read import read_workbook
from pipeline.xlsx.templates import build_template, list_headers, write_templates


@pytest.fixture(scope="module")
def district() -> District:
    return load_district(Path(__file__).parents[1] / "inputs")


def make_school(code: str = "70-001", name: str = "МБОУ «Тестовая СОШ»") -> School:
    return School(code=code, name=name, municipality="Демонстрационный район", domains=("test.ru",),
                  email="a@test.ru", opened=None, closed=None)


@pytest.fixture
def saved(district: District, tmp_path: Path) -> Path:
    """The template of the test school for 2025, written to disk as a school receives it."""
    [path] = write_templates(district, [make_school()], 2025, tmp_path)
    return path


def calamine_rows(path: Path, sheet: str) -> list[list]:
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        return workbook.get_sheet_by_name(sheet).to_python()
    finally:
        workbook.close()


def validation_at(sheet: Worksheet, coordinate: str) -> DataValidation:
    [validation] = [dv for dv in sheet.data_validations.dataValidation if coordinate in dv.sqref]
    return validation


def list_values(workbook: openpyxl.Workbook, formula: str) -> list[str]:
    """The values a list validation offers, read from the range its formula names."""
    sheet_name, cells = formula.split("!")
    assert sheet_name.strip("'") == LISTS_SHEET
    return [row[0].value for row in workbook[sheet_name.strip("'")][cells.replace("$", "")]]


def test_build_template_has_the_instruction_six_sheets_and_a_hidden_list_sheet(saved: Path):
    workbook = openpyxl.load_workbook(saved)
    assert workbook.sheetnames == [INSTRUCTION_SHEET, *SHEETS, LISTS_SHEET]
    assert workbook[LISTS_SHEET].sheet_state == "hidden"
    assert workbook.active.title == "Инструкция"
    metadata = python_calamine.CalamineWorkbook.from_path(str(saved)).sheets_metadata
    assert [(sheet.name, sheet.visible == python_calamine.SheetVisibleEnum.Hidden) for sheet in metadata] == [
        *((name, False) for name in (INSTRUCTION_SHEET, *SHEETS)), (LISTS_SHEET, True)]


@pytest.mark.parametrize("sheet", SHEETS)
def test_build_template_headers_match_the_layout(saved: Path, sheet: str):
    expected = list(TITLE_COLUMNS) if sheet == "Титул" else list(LAYOUTS[sheet].column_names)
    assert calamine_rows(saved, sheet)[0] == expected
    worksheet = openpyxl.load_workbook(saved)[sheet]
    assert all(cell.font.bold for cell in worksheet[1])
    assert worksheet.freeze_panes == "A2"
    assert [worksheet.column_dimensions[cell.column_letter].width for cell in worksheet[1]] == [
        column.width for column in LAYOUTS[sheet].columns]


def test_build_template_prefills_title(saved: Path, district: District):
    rows = calamine_rows(saved, "Титул")[1:]
    assert [field for field, _ in rows] == [field.name for field in TITLE_FIELDS]
    values = dict(rows)
    assert values["Версия шаблона"] == district.format_version == "ИБЦ-2025.1"
    assert values["Код ОО"] == "70-001"
    assert values["Наименование ОО"] == "МБОУ «Тестовая СОШ»"
    assert values["Отчётный год"] == 2025
    assert [values[name] for name in ("ФИО ответственного", "E-mail", "Дата заполнения", "Библиотека")] == [""] * 4
    assert openpyxl.load_workbook(saved)["Титул"]["B5"].value == 2025  # an int, not "2025"


def test_build_template_roadmap_codes_stay_text(saved: Path, district: District):
    rows = calamine_rows(saved, "Дорожная карта")[1:]
    assert [row[0] for row in rows] == [item.code for item in district.items]
    assert [row[0] for row in rows][5:7] == ["2", "3.1"]  # strings, not 2.0 and 3.1
    assert [(row[1], row[2]) for row in rows] == [(item.title, item.due_label) for item in district.items]
    assert all(value == "" for row in rows for value in row[3:])
    code = openpyxl.load_workbook(saved)["Дорожная карта"]["A7"]
    assert (code.value, code.data_type, code.number_format) == ("2", "s", "@")


def test_build_template_lists_indicators(saved: Path, district: District):
    rows = calamine_rows(saved, "Показатели")[1:]
    assert [tuple(row) for row in rows] == [
        (indicator.code, indicator.name, indicator.unit, "", "") for indicator in district.indicators]


def test_build_template_list_sheet_holds_every_list(saved: Path, district: District):
    columns = list(zip(*calamine_rows(saved, LISTS_SHEET), strict=True))
    found = {column[0]: [value for value in column[1:] if value != ""] for column in columns}
    headers = list_headers()
    assert found == {**{headers[name]: list(values) for name, values in district.lists.items()},
                     "да/нет": ["да", "нет"]}
    assert headers["item_status"] == "Статус (Дорожная карта)"
    assert headers["responsible_position"] == "Должность ответственного (Титул)"


@pytest.mark.parametrize(("sheet", "cells", "list_name"), [
    pytest.param("Дорожная карта", ("D2", "D11"), "item_status", id="Статус offers the statuses"),
    pytest.param("Дорожная карта", ("F2", "F11"), "item_document", id="Документ offers the documents"),
    pytest.param("Сотрудники", ("B2", "B500"), "staff_position", id="Должность offers the staff positions"),
    pytest.param("Курсы", ("B2", "B500"), "programme", id="Вид программы offers the programmes"),
    pytest.param("Поощрения", ("C2", "C500"), "award_level", id="Уровень offers the levels"),
    pytest.param("Титул", ("B7",), "responsible_position", id="Должность ответственного offers positions"),
    pytest.param("Титул", ("B11",), "library", id="Библиотека offers the library kinds"),
])
def test_build_template_validates_list_columns(saved: Path, district: District, sheet: str, cells: tuple[str, ...],
                                               list_name: str):
    workbook = openpyxl.load_workbook(saved)
    for cell in cells:
        validation = validation_at(workbook[sheet], cell)
        assert (validation.type, validation.allow_blank, validation.showErrorMessage) == ("list", True, True)
        assert validation.error == "Выберите значение из списка."
        assert list_values(workbook, validation.formula1) == list(district.lists[list_name])


def test_build_template_validation_formula_names_the_list_range(saved: Path):
    sheet = openpyxl.load_workbook(saved)["Дорожная карта"]
    assert validation_at(sheet, "D2").formula1 == "'Справочники'!$C$2:$C$6"
    assert str(validation_at(sheet, "D2").sqref) == "D2:D11"


# Excel serial numbers of 01.01.2020 and 31.12.2035, the dates REPORT_FORMAT §5 accepts.
DATES = ("date", "between", "43831", "49674")


@pytest.mark.parametrize(("sheet", "cell", "rule"), [
    pytest.param("Титул", "B10", DATES, id="Дата заполнения is a date 2020–2035"),
    pytest.param("Титул", "B5", ("whole", "equal", "2025", None), id="Отчётный год is the campaign year"),
    pytest.param("Дорожная карта", "E3", DATES, id="Дата выполнения is a date"),
    pytest.param("Дорожная карта", "H3", ("whole", "greaterThanOrEqual", "0", None), id="Количество is whole ≥ 0"),
    pytest.param("Сотрудники", "C2", ("decimal", "between", "0.25", "2"), id="Ставка is 0.25–2"),
    pytest.param("Сотрудники", "F9", ("whole", "between", "0", "60"), id="Стаж is whole 0–60"),
    pytest.param("Курсы", "E2", ("whole", "greaterThanOrEqual", "1", None), id="Объём is whole ≥ 1"),
    pytest.param("Поощрения", "E500", DATES, id="Дата of an award is a date"),
    pytest.param("Показатели", "D2", ("whole", "greaterThanOrEqual", "0", None), id="P01 is whole ≥ 0"),
    pytest.param("Показатели", "D12", ("decimal", "between", "0", "100"), id="P11 is a percentage"),
    pytest.param("Показатели", "D13", ("decimal", "greaterThan", "0", None), id="P12 is positive"),
])
def test_build_template_validates_dates_and_numbers(saved: Path, sheet: str, cell: str, rule: tuple):
    validation = validation_at(openpyxl.load_workbook(saved)[sheet], cell)
    assert (validation.type, validation.operator, validation.formula1, validation.formula2) == rule
    assert validation.showErrorMessage
    assert validation.error.startswith("Введите")


def test_build_template_offers_yes_no_for_yes_no_cells(saved: Path, district: District):
    workbook = openpyxl.load_workbook(saved)
    yes_no_rows = [row for row, indicator in enumerate(district.indicators, start=2) if indicator.kind == "yes_no"]
    assert yes_no_rows
    for row in yes_no_rows:
        assert list_values(workbook, validation_at(workbook["Показатели"], f"D{row}").formula1) == ["да", "нет"]
    assert list_values(workbook, validation_at(workbook["Сотрудники"], "G2").formula1) == ["да", "нет"]


def test_build_template_date_cells_show_dates(saved: Path):
    workbook = openpyxl.load_workbook(saved)
    assert workbook["Титул"]["B10"].number_format == "DD.MM.YYYY"
    assert workbook["Дорожная карта"]["E2"].number_format == "DD.MM.YYYY"
    assert workbook["Курсы"].column_dimensions["F"].number_format == "DD.MM.YYYY"


def test_build_template_protects_labels_and_leaves_school_cells_open(saved: Path):
    workbook = openpyxl.load_workbook(saved)
    title = workbook["Титул"]
    assert title.protection.sheet and not title.protection.password
    locked = {row[0].value: row[1].protection.locked for row in title.iter_rows(min_row=2)}
    assert [name for name, is_locked in locked.items() if is_locked] == [
        "Версия шаблона", "Код ОО", "Наименование ОО", "Отчётный год"]
    assert all(cell.protection.locked for cell in title["A"])
    roadmap = workbook["Дорожная карта"]
    assert roadmap.protection.sheet
    assert [cell.protection.locked for cell in roadmap[2]] == [True] * 3 + [False] * 7
    indicators = workbook["Показатели"]
    assert indicators.protection.sheet
    assert [cell.protection.locked for cell in indicators[2]] == [True, True, True, False, False]
    for name in ("Сотрудники", "Курсы", "Поощрения"):
        table = workbook[name]
        assert table.protection.sheet and not table.protection.password
        assert all(cell.protection.locked for cell in table[1])
        # Empty rows take the column's style: unlocked, so the school types rows below the locked header.
        assert [table.column_dimensions[cell.column_letter].protection.locked for cell in table[1]] == [
            False] * len(LAYOUTS[name].columns)
        assert not table.protection.insertRows and not table.protection.deleteRows


def test_build_template_stamps_the_version(saved: Path, district: District):
    workbook = openpyxl.load_workbook(saved)
    properties = workbook.properties
    assert properties.title == "Отчёт ИБЦ"
    assert district.format_version in properties.keywords and "70-001" in properties.keywords
    assert "ДД.ММ.ГГГГ" in workbook["Титул"]["A1"].comment.text


def test_build_template_writes_formula_like_text_as_text(district: District, tmp_path: Path):
    school = make_school(name="=HYPERLINK(\"http://x\")")
    assert build_template(district, school, 2025)["Титул"]["B4"].data_type == "s"
    [path] = write_templates(district, [school], 2025, tmp_path)
    assert dict(calamine_rows(path, "Титул"))["Наименование ОО"] == "=HYPERLINK(\"http://x\")"
    with zipfile.ZipFile(path) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet2.xml")  # «Титул», after «Инструкция»


def test_write_templates_writes_one_file_per_school(district: District, tmp_path: Path):
    schools = [make_school("70-001"), make_school("70-002", "МАОУ «Лицей»")]
    paths = write_templates(district, schools, 2025, tmp_path / "templates")
    assert paths == [tmp_path / "templates" / "70-001.xlsx", tmp_path / "templates" / "70-002.xlsx"]
    assert sorted(path.name for path in (tmp_path / "templates").iterdir()) == ["70-001.xlsx", "70-002.xlsx"]
    assert dict(calamine_rows(paths[1], "Титул"))["Код ОО"] == "70-002"


def test_write_templates_refuses_a_code_unfit_for_a_file_name(district: District, tmp_path: Path):
    with pytest.raises(ValueError, match="Код ОО"):
        write_templates(district, [make_school("../70-001")], 2025, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_write_templates_output_reads_back_without_findings(saved: Path, district: District):
    submission = read_workbook(saved, district.max_file_bytes, district.max_rows_per_sheet)
    assert submission.findings == []
    assert [sheet.name for sheet in submission.sheets] == [INSTRUCTION_SHEET, *SHEETS, LISTS_SHEET]
