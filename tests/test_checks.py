"""Every finding code, triggered by a real workbook made from a correct report with one defect."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import codes_at, judge_one, set_cell, write_xlsx

from pipeline.judge.verdict import Rules
from pipeline.statuses import SubmissionStatus

T, RM, ST, CO, AW, IND = "Титул", "Дорожная карта", "Сотрудники", "Курсы", "Поощрения", "Показатели"

# (defects as (sheet, cell, value), the findings expected: exactly these, in reading order)
CASES = [
    pytest.param([(T, "B2", None)], [("V01", T, "B2")], id="missing template version is V01"),
    pytest.param([(T, "B3", "99-999")], [("S04", T, "B3")], id="a school code not in the register is S04"),
    pytest.param([(T, "B3", "70-002")], [("S04", T, "B3"), ("R05", RM, "I7")],
                 id="a school closed in this campaign is S04 (and its links are off its own site)"),
    pytest.param([(T, "B5", 2024)], [("S05", T, "B5")], id="another reporting year is S05"),
    pytest.param([(T, "B2", "ИБЦ-2024.1")], [("S06", T, "B2")], id="an older template version is S06"),
    pytest.param([(T, "B2", "моя версия")], [("V04", T, "B2")], id="an unknown template version is V04"),
    pytest.param([(T, "B6", None)], [("V01", T, "B6")], id="no responsible person is V01"),
    pytest.param([(T, "B10", "май 2025")], [("V02", T, "B10")], id="a date in words is V02"),
    pytest.param([(T, "B10", "05/15/2025")], [("V02", T, "B10")], id="a slashed date is not guessed: V02"),
    pytest.param([(T, "B5", "2025 год")], [("V03", T, "B5")], id="a year with words is V03"),
    pytest.param([(T, "B7", "директор")], [("V04", T, "B7")], id="a position outside the list is V04"),
    pytest.param([(T, "B10", "15.05.2026")], [("V05", T, "B10")], id="a fill date after today is V05"),
    pytest.param([(T, "B6", "Ив")], [("V05", T, "B6")], id="a two-letter name is V05"),
    pytest.param([(T, "B9", "библиотека школы")], [("V07", T, "B9")], id="a broken e-mail is V07"),
    pytest.param([(T, "B8", "звоните директору")], [("V03", T, "B8")], id="a phone in words is V03"),
    pytest.param([(RM, "J9", "x" * 501), (RM, "D9", "в работе"), (RM, "E9", None)],
                 [("V08", RM, "J9")], id="a comment over 500 characters is V08"),
    pytest.param([(RM, "I7", "ftp://test-school.ru/ibc")], [("V06", RM, "I7")], id="an ftp link is V06"),
    pytest.param([(RM, "H3", "два")], [("V03", RM, "H3")], id="a quantity in words is V03"),
    pytest.param([(RM, "H3", 2.5)], [("V03", RM, "H3")], id="a fractional quantity is V03"),
    pytest.param([(RM, "D3", "почти")], [("V04", RM, "D3")], id="an unknown status is V04"),
    pytest.param([(RM, "A3", "9.9")], [("S08", RM, ""), ("S08", RM, "A3")],
                 id="an unknown item code is S08 and its item is then missing"),
    pytest.param([(RM, "A4", "1.2")], [("S08", RM, ""), ("S08", RM, "A4")], id="a repeated item is S08"),
    pytest.param([(RM, "E3", None)], [("R01", RM, "E3")], id="выполнено without a date is R01"),
    pytest.param([(RM, "E3", "10.03.2024")], [("R01", RM, "E3")], id="выполнено before the period is R01"),
    pytest.param([(RM, "E3", "20.05.2025")], [("R01", RM, "E3")], id="выполнено after the fill date is R01"),
    pytest.param([(RM, "D3", "выполнено ранее"), (RM, "E3", "20.05.2024")], [("R02", RM, "D3")],
                 id="выполнено ранее for a yearly item is R02"),
    pytest.param([(RM, "E2", "20.10.2024")], [("R02", RM, "E2")], id="выполнено ранее dated in the period is R02"),
    pytest.param([(RM, "E2", "20.12.2023")], [("R02", RM, "E2")], id="выполнено ранее before the Model is R02"),
    pytest.param([(RM, "D3", "в работе")], [("R03", RM, "E3")], id="в работе with a date is R03"),
    pytest.param([(RM, "D3", "не выполнено"), (RM, "E3", None)], [("R04", RM, "J3")],
                 id="не выполнено without a reason is R04"),
    pytest.param([(RM, "I7", None)], [("R05", RM, "I7")], id="the website section done without a link is R05"),
    pytest.param([(RM, "I7", "https://vk.com/school")], [("R05", RM, "I7")],
                 id="a website link off the school's domains is an R05 warning"),
    pytest.param([(RM, "F2", None)], [("R06", RM, "F2")], id="the order done without a document is R06"),
    pytest.param([(RM, "G5", None)], [("R06", RM, "G5")], id="the roadmap approved without details is R06"),
    pytest.param([(RM, "H8", 0)], [("R07", RM, "H8")], id="practice sharing done with zero events is R07"),
    pytest.param([(RM, "I10", None)], [("R07", RM, "I10")], id="publications done without a link is R07"),
    pytest.param([(CO, "A2", None), (CO, "B2", None), (CO, "C2", None), (CO, "D2", None), (CO, "E2", None),
                  (CO, "F2", None), (CO, "G2", None)], [("R08", RM, "D9")],
                 id="training done with no course row is R08"),
    pytest.param([(RM, "D3", "не требуется"), (RM, "E3", None), (RM, "J3", "нет библиотекаря")],
                 [("R09", RM, "D3")], id="не требуется for item 1.2 is R09"),
    pytest.param([(RM, "D2", "выполнено"), (RM, "E2", "15.09.2024")], [("R10", RM, "E2")],
                 id="a one-off item done after its Срок is an R10 warning"),
    pytest.param([(RM, "D3", "в работе"), (RM, "E3", None), (T, "B10", "31.05.2025")], [],
                 id="a yearly item in progress before the period ends is fine"),
    pytest.param([(CO, "A2", "Сотрудник 9")], [("K01", CO, "A2")], id="a course of an unknown person is K01"),
    pytest.param([(AW, "A2", "Сотрудник 9")], [("K01", AW, "A2")], id="an award of an unknown person is K01"),
    pytest.param([(ST, "A2", None), (ST, "B2", None), (ST, "C2", None), (ST, "D2", None), (ST, "E2", None),
                  (ST, "F2", None), (ST, "G2", None), (ST, "A3", None), (ST, "B3", None), (ST, "C3", None),
                  (ST, "D3", None), (ST, "E3", None), (ST, "F3", None), (ST, "G3", None), (CO, "A2", None),
                  (CO, "B2", None), (CO, "C2", None), (CO, "D2", None), (CO, "E2", None), (CO, "F2", None),
                  (CO, "G2", None), (AW, "A2", None), (AW, "B2", None), (AW, "C2", None), (AW, "D2", None),
                  (AW, "E2", None), (RM, "D9", "в работе"), (RM, "E9", None), (RM, "D11", "в работе"),
                  (RM, "E11", None), (RM, "H11", None)],
                 [("K02", ST, "A2")], id="no staff while there is a library is K02"),
    pytest.param([(CO, "E2", 8)], [("K03", CO, "E2")], id="a 8-hour КПК is K03"),
    pytest.param([(CO, "F2", "01.12.2023")], [("K04", CO, "F2")], id="a course finished before the period is K04"),
    pytest.param([(AW, "E2", "01.12.2025")], [("K04", AW, "E2")], id="an award dated after the period is K04"),
    pytest.param([(ST, "G2", "нет")], [("K05", ST, "G2")], id="a педагог-библиотекарь without КПК is K05"),
    pytest.param([(ST, "C3", 0.3)], [("V05", ST, "C3")], id="a rate off the 0,25 step is V05"),
    pytest.param([(ST, "G3", "может быть")], [("V04", ST, "G3")], id="an unreadable да/нет is V04"),
    pytest.param([(CO, "G2", None)], [("V01", CO, "G2")], id="a course without a document is V01"),
    pytest.param([(IND, "D3", None)], [("V01", IND, "D3")], id="a missing indicator is V01"),
    pytest.param([(IND, "D13", "-5")], [("V05", IND, "D13")], id="a negative library area is V05"),
    pytest.param([(IND, "D4", 460)], [("L01", IND, "D4")], id="more pupil users than users is L01"),
    pytest.param([(IND, "D8", 9000)], [("L02", IND, "D7")], id="textbooks and fiction above the fund is L02"),
    pytest.param([(IND, "D16", 6)], [("L03", IND, "D16")], id="more internet seats than PC seats is L03"),
    pytest.param([(IND, "D12", 120)], [("L04", IND, "D12")], id="a provision of 120 % is L04"),
    pytest.param([(IND, "D12", "0,95")], [("L04", IND, "D12")], id="a provision of 0,95 is an L04 warning"),
    pytest.param([(IND, "D5", 400)], [("L06", IND, "D5")], id="fewer visits than users is L06"),
    pytest.param([(IND, "D29", "нет")], [("L07", IND, "D29")], id="P22 нет while item 2 is done is L07"),
    pytest.param([(IND, "D28", 1)], [("L08", IND, "D28")], id="fewer site publications than item 4.1 says is L08"),
]


@pytest.mark.parametrize(("defects", "expected"), CASES)
def test_judge_reports_each_defect_at_its_cell(tmp_path: Path, report: dict[str, list[list[Any]]], rules: Rules,
                                               defects: list[tuple[str, str, Any]],
                                               expected: list[tuple[str, str, str]]) -> None:
    for sheet, cell, value in defects:
        set_cell(report, sheet, cell, "" if value is None else value)
    verdict = judge_one([write_xlsx(report, tmp_path / "report.xlsx")], rules)
    assert codes_at(verdict) == expected
    errors = [finding for finding in verdict.findings if finding.is_error]
    assert verdict.status == (SubmissionStatus.REJECTED if errors else SubmissionStatus.ACCEPTED)


def test_judge_warning_severity_does_not_reject(tmp_path: Path, report: dict[str, list[list[Any]]],
                                                rules: Rules) -> None:
    set_cell(report, RM, "I7", "https://vk.com/school")
    set_cell(report, ST, "G2", "нет")
    verdict = judge_one([write_xlsx(report, tmp_path / "report.xlsx")], rules)
    assert {(finding.code, finding.severity) for finding in verdict.findings} == {("R05", "warning"),
                                                                                  ("K05", "warning")}
    assert verdict.status == SubmissionStatus.ACCEPTED


def test_judge_l05_compares_the_fund_with_last_year(tmp_path: Path, report: dict[str, list[list[Any]]],
                                                    rules: Rules) -> None:
    from pipeline.intake.discover import DroppedFile, group_units
    from pipeline.judge.verdict import judge_units

    path = write_xlsx(report, tmp_path / "report.xlsx")
    units = group_units([DroppedFile(path, path.name, path.stat().st_size, path.stat().st_mtime)])
    balanced = judge_units(units, replace(rules, previous={"70-001": {"P06": 11900.0}}))[0]
    unbalanced = judge_units(units, replace(rules, previous={"70-001": {"P06": 10000.0}}))[0]
    assert codes_at(balanced) == []
    assert codes_at(unbalanced) == [("L05", IND, "D7")]
    assert unbalanced.status == SubmissionStatus.ACCEPTED
    # Its numbers are grouped as everywhere the librarian reads them, never «10000 + …».
    assert re.fullmatch(r"Фонд не сходится с прошлогодним отчётом: 10\u00a0000 \+ \d[\d\u00a0]* − \d[\d\u00a0]* = "
                        r"\d{2}\u00a0\d{3}, указано \d{2}\u00a0\d{3}\.", unbalanced.findings[0].message)


def test_judge_reports_all_findings_at_once(tmp_path: Path, report: dict[str, list[list[Any]]], rules: Rules) -> None:
    set_cell(report, T, "B5", 2024)
    set_cell(report, RM, "E3", "")
    set_cell(report, IND, "D4", 460)
    verdict = judge_one([write_xlsx(report, tmp_path / "report.xlsx")], rules)
    assert codes_at(verdict) == [("S05", T, "B5"), ("R01", RM, "E3"), ("L01", IND, "D4")]
