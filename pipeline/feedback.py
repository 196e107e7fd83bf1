"""Write the feedback a school gets for each file: a Russian HTML page and an annotated copy of its workbook."""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import openpyxl
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.atomic import atomic_path, write_text
from pipeline.findings import SEVERITY_RU, Finding
from pipeline.labels import fold
from pipeline.layout import FEEDBACK_SHEET
from pipeline.read import RawSheet, column_letter
from pipeline.templating import environment
from pipeline.typography import count, ru_short_date
from pipeline.xlsx_text import ILLEGAL_CHARACTERS, MAX_TEXT, put_text, put_value

logger = logging.getLogger(__name__)

STATUS_RU = {
    "accepted": "принят",
    "rejected": "отклонён",
    "superseded": "заменён",
    "duplicate": "дубликат",
    "unrecognized": "не распознан",
}
STATE_RU = {
    "on_time": "отчёт принят в срок",
    "late": "отчёт принят с опозданием",
    "rejected": "есть только отклонённые файлы",
    "missing": "отчёт не получен",
}

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
NO_CODE_FOLDER = "_без_кода"
COMMENT_AUTHOR = "Проверка ИБЦ"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
MAX_STEM = 60
# Excel's own «Плохой» and «Нейтральный» fills: light enough to read the value through in grey print.
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
FEEDBACK_COLUMNS = (
    ("№", 5),
    ("Уровень", 16),
    ("Лист", 18),
    ("Ячейка", 24),
    ("Значение", 30),
    ("Что не так", 60),
    ("Как исправить", 60),
)

_SAFE_STEM_CHAR = re.compile(r"[^0-9A-Za-zА-Яа-яЁё_-]+")
_EXCEL_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
# How RawSheet.address names a cell of a CSV part (REPORT_FORMAT §6: line number and column name).
_CSV_CELL_BY_NAME = re.compile(r"^стр\. ([0-9]{1,7}), «(.*)»$")
_CSV_CELL_BY_NUMBER = re.compile(r"^стр\. ([0-9]{1,7}), столбец ([0-9]{1,5})$")
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MAX_EXCEL_ROW = 1_048_576
MAX_EXCEL_COLUMN = 16_384


@dataclass(frozen=True)
class FeedbackInput:
    """What the collection knows about one processed school file, enough to write its feedback."""

    file_name: str  # path relative to the drop folder, as the school named it
    sha256: str
    year: int
    status: str  # key of STATUS_RU
    processed_at: datetime.datetime
    findings: list[Finding]
    school_code: str | None  # None when the file names no school of the register
    school_name: str | None
    school_state: str | None  # key of STATE_RU: the school's current state in the campaign
    deadline: datetime.date
    workbook: Path | None  # archived .xlsx/.xlsm to annotate; None for csv/xls/ods/unreadable
    sheets: list[RawSheet] | None  # raw sheets as read, to rebuild a workbook; None if unreadable


def feedback_folder(outputs: Path, year: int, school_code: str | None, sha256: str) -> Path:
    """Return outputs/<year>/feedback/<Код ОО>/, or …/_без_кода/<sha12>/ for a file of no known school."""
    base = outputs / str(year) / "feedback"
    if school_code is None:
        prefix = sha256[:12]
        if not re.fullmatch(r"[0-9a-fA-F]{12}", prefix):
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return base / NO_CODE_FOLDER / prefix.lower()
    # The code was validated against the register; this guards the path against a broken register.
    if not school_code.strip(".") or any(part in school_code for part in ("/", "\\", "..", "\x00")):
        raise ValueError(f"unsafe school code for a folder name: {school_code!r}")
    return base / school_code


def write_feedback(outputs: Path, item: FeedbackInput) -> list[Path]:
    """Write the HTML page and, for a readable file with errors, the annotated workbook; return the paths.

    The annotated copy is for the file a school must fix: loading and saving a workbook with openpyxl
    costs ~150 ms, more than judging it, and the page already lists every warning with its cell.
    """
    folder = feedback_folder(outputs, item.year, item.school_code, item.sha256)
    name = f"{safe_stem(item.file_name)}_{item.sha256[:8].lower()}"
    page = folder / f"{name}.html"
    write_text(page, render_page(item), durable=False)  # atomic by rename; not worth two fsyncs a file
    written = [page]
    has_errors = any(finding.is_error for finding in item.findings)
    if item.status != "unrecognized" and has_errors and (item.workbook is not None or item.sheets):
        annotated = folder / f"{name}_замечания.xlsx"
        if write_annotated_workbook(annotated, item):
            written.append(annotated)
    return written


