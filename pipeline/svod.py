"""Write svod.xlsx: every aggregate table of the year's report on its own formatted sheet, school text as text."""

from __future__ import annotations

import datetime as dt
import numbers
import re
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.atomic import atomic_path
from pipeline.render import ROW_UNIT_COLUMNS, column_label, display_frame, is_share_column
from pipeline.report_model import YearReport
from pipeline.typography import is_missing
from pipeline.xlsx_text import put_text

WHOLE_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.00"
SHARE_FORMAT = "0.0%"
DATE_FORMAT = "DD.MM.YYYY"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
HEADER_FILL = PatternFill("solid", fgColor="E6ECF3")
MAX_TITLE = 31
MAX_WIDTH = 60
_FORBIDDEN_IN_TITLE = re.compile(r"[\[\]:*?/\\]")


def write_svod(report: YearReport, path: Path) -> Path:
    """Write svod.xlsx atomically at *path* and return *path* (its bytes are then attached to the PDF)."""
    workbook = build_svod(report)
    with atomic_path(path) as temporary:
        workbook.save(temporary)
    return path


def build_svod(report: YearReport) -> openpyxl.Workbook:
    """The workbook: the sections' key figures first, then each section's tables, the chart data and the appendices."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, frame in svod_tables(report):
        sheet = workbook.create_sheet(sheet_title(title, workbook.sheetnames))
        fill_sheet(sheet, frame)
    return workbook


def svod_tables(report: YearReport) -> list[tuple[str, pd.DataFrame]]:
    """Every aggregate table of *report* with the title its sheet is named after, in report order."""
    sections = (report.coverage, report.roadmap, report.regulation, report.informing, report.staff,
                report.awards, report.library, report.dynamics)
    tables = [("Показатели разделов", key_figures(report))]
    tables += [(title, frame) for section in sections for title, frame in section.tables.items()]
    tables += [
        ("Статусы по мероприятиям", report.status_by_item.rename_axis(report.status_by_item.index.name or "item")),
        ("Поступление отчётов", report.arrivals),
        ("Статусы ОО по мероприятиям", report.item_matrix),
        ("Индекс выполнения по ОО", report.index_by_school),
        ("Показатели ОО для графиков", report.key_indicators),
        ("Динамика для графика", report.year_over_year),
        ("Сводная таблица по ОО", report.appendix_schools),
        ("Замечания к данным", report.appendix_warnings),
        ("Ссылки", report.appendix_links),
        ("Файлы отчёта", report.files_used),
    ]
    return tables


def key_figures(report: YearReport) -> pd.DataFrame:
    """One row per key figure of every section, with its base and last year's value."""
    sections = (report.coverage, report.roadmap, report.regulation, report.informing, report.staff,
                report.awards, report.library, report.dynamics)
    rows = [
        {"Раздел": section.title, "Показатель": figure.label, "Значение": figure.value, "Ед. изм.": figure.unit,
         "По данным ОО": figure.base, "Всего ОО": figure.of, "Прошлый год": figure.previous,
         "Изменение": figure.change}
        for section in sections for figure in section.figures
    ]
    columns = ["Раздел", "Показатель", "Значение", "Ед. изм.", "По данным ОО", "Всего ОО", "Прошлый год",
               "Изменение"]
    return pd.DataFrame(rows, columns=columns)


def sheet_title(title: str, taken: list[str]) -> str:
    """An Excel-safe sheet name: no []:*?/\\, at most 31 characters, unique ignoring case."""
    base = _FORBIDDEN_IN_TITLE.sub("_", title).strip().strip("'")
    if len(base) > MAX_TITLE:
        # Cut at a word boundary when one is near: «Статусы мероприятий дорожной», not «… дорожной ка».
        cut = base[: MAX_TITLE + 1].rfind(" ")
        base = base[: cut if cut >= MAX_TITLE // 2 else MAX_TITLE]
        # …and without a dangling «и», «по», «к» at the end.
        base = re.sub(r"(\s+\S{1,2})+$", "", base) or base
    base = base.strip() or "Таблица"
    used = {name.lower() for name in taken}
    candidate, number = base, 1
    while candidate.lower() in used:
        number += 1
        suffix = f" ({number})"
        candidate = base[: MAX_TITLE - len(suffix)].rstrip() + suffix
    return candidate


def fill_sheet(sheet: Worksheet, frame: pd.DataFrame) -> None:
    """Header row in bold and frozen, values typed and formatted, columns as wide as their contents."""
    frame = display_frame(frame)
    names = [str(name) for name in frame.columns]
    labels = [column_label(name) for name in names]
    shares = [is_share_column(label) for label in labels]
    unit_column = labels.index("Ед. изм.") if "Ед. изм." in labels else None
    widths = [max((len(word) for word in label.split()), default=4) + 2 for label in labels]
    for column, label in enumerate(labels, start=1):
        cell = sheet.cell(1, column)
        put_value(cell, label)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row_number, row in enumerate(frame.itertuples(index=False), start=2):
        # A row whose unit ends in «%» holds shares 0–1, as Figure.unit «%» and a header ending in «%» do.
        share_row = unit_column is not None and str(row[unit_column] or "").strip().endswith("%")
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row_number, column)
            is_share = shares[column - 1] or (share_row and labels[column - 1] in ROW_UNIT_COLUMNS)
            put_value(cell, value, share=is_share)
            widths[column - 1] = max(widths[column - 1], _display_width(value))
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(MAX_WIDTH, max(8, width))
    sheet.freeze_panes = "A2"
    if names:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{max(2, len(frame) + 1)}"


def put_value(cell: Cell, value: Any, share: bool = False) -> None:
    """Write one value typed: numbers with «# ##0» or «0,0 %», dates as dates, text always as text."""
    if is_missing(value):
        return
    if isinstance(value, bool):
        put_text(cell, "да" if value else "нет")
    elif isinstance(value, numbers.Real):
        number = float(value)
        cell.value = int(number) if number.is_integer() and not share else number
        if share:
            cell.number_format = SHARE_FORMAT
        else:
            cell.number_format = WHOLE_FORMAT if number.is_integer() else DECIMAL_FORMAT
    elif isinstance(value, dt.datetime):
        moment = value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
        # Excel has no time zones: keep the wall-clock time the ledger recorded.
        cell.value = moment.replace(tzinfo=None)
        cell.number_format = DATE_FORMAT if moment.time() == dt.time() else DATETIME_FORMAT
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    else:
        put_text(cell, str(value))


def _display_width(value: Any) -> int:
    if is_missing(value):
        return 0
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return len(f"{float(value):,.2f}") + 1
    return min(MAX_WIDTH, max((len(line) for line in str(value).splitlines()), default=0) + 2)
