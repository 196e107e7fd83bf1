"""Streamed workbooks: what openpyxl and calamine (and so Excel) read back from them."""

from __future__ import annotations

import datetime as dt
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from pipeline.xlsx import stream as xlsx_stream
from pipeline.xlsx.stream import freeze_header, set_autofilter, set_widths, stream_workbook

BOLD = (("bold", True),)


def write_one(path: Path, value: object, **options: object) -> openpyxl.cell.Cell:
    with stream_workbook(path) as book:
        sheet = book.add_sheet("Лист")
        book.write(sheet, 0, 0, value, **options)
    return openpyxl.load_workbook(path)["Лист"]["A1"]


@pytest.mark.parametrize(
    ("value", "expected", "data_type", "number_format"),
    [
        pytest.param("Лицей № 4", "Лицей № 4", "s", "General", id="text is text"),
        pytest.param("12-о", "12-о", "s", "General", id="a number-like text stays text"),
        pytest.param("a\x00b\x1fc", "abc", "s", "General", id="control characters are dropped"),
        pytest.param(12, 12, "n", "General", id="an integer is a number"),
        pytest.param(0.5, 0.5, "n", "General", id="a float is a number"),
        pytest.param(dt.date(2025, 10, 1), dt.datetime(2025, 10, 1), "d", "DD.MM.YYYY", id="a date gets DD.MM.YYYY"),
        pytest.param(dt.datetime(2025, 10, 1, 9, 5), dt.datetime(2025, 10, 1, 9, 5), "d", "DD.MM.YYYY HH:MM",
                     id="a date-time gets DD.MM.YYYY HH:MM"),
        pytest.param(True, True, "b", "General", id="a bool is a bool"),
    ],
)
def test_write_types_values(tmp_path: Path, value: object, expected: object, data_type: str,
                            number_format: str) -> None:
    cell = write_one(tmp_path / "book.xlsx", value)
    assert (cell.value, cell.data_type, cell.number_format) == (expected, data_type, number_format)


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil","x")', "+7 999", "-1", "@SUM(A1)", "=cmd|' /C calc'!A0"])
def test_write_text_that_looks_like_a_formula_stays_quoted_text(tmp_path: Path, text: str) -> None:
    cell = write_one(tmp_path / "book.xlsx", text, style=BOLD)
    assert (cell.value, cell.data_type, cell.quotePrefix, cell.font.b) == (text, "s", True, True)


def test_write_long_text_is_cut_to_excel_limit(tmp_path: Path) -> None:
    assert len(write_one(tmp_path / "book.xlsx", "я" * 40_000).value) == 32767


def test_write_empty_text_leaves_the_cell_empty(tmp_path: Path) -> None:
    assert write_one(tmp_path / "book.xlsx", "").value is None


def test_write_number_format_overrides_the_default(tmp_path: Path) -> None:
    assert write_one(tmp_path / "book.xlsx", 0.25, number_format="0.0%").number_format == "0.0%"


def test_write_refuses_a_value_excel_has_no_type_for(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_one(tmp_path / "book.xlsx", object())
    assert list(tmp_path.iterdir()) == []


def test_sheet_settings_read_back_as_openpyxl_wrote_them(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    with stream_workbook(path) as book:
        sheet = book.add_sheet("Лист")
        for column in range(3):
            book.write(sheet, 0, column, f"Заголовок {column}", BOLD)
        for column in range(3):
            book.write(sheet, 1, column, column)
        set_widths(sheet, [12, 48, 8.5])
        freeze_header(sheet)
        set_autofilter(sheet, 1, 2)
        book.set_properties(title="Сводка", creator="eibm")
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Лист"]
    widths = {index: dimension.width for dimension in sheet.column_dimensions.values()
              for index in range(dimension.min, dimension.max + 1)}
    # Excel stores widths in whole pixels (7 per character): 8.5 comes back as 60 px.
    assert widths == {1: 12, 2: 48, 3: pytest.approx(8.5, abs=1 / 7)}
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", "A1:C2")
    assert (workbook.properties.title, workbook.properties.creator) == ("Сводка", "eibm")


def test_stream_workbook_failure_leaves_the_old_file_and_no_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), stream_workbook(path) as book:
        book.write(book.add_sheet("Лист"), 0, 0, "строка")
        raise RuntimeError("stop")
    assert sorted(child.name for child in tmp_path.iterdir()) == ["book.xlsx", "scratch"]
    assert path.read_bytes() == b"old"
    assert list(scratch.iterdir()) == []


def read_calamine(path: Path) -> dict[str, list[list[object]]]:
    workbook = CalamineWorkbook.from_path(str(path))
    return {name: workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('<b>"Рога & копыта"</b>', '<b>"Рога & копыта"</b>', id="markup and ampersands are escaped"),
        pytest.param("]]></t></is></c>", "]]></t></is></c>", id="text closing the cell's XML stays text"),
        pytest.param("a\x0bb\x0cc\x1b", "abc", id="control characters XML forbids are dropped"),
        pytest.param("a\ud800b\udfffc\ufffe\uffff", "abc", id="lone surrogates and non-characters are dropped"),
        pytest.param("  отступ и хвост \t", "  отступ и хвост \t", id="leading and trailing spaces are kept"),
        pytest.param("строка 1\nстрока 2", "строка 1\nстрока 2", id="a line break stays"),
        pytest.param("😀 эмодзи", "😀 эмодзи", id="characters beyond the BMP stay"),
    ],
)
def test_write_text_reads_back_the_same_in_openpyxl_and_calamine(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "book.xlsx"
    assert write_one(path, text).value == expected
    assert read_calamine(path) == {"Лист": [[expected]]}


def test_write_numbers_keep_every_digit(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    values = [0.1 + 0.2, 1e-300, -2.5e17, 2**53, np.float64(1 / 3), np.int64(-7)]
    with stream_workbook(path) as book:
        sheet = book.add_sheet("Лист")
        for column, value in enumerate(values):
            book.write(sheet, 0, column, value)
    sheet = openpyxl.load_workbook(path)["Лист"]
    assert [cell.value for cell in sheet[1]] == [0.1 + 0.2, 1e-300, -2.5e17, 2**53, 1 / 3, -7]
    assert read_calamine(path)["Лист"] == [[0.1 + 0.2, 1e-300, -2.5e17, 2**53, 1 / 3, -7]]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), np.float64("-inf")])
