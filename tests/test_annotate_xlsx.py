"""Tests for pipeline.xlsx.annotate: the annotated copy made by patching the school's .xlsx, and its fallbacks."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import SCHOOL, good_report, set_cell
from openpyxl.comments import Comment
from openpyxl.workbook.defined_name import DefinedName
from package_checks import check_package
from python_calamine import CalamineWorkbook

from pipeline import findings as catalogue
from pipeline.collect.annotated_copy import write_annotated_workbook, write_openpyxl_workbook, write_patched_workbook
from pipeline.collect.feedback import FeedbackInput
from pipeline.district.register import School
from pipeline.district.roadmap import District
from pipeline.findings import Finding
from pipeline.xlsx.templates import build_template
from pipeline.xlsx.text import put_value

PERIOD = "01.09.2024–31.08.2025"
FORMULA = '=HYPERLINK("http://x")'
ERROR_RGB, WARNING_RGB = "FFC7CE", "FFEB9C"
WORKSHEET_XML = "xl/worksheets/sheet3.xml"  # «Дорожная карта» in a template saved by openpyxl (third sheet)


def template_workbook(district: District, path: Path, changes: dict[tuple[str, str], Any] | None = None,
                      edit: Callable[[openpyxl.Workbook], None] | None = None) -> Path:
    """The school's template filled with a correct report, then *changes* as {(sheet, cell): value}."""
    report = good_report(district)
    for (sheet, cell), value in (changes or {}).items():
        set_cell(report, sheet, cell, value)
    school = School(SCHOOL, "МБОУ «Тестовая СОШ»", "Тестовый район", ("test-school.ru",), "lib@test-school.ru",
                    None, None)
    workbook = build_template(district, school, 2025)
    for name, rows in report.items():
        for row_index, row in enumerate(rows[1:], start=2):
            for column_index, value in enumerate(row, start=1):
                if value is not None and value != "":
                    put_value(workbook[name].cell(row_index, column_index), value)
    if edit is not None:
        edit(workbook)
    workbook.save(path)
    return path


def make_item(workbook: Path, findings: list[Finding]) -> FeedbackInput:
    return FeedbackInput(
        file_name="70-001.xlsx", sha256=hashlib.sha256(workbook.read_bytes()).hexdigest(), year=2025,
        status="rejected", processed_at=dt.datetime(2025, 9, 3, 14, 7), findings=findings, school_code=SCHOOL,
        school_name=None, school_state="rejected", deadline=dt.date(2025, 10, 1), workbook=workbook, sheets=None,
    )


def roadmap_findings() -> list[Finding]:
    return [
        catalogue.build("S06", "Титул", "B2", value="ИБЦ-2024.1", found="ИБЦ-2024.1", current="ИБЦ-2025.1"),
        catalogue.build("R01", "Дорожная карта", "E3", value="12.12.2030", period=PERIOD),
        catalogue.build("V04", "дорожная  карта", "D4", value="сделал", allowed="выполнено; в работе"),
        catalogue.build("V02", "Дорожная карта", "E3", value="<b>&</b>"),
        catalogue.build("V06", "Дорожная карта", "I3", value=FORMULA),
        catalogue.build("V01", "Сотрудники", "F9", name="Стаж в должности, лет"),
        catalogue.build("S09", "(файл)", "", variant="sheet", name="Черновик"),
    ]


def calamine_values(path: Path) -> dict[str, list[list[Any]]]:
    workbook = CalamineWorkbook.from_path(str(path))
    return {name: workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names}


def openpyxl_values(workbook: openpyxl.Workbook) -> dict[str, list[tuple]]:
    """Values by sheet, without the empty rows and columns a marked empty cell adds to the used range."""
    values = {}
    for sheet in workbook.worksheets:
        rows = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
        while rows and not any(value is not None for value in rows[-1]):
            rows.pop()
        width = max((index + 1 for row in rows for index, value in enumerate(row) if value is not None), default=0)
        values[sheet.title] = [row[:width] for row in rows]
    return values