def safe_stem(file_name: str) -> str:
    """Return the file's stem reduced to letters, digits, «-» and «_» (at most 60 characters)."""
    stem = PurePosixPath(file_name.replace("\\", "/")).stem
    cleaned = _SAFE_STEM_CHAR.sub("_", stem)
    cleaned = re.sub(r"_{2,}", "_", cleaned).strip("_-")[:MAX_STEM].strip("_-")
    return cleaned or "файл"


def render_page(item: FeedbackInput) -> str:
    """Render the Russian feedback page for *item*."""
    ordered = sort_findings(item.findings)
    errors = sum(1 for finding in ordered if finding.is_error)
    context = {
        "file_name": item.file_name,
        "processed_at": item.processed_at,
        "year": item.year,
        "school_code": item.school_code,
        "school_name": item.school_name,
        "status": item.status,
        "status_ru": STATUS_RU[item.status],
        "explanation": status_explanation(item),
        "state_ru": STATE_RU[item.school_state] if item.school_state else None,
        "deadline": item.deadline,
        "findings": ordered,
        "summary": count_summary(errors, len(ordered) - errors),
        "severity_ru": SEVERITY_RU,
    }
    return environment().get_template("feedback.html").render(context)


def status_explanation(item: FeedbackInput) -> str:
    """Say what the status means for the school and what to do next."""
    deadline = ru_short_date(item.deadline)
    if item.status == "accepted":
        return "Отчёт принят. Предупреждения ниже можно учесть в следующий раз."
    if item.status == "rejected":
        if item.processed_at.date() > item.deadline:
            # A late report is still accepted (REPORT_FORMAT §1), so «до <срок>» would only confuse.
            return (
                f"Отчёт отклонён: исправьте ошибки и отправьте файл заново как можно скорее "
                f"(срок сдачи {deadline} прошёл, исправленный отчёт будет принят с опозданием)."
            )
        return f"Отчёт отклонён: исправьте ошибки и отправьте файл заново до {deadline}."
    if item.status == "superseded":
        return (
            "Этот файл заменён более поздним файлом вашей школы: учитывается последний отправленный отчёт. "
            "Ничего делать не нужно."
        )
    if item.status == "duplicate":
        return "Файл с точно таким же содержимым уже был получен и проверен раньше. Ничего делать не нужно."
    if item.status == "unrecognized":
        return (
            "Этот файл не является отчётом ИБЦ. Отправьте заполненную по шаблону книгу Excel (.xlsx) "
            "или CSV-файлы листов отчёта."
        )
    raise ValueError(f"unknown status: {item.status!r}")


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, then warnings; the order of the check within each."""
    return sorted(findings, key=lambda finding: not finding.is_error)


ERROR_FORMS = ("ошибка", "ошибки", "ошибок")
WARNING_FORMS = ("предупреждение", "предупреждения", "предупреждений")


def count_summary(errors: int, warnings: int) -> str:
    """«3 ошибки, 1 предупреждение»; «Замечаний нет.» when both are zero."""
    parts = [count(number, *forms) for number, forms in ((errors, ERROR_FORMS), (warnings, WARNING_FORMS)) if number]
    return ", ".join(parts) if parts else "Замечаний нет."


def write_annotated_workbook(target: Path, item: FeedbackInput) -> bool:
    """Write the school's workbook with faulty cells marked and a «Замечания» sheet; False if impossible."""
    workbook = _load_school_workbook(item.workbook) if item.workbook is not None else None
    if workbook is None:
        if not item.sheets:
            logger.warning("no annotated copy for %s: the workbook cannot be loaded", item.file_name)
            return False
        workbook = build_workbook(item.sheets)
    _drop_feedback_sheet(workbook)
    ordered = sort_findings(item.findings)
    targets = [_locate(workbook, finding) for finding in ordered]
    _mark_cells(workbook, ordered, targets)
    _add_feedback_sheet(workbook, ordered, targets)
    with atomic_path(target) as temporary:
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


def _locate(workbook: openpyxl.Workbook, finding: Finding) -> tuple[str, str] | None:
    """Return (sheet title, cell coordinate) of *finding* in *workbook*, or None for a whole-file finding."""
    title = _find_sheet(workbook, finding.sheet)
    if title is None or not finding.cell:
        return None
    worksheet = workbook[title]
    # Row 1 holds row 0 of the raw sheet (a rebuilt CSV part) or the header the school sees (a workbook).
    header = [cell.value for cell in next(worksheet.iter_rows(min_row=1, max_row=1), ())]
    coordinate = to_excel_cell(finding.cell, header)
    if coordinate is None:
        return None
    if isinstance(worksheet[coordinate], MergedCell):
        coordinate = _merged_anchor(worksheet, coordinate)
    return title, coordinate


