"""Build the Excel cell checks of template cells: dropdowns, date and number bounds, and input messages."""

from __future__ import annotations

import datetime as dt

from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation

from pipeline.district.layout import Column
from pipeline.district.roadmap import Indicator
from pipeline.xlsx.prompts import Prompt

# REPORT_FORMAT §5 reads date cells and Excel serials only within 2020–2035.
FIRST_DATE = dt.date(2020, 1, 1)
LAST_DATE = dt.date(2035, 12, 31)
YES_NO_LIST = "да/нет"
YES_NO_VALUES = ("да", "нет")

ERROR_TITLE = "Недопустимое значение"
LIST_ERROR = "Выберите значение из списка."
DATE_ERROR = "Введите дату в формате ДД.ММ.ГГГГ (с 01.01.2020 по 31.12.2035)."


def build_column_check(column: Column, lists: dict[str, str], prompt: Prompt | None) -> DataValidation | None:
    """The check of one column (or «Титул» field), showing *prompt* when a cell is selected; None for neither."""
    validation = _rule(column, lists)
    if validation is None and prompt is None:
        return None
    return with_prompt(validation or DataValidation(allow_blank=True), prompt)


def build_indicator_check(indicator: Indicator, lists: dict[str, str], prompt: Prompt) -> DataValidation:
    """The check of one indicator's «Значение» cell, by the indicator's own kind."""
    if indicator.kind == "yes_no":
        validation = _list_validation(lists[YES_NO_LIST])
    else:
        validation = _number_validation(indicator.kind, 0, indicator.max, above_minimum=indicator.positive)
    return with_prompt(validation, prompt)


def with_prompt(validation: DataValidation, prompt: Prompt | None) -> DataValidation:
    """*validation* that also shows *prompt* (Excel's «input message») while its cell is selected."""
    if prompt is not None:
        validation.showInputMessage = True
        validation.promptTitle = prompt.title
        validation.prompt = prompt.text
    return validation


def _rule(column: Column, lists: dict[str, str]) -> DataValidation | None:
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


def _ru_number(value: float) -> str:
    return f"{value:g}".replace(".", ",")