def rewrite_part(path: Path, name: str, change: Callable[[str], str]) -> Path:
    """Rewrite one XML part of the archive at *path* (to build workbooks openpyxl cannot write)."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts[name] = change(parts[name].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in parts.items():
            archive.writestr(member, data)
    return path


def test_write_patched_workbook_marks_cells_and_lists_findings(district: District, tmp_path: Path) -> None:
    source = template_workbook(district, tmp_path / "school.xlsx", {("Дорожная карта", "D4"): "сделал",
                                                                     ("Дорожная карта", "I3"): FORMULA})
    original = source.read_bytes()
    target = tmp_path / "out" / "copy.xlsx"
    assert write_patched_workbook(target, make_item(source, roadmap_findings()))
    check_package(target)
    assert source.read_bytes() == original

    values = calamine_values(target)
    assert list(values) == ["Замечания", *CalamineWorkbook.from_path(str(source)).sheet_names]
    assert {name: rows for name, rows in values.items() if name != "Замечания"} == calamine_values(source)
    copy, before = openpyxl.load_workbook(target), openpyxl.load_workbook(source)
    assert {name: rows for name, rows in openpyxl_values(copy).items() if name != "Замечания"} == \
        openpyxl_values(before)
    assert copy.active.title == "Замечания"
    assert [sheet.title for sheet in copy.worksheets if sheet.sheet_view.tabSelected] == ["Замечания"]

    roadmap, title, staff = copy["Дорожная карта"], copy["Титул"], copy["Сотрудники"]
    marks = {(sheet.title, cell): (sheet[cell].fill.fgColor.rgb[-6:], sheet[cell].comment.author,
                                   re.findall(r"^([A-Z]\d\d):", sheet[cell].comment.text, re.M))
             for sheet, cell in ((roadmap, "E3"), (roadmap, "D4"), (roadmap, "I3"), (title, "B2"), (staff, "F9"))}
    assert marks == {
        ("Дорожная карта", "E3"): (ERROR_RGB, "Проверка ИБЦ", ["R01", "V02"]),
        ("Дорожная карта", "D4"): (ERROR_RGB, "Проверка ИБЦ", ["V04"]),
        ("Дорожная карта", "I3"): (ERROR_RGB, "Проверка ИБЦ", ["V06"]),
        ("Титул", "B2"): (WARNING_RGB, "Проверка ИБЦ", ["S06"]),
        ("Сотрудники", "F9"): (ERROR_RGB, "Проверка ИБЦ", ["V01"]),
    }
    # the marked cell keeps its own format: date, wrapping, unlocked for the school to fix it
    assert roadmap["E3"].number_format == before["Дорожная карта"]["E3"].number_format == "DD.MM.YYYY"
    assert roadmap["E3"].alignment.wrap_text == before["Дорожная карта"]["E3"].alignment.wrap_text
    assert roadmap["E3"].protection.locked is False
    assert roadmap["A3"].comment is None
    assert title["A1"].comment.text.startswith("Как заполнить отчёт")  # the template's own note is untouched

    listing = copy["Замечания"]
    rows = list(listing.iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[1], row[3], row[5][:3]) for row in rows] == [
        (1, "ошибка", "E3", "R01"),
        (2, "ошибка", "D4", "V04"),
        (3, "ошибка", "E3", "V02"),
        (4, "ошибка", "I3", "V06"),
        (5, "ошибка", "F9", "V01"),
        (6, "предупреждение", "B2", "S06"),
        (7, "предупреждение", None, "S09"),
    ]
    assert rows[2][4] == "<b>&</b>"
    [formula] = [cell for cell in listing["E"] if cell.value == FORMULA]
    assert formula.data_type == "s"
    assert formula.quotePrefix
    links = [(cell.hyperlink.location, cell.hyperlink.target) for cell in listing["D"] if cell.hyperlink]
    assert links == [("'Дорожная карта'!E3", None), ("'Дорожная карта'!D4", None), ("'Дорожная карта'!E3", None),
                     ("'Дорожная карта'!I3", None), ("'Сотрудники'!F9", None), ("'Титул'!B2", None)]
    for location, _ in links:
        sheet, cell = location.rsplit("!", 1)
        assert copy[sheet.strip("'")][cell].comment is not None
    assert listing.freeze_panes == "A2"
    assert listing.auto_filter.ref == "A1:G8"
    assert listing["A1"].font.b
    assert listing["B2"].fill.fgColor.rgb.endswith(ERROR_RGB)
    assert listing.column_dimensions["F"].width == 60
    assert values["Замечания"][1][:4] == [1.0, "ошибка", "Дорожная карта", "E3"]

    for sheet in before.worksheets:
        kept = copy[sheet.title]
        assert [str(rule.sqref) for rule in kept.data_validations.dataValidation] == \
            [str(rule.sqref) for rule in sheet.data_validations.dataValidation]
        assert kept.protection.sheet == sheet.protection.sheet
    assert copy["Справочники"].sheet_state == "hidden"


def test_write_patched_workbook_copies_unchanged_parts_byte_for_byte(district: District, tmp_path: Path) -> None:
    source = template_workbook(district, tmp_path / "school.xlsx")
    target = tmp_path / "copy.xlsx"
    finding = catalogue.build("R01", "Дорожная карта", "E3", value="", period=PERIOD)
    assert write_patched_workbook(target, make_item(source, [finding]))
    check_package(target)
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(target) as after:
        assert after.testzip() is None
        old = {info.filename: before.read(info) for info in before.infolist()}
        new = {info.filename: after.read(info) for info in after.infolist()}
    changed = {name for name in old if old[name] != new[name]}
    assert changed == {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                       WORKSHEET_XML}
    assert b'<legacyDrawing r:id="' in new[WORKSHEET_XML]


def test_write_patched_workbook_keeps_the_school_note_on_a_marked_cell(district: District, tmp_path: Path) -> None:
    source = template_workbook(district, tmp_path / "school.xlsx")
    finding = catalogue.build("V01", "Титул", "A1", name="Поле")
    target = tmp_path / "copy.xlsx"
    assert write_patched_workbook(target, make_item(source, [finding]))
    check_package(target)
    comment = openpyxl.load_workbook(target)["Титул"]["A1"].comment
    assert comment.author == "Проверка ИБЦ"
    assert comment.text.startswith("Как заполнить отчёт")
    assert "\nV01: Не заполнено обязательное значение «Поле»." in comment.text


def test_write_patched_workbook_replaces_an_earlier_check_comment(district: District, tmp_path: Path) -> None:
    def add_comment(workbook: openpyxl.Workbook) -> None:
        workbook["Дорожная карта"]["E3"].comment = Comment("R01: прошлая проверка", "Проверка ИБЦ")

    source = template_workbook(district, tmp_path / "school.xlsx", edit=add_comment)
    target = tmp_path / "copy.xlsx"
    findings = [catalogue.build("V02", "Дорожная карта", "E3", value="x"),
                catalogue.build("V04", "Дорожная карта", "D2", value="x", allowed="y")]
    assert write_patched_workbook(target, make_item(source, findings))
    check_package(target)
    roadmap = openpyxl.load_workbook(target)["Дорожная карта"]
    assert roadmap["E3"].comment.text.startswith("V02:")
    assert "прошлая проверка" not in roadmap["E3"].comment.text
    assert roadmap["D2"].comment.text.startswith("V04:")


def test_write_patched_workbook_creates_missing_cells_in_order(district: District, tmp_path: Path) -> None:
    source = template_workbook(district, tmp_path / "school.xlsx")
    findings = [catalogue.build("V01", "Курсы", cell, name="x") for cell in ("G7", "B7", "C2", "A40")]
    target = tmp_path / "copy.xlsx"
    assert write_patched_workbook(target, make_item(source, findings))
    check_package(target)
    courses = openpyxl.load_workbook(target)["Курсы"]
    assert [courses[cell].fill.fgColor.rgb[-6:] for cell in ("G7", "B7", "C2", "A40")] == [ERROR_RGB] * 4
    assert courses["C2"].value == "Школьный ИБЦ"
    with zipfile.ZipFile(target) as archive:
        sheet = archive.read("xl/worksheets/sheet5.xml").decode()
    rows = [int(number) for number in re.findall(r'<row r="(\d+)"', sheet)]
    assert rows == sorted(rows)
    row7 = re.search(r'<row r="7".*?</row>', sheet).group(0)
    assert re.findall(r'<c r="([A-Z]+)7"', row7) == ["B", "G"]
    assert calamine_values(target)["Курсы"] == calamine_values(source)["Курсы"]


def test_write_patched_workbook_marks_the_anchor_of_a_merged_range(district: District, tmp_path: Path) -> None:
    source = template_workbook(district, tmp_path / "school.xlsx",
                               edit=lambda workbook: workbook["Поощрения"].merge_cells("B3:C4"))
    target = tmp_path / "copy.xlsx"
    assert write_patched_workbook(target, make_item(source, [catalogue.build("V01", "Поощрения", "C4", name="x")]))
    check_package(target)
    copy = openpyxl.load_workbook(target)
    assert copy["Поощрения"]["B3"].comment.text.startswith("V01:")
    assert copy["Замечания"]["D2"].value == "B3 (C4)"


def test_write_patched_workbook_shifts_sheet_local_names(district: District, tmp_path: Path) -> None:
    def add_names(workbook: openpyxl.Workbook) -> None:
        workbook["Дорожная карта"].print_title_rows = "1:1"
        workbook["Показатели"].defined_names["Итог"] = DefinedName("Итог", attr_text="'Показатели'!$D$2")

    source = template_workbook(district, tmp_path / "school.xlsx", edit=add_names)
    target = tmp_path / "copy.xlsx"
    assert write_patched_workbook(target, make_item(source, roadmap_findings()))
    check_package(target)
    copy = openpyxl.load_workbook(target)
    assert copy["Дорожная карта"].print_title_rows == "$1:$1"
    assert copy["Показатели"].defined_names["Итог"].attr_text == "'Показатели'!$D$2"
    assert not copy["Замечания"].defined_names


SITE = "https://test-school.ru/ibc"


def _link_roadmap(workbook: openpyxl.Workbook) -> None:
    """Typed URLs, as Excel turns them into hyperlinks: external relationships rId1, rId2 … of the sheet."""
    for cell in ("I3", "I4", "I6"):
        workbook["Дорожная карта"][cell].hyperlink = SITE


def _link_title(workbook: openpyxl.Workbook) -> None:
    """A hyperlink on «Титул», which already has the template's note (comments and a VML drawing)."""
    workbook["Титул"]["B9"].hyperlink = "mailto:lib@test-school.ru"


