"""The rule families of pipeline/judge/checks.py, called directly on a report typed from raw sheets built in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from conftest import SCHOOL, TODAY, YEAR, set_cell

from pipeline.district.register import School
from pipeline.district.roadmap import District
from pipeline.findings import ERROR, WARNING, Finding
from pipeline.intake.read import RawSheet
from pipeline.judge.checks import (
    Context,
    check_indicators,
    check_roadmap,
    check_rules,
    check_staff,
    check_title,
)
from pipeline.judge.submission import Submission, build_submission

T, RM, ST, CO, AW, IND = "Титул", "Дорожная карта", "Сотрудники", "Курсы", "Поощрения", "Показатели"
EMPTY = ""  # an empty cell, as the reader hands it over

Report = dict[str, list[list[Any]]]
Check = Callable[[Submission, Context], list[Finding]]


@pytest.fixture()
def context(district: District, register: dict[str, School]) -> Context:
    return Context(district, register, district.campaign(YEAR), TODAY)


def typed(report: Report, district: District) -> Submission:
    """Type *report* the way a read workbook is typed: raw sheets (row 0 the header) into build_submission."""
    return build_submission([RawSheet(name, [list(row) for row in rows]) for name, rows in report.items()], district)


def rule_findings(check: Check, report: Report, defects: list[tuple[str, str, Any]],
                  context: Context) -> list[tuple[str, str, str]]:
    """Put each (sheet, cell, value) into *report*, type it, and run one rule family on it."""
    for sheet, cell, value in defects:
        set_cell(report, sheet, cell, value)
    submission = typed(report, context.district)
    assert submission.findings == []  # each defect here is the rules' to find, not the reader's
    return [(finding.code, finding.sheet, finding.cell) for finding in check(submission, context)]


def test_check_rules_finds_nothing_in_a_correct_report(report: Report, context: Context) -> None:
    assert rule_findings(check_rules, report, [], context) == []


TITLE_CASES = [
    pytest.param([(T, "B3", "99-999")], [("S04", T, "B3")], id="a school code not in the register is S04"),
    pytest.param([(T, "B3", "70-002")], [("S04", T, "B3")], id="a school closed before the campaign is S04"),
    pytest.param([(T, "B5", 2024)], [("S05", T, "B5")], id="another reporting year is S05"),
    pytest.param([(T, "B2", "ИБЦ-2024.1")], [("S06", T, "B2")], id="an older template version is S06"),
    pytest.param([(T, "B2", "ибц-2024.1")], [("S06", T, "B2")], id="an older version in other case is still S06"),
    pytest.param([(T, "B2", "ИБЦ-2023.1")], [("V04", T, "B2")], id="a version the district never had is V04"),
    pytest.param([(T, "B10", "02.06.2025")], [("V05", T, "B10")], id="a fill date after today is V05"),
    pytest.param([(T, "B10", "31.08.2024")], [("V05", T, "B10")], id="a fill date before the period is V05"),
    pytest.param([(T, "B10", "01.06.2025")], [], id="a fill date of today is fine"),
    pytest.param([(T, "B3", "99-999"), (T, "B5", 2024), (T, "B2", "ИБЦ-2024.1")],
                 [("S06", T, "B2"), ("S04", T, "B3"), ("S05", T, "B5")],
                 id="every title defect is reported at once, version first"),
]


@pytest.mark.parametrize(("defects", "expected"), TITLE_CASES)
def test_check_title(report: Report, context: Context, defects: list[tuple[str, str, Any]],
                     expected: list[tuple[str, str, str]]) -> None:
    assert rule_findings(check_title, report, defects, context) == expected


# Roadmap rows: 2 is item 1.1 (one-off, Срок 30.06.2024), 3 is 1.2 (yearly), 5 is 1.4а, 7 is 2 (the website
# section), 8 is 3.1, 9 is 3.2 (needs a course), 10 is 4.1 (publications), 11 is 4.2 (needs an award).
# Columns: D Статус, E Дата выполнения, F Документ, G Реквизиты, H Количество, I Ссылки, J Комментарий.
ROADMAP_CASES = [
    pytest.param([(RM, "E3", EMPTY)], [("R01", RM, "E3")], id="выполнено without a date is R01"),
    pytest.param([(RM, "E3", "31.08.2024")], [("R01", RM, "E3")], id="выполнено the day before the period is R01"),
    pytest.param([(RM, "E3", "01.09.2024")], [], id="выполнено on the period's first day is fine"),
    pytest.param([(RM, "E3", "20.05.2025")], [("R01", RM, "E3")], id="выполнено after the fill date is R01"),
    pytest.param([(RM, "D2", "выполнено"), (RM, "E2", "01.07.2024")], [("R01", RM, "E2")],
                 id="a one-off item done late and before the period is R01 only, not also R10"),
    pytest.param([(RM, "D3", "выполнено ранее"), (RM, "E3", "20.05.2024")], [("R02", RM, "D3")],
                 id="выполнено ранее for a yearly item is R02 at the status"),
    pytest.param([(RM, "E2", "20.10.2024")], [("R02", RM, "E2")], id="выполнено ранее dated in the period is R02"),
    pytest.param([(RM, "E2", "31.12.2023")], [("R02", RM, "E2")], id="выполнено ранее before the Model is R02"),
    pytest.param([(RM, "E2", EMPTY)], [("R02", RM, "E2")], id="выполнено ранее without a date is R02"),
    pytest.param([(RM, "D3", "в работе")], [("R03", RM, "E3")], id="в работе with a date is R03"),
    pytest.param([(RM, "D9", "не требуется"), (RM, "J9", "нет библиотекаря")], [("R03", RM, "E9")],
                 id="не требуется with a date is R03"),
    pytest.param([(RM, "D3", "не выполнено"), (RM, "E3", EMPTY)], [("R04", RM, "J3")],
                 id="не выполнено without a reason is R04"),
    pytest.param([(RM, "D3", "не выполнено"), (RM, "E3", EMPTY), (RM, "J3", "нет средств")], [],
                 id="не выполнено with a reason is fine"),
    pytest.param([(RM, "I7", EMPTY)], [("R05", RM, "I7")], id="the website section done without a link is R05"),
    pytest.param([(RM, "I7", "https://vk.com/school")], [("R05", RM, "I7")],
                 id="a website link off the school's domains is R05"),
    pytest.param([(RM, "I7", "https://test-r70.gosweb.gosuslugi.ru/ibc")], [],
                 id="a website link on the school's second domain is fine"),
    pytest.param([(RM, "I7", "https://ibc.test-school.ru/")], [], id="a link on a subdomain of the school is fine"),
    pytest.param([(RM, "F2", EMPTY)], [("R06", RM, "F2")], id="the order done without a document is R06"),
    pytest.param([(RM, "G5", EMPTY)], [("R06", RM, "G5")], id="the roadmap approved without details is R06"),
    pytest.param([(RM, "F5", EMPTY), (RM, "G5", EMPTY)], [("R06", RM, "F5")],
                 id="no document and no details is one R06, at the document"),
    pytest.param([(RM, "H8", 0)], [("R07", RM, "H8")], id="practice sharing done with zero events is R07"),
    pytest.param([(RM, "H3", EMPTY)], [("R07", RM, "H3")], id="a yearly item done without a quantity is R07"),
    pytest.param([(RM, "I10", EMPTY)], [("R07", RM, "I10")], id="publications done without a link is R07"),
    pytest.param([(RM, "H10", EMPTY), (RM, "I10", EMPTY)], [("R07", RM, "H10"), ("R07", RM, "I10")],
                 id="publications done with neither count nor link are two R07"),
    pytest.param([(RM, "D10", "в работе"), (RM, "E10", EMPTY), (RM, "H10", EMPTY), (RM, "I10", EMPTY)], [],
                 id="publications in progress need no count or link"),
    pytest.param([(RM, "D9", "не требуется"), (RM, "E9", EMPTY), (RM, "J9", "нет библиотекаря")], [],
                 id="не требуется for training is allowed"),
    pytest.param([(RM, "D3", "не требуется"), (RM, "E3", EMPTY), (RM, "J3", "нет библиотекаря")],
                 [("R09", RM, "D3")], id="не требуется for item 1.2 is R09"),
    pytest.param([(RM, "D2", "выполнено"), (RM, "E2", "15.09.2024")], [("R10", RM, "E2")],
                 id="a one-off item done after its Срок is R10 at the date"),
    pytest.param([(RM, "D4", "в работе"), (RM, "E4", EMPTY)], [("R10", RM, "D4")],
                 id="a one-off item still in progress after its Срок is R10 at the status"),
    pytest.param([(RM, "D7", "в работе"), (RM, "E7", EMPTY), (RM, "I7", EMPTY)], [("R10", RM, "D7")],
                 id="the website section in progress needs no link but is late"),
    pytest.param([(RM, "D3", "в работе"), (RM, "E3", EMPTY), (T, "B10", "31.05.2025")], [],
                 id="a yearly item in progress before the period ends is fine"),
]


@pytest.mark.parametrize(("defects", "expected"), ROADMAP_CASES)
def test_check_roadmap(report: Report, context: Context, defects: list[tuple[str, str, Any]],
                       expected: list[tuple[str, str, str]]) -> None:
    assert rule_findings(check_roadmap, report, defects, context) == expected


@pytest.mark.parametrize(("sheet", "expected"), [
    pytest.param(CO, [("R08", RM, "D9")], id="training done with an empty Курсы is R08"),
    pytest.param(AW, [("R08", RM, "D11")], id="awards done with an empty Поощрения is R08"),
])
def test_check_roadmap_done_item_needs_rows_on_its_sheet(report: Report, context: Context, sheet: str,
                                                         expected: list[tuple[str, str, str]]) -> None:
    del report[sheet][1:]
    assert rule_findings(check_roadmap, report, [], context) == expected


def test_check_roadmap_a_school_opened_after_the_srok_is_not_late(report: Report, context: Context) -> None:
    defects = [(RM, "D4", "в работе"), (RM, "E4", EMPTY)]
    opened = replace(context.register[SCHOOL], opened=dt.date(2024, 8, 1))
    late = rule_findings(check_roadmap, report, defects, context)
    new_school = rule_findings(check_roadmap, report, [],
                               replace(context, register={**context.register, SCHOOL: opened}))
    assert (late, new_school) == ([("R10", RM, "D4")], [])


def test_check_roadmap_an_unreadable_date_is_not_judged_again(report: Report, context: Context) -> None:
    set_cell(report, RM, "E3", "март")
    submission = typed(report, context.district)
    assert [(f.code, f.sheet, f.cell) for f in submission.findings] == [("V02", RM, "E3")]
    assert check_roadmap(submission, context) == []


# Курсы row 2: Сотрудник 1, повышение квалификации, 36 h, 01.12.2024, удостоверение; Поощрения row 2: 01.03.2025.
STAFF_CASES = [
    pytest.param([(CO, "A2", "Сотрудник 9")], [("K01", CO, "A2")], id="a course of an unknown person is K01"),
    pytest.param([(AW, "A2", "Сотрудник 9")], [("K01", AW, "A2")], id="an award of an unknown person is K01"),
    pytest.param([(CO, "A2", "сотрудник 1")], [], id="a person named in another case is known"),
    pytest.param([(CO, "E2", 8)], [("K03", CO, "E2")], id="an 8-hour КПК is K03"),
    pytest.param([(CO, "E2", 16)], [], id="a 16-hour КПК is enough"),
    pytest.param([(CO, "B2", "профессиональная переподготовка"), (CO, "E2", 249)], [("K03", CO, "E2")],
                 id="a retraining under 250 hours is K03"),
    pytest.param([(CO, "F2", "31.08.2024")], [("K04", CO, "F2")], id="a course finished before the period is K04"),
    pytest.param([(AW, "E2", "01.09.2025")], [("K04", AW, "E2")], id="an award dated after the period is K04"),
    pytest.param([(ST, "G2", "нет")], [("K05", ST, "G2")], id="a педагог-библиотекарь without КПК is K05"),
    pytest.param([(ST, "B3", "библиотекарь"), (ST, "G3", "нет")], [], id="a библиотекарь without КПК is fine"),
    pytest.param([(CO, "G2", EMPTY)], [("V01", CO, "G2")], id="a course without a document is V01"),
    pytest.param([(CO, "B2", "семинар (без документа)"), (CO, "G2", EMPTY)], [],
                 id="a seminar needs no document"),
]


@pytest.mark.parametrize(("defects", "expected"), STAFF_CASES)
def test_check_staff(report: Report, context: Context, defects: list[tuple[str, str, Any]],
                     expected: list[tuple[str, str, str]]) -> None:
    assert rule_findings(check_staff, report, defects, context) == expected


@pytest.mark.parametrize(("library", "expected"), [
    pytest.param("отдельное помещение", [("K02", ST, "A2")], id="no staff while there is a library is K02"),
    pytest.param("нет библиотеки", [], id="no staff and no library is fine"),
])
def test_check_staff_an_empty_staff_sheet(report: Report, context: Context, library: str,
                                          expected: list[tuple[str, str, str]]) -> None:
    for sheet in (ST, CO, AW):
        del report[sheet][1:]
    assert rule_findings(check_staff, report, [(T, "B11", library)], context) == expected


# Показатели rows: P01 is row 2 … P11 row 12, P12 row 13, P13–P16 rows 14–17, P20–P22 rows 27–29; value in D.
# The correct report: P01 500, P02 450, P03 420, P04 6000, P05 5000, P06 12000, P07 6000, P08 4000, P09 300,
# P10 200, P11 95, P13 20, P14 5, P15 5, P16 6, P21 4, P22 да; item 4.1 says 2 publications.
INDICATOR_CASES = [
    pytest.param([(IND, "D3", EMPTY)], [("V01", IND, "D3")], id="a missing indicator is V01"),
    pytest.param([(IND, "D13", EMPTY)], [], id="the optional library area may be left out"),
    pytest.param([(IND, "D3", EMPTY), (T, "B11", "нет библиотеки")], [],
                 id="a school without a library need not count its users"),
    pytest.param([(IND, "D2", EMPTY), (T, "B11", "нет библиотеки")], [("V01", IND, "D2")],
                 id="a school without a library still counts its pupils"),
    pytest.param([(IND, "D4", 460)], [("L01", IND, "D4")], id="more pupil users than users is L01"),
    pytest.param([(IND, "D2", 410)], [("L01", IND, "D4")], id="more pupil users than pupils is L01"),
    pytest.param([(IND, "D9", 6001)], [("L02", IND, "D7")], id="textbooks and fiction above the fund is L02"),
    pytest.param([(IND, "D9", 6000)], [], id="textbooks and fiction equal to the fund is fine"),
    pytest.param([(IND, "D16", 6)], [("L03", IND, "D16")], id="more internet seats than PC seats is L03 at P15"),
    pytest.param([(IND, "D15", 21), (IND, "D17", 30)], [("L03", IND, "D15")],
                 id="more PC seats than seats is L03 at P14"),
    pytest.param([(IND, "D12", 101)], [("L04", IND, "D12")], id="a provision over 100 % is L04"),
    pytest.param([(IND, "D12", "0,95")], [("L04", IND, "D12")], id="a provision written as a share is L04"),
    pytest.param([(IND, "D12", "1,5")], [], id="a provision of 1,5 % is taken as written"),
    pytest.param([(IND, "D5", 400)], [("L06", IND, "D5")], id="fewer visits than users is L06"),
    pytest.param([(IND, "D5", 45001)], [("L06", IND, "D5")], id="over 100 visits a user is L06"),
    pytest.param([(IND, "D17", 4)], [("L06", IND, "D15")], id="more PC seats than PCs is L06 at P14"),
    pytest.param([(IND, "D6", 130)], [("L06", IND, "D6")], id="under half a book a user is L06"),
    pytest.param([(IND, "D7", 600000)], [("L06", IND, "D6")], id="a fund turning over less than 1 % is L06"),
    pytest.param([(IND, "D29", "нет")], [("L07", IND, "D29")], id="P22 нет while item 2 is done is L07"),
    pytest.param([(RM, "D7", "в работе"), (RM, "E7", EMPTY)], [("L07", IND, "D29")],
                 id="P22 да while item 2 is in progress is L07"),
    pytest.param([(IND, "D28", 1)], [("L08", IND, "D28")], id="fewer site publications than item 4.1 says is L08"),
    pytest.param([(IND, "D28", 2)], [], id="as many site publications as item 4.1 says is fine"),
]


@pytest.mark.parametrize(("defects", "expected"), INDICATOR_CASES)
def test_check_indicators(report: Report, context: Context, defects: list[tuple[str, str, Any]],
                          expected: list[tuple[str, str, str]]) -> None:
    assert rule_findings(check_indicators, report, defects, context) == expected


# This year: P06 12000 = last year's fund + P09 300 − P10 200 when last year's fund was 11900.
@pytest.mark.parametrize(("previous", "expected"), [
    pytest.param(None, [], id="without last year's report there is nothing to compare"),
    pytest.param({"P06": None}, [], id="last year's report without a fund is not compared"),
    pytest.param({"P06": 11900.0}, [], id="a fund that balances is fine"),
    pytest.param({"P06": 11960.0}, [], id="a fund off by 60 of 12000 is within the 0,5 % tolerance"),
    pytest.param({"P06": 11961.0}, [("L05", IND, "D7")], id="a fund off by 61 of 12000 is L05"),
    pytest.param({"P06": 10000.0}, [("L05", IND, "D7")], id="a fund off by 1900 is L05"),
])
def test_check_indicators_compares_the_fund_with_last_year(report: Report, context: Context,
                                                           previous: dict[str, Any] | None,
                                                           expected: list[tuple[str, str, str]]) -> None:
    last_year = replace(context, previous_indicators=previous)
    assert rule_findings(check_indicators, report, [], last_year) == expected


@pytest.mark.parametrize(("check", "defects", "severity"), [
    pytest.param(check_roadmap, [(RM, "I7", EMPTY)], ERROR, id="R05 without a link is an error"),
    pytest.param(check_roadmap, [(RM, "I7", "https://vk.com/school")], WARNING,
                 id="R05 with a link off the school's site is a warning"),
    pytest.param(check_indicators, [(IND, "D12", 101)], ERROR, id="L04 over 100 % is an error"),
    pytest.param(check_indicators, [(IND, "D12", "0,95")], WARNING, id="L04 written as a share is a warning"),
])
def test_two_severity_codes_choose_by_the_defect(report: Report, context: Context, check: Check,
                                                 defects: list[tuple[str, str, Any]], severity: str) -> None:
    for sheet, cell, value in defects:
        set_cell(report, sheet, cell, value)
    (finding,) = check(typed(report, context.district), context)
    assert finding.severity == severity
