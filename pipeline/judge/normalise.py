"""Turn raw cell values into typed values by the rules of REPORT_FORMAT §5, never guessing."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from pipeline.district.hosts import to_host
from pipeline.district.labels import fold

# Excel's 1900 date system counts from 1899-12-30 once its 1900 leap-year bug is accounted for.
EXCEL_EPOCH = dt.date(1899, 12, 30)
SERIAL_DATE_YEARS = (2020, 2035)
MISSING_WORDS = ("", "н/д", "нет данных")
# In number, date and text cells a dash is a placeholder for «no value»; in да/нет cells it means нет.
DASHES = ("-", "—", "–")
DATE_HINT = "укажите дату в формате ДД.ММ.ГГГГ"
# The largest magnitude a number cell may hold. Every value goes into the ledger (an int64 or a double),
# into svod.xlsx and into sums over thousands of schools: 10¹⁵ is exact as a double (below 2⁵³), far
# inside int64 (a 10¹⁹ once failed every collection), within Excel's 15 significant digits, and a
# million times any real school figure. Not district data: it is what the storage can hold, not a rule.
MAX_MAGNITUDE = 10**15
MAGNITUDE_BOUNDS = "по абсолютной величине не больше 1\u00a0000\u00a0000\u00a0000\u00a0000\u00a0000"

# Python's \d matches every Unicode digit («٣», «３») and int() and float() read them too: numbers,
# dates and phones are ASCII digits only, so anything else stays text and is an error (V02, V03).
_DMY = re.compile(r"^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4}|[0-9]{2})$")
_ISO = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]00:00(?::00)?)?$")
_THOUSANDS = re.compile(r"[ \u00a0\u202f\u2009\u2007]")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]+(?:[.,][0-9]+)?$")
_GROUPED_NUMBER = re.compile(r"^[+-]?[0-9]{1,3}(?:[ \u00a0\u202f\u2009\u2007][0-9]{3})+(?:[.,][0-9]+)?$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([^@\s]+\.[^@\s.]+)$")
_LINK_SEPARATORS = re.compile(r"[;\s]+")
_PHONE = re.compile(r"^[0-9+\s\-()]{5,30}$")
# A number may be followed by its unit, as a librarian writes it («3 100 экз.», «5 шт», «95 %»): the unit
# is dropped and the value is the number, without a warning (the unit adds nothing wrong). One rule for every
# numeric cell: the words its unit is written with, case ignored, the final dot optional, a space or none.
# A count («ед.», and a column with no unit of its own, such as «Количество») is written in шт. or ед. alike.
# A unit of another kind («5 чел.» where экз. are counted) stays an error (V03): it may be the wrong row.
COUNT_WORDS = ("шт", "штук", "штуки", "ед", "единиц", "единицы")
UNIT_WORDS = {
    "чел.": ("чел", "человек", "человека"),
    "экз.": ("экз", "экземпляров", "экземпляра"),
    "ед.": COUNT_WORDS,
    "мест": ("мест", "места", "место"),
    "%": ("%",),
    "м²": ("м²", "м2", "кв.м", "кв. м", "кв м", "м"),
    "лет": ("год", "года", "г"),
    "часов": ("ч", "час", "часа"),
}


class ValueProblem(Exception):
    """A cell could not be read; *code* is the V-code and *params* fill its message."""

    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code = code
        self.params = params


def is_missing(raw: Any, dash_is_missing: bool = True) -> bool:
    """Empty, «н/д», «нет данных» (and, outside да/нет cells, a dash) mean no value."""
    if raw is None:
        return True
    if isinstance(raw, float) and raw != raw:  # NaN
        return True
    if not isinstance(raw, str):
        return False
    folded = fold(raw)
    return folded in MISSING_WORDS or (dash_is_missing and folded in DASHES)


def to_text(raw: Any) -> str | None:
    """Text as a person sees it: whole floats without «.0», dates as ДД.ММ.ГГГГ."""
    if is_missing(raw):
        return None
    if isinstance(raw, bool):
        return "ИСТИНА" if raw else "ЛОЖЬ"
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else str(raw).replace(".", ",")
    if isinstance(raw, (dt.datetime, dt.date)):
        return raw.strftime("%d.%m.%Y")
    return " ".join(str(raw).split()) if "\n" not in str(raw) else str(raw).strip()


def to_date(raw: Any) -> dt.date | None:
    """Read ДД.ММ.ГГГГ, ДД.ММ.ГГ, ГГГГ-ММ-ДД, a date cell, or an Excel serial within 2020–2035."""
    if _is_nan(raw):
        raise ValueProblem("V02")
    if is_missing(raw):
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        # Compared before any conversion: an infinite float or a huge int would not survive int() or float().
        if 0 < raw < 2958466 and float(raw).is_integer():
            date = EXCEL_EPOCH + dt.timedelta(days=int(raw))
            if SERIAL_DATE_YEARS[0] <= date.year <= SERIAL_DATE_YEARS[1]:
                return date
        raise ValueProblem("V02")
    text = str(raw).strip()
    match = _DMY.match(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
        if len(match.group(3)) == 2:
            year += 2000
        return _make_date(year, month, day)
    match = _ISO.match(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
        return _make_date(year, month, day)
    raise ValueProblem("V02")


def _make_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueProblem("V02") from None


def to_number(raw: Any, whole: bool, unit: str | None = None) -> float | None:
    """Read a Russian-written number; *whole* rejects fractions. Returns a finite float within
    ±MAX_MAGNITUDE, or None; NaN is not a number (V03), anything larger in magnitude is V05."""
    expected = "целое число" if whole else "число"
    example = "1234" if whole else "12,5"
    # Before is_missing, which takes a NaN for an empty cell: a NaN only comes from a crafted «<v>NaN</v>».
    if _is_nan(raw):
        raise ValueProblem("V03", expected=expected, example=example)
    if is_missing(raw):
        return None
    if isinstance(raw, bool) or isinstance(raw, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        raise ValueProblem("V03", expected=expected, example=example)
    if isinstance(raw, (int, float)):
        # An int past 10³⁰⁸ would raise OverflowError in float(): it is simply too large.
        number = float(raw) if abs(raw) <= MAX_MAGNITUDE else math.inf
    else:
        text = _strip_unit(str(raw).strip(), unit)
        if _GROUPED_NUMBER.match(text):
            text = _THOUSANDS.sub("", text)
        if not _PLAIN_NUMBER.match(text):
            raise ValueProblem("V03", expected=expected, example=example)
        number = float(text.replace(",", "."))  # a string of 400 digits becomes inf, caught below
    # Before the whole-number check: an infinite value is too large (V05), not a fraction.
    if not abs(number) <= MAX_MAGNITUDE:
        raise ValueProblem("V05", bounds=MAGNITUDE_BOUNDS)
    if whole and not number.is_integer():
        raise ValueProblem("V03", expected=expected, example=example)
    return number


def _is_nan(raw: Any) -> bool:
    return isinstance(raw, float) and math.isnan(raw)


def _strip_unit(text: str, unit: str | None) -> str:
    """*text* without a trailing word of *unit* (of a count when the column has no unit of its own)."""
    lowered = text.lower()
    for word in unit_words(unit):
        for spelling in (word + ".", word):
            if lowered.endswith(spelling) and len(text) > len(spelling):
                return text[: -len(spelling)].strip()
    return text


def unit_words(unit: str | None) -> tuple[str, ...]:
    """The words a number of *unit* may be followed by, lower-case, without the final dot, longest first."""
    if unit is None:
        words: tuple[str, ...] = COUNT_WORDS
    else:
        own = unit.lower().rstrip(".")
        words = (own, *UNIT_WORDS.get(unit, ()))
    return tuple(sorted(set(words), key=len, reverse=True))


def to_yes_no(raw: Any, yes_words: tuple[str, ...], no_words: tuple[str, ...]) -> bool | None:
    """да/д/yes/+/1/есть/имеется → True; нет/н/no/-/0/отсутствует → False; empty, н/д → None."""
    if is_missing(raw, dash_is_missing=False):
        return None
    text = to_text(raw) or ""
    folded = fold(text)
    if folded in (fold(word) for word in yes_words):
        return True
    if folded in (fold(word) for word in no_words) or folded in DASHES:
        return False
    raise ValueProblem("V04", allowed="да, нет")


def to_list_value(raw: Any, allowed: tuple[str, ...], synonyms: dict[str, str] | None = None) -> str | None:
    """Return the list's own spelling of *raw*, or *raw* as text when it is not in the list.

    An unknown value is kept as it is written so that the schema reports it (V04) with the value.
    """
    text = to_text(raw)
    if text is None:
        return None
    folded = fold(text)
    for value in allowed:
        if fold(value) == folded:
            return value
    for word, value in (synonyms or {}).items():
        if fold(word) == folded:
            return value
    return text


def to_links(raw: Any) -> tuple[str, ...]:
    """Split a cell into http(s) links: scheme added when missing, host IDNA-encoded and lower-cased."""
    text = to_text(raw)
    if text is None:
        return ()
    links = []
    for part in _LINK_SEPARATORS.split(text.strip()):
        if part:
            links.append(to_link(part))
    return tuple(links)


def to_link(text: str) -> str:
    part = text.strip().rstrip(".,")
    lowered = part.lower()
    if "://" not in part:
        part = "https://" + part
    elif not lowered.startswith(("http://", "https://")):
        raise ValueProblem("V06")
    scheme, rest = part.split("://", 1)
    host, slash, path = rest.partition("/")
    host = host.split("@")[-1].split(":")[0]
    try:
        host = to_host(host)
    except ValueError:
        raise ValueProblem("V06") from None
    return f"{scheme.lower()}://{host}{slash}{path}"


def to_email(raw: Any) -> str | None:
    text = to_text(raw)
    if text is None:
        return None
    match = _EMAIL.match(text.strip())
    if not match:
        raise ValueProblem("V07")
    try:
        to_host(match.group(1))
    except ValueError:
        raise ValueProblem("V07") from None
    return text.strip()


def to_phone(raw: Any) -> str | None:
    text = to_text(raw)
    if text is None:
        return None
    if not _PHONE.match(text):
        raise ValueProblem("V03", expected="номер телефона", example="+7 (3822) 12-34-56")
    return text


def to_item_code(raw: Any, codes: tuple[str, ...]) -> str | None:
    """Name the roadmap item a `Код` cell means: 2.0 → «2», 3.1 → «3.1», Latin «1.4a» → «1.4а»."""
    text = to_text(raw)
    if text is None:
        return None
    folded = fold(text).replace("a", "а").replace("b", "б").rstrip(".")
    folded = folded.replace(",", ".")
    for code in codes:
        if fold(code) == folded:
            return code
    return text