def _link_both(workbook: openpyxl.Workbook) -> None:
    _link_roadmap(workbook)
    _link_title(workbook)


@pytest.mark.parametrize(
    ("edit", "links"),
    [
        pytest.param(_link_roadmap, {("Дорожная карта", cell): SITE for cell in ("I3", "I4", "I6")},
                     id="hyperlinks on a marked sheet without comments"),
        pytest.param(_link_title, {("Титул", "B9"): "mailto:lib@test-school.ru"},
                     id="hyperlinks on a marked sheet with comments"),
        pytest.param(_link_both, {**{("Дорожная карта", cell): SITE for cell in ("I3", "I4", "I6")},
                                  ("Титул", "B9"): "mailto:lib@test-school.ru"},
                     id="hyperlinks on marked sheets with and without comments"),
    ],
)
def test_write_patched_workbook_keeps_relationship_ids_unique_beside_hyperlinks(
        district: District, tmp_path: Path, edit: Callable[[openpyxl.Workbook], None],
        links: dict[tuple[str, str], str]) -> None:
    source = template_workbook(district, tmp_path / "school.xlsx", edit=edit)
    check_package(source)
    target = tmp_path / "copy.xlsx"
    findings = [*roadmap_findings(), catalogue.build("V07", "Титул", "B9", value="lib@test-school")]
    assert write_patched_workbook(target, make_item(source, findings))
    check_package(target)
    copy = openpyxl.load_workbook(target)
    assert {key: copy[key[0]][key[1]].hyperlink.target for key in links} == links
    assert copy["Дорожная карта"]["I3"].comment.text.startswith("V06:")
    assert copy["Титул"]["B9"].comment.text.startswith("V07:")
    assert copy["Титул"]["A1"].comment.text.startswith("Как заполнить отчёт")


