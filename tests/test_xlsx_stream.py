"""Streamed workbooks: what openpyxl (and so Excel) reads back from them."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import openpyxl
import pytest

from pipeline.xlsx_stream import freeze_header, set_autofilter, set_widths, stream_workbook

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
