"""Build the blank report workbook each school fills in: pre-filled labels, dropdown lists and cell checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.atomic import atomic_path
from pipeline.district.layout import (
    AWARDS,
    COURSES,
    INDICATORS,
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
from pipeline.district.roadmap import District, Indicator
from pipeline.xlsx.text import put_value

WORKBOOK_TITLE = "Отчёт ИБЦ"
# Sheets with a row per staff member, course or award have no fixed rows: cell checks cover this many.
LAST_TEMPLATE_ROW = 500
# REPORT_FORMAT §5 reads date cells and Excel serials only within 2020–2035.
FIRST_DATE = dt.date(2020, 1, 1)
LAST_DATE = dt.date(2035, 12, 31)
DATE_FORMAT = "DD.MM.YYYY"
TEXT_FORMAT = "@"
YES_NO_LIST = "да/нет"
YES_NO_VALUES = ("да", "нет")
LONG_TEXT_WIDTH = 40  # text columns at least this wide wrap their lines
# Pre-filled fields the school must not change: the pipeline identifies the school and format by them.
LOCKED_TITLE_FIELDS = ("Версия шаблона", "Код ОО")
# The columns of «Дорожная карта» and «Показатели» the school fills; the rest are labels.
ROADMAP_INPUT_COLUMNS = ("Статус", "Дата выполнения", "Документ", "Реквизиты документа", "Количество", "Ссылки",
                         "Комментарий")
INDICATOR_INPUT_COLUMNS = ("Значение", "Пояснение")

ERROR_TITLE = "Недопустимое значение"
LIST_ERROR = "Выберите значение из списка."
DATE_ERROR = "Введите дату в формате ДД.ММ.ГГГГ (с 01.01.2020 по 31.12.2035)."

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")
UNLOCKED = Protection(locked=False)


def build_template(district: District, school: School, year: int) -> openpyxl.Workbook:
    """Return the blank workbook of *school* for campaign *year*, with its title and fixed rows pre-filled."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    sheets = {name: workbook.create_sheet(name) for name in SHEETS}
    lists = _write_lists(workbook.create_sheet(LISTS_SHEET), district)

    _fill_title(sheets[TITLE], district, school, year, lists)
    _fill_roadmap(sheets[ROADMAP], district, lists)
    for name in (STAFF, COURSES, AWARDS):
        _fill_table(sheets[name], LAYOUTS[name], lists)
    _fill_indicators(sheets[INDICATORS], district, lists)

    workbook.active = 0
    properties = workbook.properties
    properties.title = WORKBOOK_TITLE
    properties.creator = district.name
    properties.subject = f"{district.name}, отчётный год {year}"
    properties.keywords = f"{district.format_version}; {school.code}; {year}"
    properties.description = f"Шаблон {district.format_version} для ОО {school.code} «{school.name}», {year} год"
    return workbook


def write_templates(district: District, schools: list[School], year: int, folder: Path) -> list[Path]:
    """Write ``folder/<Код ОО>.xlsx`` for every school, each atomically; return the paths written."""
    paths = []
    for school in schools:
        # The code becomes a file name; the register guarantees it is safe, a hand-made School may not.
        if not is_school_code(school.code):
            raise ValueError(f"«Код ОО» {school.code!r} нельзя использовать как имя файла")
        path = folder / f"{school.code}.xlsx"
        workbook = build_template(district, school, year)
        with atomic_path(path) as temporary:
            workbook.save(temporary)
        paths.append(path)
    return paths