def test_write_refuses_a_number_excel_cannot_hold(tmp_path: Path, value: float) -> None:
    with pytest.raises(ValueError, match="no number"):
        write_one(tmp_path / "book.xlsx", value)


def test_write_dates_read_back_as_dates(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    moscow = dt.timezone(dt.timedelta(hours=3))
    values = [
        dt.date(2025, 10, 1),
        dt.datetime(2025, 10, 1, 23, 59, 59),
        dt.datetime(1900, 3, 1),
        pd.Timestamp("2025-09-01 08:30"),
        dt.datetime(2025, 9, 1, 8, 30, tzinfo=moscow),  # the wall-clock time stays
    ]
    with stream_workbook(path) as book:
        sheet = book.add_sheet("Лист")
        for column, value in enumerate(values):
            book.write(sheet, 0, column, value)
        book.write(sheet, 1, 0, dt.date(2025, 10, 1), number_format="YYYY-MM-DD")
    sheet = openpyxl.load_workbook(path)["Лист"]
    assert [(cell.value, cell.number_format) for cell in sheet[1]] == [
        (dt.datetime(2025, 10, 1), "DD.MM.YYYY"),
        (dt.datetime(2025, 10, 1, 23, 59, 59), "DD.MM.YYYY HH:MM"),
        (dt.datetime(1900, 3, 1), "DD.MM.YYYY HH:MM"),
        (dt.datetime(2025, 9, 1, 8, 30), "DD.MM.YYYY HH:MM"),
        (dt.datetime(2025, 9, 1, 8, 30), "DD.MM.YYYY HH:MM"),
    ]
    assert sheet["A2"].number_format == "YYYY-MM-DD"
    assert read_calamine(path)["Лист"][0] == [dt.date(2025, 10, 1), dt.datetime(2025, 10, 1, 23, 59, 59),
                                              dt.date(1900, 3, 1), dt.datetime(2025, 9, 1, 8, 30),
                                              dt.datetime(2025, 9, 1, 8, 30)]


def test_write_styles_read_back_as_asked(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    header = (("bold", True), ("bg_color", "#E6ECF3"), ("pattern", 1), ("text_wrap", True), ("valign", "top"))
    with stream_workbook(path) as book:
        sheet = book.add_sheet("Лист")
        book.write(sheet, 0, 0, "Заголовок", header)
        book.write(sheet, 0, 1, None, header)  # a styled empty cell keeps its fill
        book.write(sheet, 1, 0, 1234567, number_format="#,##0")
        book.write(sheet, 1, 1, 0.256, number_format="0.0%")
        book.write(sheet, 1, 2, 12.5, (("bg_color", "#FFC7CE"), ("pattern", 1)), number_format="#,##0.00")
    sheet = openpyxl.load_workbook(path)["Лист"]
    title, blank = sheet["A1"], sheet["B1"]
    assert (title.font.b, title.fill.fgColor.rgb, title.alignment.wrap_text, title.alignment.vertical) == (
        True, "FFE6ECF3", True, "top")
    assert (blank.value, blank.fill.fgColor.rgb) == (None, "FFE6ECF3")
    assert [cell.number_format for cell in sheet[2]] == ["#,##0", "0.0%", "#,##0.00"]
    assert (sheet["C2"].fill.fgColor.rgb, sheet["C2"].font.b) == ("FFFFC7CE", False)


def test_write_refuses_an_unknown_style_property(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported style"):
        write_one(tmp_path / "book.xlsx", "x", style=(("underline", 1),))


def test_several_sheets_keep_their_names_values_and_print_setup(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    names = ["Статус", "Сводка", "Кадры & фонд", "Д'Артаньян", "Индекс выполнения по ОО"]
    with stream_workbook(path) as book:
        for number, name in enumerate(names):
            sheet = book.add_sheet(name)
            book.write(sheet, 0, 0, "Код ОО", BOLD)
            book.write(sheet, 1, 0, f"B-{number:06d}")
            book.write(sheet, 1, 1, number)
            freeze_header(sheet)
            set_autofilter(sheet, 1, 1)
        sheet.repeat_rows(0)
        sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == names
    assert [[cell.value for cell in workbook[name][2]] for name in names] == [
        [f"B-{number:06d}", number] for number in range(len(names))]
    last = workbook[names[-1]]
    assert (last.print_title_rows, last.page_setup.orientation, last.sheet_properties.pageSetUpPr.fitToPage,
            last.page_setup.fitToWidth, last.page_setup.fitToHeight) == ("$1:$1", "landscape", True, 1, 0)
    assert all(workbook[name].freeze_panes == "A2" for name in names)
    assert read_calamine(path)[names[3]] == [["Код ОО", ""], ["B-000003", 3]]


@pytest.mark.parametrize(
    "name", ["", "x" * 32, "Лист[1]", "a/b", "'кавычка'", "лист"], ids=["empty", "too long", "brackets", "slash",
                                                                       "quoted", "taken ignoring case"])
def test_add_sheet_refuses_a_name_excel_refuses(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError), stream_workbook(tmp_path / "book.xlsx") as book:
        book.add_sheet("Лист")
        book.add_sheet(name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        pytest.param([(1, 0), (0, 0)], "rows go top to bottom", id="a row above the last one"),
        pytest.param([(0, 1), (0, 0)], "cells go left to right", id="a column left of the last one"),
        pytest.param([(0, 0), (0, 0)], "cells go left to right", id="the same cell twice"),
        pytest.param([(0, -1)], "cells go left to right", id="a negative column"),
        pytest.param([(0, 16_384)], "cells go left to right", id="a column past XFD"),
        pytest.param([(1_048_576, 0)], "rows go top to bottom", id="a row past 1048576"),
    ],
)
def test_write_refuses_cells_out_of_order(tmp_path: Path, cells: list[tuple[int, int]], message: str) -> None:
    with pytest.raises(ValueError, match=message), stream_workbook(tmp_path / "book.xlsx") as book:
        sheet = book.add_sheet("Лист")
        for row, column in cells:
            book.write(sheet, row, column, 1)


def test_write_refuses_a_sheet_already_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="already written"), stream_workbook(tmp_path / "book.xlsx") as book:
        first = book.add_sheet("Первый")
        book.write(first, 0, 0, 1)
        book.add_sheet("Второй")
        book.write(first, 0, 1, 2)


def test_stream_workbook_keeps_memory_flat_for_many_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The text cache is bounded by design (50,000 texts, ~15 MB); here it is made small to see the rest.
    monkeypatch.setattr(xlsx_stream, "_TEXT_CACHE_SIZE", 1000)
    path = tmp_path / "book.xlsx"
    rows = 200_000
    tracemalloc.start()
    with stream_workbook(path) as book:
        sheet = book.add_sheet("Лист")
        for row in range(rows):
            book.write(sheet, row, 0, f"B-{row:06d}")
            book.write(sheet, row, 1, f"МБОУ «Школа № {row}»")
            book.write(sheet, row, 2, row * 0.5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Rows go to disk as they come: what stays in memory is a few 1 MB buffers, not the sheet's 38 MB of XML.
    with zipfile.ZipFile(path) as archive:
        sheet_xml = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    assert (sheet_xml > 35_000_000, peak < 6_000_000) == (True, True)
    table = read_calamine(path)["Лист"]
    assert (len(table), table[-1]) == (rows, [f"B-{rows - 1:06d}", f"МБОУ «Школа № {rows - 1}»", (rows - 1) * 0.5])


def test_stream_workbook_without_sheets_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    with stream_workbook(path):
        pass
    assert openpyxl.load_workbook(path).sheetnames == ["Лист1"]
