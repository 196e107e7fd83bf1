"""One worksheet of a streamed workbook: its rows spooled to a scratch file, its settings, its XML around them."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

from pipeline.xlsx.markup import DOC_REL_NS, MAIN_NS, XML_DECLARATION

# Each sheet's <sheetData> goes to disk as its rows are written (memory stays flat) and is copied into
# the zip member once the sheet is done, because <cols>, which Excel wants before the rows, is only
# known then. StreamWorkbook.write, the per-cell hot path, fills a Sheet's row state (its underscored
# attributes) directly rather than through methods.
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
# Excel's column width unit is the width of a digit, 7 px in the default Calibri 11. Widths are
# rounded to whole pixels as Excel itself stores them.
DIGIT_PIXELS = 7
_ZIP64_LIMIT = (1 << 31) - 1
_COPY_CHUNK = 1 << 20


def _column_letters(count: int) -> list[str]:
    letters = []
    for index in range(count):
        name, number = "", index + 1
        while number:
            number, remainder = divmod(number - 1, 26)
            name = chr(65 + remainder) + name
        letters.append(name)
    return letters


COLUMN_LETTERS = _column_letters(MAX_COLUMNS)


class Sheet:
    """One worksheet: its rows go to a scratch file as they come, its settings into the sheet's XML at the end."""

    def __init__(self, name: str, index: int, scratch: Path) -> None:
        self.name = name
        self.index = index
        self._path = scratch / f"sheet{index + 1}.xml"
        self._rows: IO[str] | None = self._path.open("w", encoding="utf-8", newline="", buffering=_COPY_CHUNK)
        self._row = -1  # the row being written, 0-based
        self._label = ""  # its number as Excel shows it
        self._column = -1  # the last column written in it
        self._cells: list[str] = []
        self._last_column = -1
        self._widths: list[float] = []
        self._frozen_rows = 0
        self._autofilter: tuple[int, int, int, int] | None = None
        self._repeated_rows: tuple[int, int] | None = None
        self._landscape = False
        self._fit_to_pages: tuple[int, int] | None = None

    # XlsxWriter's Worksheet names for the settings status.py uses.
    def repeat_rows(self, first_row: int, last_row: int | None = None) -> None:
        """Print the 0-based rows *first_row*..*last_row* on top of every page («Печатать на каждой странице»)."""
        self._check_open()
        self._repeated_rows = (first_row, first_row if last_row is None else last_row)

    def set_landscape(self) -> None:
        """Print in landscape orientation."""
        self._check_open()
        self._landscape = True

    def fit_to_pages(self, width: int, height: int) -> None:
        """Scale the print to *width* pages across and *height* down; 0 leaves that direction free."""
        self._check_open()
        self._fit_to_pages = (width, height)

    def set_widths(self, widths: list[float]) -> None:
        """Column widths in Excel's characters, first column first."""
        self._check_open()
        self._widths = list(widths)

    def freeze_rows(self, rows: int) -> None:
        """Keep the first *rows* rows in view while scrolling."""
        self._check_open()
        self._frozen_rows = rows

    def set_autofilter(self, first_row: int, first_column: int, last_row: int, last_column: int) -> None:
        """Filter buttons on *first_row* over the 0-based range given."""
        self._check_open()
        self._autofilter = (first_row, first_column, last_row, last_column)

    def _check_open(self) -> None:
        if self._rows is None:
            raise ValueError(f"sheet {self.name!r} is already written: sheets are filled one after another")

    def _next_row(self, row: int) -> None:
        """Close the row being written and start 0-based *row*, which must come below it."""
        self._check_open()
        if not self._row < row < MAX_ROWS:
            raise ValueError(f"row {row} of sheet {self.name!r} comes after row {self._row}: rows go top to bottom")
        self._flush_row()
        self._row = row
        self._label = str(row + 1)
        self._column = -1

    def _flush_row(self) -> None:
        if self._cells:
            self._rows.write(f'<row r="{self._label}">{"".join(self._cells)}</row>')
            self._last_column = max(self._last_column, self._column)
            self._cells.clear()

    def _copy_into(self, archive: zipfile.ZipFile, member: str) -> None:
        """Finish the sheet's XML and deflate it into *archive* as *member*; the scratch file goes."""
        self._check_open()
        self._flush_row()
        self._rows.close()
        self._rows = None
        head = self._head().encode()
        tail = self._tail().encode()
        size = len(head) + self._path.stat().st_size + len(tail)
        # zipfile needs to know up front when a member may pass 2 GiB (ZIP64 headers).
        with archive.open(member, "w", force_zip64=size > _ZIP64_LIMIT // 2) as target, self._path.open("rb") as rows:
            target.write(head)
            shutil.copyfileobj(rows, target, _COPY_CHUNK)
            target.write(tail)
        self._path.unlink()
        self._row = MAX_ROWS  # any later write lands in _next_row, which refuses it

    def _discard(self) -> None:
        if self._rows is not None:
            self._rows.close()
            self._rows = None
        self._path.unlink(missing_ok=True)

    def _head(self) -> str:
        parts = [XML_DECLARATION, f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{DOC_REL_NS}">']
        if self._fit_to_pages is not None:
            parts.append('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>')
        if self._row >= 0:
            parts.append(f'<dimension ref="A1:{COLUMN_LETTERS[max(self._last_column, 0)]}{self._row + 1}"/>')
        else:
            parts.append('<dimension ref="A1"/>')
        selected = ' tabSelected="1"' if self.index == 0 else ""
        if self._frozen_rows:
            top_left = f"A{self._frozen_rows + 1}"
            parts.append(
                f'<sheetViews><sheetView{selected} workbookViewId="0">'
                f'<pane ySplit="{self._frozen_rows}" topLeftCell="{top_left}" activePane="bottomLeft" state="frozen"/>'
                f'<selection pane="bottomLeft" activeCell="{top_left}" sqref="{top_left}"/>'
                f"</sheetView></sheetViews>"
            )
        else:
            parts.append(f'<sheetViews><sheetView{selected} workbookViewId="0"/></sheetViews>')
        parts.append('<sheetFormatPr defaultRowHeight="15"/>')
        if self._widths:
            parts.append("<cols>")
            for column, width in enumerate(self._widths, start=1):
                characters = round(width * DIGIT_PIXELS) / DIGIT_PIXELS
                parts.append(f'<col min="{column}" max="{column}" width="{characters!r}" customWidth="1"/>')
            parts.append("</cols>")
        parts.append("<sheetData>")
        return "".join(parts)

    def _tail(self) -> str:
        parts = ["</sheetData>"]
        if self._autofilter is not None:
            parts.append(f'<autoFilter ref="{_range(*self._autofilter)}"/>')
        parts.append('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
        setup = ['paperSize="9"']  # A4, the paper of Russian offices
        if self._landscape:
            setup.append('orientation="landscape"')
        if self._fit_to_pages is not None:
            width, height = self._fit_to_pages
            setup.append(f'fitToWidth="{width}" fitToHeight="{height}"')
        parts.append(f"<pageSetup {' '.join(setup)}/>")
        parts.append("</worksheet>")
        return "".join(parts)

    def _defined_names(self) -> list[str]:
        quoted = "'" + self.name.replace("'", "''") + "'"
        names = []
        if self._autofilter is not None:
            first_row, first_column, last_row, last_column = self._autofilter
            absolute = f"${COLUMN_LETTERS[first_column]}${first_row + 1}:${COLUMN_LETTERS[last_column]}${last_row + 1}"
            names.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{self.index}" hidden="1">'
                         f"{escape(quoted)}!{absolute}</definedName>")
        if self._repeated_rows is not None:
            first, last = self._repeated_rows
            names.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{self.index}">'
                         f"{escape(quoted)}!${first + 1}:${last + 1}</definedName>")
        return names


def _range(first_row: int, first_column: int, last_row: int, last_column: int) -> str:
    return f"{COLUMN_LETTERS[first_column]}{first_row + 1}:{COLUMN_LETTERS[last_column]}{last_row + 1}"