def _write_lists(sheet: Worksheet, district: District) -> dict[str, str]:
    """Put every dropdown list in its own column; return each list's range as a validation formula."""
    sheet.sheet_state = "hidden"
    lists = {**district.lists, YES_NO_LIST: YES_NO_VALUES}
    ranges = {}
    for index, (name, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(index)
        put_value(sheet.cell(row=1, column=index), name).font = HEADER_FONT
        for row, value in enumerate(values, start=2):
            put_value(sheet.cell(row=row, column=index), value)
        sheet.column_dimensions[letter].width = max(len(value) for value in (name, *values)) + 2
        ranges[name] = f"{quote_sheetname(sheet.title)}!${letter}$2:${letter}${len(values) + 1}"
    # Hidden is not protected: a school that unhides the sheet still cannot break the dropdowns.
    sheet.protection.sheet = True
    return ranges


def _fill_title(sheet: Worksheet, district: District, school: School, year: int, lists: dict[str, str]) -> None:
    layout = LAYOUTS[TITLE]
    _write_header(sheet, layout)
    prefilled: dict[str, Any] = {
        "Версия шаблона": district.format_version,
        "Код ОО": school.code,
        "Наименование ОО": school.name,
        "Отчётный год": year,
    }
    for row, field in enumerate(TITLE_FIELDS, start=2):
        put_value(sheet.cell(row=row, column=1), field.name)
        value = put_value(sheet.cell(row=row, column=2), prefilled.get(field.name))
        value.alignment = Alignment(wrap_text=True, vertical="top")
        if field.name not in LOCKED_TITLE_FIELDS:
            value.protection = UNLOCKED
        if field.kind == "date":
            value.number_format = DATE_FORMAT
        rule = field
        if field.name == "Отчётный год":
            # Any other year is rejected (S05), so the cell accepts only the campaign's own.
            rule = Column(field.name, "whole", minimum=year, maximum=year)
        _validate(sheet, _column_validation(rule, lists), value.coordinate)
    _protect(sheet)
    sheet["A1"].comment = _instructions(district)


def _fill_roadmap(sheet: Worksheet, district: District, lists: dict[str, str]) -> None:
    layout = LAYOUTS[ROADMAP]
    _write_header(sheet, layout)
    last_row = len(district.items) + 1
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
            if column.kind == "date":
                cell.number_format = DATE_FORMAT
    for index, column in enumerate(layout.columns, start=1):
        if column.name in ROADMAP_INPUT_COLUMNS:
            letter = get_column_letter(index)
            _validate(sheet, _column_validation(column, lists), f"{letter}2:{letter}{last_row}")
    _protect(sheet)


def _fill_table(sheet: Worksheet, layout: SheetLayout, lists: dict[str, str]) -> None:
    """A sheet of 0..n rows: header only, with formats and checks prepared for the rows to come."""
    _write_header(sheet, layout)
    for index, column in enumerate(layout.columns, start=1):
        letter = get_column_letter(index)
        # Column styles, not styled empty cells: new rows pick them up and the sheet stays empty.
        if column.kind == "date":
            sheet.column_dimensions[letter].number_format = DATE_FORMAT
        if _is_long_text(column):
            sheet.column_dimensions[letter].alignment = Alignment(wrap_text=True, vertical="top")
        _validate(sheet, _column_validation(column, lists), f"{letter}2:{letter}{LAST_TEMPLATE_ROW}")


def _fill_indicators(sheet: Worksheet, district: District, lists: dict[str, str]) -> None:
    layout = LAYOUTS[INDICATORS]
    _write_header(sheet, layout)
    value_column = layout.column_names.index("Значение") + 1
    # One validation per kind of indicator, covering all its cells, rather than one per row.
    validations: dict[tuple[Any, ...], DataValidation] = {}
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
        key = (indicator.kind, indicator.positive, indicator.max)
        if key not in validations:
            validations[key] = _indicator_validation(indicator, lists)
            sheet.add_data_validation(validations[key])
        validations[key].add(sheet.cell(row=row, column=value_column).coordinate)
    explanation = get_column_letter(layout.column_names.index("Пояснение") + 1)
    _validate(sheet, _column_validation(layout.column("Пояснение"), lists),
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


def _column_validation(column: Column, lists: dict[str, str]) -> DataValidation | None:
    if column.kind == "list" and column.list_name:
        return _list_validation(lists[column.list_name])
    if column.kind == "yes_no":
        return _list_validation(lists[YES_NO_LIST])
    if column.kind == "date":
        return _date_validation()
    if column.kind in ("whole", "number"):
        return _number_validation(column.kind, column.minimum, column.maximum, step=column.step)
    if column.max_length is not None:
        return _length_validation(column.min_length or 0, column.max_length)
    return None


def _indicator_validation(indicator: Indicator, lists: dict[str, str]) -> DataValidation:
    if indicator.kind == "yes_no":
        return _list_validation(lists[YES_NO_LIST])
    return _number_validation(indicator.kind, 0, indicator.max, above_minimum=indicator.positive)


def _list_validation(formula: str) -> DataValidation:
    return DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                          errorTitle=ERROR_TITLE, error=LIST_ERROR)


def _date_validation() -> DataValidation:
    # Excel stores date bounds as serial numbers.
    return DataValidation(type="date", operator="between", formula1=str(int(to_excel(FIRST_DATE))),
                          formula2=str(int(to_excel(LAST_DATE))), allow_blank=True, showErrorMessage=True,
                          errorTitle=ERROR_TITLE, error=DATE_ERROR)


def _number_validation(kind: str, minimum: float | None, maximum: float | None, *, step: float | None = None,
                       above_minimum: bool = False) -> DataValidation:
    noun = "целое число" if kind == "whole" else "число"
    low = minimum if minimum is not None else 0
    if maximum is not None and low == maximum:
        operator, bounds, message = "equal", (low,), f"Введите {_ru_number(low)}"
    elif maximum is not None:
        operator, bounds = "between", (low, maximum)
        message = f"Введите {noun} от {_ru_number(low)} до {_ru_number(maximum)}"
    elif above_minimum:
        operator, bounds, message = "greaterThan", (low,), f"Введите {noun} больше {_ru_number(low)}"
    else:
        operator, bounds, message = "greaterThanOrEqual", (low,), f"Введите {noun} не меньше {_ru_number(low)}"
    if step is not None:
        message += f" с шагом {_ru_number(step)}"
    # Formulas are stored with a decimal dot whatever the locale Excel shows them in.
    formulas = [f"{value:g}" for value in bounds]
    return DataValidation(type="whole" if kind == "whole" else "decimal", operator=operator, formula1=formulas[0],
                          formula2=formulas[1] if len(formulas) > 1 else None, allow_blank=True,
                          showErrorMessage=True, errorTitle=ERROR_TITLE, error=f"{message}.")


def _length_validation(minimum: int, maximum: int) -> DataValidation:
    message = f"Не более {maximum} символов." if minimum == 0 else f"От {minimum} до {maximum} символов."
    return DataValidation(type="textLength", operator="between", formula1=str(minimum), formula2=str(maximum),
                          allow_blank=True, showErrorMessage=True, errorTitle=ERROR_TITLE, error=message)


def _validate(sheet: Worksheet, validation: DataValidation | None, cells: str) -> None:
    if validation is None:
        return
    validation.add(cells)
    sheet.add_data_validation(validation)


def _instructions(district: District) -> Comment:
    text = "\n".join((
        f"Как заполнить отчёт (формат {district.format_version}):",
        "• Заполняйте только незащищённые ячейки: на листе «Титул» — столбец «Значение», "
        "в «Дорожной карте» — столбцы «Статус»…«Комментарий», в «Показателях» — «Значение» и «Пояснение».",
        "• «Версию шаблона» и «Код ОО» не меняйте: по ним отчёт узнают при приёме.",
        "• Значения со стрелкой выбирайте из списка.",
        "• Даты вводите в формате ДД.ММ.ГГГГ, например 20.05.2025.",
        "• Числа — без единиц измерения, дробную часть отделяйте запятой; «0» — тоже значение.",
        "• На листах «Сотрудники», «Курсы», «Поощрения» — одна строка на сотрудника, курс, поощрение. "
        "ФИО не обязательны: можно писать «Сотрудник 1».",
        "• Не переименовывайте листы и столбцы, не удаляйте строки.",
    ))
    comment = Comment(text, district.name)
    comment.width = 480
    comment.height = 320
    return comment


def _is_long_text(column: Column) -> bool:
    return column.kind in ("text", "links") and column.width >= LONG_TEXT_WIDTH


def _ru_number(value: float) -> str:
    return f"{value:g}".replace(".", ",")
