"""Build the blank report workbook each school fills in: instruction, labels, dropdowns, hints and protection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.atomic import atomic_path
from pipeline.district.layout import (
    AWARDS,
    COURSES,
    INDICATORS,
    INSTRUCTION_SHEET,
    LAYOUTS,
    LISTS_SHEET,
    ROADMAP,
    SHEETS,
    STAFF,
    TITLE,
    TITLE_FIELDS,
    Column,
    SheetLayout,
)
from pipeline.district.register import School, is_school_code
from pipeline.district.roadmap import Campaign, District
from pipeline.xlsx.cell_checks import YES_NO_LIST, YES_NO_VALUES, build_column_check, build_indicator_check
from pipeline.xlsx.instructions import write_instructions
from pipeline.xlsx.prompts import Prompt, build_prompts, indicator_prompt, quantity_prompt
from pipeline.xlsx.text import put_value

WORKBOOK_TITLE = "Отчёт ИБЦ"
# Sheets with a row per staff member, course or award have no fixed rows: cell checks cover this many.
LAST_TEMPLATE_ROW = 500
DATE_FORMAT = "DD.MM.YYYY"
TEXT_FORMAT = "@"
LONG_TEXT_WIDTH = 40  # text columns at least this wide wrap their lines
# Pre-filled fields the school must not change: the pipeline identifies the school, format and campaign by them,
# and the name comes from the register (a wrong one is the district's to fix there).
LOCKED_TITLE_FIELDS = ("Версия шаблона", "Код ОО", "Наименование ОО", "Отчётный год")
# The columns of «Дорожная карта» and «Показатели» the school fills; the rest are labels.
ROADMAP_INPUT_COLUMNS = ("Статус", "Дата выполнения", "Документ", "Реквизиты документа", "Количество", "Ссылки",
                         "Комментарий")
INDICATOR_INPUT_COLUMNS = ("Значение", "Пояснение")
# The note on «Титул»!A1 predates the instruction sheet; annotated copies keep it, so it stays and points there.
TITLE_NOTE = (f"Как заполнить отчёт: см. лист «{INSTRUCTION_SHEET}». Выделите ячейку — появится подсказка. "
              "Даты — в формате ДД.ММ.ГГГГ.")

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
# Grey says «filled for you»: the labels and pre-filled values a school reads but does not type.
PREFILLED_FILL = PatternFill("solid", fgColor="F2F2F2")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")
UNLOCKED = Protection(locked=False)


def build_template(district: District, school: School, year: int, send_to: str | None = None) -> openpyxl.Workbook:
    """Return the blank workbook of *school* for campaign *year*, with its instruction, title and fixed rows.

    *send_to* is the district's mailbox for reports ([mail] reply_to); without one the instruction says to
    hand the file to the district.
    """
    campaign = district.campaign(year)
    prompts = build_prompts(district, campaign)
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    write_instructions(workbook.create_sheet(INSTRUCTION_SHEET), district, school, campaign, send_to)
    sheets = {name: workbook.create_sheet(name) for name in SHEETS}
    lists = _write_lists(workbook.create_sheet(LISTS_SHEET), district)

    _fill_title(sheets[TITLE], district, school, campaign, lists, prompts)
    _fill_roadmap(sheets[ROADMAP], district, lists, prompts)
    for name in (STAFF, COURSES, AWARDS):
        _fill_table(sheets[name], LAYOUTS[name], lists, prompts)
    _fill_indicators(sheets[INDICATORS], district, lists, prompts)

    workbook.active = 0
    properties = workbook.properties
    properties.title = WORKBOOK_TITLE
    properties.creator = district.name
    properties.subject = f"{district.name}, отчётный год {year}"
    properties.keywords = f"{district.format_version}; {school.code}; {year}"
    properties.description = f"Шаблон {district.format_version} для ОО {school.code} «{school.name}», {year} год"
    return workbook


def write_templates(district: District, schools: list[School], year: int, folder: Path,
                    send_to: str | None = None) -> list[Path]:
    """Write ``folder/<Код ОО>.xlsx`` for every school, each atomically; return the paths written."""
    paths = []
    for school in schools:
        # The code becomes a file name; the register guarantees it is safe, a hand-made School may not.
        if not is_school_code(school.code):
            raise ValueError(f"«Код ОО» {school.code!r} нельзя использовать как имя файла")
        path = folder / f"{school.code}.xlsx"
        workbook = build_template(district, school, year, send_to)
        with atomic_path(path) as temporary:
            workbook.save(temporary)
        paths.append(path)
    return paths


def list_headers() -> dict[str, str]:
    """The heading of each dropdown list on «Справочники»: the fields that offer it, «Статус (Поощрения)»."""
    users: dict[str, list[str]] = {}
    for sheet, columns in ((TITLE, TITLE_FIELDS), *((name, LAYOUTS[name].columns) for name in SHEETS[1:])):
        for column in columns:
            if column.kind == "list" and column.list_name:
                users.setdefault(column.list_name, []).append(f"{column.name} ({sheet})")
    return {name: "; ".join(labels) for name, labels in users.items()}


def _write_lists(sheet: Worksheet, district: District) -> dict[str, str]:
    """Put every dropdown list in its own column; return each list's range as a validation formula."""
    sheet.sheet_state = "hidden"
    headers = {**list_headers(), YES_NO_LIST: YES_NO_LIST}
    lists = {name: values for name, values in {**district.lists, YES_NO_LIST: YES_NO_VALUES}.items()
             if name in headers}
    ranges = {}
    for index, (name, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(index)
        put_value(sheet.cell(row=1, column=index), headers[name]).font = HEADER_FONT
        for row, value in enumerate(values, start=2):
            put_value(sheet.cell(row=row, column=index), value)
        sheet.column_dimensions[letter].width = max(len(value) for value in (headers[name], *values)) + 2
        ranges[name] = f"{quote_sheetname(sheet.title)}!${letter}$2:${letter}${len(values) + 1}"
    # Hidden is not protected: a school that unhides the sheet still cannot break the dropdowns.
    sheet.protection.sheet = True
    return ranges


def _fill_title(sheet: Worksheet, district: District, school: School, campaign: Campaign, lists: dict[str, str],
                prompts: dict[tuple[str, str], Prompt]) -> None:
    layout = LAYOUTS[TITLE]
    _write_header(sheet, layout)
    prefilled: dict[str, Any] = {
        "Версия шаблона": district.format_version,
        "Код ОО": school.code,
        "Наименование ОО": school.name,
        "Отчётный год": campaign.year,
    }
    for row, field in enumerate(TITLE_FIELDS, start=2):
        put_value(sheet.cell(row=row, column=1), field.name).fill = PREFILLED_FILL
        value = put_value(sheet.cell(row=row, column=2), prefilled.get(field.name))
        value.alignment = Alignment(wrap_text=True, vertical="top")
        if field.name in LOCKED_TITLE_FIELDS:
            value.fill = PREFILLED_FILL
        else:
            value.protection = UNLOCKED
        if field.kind == "date":
            value.number_format = DATE_FORMAT
        rule = field
        if field.name == "Отчётный год":
            # Any other year is rejected (S05), so the cell accepts only the campaign's own.
            rule = Column(field.name, "whole", minimum=campaign.year, maximum=campaign.year)
        _validate(sheet, build_column_check(rule, lists, prompts.get((TITLE, field.name))), value.coordinate)
    _protect(sheet)
    note = Comment(TITLE_NOTE, district.name)
    note.width, note.height = 320, 90
    sheet["A1"].comment = note


def _fill_roadmap(sheet: Worksheet, district: District, lists: dict[str, str],
                  prompts: dict[tuple[str, str], Prompt]) -> None:
    layout = LAYOUTS[ROADMAP]
    _write_header(sheet, layout)
    last_row = len(district.items) + 1
    quantity = layout.column_names.index("Количество") + 1
    for row, item in enumerate(district.items, start=2):
        # Text, not numbers: a spreadsheet would otherwise show item «2» as 2 and «3.1» as 3,1.
        code = put_value(sheet.cell(row=row, column=1), item.code)
        code.number_format = TEXT_FORMAT
        put_value(sheet.cell(row=row, column=2), item.title)
        put_value(sheet.cell(row=row, column=3), item.due_label)
        for index, column in enumerate(layout.columns, start=1):
            cell = sheet.cell(row=row, column=index)
            cell.alignment = Alignment(wrap_text=_is_long_text(column), vertical="top")
            if column.name in ROADMAP_INPUT_COLUMNS:
                cell.protection = UNLOCKED
            else:
                cell.fill = PREFILLED_FILL
            if column.kind == "date":
                cell.number_format = DATE_FORMAT
        # What to count differs by item, so each «Количество» cell has its own hint.
        _validate(sheet, build_column_check(layout.column("Количество"), lists, quantity_prompt(item)),
                  sheet.cell(row=row, column=quantity).coordinate)
    for index, column in enumerate(layout.columns, start=1):
        if column.name in ROADMAP_INPUT_COLUMNS and column.name != "Количество":
            letter = get_column_letter(index)
            _validate(sheet, build_column_check(column, lists, prompts[(ROADMAP, column.name)]),
                      f"{letter}2:{letter}{last_row}")
    _protect(sheet)


def _fill_table(sheet: Worksheet, layout: SheetLayout, lists: dict[str, str],
                prompts: dict[tuple[str, str], Prompt]) -> None:
    """A sheet of 0..n rows: a locked header, with formats, checks and hints prepared for the rows to come."""
    _write_header(sheet, layout)
    for index, column in enumerate(layout.columns, start=1):
        letter = get_column_letter(index)
        # Column styles, not styled empty cells: new rows pick them up and the sheet stays empty. The header's
        # own cells keep the default (locked) protection.
        dimension = sheet.column_dimensions[letter]
        dimension.protection = UNLOCKED
        if column.kind == "date":
            dimension.number_format = DATE_FORMAT
        if _is_long_text(column):
            dimension.alignment = Alignment(wrap_text=True, vertical="top")
        _validate(sheet, build_column_check(column, lists, prompts[(layout.name, column.name)]),
                  f"{letter}2:{letter}{LAST_TEMPLATE_ROW}")
    _protect(sheet)
    # A row per staff member, course or award: the school adds and removes rows below the header.
    sheet.protection.insertRows = False
    sheet.protection.deleteRows = False


def _fill_indicators(sheet: Worksheet, district: District, lists: dict[str, str],
                     prompts: dict[tuple[str, str], Prompt]) -> None:
    layout = LAYOUTS[INDICATORS]
    _write_header(sheet, layout)
    value_column = layout.column_names.index("Значение") + 1
    for row, indicator in enumerate(district.indicators, start=2):
        code = put_value(sheet.cell(row=row, column=1), indicator.code)
        code.number_format = TEXT_FORMAT
        put_value(sheet.cell(row=row, column=2), indicator.name)
        put_value(sheet.cell(row=row, column=3), indicator.unit)
        for index, column in enumerate(layout.columns, start=1):
            cell = sheet.cell(row=row, column=index)
            cell.alignment = Alignment(wrap_text=_is_long_text(column), vertical="top")
            if column.name in INDICATOR_INPUT_COLUMNS:
                cell.protection = UNLOCKED
            else:
                cell.fill = PREFILLED_FILL
        # One check per indicator: its bounds and its hint («P11, %: в процентах») are its own.
        _validate(sheet, build_indicator_check(indicator, lists, indicator_prompt(indicator)),
                  sheet.cell(row=row, column=value_column).coordinate)
    explanation = get_column_letter(layout.column_names.index("Пояснение") + 1)
    _validate(sheet, build_column_check(layout.column("Пояснение"), lists, prompts[(INDICATORS, "Пояснение")]),
              f"{explanation}2:{explanation}{len(district.indicators) + 1}")
    _protect(sheet)


def _write_header(sheet: Worksheet, layout: SheetLayout) -> None:
    for index, column in enumerate(layout.columns, start=1):
        cell = put_value(sheet.cell(row=1, column=index), column.name)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGNMENT
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"


def _protect(sheet: Worksheet) -> None:
    """Lock the labels without a password; the school may still resize columns and rows."""
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False


def _validate(sheet: Worksheet, validation: DataValidation | None, cells: str) -> None:
    if validation is None:
        return
    validation.add(cells)
    sheet.add_data_validation(validation)


def _is_long_text(column: Column) -> bool:
    return column.kind in ("text", "links") and column.width >= LONG_TEXT_WIDTH
