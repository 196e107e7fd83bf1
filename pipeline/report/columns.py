"""How the report shows a table's columns and cells: Russian headers, share columns, cell typography."""

from __future__ import annotations

import datetime as dt
import numbers
import re
from typing import Any

import pandas as pd

from pipeline.report.model import Change, Share
from pipeline.typography import is_absent, ru_number, ru_percent, ru_short_date, tie_text

# Headers of the frames whose columns the aggregation names in English (see model.py).
COLUMN_LABELS = {
    "school": "Код ОО",
    "name": "ОО",
    "code": "Код замечания",
    "sheet": "Лист",
    "cell": "Ячейка",
    "message": "Замечание",
    "item": "Мероприятие",
    "link": "Ссылка",
    "index": "Индекс выполнения, %",
    "done": "Выполнено",
    "applicable": "Применимо",
    "path": "Файл",
    "sha256": "SHA-256",
    "status": "Статус",
    "arrived_at": "Получен",
    "figure": "Показатель",
    "previous": "Прошлый год",
    "current": "Текущий год",
    "date": "Дата",
    "accepted": "Принято",
    "unit": "Ед. изм.",
}
SCHOOL_NAME_LABELS = ("ОО", "Наименование")
# In a table with an «Ед. изм.» column, a unit ending in «%» makes that row's values shares 0–1 —
# only in these value columns (a base such as «Данные ОО» stays a count).
ROW_UNIT_COLUMNS = ("Значение", "Прошлый год", "Текущий год", "Медиана по ОО", "Медиана по району", "Значение ОО")
_SAFE_LINK = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


# A number in a table is shown with at most this many decimals, and every number of a column with as many
# as its most precise value needs: «13,90» beside «14,13», never «13,9» beside «14,13».
MAX_DIGITS = 2


class CellKind(str):
    """A column's kind (number | percent | date | link | text) that also carries the decimals its numbers share.

    A str, so the layout and the template treat it as the plain kind (a CSS class, «kind == "number"»)."""

    digits: int | None
    whole_stays_whole: bool

    def __new__(cls, kind: str, digits: int | None = None, whole_stays_whole: bool = False) -> CellKind:
        made = super().__new__(cls, kind)
        made.digits = digits
        made.whole_stays_whole = whole_stays_whole
        return made


def column_digits(values: pd.Series | list[Any]) -> int | None:
    """The decimals a column of numbers is shown with: None when all are whole, else what its most precise
    value needs (one or two)."""
    needed = 0
    for value in values:
        if is_absent(value) or isinstance(value, bool) or not isinstance(value, numbers.Real):
            continue
        rounded = round(float(value), MAX_DIGITS)
        if not rounded.is_integer():
            needed = max(needed, 1 if round(rounded, 1) == rounded else MAX_DIGITS)
    return needed or None


def is_share_column(name: str) -> bool:
    """A column holds shares 0–1 when its header ends with «%» or starts with «Доля» (the aggregate's convention)."""
    text = name.strip()
    return text.endswith("%") or text.lower().startswith("доля")


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a meaningful index (named, or labels such as item codes) as its first column(s);
    an unnamed integer index (0…n-1, or row numbers left by sorting) is dropped."""
    index = frame.index
    if all(name is None for name in index.names) and pd.api.types.is_integer_dtype(index.dtype):
        return frame.reset_index(drop=True)
    return frame.reset_index(names=[name or "Код" for name in index.names])


def column_label(name: Any) -> str:
    """Russian header for the model's English column names; other headers stay as aggregate.py wrote them."""
    return COLUMN_LABELS.get(str(name), str(name))


def column_kind(name: Any, values: pd.Series) -> str:
    """number | percent | date | link | text, from the header convention and the column's values."""
    text = str(name)
    present = values[values.map(lambda value: not is_absent(value))]
    if len(present) and present.map(lambda value: isinstance(value, Share)).all():
        return "percent"
    if len(present) and present.map(lambda value: isinstance(value, Change)).all():
        return "number"
    # Shares beside plain numbers: a table whose rows are different indicators (yes/no rows are shares).
    numeric = present[present.map(lambda value: isinstance(value, numbers.Real) and not isinstance(value, bool))]
    if len(numeric) and present.map(lambda value: isinstance(value, Share)).any() \
            and len(numeric) + int(present.map(lambda value: isinstance(value, Share)).sum()) == len(present):
        return CellKind("number", column_digits(numeric), column_label(text) in ROW_UNIT_COLUMNS)
    if is_share_column(column_label(text)):
        return "percent"
    if column_label(text) == "Ссылка":
        return "link"
    if present.empty:
        return "text"
    if pd.api.types.is_bool_dtype(present) or present.map(lambda value: isinstance(value, bool)).all():
        return "text"
    if present.map(lambda value: isinstance(value, numbers.Real)).all():
        # In a table whose rows are different indicators (an «Ед. изм.» column), a count stays whole.
        return CellKind("number", column_digits(present), column_label(text) in ROW_UNIT_COLUMNS)
    if present.map(lambda value: isinstance(value, dt.date)).all():
        return "date"
    return "text"



def school_columns(frame: pd.DataFrame) -> list[Any]:
    """The columns naming a school: its code («school», «Код ОО») and its name («name», «Наименование»)."""
    return [name for name in frame.columns if column_label(name) in ("Код ОО", *SCHOOL_NAME_LABELS)]



def format_cell(value: Any, kind: str) -> str:
    """A table cell in Russian typography: «1 234,50», «45,5 %», «90,9 % (10 из 11)», «−6,7 п. п.»,
    «01.11.2025», «да», «—»; a number with its column's decimals (see CellKind)."""
    if is_absent(value):
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, (Share, Change)):
        return str(value)
    if kind == "percent" and isinstance(value, numbers.Real):
        return ru_percent(value)
    if isinstance(value, numbers.Real):
        digits = getattr(kind, "digits", None)
        if digits and getattr(kind, "whole_stays_whole", False) and float(value).is_integer():
            digits = None
        return ru_number(value, digits)
    if isinstance(value, dt.datetime):
        # A date that pandas stored as a timestamp has no time worth showing.
        return value.strftime("%d.%m.%Y" if value.time() == dt.time() else "%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return ru_short_date(value)
    return tie_text(str(value))


def safe_link(value: Any) -> str | None:
    """The URL when it is a plain http(s) link worth making clickable; None for anything else."""
    text = "" if is_absent(value) else str(value).strip()
    return text if _SAFE_LINK.match(text) else None

