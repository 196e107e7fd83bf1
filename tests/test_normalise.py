"""A number followed by its unit, read from real workbooks: one rule for every numeric cell (REPORT_FORMAT §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import codes_at, judge_one, set_cell, write_xlsx

from pipeline.judge.normalise import ValueProblem, to_number, unit_words
from pipeline.judge.verdict import Rules

ROADMAP = "Дорожная карта"
INDICATORS = "Показатели"


def read_value(verdict: Any, sheet: str, cell: str) -> float | None:
    """The typed value the judge read at *cell*: item 1.2's Количество (H3) or an indicator's Значение."""
    data = verdict.submission.sheets[sheet].frame
    if sheet == ROADMAP:
        return data.set_index("Код").at["1.2", "Количество"]
    code = {"D2": "P01", "D6": "P05", "D14": "P13", "D17": "P16", "D12": "P11"}[cell]
    return data.iloc[0][code]


@pytest.mark.parametrize(("sheet", "cell", "raw", "value"), [
    pytest.param(ROADMAP, "H3", "5 шт", 5.0, id="«5 шт» in Количество is 5"),
    pytest.param(ROADMAP, "H3", "5 шт.", 5.0, id="«5 шт.» in Количество is 5"),
    pytest.param(ROADMAP, "H3", "5шт", 5.0, id="«5шт» without a space in Количество is 5"),
    pytest.param(ROADMAP, "H3", "5 ед.", 5.0, id="«5 ед.» in Количество is 5"),
    pytest.param(ROADMAP, "H3", "5 Шт", 5.0, id="a unit in capitals is a unit"),
    pytest.param(INDICATORS, "D6", "3 100 экз.", 3100.0, id="«3 100 экз.» in P05 is 3100"),
    pytest.param(INDICATORS, "D6", "3100 экз", 3100.0, id="«экз» without its dot in P05"),
    pytest.param(INDICATORS, "D2", "690 чел", 690.0, id="«690 чел» in P01 is 690"),
    pytest.param(INDICATORS, "D2", "690 человек", 690.0, id="«690 человек» in P01 is 690"),
    pytest.param(INDICATORS, "D17", "6 шт.", 6.0, id="«6 шт.» in P16 (ед.) is 6: a count takes шт. and ед."),
    pytest.param(INDICATORS, "D17", "6 ед", 6.0, id="«6 ед» in P16 is 6"),
    pytest.param(INDICATORS, "D14", "20 мест", 20.0, id="«20 мест» in P13 is 20"),
    pytest.param(INDICATORS, "D12", "95 %", 95.0, id="«95 %» in P11 is 95"),
])
def test_a_number_with_its_unit_is_the_number(tmp_path: Path, report: dict, rules: Rules, sheet: str, cell: str,
                                              raw: str, value: float) -> None:
    set_cell(report, sheet, cell, raw)
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == []
    assert read_value(verdict, sheet, cell) == value


@pytest.mark.parametrize(("sheet", "cell", "raw"), [
    pytest.param(ROADMAP, "H3", "5 чел.", id="people in Количество is V03"),
    pytest.param(ROADMAP, "H3", "шт", id="a unit without a number is V03"),
    pytest.param(ROADMAP, "H3", "5 шт 6", id="a unit between numbers is V03"),
    pytest.param(INDICATORS, "D6", "3 100 чел.", id="people in P05 (экз.) is V03"),
    pytest.param(INDICATORS, "D17", "6 экз.", id="copies in P16 (ед.) is V03"),
    pytest.param(INDICATORS, "D2", "690 шт", id="pieces in P01 (чел.) is V03"),
])
def test_a_unit_of_another_kind_is_v03(tmp_path: Path, report: dict, rules: Rules, sheet: str, cell: str,
                                       raw: str) -> None:
    set_cell(report, sheet, cell, raw)
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == [("V03", sheet, cell)]


def test_a_dot_is_part_of_a_unit_only() -> None:
    with pytest.raises(ValueProblem) as problem:
        to_number("12.", whole=True)
    assert problem.value.code == "V03"


def test_unit_words_of_a_unit_the_table_does_not_know_are_the_unit_itself() -> None:
    assert unit_words("раз") == ("раз",)
    assert to_number("5 раз.", whole=True, unit="раз") == 5.0


@pytest.mark.parametrize(("sheet", "cell", "column", "raw", "value"), [
    pytest.param("Сотрудники", "F2", "Стаж в должности, лет", "5 лет", 5, id="«5 лет» in Стаж is 5"),
    pytest.param("Сотрудники", "F2", "Стаж в должности, лет", "5 г.", 5, id="«5 г.» in Стаж is 5"),
    pytest.param("Курсы", "E2", "Объём, часов", "36 ч.", 36, id="«36 ч.» in Объём is 36"),
    pytest.param("Курсы", "E2", "Объём, часов", "36 часов", 36, id="«36 часов» in Объём is 36"),
])
def test_a_column_named_with_its_unit_takes_that_unit(tmp_path: Path, report: dict, rules: Rules, sheet: str,
                                                      cell: str, column: str, raw: str, value: int) -> None:
    set_cell(report, sheet, cell, raw)
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == []
    assert verdict.submission.sheets[sheet].frame.iloc[0][column] == value


def test_a_column_named_with_its_unit_refuses_another_unit(tmp_path: Path, report: dict, rules: Rules) -> None:
    set_cell(report, "Курсы", "E2", "36 лет")
    verdict = judge_one([write_xlsx(report, tmp_path / "r.xlsx")], rules)
    assert codes_at(verdict) == [("V03", "Курсы", "E2")]
