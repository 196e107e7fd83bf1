"""What a sheet's XML makes a reader allocate: where cells land, rows and columns, all sheets' cells together."""

# Counted the way calamine places cells (from A1 to the last filled row and column), for .xlsx worksheets
# and the .ods content part, so that preflight refuses a declared range that would abort the parser.

from __future__ import annotations

import re

from pipeline.intake.refusal import PreflightError

MAX_COLUMNS = 100  # the widest sheet has 10 columns; anything past column CV is not a report
# All sheets together, counted as calamine allocates them: from A1 to each sheet's last filled row and
# column. The six sheets of the form at 5,000 rows of 10 columns are 300,000 cells; one sheet at the
# row and column limits is 500,000. Two million cells took calamine 250 MB and 7 s (measured): well
# inside the worker's limits, however many sheets share them.
MAX_CELLS = 2_000_000

# Tags of a worksheet that decide where calamine puts a cell, and whether a formula has a cached value.
# Any namespace prefix, any quoting: calamine accepts lowercase refs and single quotes (both seen
# aborting it with a cell at XFD1048576), so the checks must not be stricter about syntax than it is.
_SHEET_TAG = re.compile(rb"<(/?)(?:[\w.-]+:)?(row|c|f|v)(?=[\s/>])([^>]*?)(/?)>([^<]?)")
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*["']\s*([A-Za-z]*)(\d+)""")
# The at-a-glance check of _SheetExtent: the same tags as _SHEET_TAG and _R_ATTR, counted in C.
_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c(?=[\s/>])")
_CELL_PLACE = re.compile(rb"""<(?:[\w.-]+:)?c(?=[\s/>])[^>]*?\sr\s*=\s*["']\s*([A-Za-z]*)(\d+)""")
_FORMULA_TAG = re.compile(rb"<(?:[\w.-]+:)?f(?=[\s/>])")
_SHEET_DATA_END = re.compile(rb"</(?:[\w.-]+:)?sheetData\s*>|<(?:[\w.-]+:)?sheetData[^>]*/>")
_ODS_TAG = re.compile(rb"<(/?)(?:[\w.-]+:)?(table|table-row|table-cell|covered-table-cell)(?=[\s/>])([^>]*?)(/?)>")
_ROWS_REPEATED = re.compile(rb"""number-rows-repeated\s*=\s*["']\s*(\d+)""")
_COLUMNS_REPEATED = re.compile(rb"""number-columns-repeated\s*=\s*["']\s*(\d+)""")
_VALUE_TYPE = re.compile(rb"(?:^|\s)(?:[\w.-]+:)?value-type\s*=")


class CellBudget:
    """The cells that all sheets together may make calamine allocate (MAX_CELLS)."""

    def __init__(self) -> None:
        self.left = MAX_CELLS

    def allows(self, rows: int, columns: int) -> bool:
        return rows * columns <= self.left

    def spend(self, rows: int, columns: int) -> None:
        self.left -= rows * columns
        if self.left < 0:
            raise PreflightError("S07", f"листы книги вместе занимают более {MAX_CELLS:,} ячеек".replace(",", "\u00a0"))


