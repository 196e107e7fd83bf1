"""The annotated copy of a school's workbook: faulty cells marked, commented and listed on a «Замечания» sheet."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Protocol

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, range_boundaries
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.atomic import atomic_file, atomic_path
from pipeline.district.labels import fold
from pipeline.district.layout import FEEDBACK_SHEET
from pipeline.findings import SEVERITY_RU, Finding, sort_findings
from pipeline.intake.read import RawSheet, column_letter
from pipeline.xlsx.annotate import build_annotated
from pipeline.xlsx.comments import COMMENT_WIDTH, comment_text
from pipeline.xlsx.markup import AnnotationError
from pipeline.xlsx.notes import CellNote, Listing, ListingCell
from pipeline.xlsx.package import open_package
from pipeline.xlsx.text import put_text, put_value

logger = logging.getLogger(__name__)

COMMENT_AUTHOR = "Проверка ИБЦ"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
# Excel's own «Плохой» and «Нейтральный» fills: light enough to read the value through in grey print.
ERROR_RGB = "FFC7CE"
WARNING_RGB = "FFEB9C"
FEEDBACK_COLUMNS = (
    ("№", 5),
    ("Уровень", 16),
    ("Лист", 18),
    ("Ячейка", 24),
    ("Значение", 30),
    ("Что не так", 60),
    ("Как исправить", 60),
)
_EXCEL_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
# How RawSheet.address names a cell of a CSV part (REPORT_FORMAT §6: line number and column name).
_CSV_CELL_BY_NAME = re.compile(r"^стр\. ([0-9]{1,7}), «(.*)»$")
_CSV_CELL_BY_NUMBER = re.compile(r"^стр\. ([0-9]{1,7}), столбец ([0-9]{1,5})$")
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MAX_EXCEL_ROW = 1_048_576
MAX_EXCEL_COLUMN = 16_384


class AnnotationSource(Protocol):
    """What a copy is made from (the collection's FeedbackInput): the findings and the school's file."""

    file_name: str
    findings: list[Finding]
    workbook: Path | None  # archived .xlsx/.xlsm to patch
    sheets: list[RawSheet] | None  # raw sheets to rebuild a workbook from (CSV, .xls, .ods)


def write_annotated_workbook(target: Path, item: AnnotationSource) -> bool:
    """Write the school's workbook with faulty cells marked and a «Замечания» sheet; False if impossible."""
    return write_patched_workbook(target, item) or write_openpyxl_workbook(target, item)


def write_patched_workbook(target: Path, item: AnnotationSource) -> bool:
    """Write the annotated copy by patching the archived .xlsx (a few ms); False when openpyxl must do it."""
    if item.workbook is None or item.workbook.suffix.lower() not in WORKBOOK_SUFFIXES:
        return False
    ordered = sort_findings(item.findings)
    try:
        package = open_package(item.workbook)
        targets = [_locate(package, finding) for finding in ordered]
        patched = build_annotated(package, build_notes(ordered, targets), COMMENT_AUTHOR,
                                  build_listing(ordered, targets))
    except AnnotationError as reason:
        logger.info("annotating %s with openpyxl: %s", item.file_name, reason)
        return False
    except Exception:  # a hostile workbook must not stop the run: openpyxl gets its chance
        logger.warning("cannot patch %s; annotating it with openpyxl", item.file_name, exc_info=True)
        return False
    with atomic_file(target, durable=False, sweep=False) as stream:  # like the page: see write_feedback
        stream.write(patched)
    return True


def write_openpyxl_workbook(target: Path, item: AnnotationSource) -> bool:
    """Write the annotated copy with openpyxl (~150 ms), from the workbook or else from the raw sheets."""
    workbook = _load_school_workbook(item.workbook) if item.workbook is not None else None
    if workbook is None:
        if not item.sheets:
            logger.warning("no annotated copy for %s: the workbook cannot be loaded", item.file_name)
            return False
        workbook = build_workbook(item.sheets)
    _drop_feedback_sheet(workbook)
    ordered = sort_findings(item.findings)
    outline = _WorkbookOutline(workbook)
    targets = [_locate(outline, finding) for finding in ordered]
    _mark_cells(workbook, build_notes(ordered, targets))
    _add_feedback_sheet(workbook, build_listing(ordered, targets))
    with atomic_path(target, durable=False, sweep=False) as temporary:  # like the page: see write_feedback
        workbook.save(temporary)
    return True


def _load_school_workbook(path: Path) -> openpyxl.Workbook | None:
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        return None
    try:
        # Macros are dropped: the copy is saved as .xlsx and must not carry the school's VBA back.
        return openpyxl.load_workbook(path, keep_vba=False)
    except Exception as error:  # openpyxl raises anything from KeyError to TypeError on a malformed file
        logger.warning("openpyxl cannot load %s (%s); rebuilding from the raw sheets", path.name, error)
        return None


def build_workbook(sheets: list[RawSheet]) -> openpyxl.Workbook:
    """Rebuild a workbook from raw sheets (.xls, .ods, CSV parts), values at their original positions."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        if fold(sheet.name) == fold(FEEDBACK_SHEET):
            continue
        worksheet = workbook.create_sheet(_sheet_title(sheet.name, workbook))
        for row_index, row in enumerate(sheet.rows, start=1):
            for column_index, value in enumerate(row, start=1):
                if value is None or value == "":
                    continue
                put_value(worksheet.cell(row_index, column_index), value)
    return workbook


def _sheet_title(name: str, workbook: openpyxl.Workbook) -> str:
    """Excel forbids []:*?/\\ in sheet titles and longer than 31 characters; keep the rest of the name."""
    title = _SHEET_TITLE_FORBIDDEN.sub("_", name).strip("'")[:31] or "Лист"
    taken = {fold(existing) for existing in workbook.sheetnames}
    candidate, number = title, 1
    while fold(candidate) in taken:
        number += 1
        candidate = f"{title[: 31 - len(str(number)) - 1]}_{number}"
    return candidate


def _drop_feedback_sheet(workbook: openpyxl.Workbook) -> None:
    for title in list(workbook.sheetnames):
        if fold(title) == fold(FEEDBACK_SHEET):
            workbook.remove(workbook[title])


def to_excel_cell(cell: str, header: list[Any]) -> str | None:
    """Return the Excel address of a finding's cell: «D7» as is, «стр. 5, «Статус»» via *header*; else None."""
    text = cell.strip()
    match = _EXCEL_CELL.match(text)
    if match:
        letters, row = match.group(1).upper(), int(match.group(2))
        if 1 <= row <= MAX_EXCEL_ROW and column_index_from_string(letters) <= MAX_EXCEL_COLUMN:
            return f"{letters}{row}"
        return None
    match = _CSV_CELL_BY_NUMBER.match(text)
    if match:
        row, column = int(match.group(1)), int(match.group(2))
        return f"{column_letter(column - 1)}{row}" if 1 <= row <= MAX_EXCEL_ROW and column >= 1 else None
    match = _CSV_CELL_BY_NAME.match(text)
    if match:
        row, name = int(match.group(1)), match.group(2)
        for index, label in enumerate(header):
            if label == name or fold(label) == fold(name):
                return f"{column_letter(index)}{row}" if 1 <= row <= MAX_EXCEL_ROW else None
    return None


class _Outline(Protocol):
    """What locating a finding needs from a workbook: its worksheets, a sheet's row 1 and merged ranges."""

    sheet_titles: list[str]

    def header(self, title: str) -> list[Any]: ...

    def merged_ranges(self, title: str) -> list[str]: ...


class _WorkbookOutline:
    """An openpyxl workbook seen as an _Outline (pipeline.xlsx.package.XlsxPackage is the other one)."""

    def __init__(self, workbook: openpyxl.Workbook):
        self.workbook = workbook
        self.sheet_titles = [sheet.title for sheet in workbook.worksheets if isinstance(sheet, Worksheet)]

    def header(self, title: str) -> list[Any]:
        return [cell.value for cell in next(self.workbook[title].iter_rows(min_row=1, max_row=1), ())]

    def merged_ranges(self, title: str) -> list[str]:
        return [str(merged) for merged in self.workbook[title].merged_cells.ranges]


def _locate(outline: _Outline, finding: Finding) -> tuple[str, str] | None:
    """Return (sheet title, cell coordinate) of *finding* in the workbook, or None for a whole-file finding."""
    title = _find_sheet(outline.sheet_titles, finding.sheet)
    if title is None or not finding.cell:
        return None
    # Row 1 holds row 0 of the raw sheet (a rebuilt CSV part) or the header the school sees (a workbook);
    # only a CSV address by column name needs it.
    header = outline.header(title) if _CSV_CELL_BY_NAME.match(finding.cell.strip()) else []
    coordinate = to_excel_cell(finding.cell, header)
    if coordinate is None:
        return None
    return title, _merged_anchor(outline.merged_ranges(title), coordinate)


def _find_sheet(titles: list[str], name: str) -> str | None:
    """Findings name sheets as the form does; the school's tab may differ in case or spaces (§0)."""
    for title in titles:
        if title == name:
            return title
    for title in titles:
        if fold(title) == fold(name):
            return title
    return None


def _merged_anchor(ranges: list[str], coordinate: str) -> str:
    """A cell inside a merged range is shown (and commented) at the range's top-left cell."""
    letters, row = coordinate_from_string(coordinate)
    column = column_index_from_string(letters)
    for merged in ranges:
        try:
            first_column, first_row, last_column, last_row = range_boundaries(merged)
        except (TypeError, ValueError):  # a malformed «ref» in the school's file
            continue
        if None in (first_column, first_row, last_column, last_row):
            continue
        if first_column <= column <= last_column and first_row <= row <= last_row:
            return f"{get_column_letter(first_column)}{first_row}"
    return coordinate


def build_notes(findings: list[Finding], targets: list[tuple[str, str] | None]) -> list[CellNote]:
    """One note per located cell: red if any of its findings is an error, a comment line per finding."""
    hits_by_cell: dict[tuple[str, str], list[Finding]] = {}
    for finding, target in zip(findings, targets, strict=True):
        if target is not None:
            hits_by_cell.setdefault(target, []).append(finding)
    return [
        CellNote(title, coordinate, ERROR_RGB if any(hit.is_error for hit in hits) else WARNING_RGB,
                 tuple(f"{hit.code}: {hit.message} {hit.hint}" for hit in hits))
        for (title, coordinate), hits in hits_by_cell.items()
    ]


def build_listing(findings: list[Finding], targets: list[tuple[str, str] | None]) -> Listing:
    """The «Замечания» sheet: a row per finding, its cell linked when it was located."""
    rows = []
    for number, (finding, target) in enumerate(zip(findings, targets, strict=True), start=1):
        rows.append((
            ListingCell(number),
            ListingCell(SEVERITY_RU.get(finding.severity, finding.severity),
                        fill=ERROR_RGB if finding.is_error else WARNING_RGB),
            ListingCell(finding.sheet),
            _address(finding, target),
            ListingCell(finding.value),
            ListingCell(f"{finding.code}: {finding.message}"),
            ListingCell(finding.hint),
        ))
    if not rows:
        rows.append((ListingCell("Замечаний нет."),))
    return Listing(FEEDBACK_SHEET, FEEDBACK_COLUMNS, rows)


def _address(finding: Finding, target: tuple[str, str] | None) -> ListingCell:
    if target is None:
        return ListingCell(finding.cell)
    title, coordinate = target
    shown = coordinate if finding.cell.replace("$", "").upper() == coordinate else f"{coordinate} ({finding.cell})"
    quoted = title.replace("'", "''")
    # An internal link is a «location» in OOXML; a «#…» target would be stored as an external relationship.
    return ListingCell(shown, link=f"'{quoted}'!{coordinate}")


def _mark_cells(workbook: openpyxl.Workbook, notes: list[CellNote]) -> None:
    for note in notes:
        cell = workbook[note.sheet][note.cell]
        cell.fill = PatternFill("solid", fgColor=note.fill)
        own = cell.comment.text if cell.comment is not None and cell.comment.author != COMMENT_AUTHOR else None
        text, height = comment_text(note.lines, own)  # the school's own note stays
        comment = Comment(text, COMMENT_AUTHOR)
        comment.width = COMMENT_WIDTH
        comment.height = height
        cell.comment = comment


def _add_feedback_sheet(workbook: openpyxl.Workbook, listing: Listing) -> None:
    sheet = workbook.create_sheet(listing.title, 0)
    wrap = Alignment(wrap_text=True, vertical="top")
    for column, (label, width) in enumerate(listing.columns, start=1):
        header = sheet.cell(1, column, label)
        header.font = Font(bold=True)
        header.alignment = wrap
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, items in enumerate(listing.rows, start=2):
        for column, item in enumerate(items, start=1):
            cell = sheet.cell(row, column)
            if isinstance(item.value, str):
                put_text(cell, item.value)
            else:
                cell.value = item.value
            if item.fill is not None:
                cell.fill = PatternFill("solid", fgColor=item.fill)
            if item.link is not None:
                cell.hyperlink = Hyperlink(ref=cell.coordinate, location=item.link)
                cell.style = "Hyperlink"
            cell.alignment = wrap
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(listing.columns))}{max(2, len(listing.rows) + 1)}"
    # Open the copy on «Замечания»; a second selected tab would group the sheets in Excel.
    for worksheet in workbook.worksheets:
        worksheet.sheet_view.tabSelected = False
    workbook.active = 0
    sheet.sheet_view.tabSelected = True
