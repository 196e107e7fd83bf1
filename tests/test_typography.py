"""Russian typography of the report: Babel's ru numbers, percentages, dates and plural forms."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from babel.numbers import get_group_symbol

from pipeline.typography import (
    base_text,
    count,
    plural,
    ru_change,
    ru_date,
    ru_number,
    ru_percent,
    ru_short_date,
    ru_value,
)

# Whatever space Babel's ru locale groups digits with (NBSP in CLDR 47); the tests follow the locale data.
GROUP = get_group_symbol("ru")


@pytest.mark.parametrize(("n", "word"), [
    pytest.param(1, "школа", id="1 школа"),
    pytest.param(2, "школы", id="2 школы"),
    pytest.param(5, "школ", id="5 школ"),
    pytest.param(11, "школ", id="11 школ, not 11 школа"),
    pytest.param(21, "школа", id="21 школа"),
    pytest.param(101, "школа", id="101 школа"),
    pytest.param(0, "школ", id="0 школ"),
    pytest.param(22, "школы", id="22 школы"),
    pytest.param(111, "школ", id="111 школ"),
    pytest.param(1.5, "школы", id="a fraction takes the genitive singular"),
])
def test_plural_follows_cldr_forms(n: float, word: str) -> None:
    assert plural(n, "школа", "школы", "школ") == word


def test_count_joins_number_and_word_without_a_break() -> None:
    assert count(3, "школа", "школы", "школ") == "3\u00a0школы"
    assert count(1234, "школа", "школы", "школ") == f"1{GROUP}234\u00a0школы"


@pytest.mark.parametrize(("value", "digits", "text"), [
    pytest.param(1234.5, None, f"1{GROUP}234,5", id="grouping and decimal comma"),
    pytest.param(1234, None, f"1{GROUP}234", id="whole number without decimals"),
    pytest.param(1234.0, None, f"1{GROUP}234", id="whole float without decimals"),
    pytest.param(0.125, None, "0,13", id="at most two decimals, half up"),
    pytest.param(2.5, 0, "3", id="half up, not banker's rounding"),
    pytest.param(1234.5, 2, f"1{GROUP}234,50", id="fixed digits"),
    pytest.param(-7.25, 1, "-7,3", id="negative"),
    pytest.param(1_000_000, None, f"1{GROUP}000{GROUP}000", id="millions"),
    pytest.param(None, None, "—", id="None is a dash"),
    pytest.param(float("nan"), None, "—", id="NaN is a dash"),
    pytest.param(pd.NA, None, "—", id="pd.NA is a dash"),
])
def test_ru_number(value: float | None, digits: int | None, text: str) -> None:
    assert ru_number(value, digits) == text


@pytest.mark.parametrize(("share", "digits", "text"), [
    pytest.param(0.455, 1, "45,5\u00a0%", id="one decimal by default"),
    pytest.param(1, 1, "100,0\u00a0%", id="whole"),
    pytest.param(0.5, 0, "50\u00a0%", id="no decimals"),
    pytest.param(0.12345, 2, "12,35\u00a0%", id="two decimals"),
    pytest.param(None, 1, "—", id="None is a dash"),
])
def test_ru_percent(share: float | None, digits: int, text: str) -> None:
    assert ru_percent(share, digits) == text


def test_ru_dates() -> None:
    assert ru_date(dt.date(2025, 11, 1)) == "1 ноября 2025\u00a0г."
    assert ru_date(dt.date(2025, 3, 8)) == "8 марта 2025\u00a0г."
    assert ru_short_date(dt.date(2025, 11, 1)) == "01.11.2025"
    assert ru_date(None) == "—"


def test_base_text() -> None:
    assert base_text(47, 52) == "по данным 47 из 52 ОО"


@pytest.mark.parametrize(("change", "unit", "text"), [
    pytest.param(0.052, "%", "+5,2\u00a0п.п.", id="a share changes in percentage points"),
    pytest.param(-3, "чел.", "-3\u00a0чел.", id="negative with unit"),
    pytest.param(0.3, "", "+0,3", id="small growth keeps its sign"),
    pytest.param(0.00001, "%", "0,0\u00a0п.п.", id="a change that rounds to zero has no sign"),
    pytest.param(None, "", "—", id="no previous value"),
])
def test_ru_change(change: float | None, unit: str, text: str) -> None:
    assert ru_change(change, unit) == text


def test_ru_value_reads_percent_unit_as_share() -> None:
    assert ru_value(0.667, "%") == "66,7\u00a0%"
    assert ru_value(123456, "экз.") == f"123{GROUP}456\u00a0экз."
    assert ru_value(5, "") == "5"
