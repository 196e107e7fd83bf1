"""Russian typography of the report: numbers, shares, dates (Babel's ru locale), numerals agreeing (pymorphy3)."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
import re
from numbers import Real

import pymorphy3
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

LOCALE = Locale("ru")
MISSING = "—"
MINUS = "\u2212"  # a true minus sign: a hyphen «-3» reads as a dash or a range
NBSP = "\u00a0"
POINTS = f"п.{NBSP}п."  # процентные пункты: the difference of two shares
# Babel's ru patterns: '#,##0.###' and '#,##0\xa0%'; only the fraction part is ours to choose.
_INTEGER_PART = re.compile(r"#,##0(\.[0#]*)?")
_PERCENT_PATTERN = LOCALE.percent_formats[None].pattern
# A word pymorphy3 may inflect: lower-case Cyrillic of three letters or more; «ОО», «чел.», «ч», «м²» stay as written.
_INFLECTABLE = re.compile(r"^[а-яё]{3,}(-[а-яё]{3,})?$")
# «№ 5» and «5 ОО», «12 чел.», «3 %» keep together at a line end.
_NUMBER_SIGN = re.compile(r"№\s+(?=\S)")
_NUMBER_UNIT = re.compile(r"(?<=\d) (?=(?:ОО|чел\.|экз\.|ч|г\.|гг\.|%|п\. ?п\.|м²|ед\.|мест|руб\.)(?![а-яё]))")
# A run of five or more digits not part of a code, date or decimal: «18181» → «18 181».
_LONG_NUMBER = re.compile(r"(?<![\d.,/:\-–\w])\d{5,}(?![\d.,/:\-–]\d|\w)")


def is_absent(value: object) -> bool:
    """True for None, NaN, pandas NA/NaT: a value the report shows as «—»."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT and pd.NA are not equal to themselves
    except TypeError:  # pd.NA refuses bool()
        return True


def ru_number(value: float | int | None, digits: int | None = None) -> str:
    """«1 234,5», «−7,3»: Babel's ru grouping and a true minus; whole numbers without decimals, else at most
    two (or exactly *digits*)."""
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
        text = format_decimal(_decimal(number), format=pattern, locale=LOCALE)
    return _true_minus(text)


def ru_percent(share: float | None, digits: int = 1) -> str:
    """«45,5 %» for a share 0–1, with Babel's ru percent sign spacing; None → «—»."""
    if is_absent(share) or math.isinf(float(share)):
        return MISSING
    fraction = "." + "0" * digits if digits else ""
    pattern = _INTEGER_PART.sub("#,##0" + fraction, _PERCENT_PATTERN, count=1)
    with _half_up():
        return _true_minus(format_percent(_decimal(float(share)), format=pattern, locale=LOCALE))


def ru_share(part: float | None, whole: float | None, unit: str = "", digits: int = 1) -> str:
    """«90,9 % (10 из 11)», «85,7 % (6 из 7 чел.)»: a share with the counts it is made of; «—» without a whole."""
    if is_absent(part) or is_absent(whole) or not whole:
        return MISSING
    return f"{ru_percent(part / whole, digits)} ({of_text(part, whole, unit)})"


def ru_date(value: dt.date | None) -> str:
    """«1 ноября 2025 г.»."""
    if is_absent(value):
        return MISSING
    return format_date(value, format="d MMMM y", locale=LOCALE) + f"{NBSP}г."


def ru_short_date(value: dt.date | None) -> str:
    """«01.11.2025»."""
    if is_absent(value):
        return MISSING
    return value.strftime("%d.%m.%Y")


def plural(n: float, word: str, *_forms: str) -> str:
    """*word* (or a phrase led by it) agreeing with the number *n*: plural(3, "школа") → «школы»,
    plural(5, "представление к поощрению") → «представлений к поощрению»; «ОО», «чел.» stay as written.

    pymorphy3 inflects the word, so no table of forms is needed; callers that still pass the three forms
    (one, few, many) get the first one agreed and the rest ignored.
    """
    head, _, rest = word.partition(" ")
    return _agreed(_number_class(n), head) + (f" {rest}" if rest else "")


def count(n: float, word: str, *_forms: str) -> str:
    """«3 школы», «5 школ», «21 школа», «1 ОО»: the number and the agreeing word, joined by a no-break space."""
    return f"{ru_number(n)}{NBSP}{plural(n, word)}"


def of_text(part: float, whole: float, unit: str = "") -> str:
    """«47 из 52 ОО» as one unbreakable group: a line never ends at «из» with «52 ОО» on the next."""
    return f"{ru_number(part)}{NBSP}из{NBSP}{ru_number(whole)}" + (f"{NBSP}{unit}" if unit else "")


