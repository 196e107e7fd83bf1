"""The pandera schemas of pipeline/judge/schema.py on small typed sheets built inline: V01, V04, V05, V08."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest

from pipeline.district.layout import AWARDS, COURSES, INDICATORS, LAYOUTS, ROADMAP, STAFF, TITLE, TITLE_FIELDS
from pipeline.district.roadmap import District
from pipeline.findings import display_value
from pipeline.intake.read import column_letter
from pipeline.judge.schema import build_schema, check_schemas
from pipeline.judge.submission import SheetData, Submission

# One correct row per sheet, typed as the reader types it (lists checked against the district's lists).
CORRECT = {
    TITLE: {"Версия шаблона": "ИБЦ-2025.1", "Код ОО": "70-001", "Наименование ОО": "МБОУ «Тестовая СОШ»",
            "Отчётный год": 2025, "ФИО ответственного": "Иванова Ирина Ивановна",
            "Должность ответственного": "педагог-библиотекарь", "Телефон": "+7 (3822) 12-34-56",
            "E-mail": "lib@test-school.ru", "Дата заполнения": dt.date(2025, 5, 15),
            "Библиотека": "отдельное помещение"},
    ROADMAP: {"Код": "1.2", "Мероприятие": "Разъяснительная работа", "Срок": "ежегодно", "Статус": "выполнено",
              "Дата выполнения": dt.date(2025, 3, 10), "Документ": "приказ", "Реквизиты документа": "№ 45-од",
              "Количество": 2, "Ссылки": ("https://test-school.ru/ibc",), "Комментарий": None},
    STAFF: {"Сотрудник": "Сотрудник 1", "Должность": "педагог-библиотекарь", "Ставка": 1.0,
            "Характер работы": "основной работник", "Образование": "высшее педагогическое",
            "Стаж в должности, лет": 12, "КПК за последние 3 года": True},
    COURSES: {"Сотрудник": "Сотрудник 1", "Вид программы": "повышение квалификации",
              "Название программы": "Школьный ИБЦ", "Организация": "ТОИПКРО", "Объём, часов": 36,
              "Дата окончания": dt.date(2024, 12, 1), "Документ": "удостоверение"},
    AWARDS: {"Сотрудник": "Сотрудник 1", "Вид поощрения": "благодарность", "Уровень": "муниципальный",
             "Статус": "представлен", "Дата": dt.date(2025, 3, 1)},
}


def typed_sheet(sheet: str, rows: list[dict[str, Any]], settled: set[tuple[int, str]] | None = None) -> SheetData:
    """A table sheet's typed rows, addressed as in the workbook: column by layout position, first data row 2."""
    columns = list(LAYOUTS[sheet].column_names)
    return SheetData(
        columns,
        {name: [row.get(name) for row in rows] for name in columns},
        {name: [f"{column_letter(index)}{number + 2}" for number in range(len(rows))]
         for index, name in enumerate(columns)},
        {name: [display_value(row.get(name)) for row in rows] for name in columns},
        settled or set(),
    )


def title_sheet(fields: dict[str, Any]) -> SheetData:
    """«Титул» as the reader types it: one row, each field's value in column B of its own row (B2…B11)."""
    columns = [field.name for field in TITLE_FIELDS]
    return SheetData(columns, {name: [fields.get(name)] for name in columns},
                     {name: [f"B{index + 2}"] for index, name in enumerate(columns)},
                     {name: [display_value(fields.get(name))] for name in columns})


def indicator_sheet(district: District, values: dict[str, Any]) -> SheetData:
    """«Показатели» as the reader types it: one wide row, P01 in D2, P02 in D3 and so on."""
    codes = [indicator.code for indicator in district.indicators]
    return SheetData(codes, {code: [values.get(code)] for code in codes},
                     {code: [f"D{index + 2}"] for index, code in enumerate(codes)},
                     {code: [display_value(values.get(code))] for code in codes})


