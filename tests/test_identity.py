"""A report sent under another school's name counts for the school its «Титул» gives, and says so (S10)."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import pytest
from conftest import campaign_setup, codes_at, good_report, judge_one, write_xlsx

from pipeline.collect.run import collect
from pipeline.district.register import School
from pipeline.judge.identity import named_schools
from pipeline.statuses import SubmissionStatus

REGISTER = {code: School(code, f"Школа {code}", "Тест", (), "a@b.ru", None, None) for code in
            ("70-001", "70-002", "A_1", "2025")}


@pytest.mark.parametrize(("path", "named"), [
    pytest.param("70-001_ИБЦ_2025.xlsx", {"70-001", "2025"}, id="the suggested name gives its code (and the year)"),
    pytest.param("школа 70-002/отчёт.xlsx", {"70-002"}, id="a folder names a school"),
    pytest.param("A_1.xlsx", {"A_1"}, id="a code with «_» is found as the whole stem"),
    pytest.param("70-0011.xlsx", set(), id="a longer code is not a shorter one"),
    pytest.param("отчёт.xlsx", set(), id="no code at all"),
])
def test_named_schools_reads_codes_from_folders_and_the_file_name(path: str, named: set[str]) -> None:
    assert named_schools(path, REGISTER) == named


def test_a_report_under_another_schools_file_name_counts_for_its_own_school_with_s10(
        tmp_path: Path, district, rules) -> None:
    path = write_xlsx(good_report(district), tmp_path / "70-002_ИБЦ_2025.xlsx")  # its «Титул» says 70-001
    verdict = judge_one([path], rules)
    assert (verdict.status, verdict.school) == (SubmissionStatus.ACCEPTED, "70-001")
    assert codes_at(verdict) == [("S10", "(файл)", "")]
    assert "70-002" in verdict.findings[0].message and "засчитан ОО 70-001" in verdict.findings[0].message


def test_a_report_under_its_own_name_has_no_s10(tmp_path: Path, district, rules) -> None:
    folder = tmp_path / "70-001"
    folder.mkdir()
    verdict = judge_one([write_xlsx(good_report(district), folder / "70-001_ИБЦ_2025.xlsx")], rules)
    assert codes_at(verdict) == []


REGISTER_CSV = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
                "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru;a@test-school.ru;;\n"
                "70-005;МБОУ «Пятая СОШ»;Тест;five.ru;a@five.ru;;\n")


def test_collection_flags_the_file_on_the_status_page_and_in_both_schools_feedback(tmp_path: Path, report) -> None:
    setup = campaign_setup(tmp_path, REGISTER_CSV)
    (setup.drop_folder / "школа 70-005").mkdir()
    write_xlsx(report, setup.drop_folder / "школа 70-005" / "отчёт.xlsx")  # its «Титул» says 70-001

    summary = collect(setup, now=dt.datetime(2025, 6, 1, 10, 0))

    assert {item["school"]: item["state"] for item in summary.to_json()["schools"]} == {
        "70-001": "on_time", "70-005": "missing"}  # the content decides
    assert [(item.path, item.school, item.named) for item in summary.status.named_elsewhere] == [
        ("школа 70-005/отчёт.xlsx", "70-001", "70-005")]
    page = html.unescape((setup.outputs / "2025" / "status.html").read_text(encoding="utf-8"))
    assert "Отчёты под именем другой школы" in page and "школа 70-005/отчёт.xlsx" in page
    for school in ("70-001", "70-005"):
        pages = list((setup.outputs / "2025" / "feedback" / school).glob("*.html"))
        assert len(pages) == 1, school
        text = html.unescape(pages[0].read_text(encoding="utf-8"))
        assert "указывает на другую ОО (70-005)" in text and "засчитан ОО 70-001" in text
