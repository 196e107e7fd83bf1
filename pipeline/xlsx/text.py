"""Write values into openpyxl cells safely: text from schools stays text, never a live formula."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

# openpyxl's own rule and type code (openpyxl.cell.cell), not imported from it: status.py writes its workbook
# with this module and without openpyxl, whose import costs ≈ 0.2 s of every collection.
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # the control characters XML 1.0 cannot hold
TYPE_STRING = "s"
MAX_TEXT = 32767  # Excel's limit for one cell
FORMULA_START = ("=", "+", "-", "@")  # what Excel (and CSV injection) treat as a formula
DATE_FORMAT = "DD.MM.YYYY"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"


def to_cell_text(text: str) -> str:
    """*text* without the control characters XML cannot hold, cut to what one Excel cell holds."""
    return ILLEGAL_CHARACTERS.sub("", text)[:MAX_TEXT]


def is_formula_like(text: str) -> bool:
    """True when Excel would read *text* typed into a cell as a formula (and so must be marked as text)."""
    return text.startswith(FORMULA_START)


def put_text(cell: Any, text: str) -> Any:
    """Write *text* as a string cell; «=HYPERLINK(…)» or «=cmd|…» stays text, in openpyxl and in Excel."""
    text = to_cell_text(text)
    cell.value = text
    if is_formula_like(text):
        cell.data_type = TYPE_STRING
        cell.quotePrefix = True  # keeps it text when someone edits the cell in Excel, too
    return cell


def put_value(cell: Any, value: Any) -> Any:
    """Write a raw value: text via put_text, dates with a Russian date format, the rest as it is."""
    if isinstance(value, str):
        return put_text(cell, value)
    cell.value = value
    if isinstance(value, dt.datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT
    return cell
