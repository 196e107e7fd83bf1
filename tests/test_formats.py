"""Reading every accepted format, and the structure findings (S01–S03, S07, S09, V09) on real files."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import xlwt
from conftest import SCHOOL, codes_at, judge_one, set_cell, write_csv_parts, write_xlsx

from pipeline.judge.verdict import Rules
from pipeline.statuses import SubmissionStatus

F = "(файл)"


def write_xls(report: dict[str, list[list[Any]]], path: Path) -> Path:
    book = xlwt.Workbook(encoding="utf-8")
    for name, rows in report.items():
        sheet = book.add_sheet(name)
        for row_number, row in enumerate(rows):
            for column, value in enumerate(row):
                if value != "":
                    sheet.write(row_number, column, value)
    book.save(str(path))
    return path


def write_ods(report: dict[str, list[list[Any]]], path: Path) -> Path:
    with pd.ExcelWriter(path, engine="odf") as writer:
        for name, rows in report.items():
            frame = pd.DataFrame(rows[1:], columns=rows[0])
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def test_correct_xlsx_passes_with_no_finding(tmp_path: Path, report: dict, rules: Rules) -> None:
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert (verdict.status, verdict.school, codes_at(verdict)) == (SubmissionStatus.ACCEPTED, SCHOOL, [])


def test_correct_xls_passes_with_no_finding(tmp_path: Path, report: dict, rules: Rules) -> None:
    verdict = judge_one([write_xls(report, tmp_path / "r.xls")], rules)
    assert (verdict.status, codes_at(verdict)) == (SubmissionStatus.ACCEPTED, [])


def test_correct_ods_passes_with_no_finding(tmp_path: Path, report: dict, rules: Rules) -> None:
    verdict = judge_one([write_ods(report, tmp_path / "r.ods")], rules)
    assert (verdict.status, codes_at(verdict)) == (SubmissionStatus.ACCEPTED, [])


@pytest.mark.parametrize(("encoding", "delimiter"), [
    pytest.param("utf-8-sig", ";", id="UTF-8 with BOM and semicolons"),
    pytest.param("utf-8", ",", id="UTF-8 without BOM and commas"),
    pytest.param("cp1251", ";", id="Windows-1251 and semicolons"),
    pytest.param("cp1251", "\t", id="Windows-1251 and tabs"),
])
def test_correct_csv_parts_pass_with_no_finding(tmp_path: Path, report: dict, rules: Rules, encoding: str,
                                                delimiter: str) -> None:
    set_cell(report, "Показатели", "D13", 60.5)  # a decimal comma in the semicolon variants
    paths = write_csv_parts(report, tmp_path / "drop", encoding=encoding, delimiter=delimiter)
    verdict = judge_one(paths, rules)
    assert (verdict.status, verdict.school, codes_at(verdict)) == (SubmissionStatus.ACCEPTED, SCHOOL, [])


def test_csv_finding_names_line_and_column(tmp_path: Path, report: dict, rules: Rules) -> None:
    set_cell(report, "Дорожная карта", "E3", "")
    verdict = judge_one(write_csv_parts(report, tmp_path / "drop", encoding="cp1251"), rules)
    assert codes_at(verdict) == [("R01", "Дорожная карта", "стр. 3, «Дата выполнения»")]


def test_csv_without_title_part_is_s02(tmp_path: Path, report: dict, rules: Rules) -> None:
    paths = write_csv_parts(report, tmp_path / "drop")
    title = next(path for path in paths if "Титул" in path.name)
    title.unlink()
    verdict = judge_one([path for path in paths if path != title], rules)
    assert ("S02", "Титул", "") in codes_at(verdict)
    assert verdict.status == SubmissionStatus.REJECTED


@pytest.mark.parametrize(("content", "reason"), [
    pytest.param(b"", "пустой", id="an empty file is S01"),
    pytest.param(b"just some text, not a workbook", "повреждён", id="a text file named .xlsx is S01"),
    pytest.param(b"PK\x03\x04broken zip", "повреждён", id="a truncated zip is S01"),
])
def test_unreadable_workbook_is_s01(tmp_path: Path, rules: Rules, content: bytes, reason: str) -> None:
    path = tmp_path / "r.xlsx"
    path.write_bytes(content)
    verdict = judge_one([path], rules)
    assert codes_at(verdict) == [("S01", F, "")]
    assert reason in verdict.findings[0].message
    assert verdict.status == SubmissionStatus.REJECTED


def test_truncated_real_workbook_is_s01(tmp_path: Path, report: dict, rules: Rules) -> None:
    path = write_xlsx(report, tmp_path / "r.xlsx")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert codes_at(judge_one([path], rules)) == [("S01", F, "")]


def test_missing_sheet_is_s02(tmp_path: Path, report: dict, rules: Rules) -> None:
    del report["Курсы"]
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert ("S02", "Курсы", "") in codes_at(verdict)


def test_renamed_column_is_s03_and_the_new_name_s09(tmp_path: Path, report: dict, rules: Rules) -> None:
    set_cell(report, "Сотрудники", "C1", "Ставки")
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict)[:2] == [("S03", "Сотрудники", ""), ("S09", "Сотрудники", "C1")]
    assert verdict.status == SubmissionStatus.REJECTED


def test_headers_match_case_quotes_and_spaces(tmp_path: Path, report: dict, rules: Rules) -> None:
    set_cell(report, "Сотрудники", "G1", "  кпк   за ПОСЛЕДНИЕ 3 года ")
    set_cell(report, "Титул", "A11", "«Библиотека»")
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == []


def test_extra_sheet_and_column_are_s09_warnings(tmp_path: Path, report: dict, rules: Rules) -> None:
    report["Итоги"] = [["что-то"], ["1"]]
    set_cell(report, "Курсы", "H1", "Примечание")
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == [("S09", "Курсы", "H1"), ("S09", "Итоги", "")]
    assert verdict.status == SubmissionStatus.ACCEPTED


def test_sheet_over_row_limit_is_s07(tmp_path: Path, report: dict, rules: Rules) -> None:
    for number in range(5001):
        report["Поощрения"].append([f"Сотрудник {number}", "благодарность", "ОО", "получено", "01.03.2025"])
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == [("S07", F, "")]


def test_file_over_size_limit_is_s07(tmp_path: Path, rules: Rules) -> None:
    path = tmp_path / "big.xlsx"
    with path.open("wb") as handle:
        handle.truncate(11 * 1024 * 1024)
    assert codes_at(judge_one([path], rules)) == [("S07", F, "")]


def test_huge_declared_range_is_s07_without_parsing(tmp_path: Path, report: dict, rules: Rules) -> None:
    # A cell at XFD1048576 makes python-calamine abort the process (calamine #693): preflight stops it.
    path = write_xlsx(report, tmp_path / "r.xlsx")
    workbook = openpyxl.load_workbook(path)
    workbook["Поощрения"]["XFD1048576"] = "x"
    workbook.save(path)
    assert codes_at(judge_one([path], rules)) == [("S07", F, "")]


def test_formula_without_cached_value_is_v09(tmp_path: Path, report: dict, rules: Rules) -> None:
    set_cell(report, "Показатели", "D2", "=400+100")  # openpyxl writes formulas without a cached value
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == [("V09", "Показатели", "D2")]


def test_encrypted_workbook_is_s01(tmp_path: Path, rules: Rules) -> None:
    # An encrypted OOXML file is an OLE container holding «EncryptedPackage», not a zip.
    path = tmp_path / "secret.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048)
    verdict = judge_one([path], rules)
    assert codes_at(verdict) == [("S01", F, "")]


def test_xml_entity_declaration_is_s01(tmp_path: Path, report: dict, rules: Rules) -> None:
    source = write_xlsx(report, tmp_path / "r.xlsx")
    hostile = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(hostile, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "xl/workbook.xml":
                data = data.replace(b"<workbook", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><workbook', 1)
            copy.writestr(item, data)
    assert codes_at(judge_one([hostile], rules)) == [("S01", F, "")]


def test_values_are_read_by_russian_rules(tmp_path: Path, report: dict, rules: Rules) -> None:
    set_cell(report, "Показатели", "D7", "12\u00a0000 экз.")
    set_cell(report, "Показатели", "D12", "95%")
    set_cell(report, "Показатели", "D18", "Есть")
    set_cell(report, "Дорожная карта", "A7", 2.0)  # a code a spreadsheet turned into a number
    set_cell(report, "Дорожная карта", "A5", "1.4a")  # Latin a
    set_cell(report, "Дорожная карта", "D3", "Сделано")
    set_cell(report, "Дорожная карта", "E3", "2025-03-10")
    set_cell(report, "Дорожная карта", "I7", "test-school.ru/ibc")
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == []
    items = verdict.submission.sheets["Дорожная карта"].frame.set_index("Код")
    assert items.at["1.2", "Статус"] == "выполнено"
    assert items.at["2", "Ссылки"] == ("https://test-school.ru/ibc",)
    indicators = verdict.submission.sheets["Показатели"].frame.iloc[0]
    assert (indicators["P06"], indicators["P11"], indicators["P17"]) == (12000.0, 95.0, True)
