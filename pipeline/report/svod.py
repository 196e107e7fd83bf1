"""Write svod.xlsx: every aggregate table of the year's report on its own formatted sheet, school text as text."""

from __future__ import annotations

import datetime as dt
import numbers
import re
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.report.columns import ROW_UNIT_COLUMNS, column_label, display_frame, is_share_column
from pipeline.report.model import Change, Share, YearReport
from pipeline.statuses import SubmissionStatus
from pipeline.typography import is_absent
from pipeline.xlsx.stream import StreamWorkbook, freeze_header, set_autofilter, set_widths, stream_workbook
from pipeline.xlsx.stream_sheet import Sheet

WHOLE_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.00"
SHARE_FORMAT = "0.0%"
DATE_FORMAT = "DD.MM.YYYY"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
# A change keeps its sign and a true minus; a change of shares is in percentage points.
POINTS_FORMAT = '+0.0" п. п.";\u22120.0" п. п.";0.0" п. п."'
SIGNED_FORMATS = {None: "+#,##0;\u2212#,##0;0", 0: "+#,##0;\u2212#,##0;0", 1: "+#,##0.0;\u2212#,##0.0;0.0",
                  2: "+#,##0.00;\u2212#,##0.00;0.00"}
HEADER_STYLE = (("bold", True), ("bg_color", "#E6ECF3"), ("pattern", 1), ("text_wrap", True), ("valign", "top"))
MAX_TITLE = 31
MAX_WIDTH = 60
# Column widths follow the header and the first rows: measuring a million cells took 9 s at 10,000 schools.
WIDTH_SAMPLE = 500
_FORBIDDEN_IN_TITLE = re.compile(r"[\[\]:*?/\\]")
# Excel caps a sheet name at 31 characters. The report's own titles longer than that get a short name
# that is still a whole phrase; conclusions.py and recommendations.py cite sheets by their name in svod.
SHORT_TITLES = {
    "Статусы мероприятий дорожной карты": "Мероприятия дорожной карты",
    "Сотрудники по должностям и характеру работы": "Сотрудники по должностям",
    "Повышение квалификации по видам программ": "Обучение по видам программ",
    "Организации, проводившие обучение": "Обучение по организациям",
    "Ключевые показатели к прошлому году": "Динамика ключевых показателей",
    "Показатели ОО к их прошлому году": "Динамика показателей ОО",
}
FUNCTION_WORDS = ("для", "без", "при", "или", "над", "под", "про", "через")


def write_svod(report: YearReport, path: Path) -> Path:
    """Write svod.xlsx atomically at *path* and return *path* (its bytes are then attached to the PDF).

    The sections' key figures come first, then each section's tables, the chart data and the appendices.
    """
    with stream_workbook(path) as book:
        book.set_properties(creator="eibm")
        taken: list[str] = []
        for title, frame in svod_tables(report):
            taken.append(sheet_title(title, taken))
            fill_sheet(book, book.add_sheet(taken[-1]), frame)
    return path


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
        ("Файлы отчёта", files_table(report.files_used)),
    ]
    return tables


def files_table(files_used: pd.DataFrame) -> pd.DataFrame:
    """The files the report rests on as a user reads them (svod.xlsx, files.csv): Russian headers and statuses."""
    table = files_used
    if "status" in table.columns:
        table = table.assign(status=[SubmissionStatus(status).label for status in table["status"]])
    return table.rename(columns=column_label)


def key_figures(report: YearReport) -> pd.DataFrame:
    """One row per key figure of every section, with its base and last year's value."""
    sections = (report.coverage, report.roadmap, report.regulation, report.informing, report.staff,
                report.awards, report.library, report.dynamics)
    rows = [
        {"Раздел": section.title, "Показатель": figure.label, "Значение": figure.value, "Ед. изм.": figure.unit,
         "По данным ОО": figure.base, "Всего ОО": figure.of,
         "Доля: n": figure.counts.part if figure.counts else None,
         "Доля: из N": figure.counts.whole if figure.counts else None,
         "N в": (figure.counts.unit or "ОО") if figure.counts else None,
         "Прошлый год": figure.previous,
         "Изменение": Change(figure.change, figure.unit, figure.digits) if figure.change is not None else None,
         "Примечание": figure.note}
        for section in sections for figure in section.figures
    ]
    columns = ["Раздел", "Показатель", "Значение", "Ед. изм.", "По данным ОО", "Всего ОО", "Доля: n", "Доля: из N",
               "N в", "Прошлый год", "Изменение", "Примечание"]
    return pd.DataFrame(rows, columns=columns)


