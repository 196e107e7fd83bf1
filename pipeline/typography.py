"""Russian typography of the report: numbers, percentages, dates and plural forms from Babel's ru locale."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from numbers import Real

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

LOCALE = Locale("ru")
MISSING = "—"
# Babel's ru patterns: '#,##0.###' and '#,##0\xa0%'; only the fraction part is ours to choose.
_INTEGER_PART = re.compile(r"#,##0(\.[0#]*)?")
_PERCENT_PATTERN = LOCALE.percent_formats[None].pattern


def is_absent(value: object) -> bool:
    """True for None, NaN, pandas NA/NaT: a value the report shows as «—»."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT and pd.NA are not equal to themselves
    except TypeError:  # pd.NA refuses bool()
        return True


def ru_number(value: float | int | None, digits: int | None = None) -> str:
    """«1 234,5»: Babel's ru grouping; whole numbers without decimals, else at most two (or exactly *digits*)."""
    if is_absent(value):
        return MISSING
    number = float(value)
    if math.isinf(number):
        return MISSING
    if digits is None:
        pattern = "#,##0" if number.is_integer() else "#,##0.##"
    else:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
    with _half_up():
        return format_decimal(_decimal(number), format=pattern, locale=LOCALE)


def ru_percent(share: float | None, digits: int = 1) -> str:
    """«45,5 %» for a share 0–1, with Babel's ru percent sign spacing; None → «—»."""
    if is_absent(share) or math.isinf(float(share)):
        return MISSING
    fraction = "." + "0" * digits if digits else ""
    pattern = _INTEGER_PART.sub("#,##0" + fraction, _PERCENT_PATTERN, count=1)
    with _half_up():
        return format_percent(_decimal(float(share)), format=pattern, locale=LOCALE)


def ru_date(value: dt.date | None) -> str:
    """«1 ноября 2025 г.»."""
    if is_absent(value):
        return MISSING
    return format_date(value, format="d MMMM y", locale=LOCALE) + "\u00a0г."


def ru_short_date(value: dt.date | None) -> str:
    """«01.11.2025»."""
    if is_absent(value):
        return MISSING
    return value.strftime("%d.%m.%Y")


def plural(n: float, one: str, few: str, many: str) -> str:
    """The word form CLDR's ru plural rules give for *n*: plural(3, "школа", "школы", "школ") → «школы»."""
    form = LOCALE.plural_form(abs(n))
    # CLDR's «other» covers fractions («1,5 школы»), which take the genitive singular, i.e. the «few» form.
    return {"one": one, "few": few, "many": many}.get(form, few)


def count(n: float, one: str, few: str, many: str) -> str:
    """«3 школы», «5 школ», «21 школа»."""
    return f"{ru_number(n)}\u00a0{plural(n, one, few, many)}"


def base_text(base: int, of: int) -> str:
    """«по данным 47 из 52 ОО»."""
    return f"по данным {ru_number(base)} из {ru_number(of)} ОО"


def ru_change(change: float | None, unit: str = "") -> str:
    """A signed change: «+12 чел.», «-3,5 п.п.» for shares (unit «%»), «0» when nothing changed."""
    if is_absent(change):
        return MISSING
    number = ru_number(float(change) * 100, 1) if unit == "%" else ru_number(change)
    # A change that rounds to zero carries no sign: «+0,0 п.п.» would claim a growth nobody sees.
    sign = "+" if float(change) > 0 and re.search("[1-9]", number) else ""
    suffix = "\u00a0п.п." if unit == "%" else (f"\u00a0{unit}" if unit else "")
    return f"{sign}{number}{suffix}"


def ru_value(value: float | None, unit: str = "") -> str:
    """A key figure's value with its unit: «45,5 %» for a share (unit «%»), «1 234 экз.» otherwise."""
    if is_absent(value):
        return MISSING
    if unit == "%":
        return ru_percent(value)
    return ru_number(value) + (f"\u00a0{unit}" if unit else "")


def _decimal(number: Real) -> decimal.Decimal:
    # repr() keeps what the float shows (0.125, not 0.12499999…), so half-up rounds as a reader expects.
    return decimal.Decimal(repr(float(number)))


def _half_up() -> decimal.localcontext:
    # Babel quantizes in the current decimal context, ROUND_HALF_EVEN by default («2,5» → «2»).
    return decimal.localcontext(rounding=decimal.ROUND_HALF_UP)


def ru_datetime(value: dt.datetime | None) -> str:
    """«05.11.2025 09:00»."""
    return MISSING if value is None else value.strftime("%d.%m.%Y %H:%M")