@pytest.mark.parametrize("write", [pytest.param(write_patched_workbook, id="patched"),
                                   pytest.param(write_openpyxl_workbook, id="openpyxl")])
def test_annotated_copy_writes_out_hidden_characters(
        district: District, tmp_path: Path, write: Callable[[Path, FeedbackInput], bool]) -> None:
    code = "\u202e210-07\u200b"  # reads «70-012» with the override applied
    source = template_workbook(district, tmp_path / "school.xlsx", {("Титул", "B3"): code})
    finding = catalogue.build("S04", "Титул", "B3", value=code, variant="unknown", school=code)
    target = tmp_path / "copy.xlsx"
    assert write(target, make_item(source, [finding]))
    check_package(target)
    copy = openpyxl.load_workbook(target)
    listing = [cell.value for cell in copy["Замечания"][2]]
    comment = copy["Титул"]["B3"].comment.text
    assert listing[2:6] == ["Титул", "B3", "⟨U+202E⟩210-07⟨U+200B⟩",
                            "S04: Код ОО «⟨U+202E⟩210-07⟨U+200B⟩» не найден в реестре школ района."]
    assert comment.startswith("S04: Код ОО «⟨U+202E⟩210-07⟨U+200B⟩» не найден")
    assert not [text for text in (*listing[2:], comment) if "\u202e" in text or "\u200b" in text]
    assert copy["Титул"]["B3"].value == code


def _add_checkbox(vml: str) -> str:
    checkbox = ('<v:shape xmlns:v="urn:schemas-microsoft-com:vml" xmlns:x="urn:schemas-microsoft-com:office:excel" '
                'id="_x0000_s1100" type="#_x0000_t201"><x:ClientData ObjectType="Checkbox"/></v:shape>')
    return vml.replace("</xml>", checkbox + "</xml>")


def _add_feedback_sheet(workbook: openpyxl.Workbook) -> None:
    workbook.create_sheet("замечания").append(["старое"])