def _find_sheet(workbook: openpyxl.Workbook, name: str) -> str | None:
    """Findings name sheets as the form does; the school's tab may differ in case or spaces (§0)."""
    worksheets = [sheet for sheet in workbook.worksheets if isinstance(sheet, Worksheet)]
    for worksheet in worksheets:
        if worksheet.title == name:
            return worksheet.title
    for worksheet in worksheets:
        if fold(worksheet.title) == fold(name):
            return worksheet.title
    return None


def _merged_anchor(worksheet: Worksheet, coordinate: str) -> str:
    for merged in worksheet.merged_cells.ranges:
        if coordinate in merged:
            return f"{get_column_letter(merged.min_col)}{merged.min_row}"
    return coordinate


def _mark_cells(workbook: openpyxl.Workbook, findings: list[Finding], targets: list[tuple[str, str] | None]) -> None:
    notes: dict[tuple[str, str], list[Finding]] = {}
    for finding, target in zip(findings, targets, strict=True):
        if target is not None:
            notes.setdefault(target, []).append(finding)
    for (title, coordinate), hits in notes.items():
        cell = workbook[title][coordinate]
        cell.fill = ERROR_FILL if any(hit.is_error for hit in hits) else WARNING_FILL
        lines = [f"{hit.code}: {hit.message} {hit.hint}" for hit in hits]
        if cell.comment is not None and cell.comment.author != COMMENT_AUTHOR:
            lines.insert(0, cell.comment.text)  # the school's own note stays
        text = ILLEGAL_CHARACTERS.sub("", "\n".join(lines))[:MAX_TEXT]
        comment = Comment(text, COMMENT_AUTHOR)
        comment.width = 320
        comment.height = min(600, 40 + 15 * (len(text) // 45 + len(lines)))
        cell.comment = comment


def _add_feedback_sheet(
    workbook: openpyxl.Workbook, findings: list[Finding], targets: list[tuple[str, str] | None]
) -> None:
    sheet = workbook.create_sheet(FEEDBACK_SHEET, 0)
    for column, (label, width) in enumerate(FEEDBACK_COLUMNS, start=1):
        header = sheet.cell(1, column, label)
        header.font = Font(bold=True)
        header.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(column)].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for number, (finding, target) in enumerate(zip(findings, targets, strict=True), start=1):
        row = number + 1
        sheet.cell(row, 1, number)
        level = sheet.cell(row, 2)
        put_text(level, SEVERITY_RU.get(finding.severity, finding.severity))
        level.fill = ERROR_FILL if finding.is_error else WARNING_FILL
        put_text(sheet.cell(row, 3), finding.sheet)
        _put_address(sheet.cell(row, 4), finding, target)
        put_text(sheet.cell(row, 5), finding.value)
        put_text(sheet.cell(row, 6), f"{finding.code}: {finding.message}")
        put_text(sheet.cell(row, 7), finding.hint)
        for column in range(1, len(FEEDBACK_COLUMNS) + 1):
            if column != 4 or target is None:
                sheet.cell(row, column).alignment = wrap
    if not findings:
        sheet.cell(2, 1, "Замечаний нет.")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(FEEDBACK_COLUMNS))}{max(2, len(findings) + 1)}"
    # Open the copy on «Замечания»; a second selected tab would group the sheets in Excel.
    for worksheet in workbook.worksheets:
        worksheet.sheet_view.tabSelected = False
    workbook.active = 0
    sheet.sheet_view.tabSelected = True


def _put_address(cell: Any, finding: Finding, target: tuple[str, str] | None) -> None:
    if target is None:
        put_text(cell, finding.cell)
        return
    title, coordinate = target
    shown = coordinate if finding.cell.replace("$", "").upper() == coordinate else f"{coordinate} ({finding.cell})"
    put_text(cell, shown)
    quoted = title.replace("'", "''")
    # An internal link is a «location» in OOXML; a «#…» target would be stored as an external relationship.
    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{quoted}'!{coordinate}")
    cell.style = "Hyperlink"
    cell.alignment = Alignment(wrap_text=True, vertical="top")
