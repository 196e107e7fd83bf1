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
    ru_share,
    ru_short_date,
    ru_value,
    tie_text,
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
def test_plural_agrees_through_pymorphy3(n: float, word: str) -> None:
    assert plural(n, "школа") == word


def test_plural_still_accepts_the_three_forms_callers_pass() -> None:
    assert plural(3, "школа", "школы", "школ") == "школы"


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
    pytest.param(-7.25, 1, "\u22127,3", id="negative with a true minus, not a hyphen"),
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
    assert base_text(47, 52) == "по данным 47\u00a0из\u00a052\u00a0ОО"


@pytest.mark.parametrize(("change", "unit", "text"), [
    pytest.param(0.052, "%", "+5,2\u00a0п.\u00a0п.", id="a share changes in percentage points"),
    pytest.param(-0.067, "%", "\u22126,7\u00a0п.\u00a0п.", id="a share falls in points with a true minus"),
    pytest.param(-3, "чел.", "\u22123\u00a0чел.", id="negative with unit"),
    pytest.param(0.3, "", "+0,3", id="small growth keeps its sign"),
    pytest.param(0.00001, "%", "0,0\u00a0п.\u00a0п.", id="a change that rounds to zero has no sign"),
    pytest.param(-0.00001, "%", "0,0\u00a0п.\u00a0п.", id="nor a minus"),
    pytest.param(-2, "представление", "\u22122\u00a0представления", id="a noun unit agrees with the number"),
    pytest.param(None, "", "—", id="no previous value"),
])
def test_ru_change(change: float | None, unit: str, text: str) -> None:
    assert ru_change(change, unit) == text


def test_ru_value_reads_percent_unit_as_share() -> None:
    assert ru_value(0.667, "%") == "66,7\u00a0%"
    assert ru_value(123456, "экз.") == f"123{GROUP}456\u00a0экз."
    assert ru_value(5, "") == "5"


@pytest.mark.parametrize(("n", "text"), [
    pytest.param(1, "1\u00a0представление к поощрению", id="1"),
    pytest.param(2, "2\u00a0представления к поощрению", id="2"),
    pytest.param(5, "5\u00a0представлений к поощрению", id="5"),
    pytest.param(11, "11\u00a0представлений к поощрению", id="11 is not 1"),
    pytest.param(21, "21\u00a0представление к поощрению", id="21"),
    pytest.param(101, "101\u00a0представление к поощрению", id="101"),
])
def test_count_agrees_the_head_of_a_phrase(n: int, text: str) -> None:
    assert count(n, "представление к поощрению") == text


@pytest.mark.parametrize("word", ["ОО", "чел.", "экз.", "ч", "м²"])
def test_count_keeps_abbreviations_as_written(word: str) -> None:
    assert [count(n, word) for n in (1, 2, 5)] == [f"{n}\u00a0{word}" for n in (1, 2, 5)]


def test_count_agrees_an_accusative_and_a_unit_written_in_the_genitive() -> None:
    assert [plural(n, "строку") for n in (1, 3, 5)] == ["строку", "строки", "строк"]
    assert ru_value(8.74, "книг на читателя", 2) == "8,74\u00a0книги на читателя"  # a fraction: genitive singular
    assert ru_value(21, "книг на читателя") == "21\u00a0книга на читателя"


def test_ru_value_agrees_with_the_number_as_shown() -> None:
    # 1 shown as «1,00» is a fraction to the reader: «1,00 книги», not «1,00 книга».
    assert ru_value(1, "книг на читателя", 2) == "1,00\u00a0книги на читателя"


def test_ru_share_gives_its_counts_and_people_say_people() -> None:
    assert ru_share(10, 11) == "90,9\u00a0% (10\u00a0из\u00a011)"
    assert ru_share(6, 7, "чел.") == "85,7\u00a0% (6\u00a0из\u00a07\u00a0чел.)"
    assert ru_share(0, 0) == "—"


def test_ru_change_of_huge_sums_has_no_float_artefacts() -> None:
    # 10¹⁵-scale sums differ in the float's last bits: the change shows the digits, not «…,0000001».
    assert ru_change(0.1 + 0.2 - 0.3, "экз.") == "0\u00a0экз."  # 5,55·10⁻¹⁷: nothing changed
    assert ru_change(2.5e15 + 0.1 - 1.0e15, "экз.") == f"+1{GROUP}500{GROUP}000{GROUP}000{GROUP}000{GROUP}000\u00a0экз."


@pytest.mark.parametrize(("text", "tied"), [
    pytest.param("Фонд: 18181 + 871 − 499 = 18553, указано 20953.",
                 f"Фонд: 18{GROUP}181 + 871 − 499 = 18{GROUP}553, указано 20{GROUP}953.", id="a formula's numbers"),
    pytest.param("МБОУ «СОШ № 5»", "МБОУ «СОШ №\u00a05»", id="№ keeps its number"),
    pytest.param("принято 12 ОО, 3 чел.", "принято 12\u00a0ОО, 3\u00a0чел.", id="a number keeps its unit"),
    pytest.param("70-001, 01.10.2025, 2024 год, https://x.ru/news/123456",
                 "70-001, 01.10.2025, 2024 год, https://x.ru/news/123456", id="codes, dates, years and links stay"),
])
def test_tie_text(text: str, tied: str) -> None:
    assert tie_text(text) == tied