@pytest.mark.parametrize(
    ("edit", "part", "change"),
    [
        pytest.param(None, "xl/drawings/commentsDrawing1.vml", _add_checkbox,
                     id="a form control in the drawing of a marked sheet"),
        pytest.param(_add_feedback_sheet, None, None, id="an old «Замечания» sheet"),
        pytest.param(None, "[Content_Types].xml",
                     lambda text: text.replace("<Default ", '<Default Extension="bin" '
                                               'ContentType="application/vnd.ms-office.vbaProject"/><Default ', 1),
                     id="a workbook that declares macros"),
        pytest.param(None, WORKSHEET_XML,
                     lambda text: text.replace("<worksheet xmlns=", "<worksheet xmlns:x=", 1),
                     id="a worksheet outside the default namespace"),
        pytest.param(None, "xl/styles.xml", lambda text: text.replace("<fills", "<!-- x --><fills", 1),
                     id="an XML comment in a part to patch"),
        pytest.param(_link_roadmap, "xl/worksheets/_rels/sheet3.xml.rels",
                     lambda text: text.replace("</Relationships>", '<Relationship Id="rId1" Type="http://schemas.'
                                               'openxmlformats.org/officeDocument/2006/relationships/hyperlink" '
                                               'Target="https://x.ru" TargetMode="External"/></Relationships>'),
                     id="a marked sheet whose relationships repeat an Id"),
    ],
)
def test_write_annotated_workbook_falls_back_to_openpyxl(
        district: District, tmp_path: Path, edit: Callable[[openpyxl.Workbook], None] | None, part: str | None,
        change: Callable[[str], str] | None) -> None:
    source = template_workbook(district, tmp_path / "school.xlsx", edit=edit)
    if part is not None and change is not None:
        rewrite_part(source, part, change)
    findings = [*roadmap_findings(), catalogue.build("V01", "Титул", "A1", name="Поле")]
    assert not write_patched_workbook(tmp_path / "patched.xlsx", make_item(source, findings))
    assert not (tmp_path / "patched.xlsx").exists()
    if part == WORKSHEET_XML:
        return  # openpyxl cannot read that sheet either; the raw sheets would be the next fallback
    target = tmp_path / "copy.xlsx"
    assert write_annotated_workbook(target, make_item(source, findings))
    check_package(target)
    copy = openpyxl.load_workbook(target)
    assert copy.sheetnames[0] == "Замечания"
    assert len(list(copy["Замечания"].iter_rows(min_row=2))) == len(findings)
    assert copy["Дорожная карта"]["E3"].fill.fgColor.rgb.endswith(ERROR_RGB)
    assert copy["Дорожная карта"]["E3"].comment.text.startswith("R01:")
    assert copy["Титул"]["A1"].comment.text.startswith("Как заполнить отчёт")
    assert "V01:" in copy["Титул"]["A1"].comment.text


@pytest.mark.parametrize(
    ("part", "change"),
    [
        pytest.param(WORKSHEET_XML, lambda text: text.replace("</sheetData>", "", 1), id="unterminated sheetData"),
        pytest.param(WORKSHEET_XML, lambda text: text.replace('<row r="3"', "<row", 1), id="a row without r"),
        pytest.param(WORKSHEET_XML, lambda text: text.replace('<c r="E3"', '<c r="ZZZZ3"', 1),
                     id="a cell address out of range"),
        pytest.param("xl/workbook.xml", lambda text: '<!DOCTYPE x [<!ENTITY a "b">]>' + text, id="a DTD"),
        pytest.param("xl/styles.xml", lambda text: text.replace("<cellXfs", "<cellXfs><xf", 1),
                     id="broken styles"),
        pytest.param("xl/_rels/workbook.xml.rels", lambda text: text.replace("sheet2.xml", "missing.xml", 1),
                     id="a relationship to a missing part"),
    ],
)
def test_write_patched_workbook_refuses_hostile_parts_without_raising(
        district: District, tmp_path: Path, part: str, change: Callable[[str], str]) -> None:
    source = rewrite_part(template_workbook(district, tmp_path / "school.xlsx"), part, change)
    assert not write_patched_workbook(tmp_path / "copy.xlsx", make_item(source, roadmap_findings()))
    assert not (tmp_path / "copy.xlsx").exists()


def test_write_patched_workbook_refuses_a_file_that_is_not_a_zip(tmp_path: Path) -> None:
    source = tmp_path / "school.xlsx"
    source.write_bytes(b"PK\x03\x04 not really")
    assert not write_patched_workbook(tmp_path / "copy.xlsx", make_item(source, roadmap_findings()))