def schema_findings(district: District, sheets: dict[str, SheetData]) -> list[tuple[str, str, str]]:
    (found,) = check_schemas([Submission(sheets, [])], district)
    return [(finding.code, finding.sheet, finding.cell) for finding in found]


TABLE_CASES = [
    pytest.param(TITLE, {"Версия шаблона": None}, [("V01", TITLE, "B2")], id="no template version is V01"),
    pytest.param(TITLE, {"E-mail": None}, [("V01", TITLE, "B9")], id="no e-mail is V01"),
    pytest.param(TITLE, {"Телефон": None}, [], id="the phone may be left out"),
    pytest.param(TITLE, {"Должность ответственного": "директор"}, [("V04", TITLE, "B7")],
                 id="a position outside the list is V04"),
    pytest.param(TITLE, {"ФИО ответственного": "Ив"}, [("V05", TITLE, "B6")], id="a two-letter name is V05"),
    pytest.param(TITLE, {"ФИО ответственного": "И" * 101}, [("V08", TITLE, "B6")], id="a 101-letter name is V08"),
    pytest.param(TITLE, {"Наименование ОО": "Ш" * 501}, [("V08", TITLE, "B4")], id="a 501-letter school name is V08"),
    pytest.param(TITLE, {"Наименование ОО": "Ш" * 500}, [], id="a 500-letter school name fits"),
    pytest.param(ROADMAP, {"Код": None}, [("V01", ROADMAP, "A2")], id="a roadmap row without a code is V01"),
    pytest.param(ROADMAP, {"Статус": None}, [("V01", ROADMAP, "D2")], id="a roadmap row without a status is V01"),
    pytest.param(ROADMAP, {"Статус": "почти"}, [("V04", ROADMAP, "D2")], id="an unknown status is V04"),
    pytest.param(ROADMAP, {"Документ": "справка"}, [("V04", ROADMAP, "F2")], id="an unknown document kind is V04"),
    pytest.param(ROADMAP, {"Количество": -1}, [("V05", ROADMAP, "H2")], id="a negative quantity is V05"),
    pytest.param(ROADMAP, {"Количество": 0}, [], id="a quantity of zero is in range"),
    pytest.param(ROADMAP, {"Реквизиты документа": "№" * 301}, [("V08", ROADMAP, "G2")],
                 id="document details over 300 characters are V08"),
    pytest.param(ROADMAP, {"Комментарий": "x" * 501}, [("V08", ROADMAP, "J2")],
                 id="a comment over 500 characters is V08"),
    pytest.param(STAFF, {"Ставка": 0.3}, [("V05", STAFF, "C2")], id="a rate off the 0,25 step is V05"),
    pytest.param(STAFF, {"Ставка": 0.0}, [("V05", STAFF, "C2")], id="a rate of zero is V05"),
    pytest.param(STAFF, {"Ставка": 2.25}, [("V05", STAFF, "C2")], id="a rate over 2 is V05"),
    pytest.param(STAFF, {"Ставка": 0.75}, [], id="a rate of 0,75 is on the step"),
    pytest.param(STAFF, {"Стаж в должности, лет": 61}, [("V05", STAFF, "F2")], id="61 years in post is V05"),
    pytest.param(STAFF, {"Стаж в должности, лет": None}, [], id="years in post may be left out"),
    pytest.param(STAFF, {"КПК за последние 3 года": None}, [("V01", STAFF, "G2")], id="no КПК answer is V01"),
    pytest.param(STAFF, {"Должность": "директор"}, [("V04", STAFF, "B2")],
                 id="a staff position outside the list is V04"),
    pytest.param(COURSES, {"Объём, часов": 0}, [("V05", COURSES, "E2")], id="a course of zero hours is V05"),
    pytest.param(COURSES, {"Документ": None}, [], id="a course document is not the schema's to require"),
    pytest.param(COURSES, {"Документ": "справка"}, [("V04", COURSES, "G2")], id="an unknown course document is V04"),
    pytest.param(AWARDS, {"Уровень": "районный"}, [("V04", AWARDS, "C2")], id="an unknown award level is V04"),
    pytest.param(AWARDS, {"Дата": None}, [("V01", AWARDS, "E2")], id="an award without a date is V01"),
]