def sheet_title(title: str, taken: list[str]) -> str:
    """An Excel-safe sheet name: no []:*?/\\, at most 31 characters, never cut inside a word, unique ignoring case.

    A known long title takes its short name from SHORT_TITLES; any other loses whole words from its end
    (and a dangling «и», «по», «к» or comma with them) until it fits; a repeated name gets « (2)», « (3)» …
    in place of its last words.
    """
    base = " ".join(_FORBIDDEN_IN_TITLE.sub("_", SHORT_TITLES.get(title, title)).strip("' ").split()) or "Таблица"
    used = {name.lower() for name in taken}
    candidate, number = _fit_words(base, MAX_TITLE), 1
    while candidate.lower() in used:
        number += 1
        suffix = f" ({number})"
        candidate = _fit_words(base, MAX_TITLE - len(suffix)) + suffix
    return candidate


def _fit_words(text: str, limit: int) -> str:
    """*text* without its last words until it is at most *limit* characters and ends on a full word."""
    words = text.split(" ")
    while len(words) > 1 and (len(" ".join(words)) > limit or _is_dangling(words[-1])):
        words.pop()
    fitted = " ".join(words).rstrip(",;")
    # One word longer than the limit: no word boundary to cut at, so the word itself is cut.
    return fitted if len(fitted) <= limit else fitted[:limit]


def _is_dangling(word: str) -> bool:
    """A last word that leaves the name unfinished: a preposition or conjunction («и», «по», «для»)."""
    return (len(word) <= 2 and word.isalpha() and word.islower()) or word in FUNCTION_WORDS


def fill_sheet(book: StreamWorkbook, sheet: Sheet, frame: pd.DataFrame) -> None:
    """Header row in bold and frozen, values typed and formatted, columns as wide as their first rows' contents."""
    frame = display_frame(frame)
    names = [str(name) for name in frame.columns]
    labels = [column_label(name) for name in names]
    shares = [is_share_column(label) for label in labels]
    unit_column = labels.index("Ед. изм.") if "Ед. изм." in labels else None
    follows_unit = [label in ROW_UNIT_COLUMNS for label in labels]
    for column, label in enumerate(labels):
        book.write(sheet, 0, column, label, HEADER_STYLE)
    for row_number, row in enumerate(frame.itertuples(index=False, name=None), start=1):
        # A row whose unit ends in «%» holds shares 0–1, as Figure.unit «%» and a header ending in «%» do.
        share_row = unit_column is not None and str(row[unit_column] or "").strip().endswith("%")
        for column, value in enumerate(row):
            if not is_absent(value):
                is_share = shares[column] or (share_row and follows_unit[column])
                write_value(book, sheet, row_number, column, value, is_share)
    set_widths(sheet, column_widths(frame, labels))
    freeze_header(sheet)
    if names:
        set_autofilter(sheet, max(1, len(frame)), len(names) - 1)


def column_widths(frame: pd.DataFrame, labels: list[str]) -> list[float]:
    """Widths in characters from the header's longest word and the first WIDTH_SAMPLE rows, 8 to MAX_WIDTH."""
    widths = [max((len(word) for word in label.split()), default=4) + 2 for label in labels]
    for row in frame.head(WIDTH_SAMPLE).itertuples(index=False, name=None):
        widths = [max(width, _display_width(value)) for width, value in zip(widths, row, strict=True)]
    return [min(MAX_WIDTH, max(8, width)) for width in widths]


def write_value(book: StreamWorkbook, sheet: Sheet, row: int, column: int, value: Any, share: bool) -> None:
    """Write one present value typed: numbers with «# ##0» or «0,0 %», dates as dates, text always as text."""
    if isinstance(value, bool):
        book.write(sheet, row, column, "да" if value else "нет")
    elif isinstance(value, Share):
        if value.value is not None:
            book.write(sheet, row, column, value.value, number_format=SHARE_FORMAT)
    elif isinstance(value, Change):
        if value.value is not None and value.unit == "%":
            book.write(sheet, row, column, round(value.value * 100, 1), number_format=POINTS_FORMAT)
        elif value.value is not None:
            book.write(sheet, row, column, float(value.value),
                       number_format=SIGNED_FORMATS.get(value.digits, SIGNED_FORMATS[2]))
    elif isinstance(value, numbers.Real):
        number = float(value)
        if share:
            book.write(sheet, row, column, number, number_format=SHARE_FORMAT)
        elif number.is_integer():
            book.write(sheet, row, column, int(number), number_format=WHOLE_FORMAT)
        else:
            book.write(sheet, row, column, number, number_format=DECIMAL_FORMAT)
    elif isinstance(value, dt.datetime):
        moment = value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
        # Excel has no time zones: keep the wall-clock time the ledger recorded.
        moment = moment.replace(tzinfo=None)
        number_format = DATE_FORMAT if moment.time() == dt.time() else DATETIME_FORMAT
        book.write(sheet, row, column, moment, number_format=number_format)
    elif isinstance(value, dt.date):
        book.write(sheet, row, column, value, number_format=DATE_FORMAT)
    else:
        book.write(sheet, row, column, str(value))


def _display_width(value: Any) -> int:
    if is_absent(value):
        return 0
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, (Share, Change)):
        return len(str(value)) + 1
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return len(f"{float(value):,.2f}") + 1
    return min(MAX_WIDTH, max((len(line) for line in str(value).splitlines()), default=0) + 2)
