"""What a hostile file cannot slip past the judge: numbers the ledger and Excel cannot hold, digits that are
not ASCII, sheets beyond the form, and a CSV part refused as a whole (REPORT_FORMAT §5, §6)."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT, SCHOOL, codes_at, judge_one, set_cell, write_csv_parts, write_xlsx
from sqlalchemy import text

from pipeline import ledger
from pipeline.collect.run import collect
from pipeline.district.setup import load_setup
from pipeline.judge.normalise import MAX_MAGNITUDE
from pipeline.judge.verdict import Rules
from pipeline.statuses import SubmissionStatus

F = "(файл)"
MARKER = 987654321  # a number written by openpyxl, then replaced in the sheet's XML by the raw text under test


def write_raw_value(report: dict[str, list[list[Any]]], sheet: str, cell: str, raw: str, path: Path) -> Path:
    """Write *report* with the number cell *cell* holding *raw* as its stored value («<v>1E+400</v>»)."""
    set_cell(report, sheet, cell, MARKER)
    plain = write_xlsx(report, path.with_name("plain.xlsx"))
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data.replace(b"<v>%d</v>" % MARKER, b"<v>%s</v>" % raw.encode()))
    return path


@pytest.mark.parametrize(("sheet", "cell", "value"), [
    pytest.param("Показатели", "D2", 10**19, id="P01 = 10^19 (past int64)"),
    pytest.param("Показатели", "D13", 10**19, id="P12, a fractional indicator"),
    pytest.param("Показатели", "D2", -(10**16), id="a negative number past the bound"),
    pytest.param("Показатели", "D2", "1 000 000 000 000 001", id="one past the bound, written with spaces"),
    pytest.param("Дорожная карта", "H3", 10**19, id="Количество"),
    pytest.param("Курсы", "E2", 10**19, id="Объём, часов"),
    pytest.param("Сотрудники", "F2", 10**19, id="Стаж в должности"),
    pytest.param("Сотрудники", "C2", 10**19, id="Ставка"),
    pytest.param("Титул", "B5", 10**19, id="Отчётный год"),
])
def test_number_past_the_bound_is_v05_on_its_cell(tmp_path: Path, report: dict, rules: Rules, sheet: str, cell: str,
                                                  value: Any) -> None:
    set_cell(report, sheet, cell, value)
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == [("V05", sheet, cell)]
    assert "1\u00a0000\u00a0000\u00a0000\u00a0000\u00a0000" in verdict.findings[0].hint
    assert verdict.status == SubmissionStatus.REJECTED


def test_number_at_the_bound_is_accepted(tmp_path: Path, report: dict, rules: Rules) -> None:
    set_cell(report, "Показатели", "D6", MAX_MAGNITUDE)  # P05, book loans: absurd, but storable
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert [code for code, *_ in codes_at(verdict)] == ["L06", "L06"]  # only plausibility warnings
    assert verdict.submission.sheets["Показатели"].values["P05"] == [float(MAX_MAGNITUDE)]


@pytest.mark.parametrize(("raw", "code"), [
    pytest.param("1E+400", "V05", id="1E+400 overflows to infinity: too large"),
    pytest.param("-1E+400", "V05", id="minus infinity: too large"),
    pytest.param("INF", "V05", id="INF as a stored number is infinity"),
    pytest.param("Infinity", "V05", id="Infinity as a stored number"),
    pytest.param("NaN", "V03", id="NaN as a stored number is not a number"),
])
def test_non_finite_stored_value_is_a_finding(tmp_path: Path, report: dict, rules: Rules, raw: str,
                                              code: str) -> None:
    verdict = judge_one([write_raw_value(report, "Показатели", "D6", raw, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == [(code, "Показатели", "D6")]


@pytest.mark.parametrize("text", ["inf", "INF", "Infinity", "NaN", "nan", "1E+400"])
def test_non_finite_text_is_v03(tmp_path: Path, report: dict, rules: Rules, text: str) -> None:
    set_cell(report, "Показатели", "D6", text)
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == [("V03", "Показатели", "D6")]


def test_non_finite_in_a_csv_part_is_v03(tmp_path: Path, report: dict, rules: Rules) -> None:
    set_cell(report, "Показатели", "D6", "Infinity")
    verdict = judge_one(write_csv_parts(report, tmp_path / "drop"), rules)
    assert codes_at(verdict) == [("V03", "Показатели", "стр. 6, «Значение»")]


@pytest.mark.parametrize(("sheet", "cell", "text", "code"), [
    pytest.param("Показатели", "D2", "٥٠٠", "V03", id="Arabic-Indic digits in a number"),
    pytest.param("Показатели", "D2", "５００", "V03", id="fullwidth digits in a number"),
    pytest.param("Показатели", "D2", "۵۰۰", "V03", id="Extended Arabic-Indic digits in a number"),
    pytest.param("Показатели", "D13", "６０,５", "V03", id="fullwidth digits with a decimal comma"),
    pytest.param("Дорожная карта", "H3", "٢", "V03", id="Arabic-Indic Количество"),
    pytest.param("Титул", "B10", "١٥.٠٥.٢٠٢٥", "V02", id="Arabic-Indic date"),
    pytest.param("Титул", "B10", "２０２５-０５-１５", "V02", id="fullwidth ISO date"),
    pytest.param("Титул", "B8", "+７ (３８２２) １２-３４-５６", "V03", id="fullwidth phone"),
])
def test_non_ascii_digits_are_text_and_an_error(tmp_path: Path, report: dict, rules: Rules, sheet: str, cell: str,
                                                text: str, code: str) -> None:
    set_cell(report, sheet, cell, text)
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == [(code, sheet, cell)]


def test_two_hundred_extra_sheets_are_s09_warnings(tmp_path: Path, report: dict, rules: Rules) -> None:
    for number in range(200):
        report[f"Лист {number}"] = [["Заметки"], [f"строка {number}"]]
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == [("S09", f"Лист {number}", "") for number in range(200)]
    assert verdict.status == SubmissionStatus.ACCEPTED


def _with_far_sheets(path: Path, count: int) -> Path:
    """Add *count* sheets that each reach CV5001: two cells, but calamine would allocate 500,100 of them."""
    far = (b'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
           b'<row r="5001"><c r="CV5001"><v>1</v></c></row></sheetData></worksheet>')
    target = path.with_name(f"far_{count}.xlsx")
    shutil.copy(path, target)
    with zipfile.ZipFile(target, "a") as archive:
        for number in range(count):
            archive.writestr(f"xl/worksheets/far{number}.xml", far)
    return target


def test_cells_of_all_sheets_together_are_limited(tmp_path: Path, report: dict, rules: Rules) -> None:
    good = write_xlsx(report, tmp_path / "r.xlsx")
    assert codes_at(judge_one([_with_far_sheets(good, 3)], rules)) == []  # 1.5 M cells: read
    verdict = judge_one([_with_far_sheets(good, 4)], rules)  # 2 M cells and the form's own: refused unread
    assert codes_at(verdict) == [("S07", F, "")]
    assert "ячеек" in verdict.findings[0].message


def _csv_part(paths: list[Path], sheet: str) -> Path:
    return next(path for path in paths if path.stem.endswith("_" + sheet))


def test_csv_part_over_the_size_limit_is_only_s07(tmp_path: Path, report: dict, rules: Rules) -> None:
    paths = write_csv_parts(report, tmp_path / "drop")
    courses = _csv_part(paths, "Курсы")
    row = "Сотрудник 1;повышение квалификации;Школьный ИБЦ;ТОИПКРО;36;01.12.2024;удостоверение\n"
    with courses.open("a", encoding="utf-8") as handle:
        handle.write(row * (11 * 1024 * 1024 // len(row.encode())))
    verdict = judge_one(paths, rules)
    # Not R08 («3.2 выполнено needs a row in Курсы») nor S02: the part was sent, it was not read.
    assert codes_at(verdict) == [("S07", F, "")]
    assert courses.name in verdict.findings[0].message


def test_csv_part_over_the_row_limit_is_only_s07(tmp_path: Path, report: dict, rules: Rules) -> None:
    for number in range(5001):
        report["Поощрения"].append([f"Сотрудник {number}", "благодарность", "ОО", "получено", "01.03.2025"])
    paths = write_csv_parts(report, tmp_path / "drop")
    _csv_part(paths, "Поощрения").rename(tmp_path / "drop" / f"{SCHOOL}_награды.csv")  # the header still tells
    verdict = judge_one(list((tmp_path / "drop").iterdir()), rules)
    assert codes_at(verdict) == [("S07", F, "")]


def test_unreadable_part_of_unknown_sheet_may_be_any_missing_one(tmp_path: Path, report: dict, rules: Rules) -> None:
    paths = write_csv_parts(report, tmp_path / "drop")
    _csv_part(paths, "Курсы").write_text("Сотрудник;Вид программы\n", encoding="utf-16")
    _csv_part(paths, "Курсы").rename(tmp_path / "drop" / f"{SCHOOL}_часть 4.csv")
    verdict = judge_one(list((tmp_path / "drop").iterdir()), rules)
    assert codes_at(verdict) == [("S01", F, "")]


def test_refused_title_part_leaves_only_always_required_indicators(tmp_path: Path, report: dict,
                                                                   rules: Rules) -> None:
    set_cell(report, "Титул", "B11", "нет библиотеки")
    for row in report["Показатели"][2:]:
        row[3] = ""  # P02–P22 are not required of a school without a library
    paths = write_csv_parts(report, tmp_path / "drop")
    assert [code for code, *_ in codes_at(judge_one(paths, rules))] == []
    with _csv_part(paths, "Титул").open("a", encoding="utf-8") as handle:
        handle.write("Примечание;текст\n" * 5001)
    verdict = judge_one(paths, rules)
    # «Библиотека» is unknown, so no V01 for P02–P22; P01 is filled. The school is unknown: rejected.
    assert codes_at(verdict) == [("S07", F, "")]
    assert verdict.status == SubmissionStatus.REJECTED


def test_missing_csv_part_is_still_s02_and_r08(tmp_path: Path, report: dict, rules: Rules) -> None:
    paths = write_csv_parts(report, tmp_path / "drop")
    courses = _csv_part(paths, "Курсы")
    courses.unlink()
    verdict = judge_one([path for path in paths if path != courses], rules)
    assert codes_at(verdict) == [("R08", "Дорожная карта", "стр. 9, «Статус»"), ("S02", "Курсы", "")]


REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru;a@test-school.ru;;\n")


def test_collect_records_a_huge_number_as_a_finding(tmp_path: Path, report: dict) -> None:
    inputs = tmp_path / "inputs"
    (inputs / "2025").mkdir(parents=True)
    shutil.copy(PROJECT / "inputs" / "district.toml", inputs)
    (inputs / "schools.csv").write_text(REGISTER, encoding="utf-8")
    setup = load_setup(inputs, tmp_path / "outputs", 2025)
    set_cell(report, "Показатели", "D2", 10**19)
    write_xlsx(report, setup.drop_folder / "r.xlsx")

    summary = collect(setup, now=dt.datetime(2025, 6, 1, 10, 0))

    assert [(item["path"], item["status"]) for item in summary.files] == [("2025/r.xlsx", "rejected")]
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        assert [code for code, *_ in _findings_in(engine)] == ["V05"]
    finally:
        engine.dispose()


def _findings_in(engine: Any) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT code, sheet, cell FROM findings"))]