@pytest.mark.parametrize(("sheet", "changes", "expected"), TABLE_CASES)
def test_check_schemas_finds_each_bad_value_at_its_cell(district: District, sheet: str, changes: dict[str, Any],
                                                         expected: list[tuple[str, str, str]]) -> None:
    row = {**CORRECT[sheet], **changes}
    data = title_sheet(row) if sheet == TITLE else typed_sheet(sheet, [row])
    assert schema_findings(district, {sheet: data}) == expected


INDICATOR_CASES = [
    pytest.param({"P01": -1.0}, [("V05", INDICATORS, "D2")], id="a negative pupil count is V05"),
    pytest.param({"P01": 0.0}, [], id="no pupils is in range"),
    pytest.param({"P12": 0.0}, [("V05", INDICATORS, "D13")], id="a library area of zero is V05"),
    pytest.param({"P11": 150.0}, [], id="a provision over 100 % is left to rule L04"),
    pytest.param({"P02": None}, [], id="a missing indicator is left to the rules, which know the library"),
]


@pytest.mark.parametrize(("values", "expected"), INDICATOR_CASES)
def test_check_schemas_indicators(district: District, values: dict[str, Any],
                                  expected: list[tuple[str, str, str]]) -> None:
    correct = {indicator.code: 5.0 for indicator in district.indicators if indicator.kind in ("whole", "number")}
    data = indicator_sheet(district, {**correct, **values})
    assert schema_findings(district, {INDICATORS: data}) == expected


def test_check_schemas_names_the_cell_of_the_bad_row(district: District) -> None:
    rows = [CORRECT[ROADMAP], {**CORRECT[ROADMAP], "Код": "3.1", "Количество": -3}, CORRECT[ROADMAP]]
    assert schema_findings(district, {ROADMAP: typed_sheet(ROADMAP, rows)}) == [("V05", ROADMAP, "H3")]


def test_check_schemas_gives_each_submission_its_own_findings(district: District) -> None:
    correct = Submission({STAFF: typed_sheet(STAFF, [CORRECT[STAFF]] * 2)}, [])
    rows = [CORRECT[STAFF], {**CORRECT[STAFF], "Ставка": 3.0}, {**CORRECT[STAFF], "Должность": "директор"}]
    wrong = Submission({STAFF: typed_sheet(STAFF, rows)}, [])
    found = check_schemas([correct, wrong, correct], district)
    assert [[(f.code, f.sheet, f.cell) for f in findings] for findings in found] == [
        [], sorted([("V04", STAFF, "B4"), ("V05", STAFF, "C3")]), []]


def test_check_schemas_skips_a_value_the_reader_already_reported(district: District) -> None:
    # The reader could not read the date (V02) and left None: the schema must not add V01 to it.
    row = {**CORRECT[AWARDS], "Дата": None}
    assert schema_findings(district, {AWARDS: typed_sheet(AWARDS, [row], settled={(0, "Дата")})}) == []


def test_build_schema_carries_the_finding_codes_in_its_failure_cases(district: District) -> None:
    rows = [{**CORRECT[ROADMAP], "Статус": None}, {**CORRECT[ROADMAP], "Статус": "почти"},
            {**CORRECT[ROADMAP], "Количество": -1}, {**CORRECT[ROADMAP], "Комментарий": "x" * 501}]
    frame = pd.DataFrame(rows, dtype=object)
    with pytest.raises(pa.errors.SchemaErrors) as raised:
        build_schema(ROADMAP, district).validate(frame, lazy=True)
    cases = raised.value.failure_cases
    assert sorted(zip(cases["check"], cases["column"], cases["index"], strict=True)) == [
        ("V04", "Статус", 1), ("V05", "Количество", 2), ("V08", "Комментарий", 3), ("not_nullable", "Статус", 0)]