def base_text(base: int, of: int) -> str:
    """«по данным 47 из 52 ОО»."""
    return f"по данным {of_text(base, of, 'ОО')}"


def ru_change(change: float | None, unit: str = "", digits: int | None = None) -> str:
    """A signed change: «+12 чел.», «−3,5 п. п.» for shares (unit «%»), «0» when nothing changed."""
    if is_absent(change):
        return MISSING
    if unit == "%":
        number = ru_number(_rounded(float(change) * 100, 1), 1)
    else:
        number = ru_number(_rounded(float(change), digits), digits)
    # A change that rounds to zero carries no sign: «+0,0 п. п.» would claim a growth nobody sees.
    if not re.search("[1-9]", number):
        number = number.removeprefix(MINUS)
    elif float(change) > 0:
        number = "+" + number
    if unit == "%":
        return f"{number}{NBSP}{POINTS}"
    return _with_unit(number, unit)


def ru_value(value: float | None, unit: str = "", digits: int | None = None) -> str:
    """A key figure's value with its unit: «45,5 %» for a share (unit «%»), «1 234 экз.», «8,7 книги на читателя»."""
    if is_absent(value):
        return MISSING
    if unit == "%":
        return ru_percent(value)
    return _with_unit(ru_number(_rounded(float(value), digits), digits), unit)


def quoted(text: str) -> str:
    """*text* in «ёлочки», its own quotes turned into „лапки“: «раздел „Школьные ИБЦ“»."""
    return "«" + text.replace("«", "„").replace("»", "“") + "»"


def tie_text(text: str) -> str:
    """Text with no line break after «№» or between a number and its unit, and long numbers grouped:
    «СОШ № 5», «12 чел.», «18 181 + 871 = 19 052»."""
    text = _NUMBER_SIGN.sub(f"№{NBSP}", text)
    text = _NUMBER_UNIT.sub(NBSP, text)
    return _LONG_NUMBER.sub(lambda match: ru_number(int(match.group())), text)


def _with_unit(number: str, unit: str) -> str:
    """*number* as shown and its unit agreeing with what the reader sees: «1,00 книги», «21 книга»."""
    if not unit:
        return number
    whole = number.lstrip("+" + MINUS).replace(NBSP, "").replace("\u202f", "")
    shown = None if "," in whole else int(whole)
    head, _, rest = unit.partition(" ")
    return f"{number}{NBSP}{_agreed(shown, head)}" + (f" {rest}" if rest else "")


def _rounded(number: float, digits: int | None) -> float:
    # A difference of two sums of 10¹⁵ carries the float's last bits («…0,0000001»): show what the digits keep.
    if digits is None:
        digits = 0 if abs(number) >= 1e6 else 2
    return round(number, digits)


def _true_minus(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def _number_class(n: float) -> int | None:
    """The number pymorphy3 agrees with: a whole number as is; None for a fraction («1,5 школы»)."""
    number = abs(float(n))
    return int(number) if number.is_integer() else None


@functools.lru_cache(maxsize=4096)
def _agreed(number: int | None, word: str) -> str:
    if not _INFLECTABLE.match(word):
        return word
    parsed = _noun_parse(word)
    if parsed is None:
        return word
    # A fraction takes the genitive singular: «1,5 школы», «8,7 книги».
    inflected = parsed.inflect({"sing", "gent"}) if number is None else parsed.make_agree_with_number(number)
    return word if inflected is None else inflected.word


def _noun_parse(word: str) -> pymorphy3.analyzer.Parse | None:
    """The reading of *word* as a noun (or adjective) in the nominative, else the accusative («строку»);
    a word in another case («книг на читателя», a unit's usual label) is agreed from its dictionary form."""
    readings = [parse for parse in _analyser().parse(word) if parse.tag.POS in ("NOUN", "ADJF", "PRTF")]
    for case in ("nomn", "accs"):
        for parse in readings:
            if parse.tag.case == case:
                return parse
    return readings[0].normalized if readings else None


@functools.cache
def _analyser() -> pymorphy3.MorphAnalyzer:
    # Loading the dictionaries takes ~0,15 s: once per process (the report may run in a worker process).
    return pymorphy3.MorphAnalyzer(lang="ru")


def _decimal(number: Real) -> decimal.Decimal:
    # repr() keeps what the float shows (0.125, not 0.12499999…), so half-up rounds as a reader expects.
    return decimal.Decimal(repr(float(number)))


def _half_up() -> decimal.localcontext:
    # Babel quantizes in the current decimal context, ROUND_HALF_EVEN by default («2,5» → «2»).
    return decimal.localcontext(rounding=decimal.ROUND_HALF_UP)


def ru_datetime(value: dt.datetime | None) -> str:
    """«05.11.2025 09:00»."""
    return MISSING if value is None else value.strftime("%d.%m.%Y %H:%M")