class SheetExtent:
    """Follow a worksheet's cells as calamine places them: a cell's «r», or one right of the previous cell.

    Only cells with content count: calamine skips self-closing ones (LibreOffice writes styled empty
    cells far down a sheet), but allocates the whole range up to any cell it keeps. Cells count from
    «sheetData» on, the only place calamine takes them from: themes and styles are skipped unread.
    """

    def __init__(self, max_rows: int, budget: CellBudget | None = None):
        self.max_rows = max_rows
        self.budget = budget or CellBudget()
        self.in_data = False
        self.row = 0
        self.column = 0
        self.formula = False
        self.value = False
        self.empty_formulas: list[str] = []
        self.last_row = 0  # of the cells with content: calamine's range ends there
        self.last_column = 0
        self.glanced = False  # the at-a-glance check passed and spent the sheet's cells already

    def feed(self, xml: bytes, to_the_end: bool = False) -> None:
        """Follow the cells of *xml*; *to_the_end*: nothing but the member's last tag follows it."""
        if not self.in_data:
            start = xml.find(b"sheetData")
            if start == -1:
                return
            self.in_data = True
            xml = xml[start:]
            if to_the_end and self._within_limits_at_a_glance(xml):
                self.glanced = True
                return
        if self.glanced:
            return
        # One pass over tens of thousands of tags in a big sheet: plain locals, names built only when needed.
        row, column, formula, value = self.row, self.column, self.formula, self.value
        last_row, last_column = self.last_row, self.last_column
        for closing, tag, attributes, empty, after in _SHEET_TAG.findall(xml):
            if tag == b"c":
                if closing:
                    if formula and not value:
                        self.empty_formulas.append(f"{_column_letters(column)}{row}")
                    formula = value = False
                    continue
                ref = _R_ATTR.search(attributes)
                if ref and ref.group(1):
                    column, row = _column_number(ref.group(1)), int(ref.group(2))
                else:
                    column += 1
                if not empty:
                    if row > self.max_rows + 1 or column > MAX_COLUMNS:
                        self._refuse(row)
                    last_row, last_column = max(last_row, row), max(last_column, column)
            elif closing:
                continue
            elif tag == b"row":
                ref = _R_ATTR.search(attributes)
                row = int(ref.group(2)) if ref else row + 1
                column = 0
            elif tag == b"f":
                formula = True
            elif tag == b"v" and not empty and after:
                value = True
        self.row, self.column, self.formula, self.value = row, column, formula, value
        self.last_row, self.last_column = last_row, last_column

    def finish(self) -> None:
        """The member has been read: spend the sheet's cells (at a glance they were spent already)."""
        if not self.glanced:
            self.budget.spend(self.last_row, self.last_column)

    def _within_limits_at_a_glance(self, xml: bytes) -> bool:
        """True when *xml*, all of the sheet from «sheetData» on, has no formula, every cell names its
        own place (the first r="B7" in its tag, found as _R_ATTR finds it), and even counting empty
        cells nothing lies past the limits: then the tag-by-tag pass below would refuse nothing either
        (it places cells by the same «r», and counts fewer of them). That is what a normal report looks
        like; anything else takes the exact pass (≈ 2 ms a file saved)."""
        if not _SHEET_DATA_END.search(xml) or _FORMULA_TAG.search(xml):
            return False
        places = _CELL_PLACE.findall(xml)
        if len(places) != len(_CELL_TAG.findall(xml)) or not all(letters for letters, _ in places):
            return False
        rows = max((int(row) for _, row in places), default=0)
        columns = max((_column_number(letters) for letters in {letters for letters, _ in places}), default=0)
        # Empty cells count here too, so a sheet that would overdraw the budget takes the exact pass.
        if rows > self.max_rows + 1 or columns > MAX_COLUMNS or not self.budget.allows(rows, columns):
            return False
        self.budget.spend(rows, columns)
        return True

    def _refuse(self, row: int) -> None:
        if row > self.max_rows + 1:
            raise PreflightError("S07", f"на листе более {self.max_rows} строк")
        raise PreflightError("S07", f"на листе заполнены столбцы дальше {MAX_COLUMNS}-го")


class OdsExtent:
    """Follow an OpenDocument table's rows and columns, expanding «number-…-repeated» as calamine does.

    LibreOffice ends every sheet with a million repeated empty rows, which calamine skips; a repeated
    cell with a value (office:value-type) is expanded for real (1,048,570 rows ≈ 0.5 GB, measured).
    """

    def __init__(self, max_rows: int, budget: CellBudget | None = None):
        self.max_rows = max_rows
        self.budget = budget or CellBudget()
        self.rows = 0  # rows finished in the current table
        self.repeat = 1  # of the current row
        self.column = 0
        self.last_row = 0  # of the current table's cells with a value, as in SheetExtent
        self.last_column = 0

    def feed(self, xml: bytes, to_the_end: bool = False) -> None:
        for closing, tag, attributes, empty in _ODS_TAG.findall(xml):
            if tag == b"table":
                if not closing:
                    self.finish()
                    self.rows, self.repeat, self.column = 0, 1, 0
            elif tag == b"table-row":
                if closing:
                    self.rows += self.repeat
                    continue
                self.repeat = _repeat(_ROWS_REPEATED, attributes)
                self.column = 0
                if empty:
                    self.rows += self.repeat
            elif not closing:
                columns = _repeat(_COLUMNS_REPEATED, attributes)
                self.column += columns
                if _VALUE_TYPE.search(attributes):
                    self._check()

    def finish(self) -> None:
        """A table (or the document) has ended: spend its cells."""
        self.budget.spend(self.last_row, self.last_column)
        self.last_row = self.last_column = 0

    def _check(self) -> None:
        if self.rows + self.repeat > self.max_rows + 1:
            raise PreflightError("S07", f"на листе более {self.max_rows} строк")
        if self.column > MAX_COLUMNS:
            raise PreflightError("S07", f"на листе заполнены столбцы дальше {MAX_COLUMNS}-го")
        self.last_row = max(self.last_row, self.rows + self.repeat)
        self.last_column = max(self.last_column, self.column)


def _repeat(pattern: re.Pattern[bytes], attributes: bytes) -> int:
    match = pattern.search(attributes)
    return int(match.group(1)) if match else 1


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + (letter - 64)
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
