"""Stream typed rows into .xlsx files with XlsxWriter: text stays text, dates get Russian formats, styles are shared."""

from __future__ import annotations

import contextlib
import datetime as dt
import numbers
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from pipeline.atomic import atomic_path
from pipeline.xlsx_text import DATE_FORMAT, DATETIME_FORMAT, is_formula_like, to_cell_text

# Rows go to disk as they are written (openpyxl kept ~1 KB per cell: 4 M cells would not fit), and
# only the typed write_* calls are used, so no string ever becomes a formula, a number or a link.
OPTIONS = {
    "constant_memory": True,
    "remove_timezone": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}
# Excel's column width unit is the width of a digit, 7 px in the default Calibri 11. Widths are given
# in pixels so that the file holds exactly the width asked for, as openpyxl wrote it (set_column
# would add Excel's 5 px cell padding on top).
DIGIT_PIXELS = 7
# «'» in front of a value in Excel's formula bar: the cell stays text when someone edits it.
QUOTED = (("quote_prefix", True),)

Style = tuple[tuple[str, Any], ...]  # XlsxWriter format properties, e.g. (("bold", True),)


class StreamWorkbook:
    """One workbook being written row by row; sheets are filled one after another, rows top to bottom."""

    def __init__(self, path: Path, scratch: Path) -> None:
        # XlsxWriter keeps each sheet's rows, and later each part of the file, in files under *scratch*.
        self._book = xlsxwriter.Workbook(str(path), {**OPTIONS, "tmpdir": str(scratch)})
        self._formats: dict[Style, Format | None] = {(): None}

    def add_sheet(self, name: str) -> Worksheet:
        """A new sheet named *name* (already Excel-safe: at most 31 characters, no []:*?/\\)."""
        return self._book.add_worksheet(name)

    def set_properties(self, title: str | None = None, creator: str | None = None) -> None:
        """Document properties shown in Excel's «Сведения»."""
        properties = {"title": title, "author": creator}
        self._book.set_properties({key: value for key, value in properties.items() if value is not None})

    def format(self, style: Style) -> Format | None:
        """The shared format of *style*; one per distinct style, as Excel wants."""
        found = self._formats.get(style)
        if found is None and style:
            found = self._formats[style] = self._book.add_format(dict(style))
        return found

    def write(self, sheet: Worksheet, row: int, column: int, value: Any, style: Style = (),
              number_format: str | None = None) -> None:
        """Write *value* typed at 0-based (*row*, *column*): text safely as text, dates as dates, numbers as numbers.

        *number_format* overrides the format of a number or date; None keeps numbers unformatted and
        gives dates «ДД.ММ.ГГГГ» and date-times «ДД.ММ.ГГГГ ЧЧ:ММ».
        """
        if isinstance(value, str):
            text = to_cell_text(value)
            if not text:
                # An empty string is an empty cell, as openpyxl left it.
                self.write(sheet, row, column, None, style)
                return
            if is_formula_like(text):
                style = style + QUOTED
            sheet.write_string(row, column, text, self.format(style))
        elif value is None:
            if style:
                sheet.write_blank(row, column, None, self.format(style))
        elif isinstance(value, bool):
            sheet.write_boolean(row, column, value, self.format(style))
        elif isinstance(value, dt.datetime):
            number_format = number_format or DATETIME_FORMAT
            sheet.write_datetime(row, column, value, self.format((*style, ("num_format", number_format))))
        elif isinstance(value, dt.date):
            number_format = number_format or DATE_FORMAT
            sheet.write_datetime(row, column, value, self.format((*style, ("num_format", number_format))))
        elif isinstance(value, numbers.Real):
            if number_format is not None:
                style = (*style, ("num_format", number_format))
            sheet.write_number(row, column, value, self.format(style))
        else:
            raise TypeError(f"no Excel cell type for {type(value).__name__}: {value!r}")

    def close(self) -> None:
        """Write the file; an OS error (disk full, no permission) surfaces as OSError."""
        try:
            self._book.close()
        except FileCreateError as error:
            cause = error.args[0] if error.args else None
            if isinstance(cause, OSError):
                raise cause from error
            raise


@contextlib.contextmanager
def stream_workbook(path: Path) -> Iterator[StreamWorkbook]:
    """Yield a workbook to fill; on success it is written atomically at *path* (see pipeline.atomic)."""
    # The scratch folder goes whatever happens: XlsxWriter leaves its files behind when a sheet fails half-way.
    with atomic_path(path) as temporary, tempfile.TemporaryDirectory(prefix="eibm-xlsx-") as scratch:
        book = StreamWorkbook(temporary, Path(scratch))
        yield book
        book.close()


def set_widths(sheet: Worksheet, widths: list[float]) -> None:
    """Column widths in Excel's characters, first column first."""
    for column, width in enumerate(widths):
        sheet.set_column_pixels(column, column, round(width * DIGIT_PIXELS))


def set_autofilter(sheet: Worksheet, last_row: int, last_column: int) -> None:
    """Filter buttons on the header row over A1 to the 0-based (*last_row*, *last_column*)."""
    sheet.autofilter(0, 0, last_row, last_column)


def freeze_header(sheet: Worksheet) -> None:
    """Keep row 1 in view while scrolling (Excel's «Закрепить верхнюю строку»)."""
    sheet.freeze_panes(1, 0)
