"""The report's numbers on the demo district, checked against an independent reading of the demo files.

The independent side reads the accepted files with pandas alone (no pipeline code) and recomputes
each figure; the pipeline side collects both campaigns and aggregates them.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import PROJECT

from pipeline import ledger
from pipeline.collect.run import collect
from pipeline.district.setup import load_setup
from pipeline.report.annual import build_report
from pipeline.report.model import YearReport

# Which file of each school the demo means to be the accepted one in 2025 (scripts/make_demo.py).
ACCEPTED_2025 = {
    "70-001": "70-001_ИБЦ_2025.xlsx", "70-002": "70-002_ИБЦ_2025.xlsx", "70-003": "70-003_ИБЦ_2025.xlsx",
    "70-004": "70-004_ИБЦ_2025_исправленный.xlsx", "70-006": "70-006_ИБЦ_2025.xlsx", "70-007": "csv",
    "70-008": "70-008_ИБЦ_2025.ods", "70-010": "70-010_ИБЦ_2025.xlsx", "70-011": "70-011_ИБЦ_2025.xlsx",
    "70-012": "70-012_ИБЦ_2025.xlsx", "70-013": "70-013_ИБЦ_2025.xlsx",
    "70-014": "70-014_ИБЦ_2025_уточнённый.xlsx", "70-016": "70-016_ИБЦ_2025.xlsx",
}
EXPECTED_2025 = 15  # 16 in the register; 70-015 closed on 01.06.2025


def read_sheet(folder: Path, school: str, sheet: str) -> pd.DataFrame:
    name = ACCEPTED_2025[school]
    if name == "csv":
        return pd.read_csv(folder / f"{school}_{sheet}.csv", sep=";", encoding="cp1251", dtype=str, decimal=",")
    return pd.read_excel(folder / name, sheet_name=sheet, dtype=str, engine="calamine")


def number(text: object) -> float:
    return float(str(text).replace("\u00a0", "").replace(" ", "").replace(",", "."))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> YearReport:
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(PROJECT / "inputs", root / "inputs")
    now = dt.datetime(2025, 11, 5, 9, 0)
    for year in (2024, 2025):
        collect(load_setup(root / "inputs", root / "outputs", year), now=now)
    setup = load_setup(root / "inputs", root / "outputs", 2025)
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        return build_report(setup, engine, now)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def independent() -> dict[str, pd.DataFrame]:
    folder = PROJECT / "inputs" / "2025"
    indicators, items, staff = [], [], []
    for school in ACCEPTED_2025:
        frame = read_sheet(folder, school, "Показатели")
        indicators.append(frame.assign(school=school))
        items.append(read_sheet(folder, school, "Дорожная карта").assign(school=school))
        staff.append(read_sheet(folder, school, "Сотрудники").dropna(how="all").assign(school=school))
    return {"indicators": pd.concat(indicators), "items": pd.concat(items), "staff": pd.concat(staff)}


def figure(report: YearReport, section: str, label: str):
    found = next(item for item in getattr(report, section).figures if item.label == label)
    return found


def test_coverage_counts_match_the_demo_plan(report: YearReport) -> None:
    assert (report.expected, report.accepted) == (EXPECTED_2025, len(ACCEPTED_2025))
    assert figure(report, "coverage", "Отчёт не сдан").value == 1
    assert figure(report, "coverage", "Отчёт отклонён").value == 1
    assert figure(report, "coverage", "Отчёт принят с опозданием").value == 3  # arrivals after 01.10.2025
    missing = report.coverage.tables["ОО без принятого отчёта"]["Код ОО"].tolist()
    assert sorted(missing) == ["70-005", "70-009"]


@pytest.mark.parametrize(("code", "label"), [
    ("P01", "Обучающихся"), ("P02", "Пользователей библиотек"), ("P06", "Библиотечный фонд")])
def test_indicator_totals_match_the_files(report: YearReport, independent: dict, code: str, label: str) -> None:
    rows = independent["indicators"]
    expected = sum(number(value) for value in rows.loc[rows["Код"] == code, "Значение"])
    found = figure(report, "library", label)
    assert found.value == pytest.approx(expected)
    assert (found.base, found.of) == (len(ACCEPTED_2025), len(ACCEPTED_2025))


def test_reading_ratio_is_total_issues_over_total_users(report: YearReport, independent: dict) -> None:
    rows = independent["indicators"]
    issues = sum(number(value) for value in rows.loc[rows["Код"] == "P05", "Значение"])
    users = sum(number(value) for value in rows.loc[rows["Код"] == "P02", "Значение"])
    assert figure(report, "library", "Читаемость").value == pytest.approx(issues / users)


def test_website_share_matches_item_2_statuses(report: YearReport, independent: dict) -> None:
    items = independent["items"]
    done = items[(items["Код"].astype(str).str.replace(".0", "", regex=False) == "2")
                 & items["Статус"].isin(["выполнено", "выполнено ранее"])]["school"].nunique()
    found = figure(report, "informing", "ОО с разделом «Школьные ИБЦ» на сайте (мероприятие 2)")
    assert found.value == pytest.approx(done / len(ACCEPTED_2025))


def test_status_counts_per_item_match_the_files(report: YearReport, independent: dict) -> None:
    items = independent["items"]
    counted = items.groupby(["Код", "Статус"]).size()
    for (code, status), count in counted.items():
        assert report.status_by_item.at[str(code), status] == count, (code, status)


def test_staff_count_and_rates_match_the_files(report: YearReport, independent: dict) -> None:
    staff = independent["staff"]
    assert figure(report, "staff", "Сотрудников библиотек").value == len(staff)
    assert figure(report, "staff", "Всего ставок").value == pytest.approx(sum(number(rate) for rate in staff["Ставка"]))


def test_year_over_year_compares_with_2024(report: YearReport) -> None:
    assert report.has_previous
    previous = figure(report, "dynamics", "Принято отчётов").previous
    assert previous == 14  # 2024: 13 on time + 1 late of 15 expected


def test_year_over_year_data_rest_on_the_schools_accepted_in_both_years(report: YearReport) -> None:
    # 2024 accepted 14 schools, 2025 accepted 13; eleven are in both (scripts/make_demo.py).
    both = sorted(set(report.dynamics.tables["Показатели ОО к их прошлому году"]["Код ОО"]))
    pupils = figure(report, "dynamics", "Обучающихся")
    assert pupils.note == f"ОО, сдавшие отчёт в оба года: {len(both)}"
    assert pupils.value == sum(report.appendix_schools.set_index("Код ОО").loc[both, "Обучающихся"])


def test_shares_of_people_rest_on_people(report: YearReport, independent: dict) -> None:
    staff = independent["staff"]
    pedagogues = staff[staff["Должность"] == "педагог-библиотекарь"]
    found = figure(report, "staff", "Педагоги-библиотекари с КПК за последние 3 года")
    assert (found.counts.whole, found.counts.unit) == (len(pedagogues), "чел.")


@pytest.fixture(scope="module")
def pdf_pages(report: YearReport, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    from pipeline.report.render import render_report

    outputs = tmp_path_factory.mktemp("rendered")
    paths = render_report(report, outputs, {"files.csv": b"path;sha256\n"})
    text = subprocess.run(["pdftotext", "-layout", str(paths["pdf"]), "-"], capture_output=True, text=True,
                          check=True).stdout
    return text.split("\f")[:-1]


def test_demo_pdf_has_every_section_the_key_figures_and_the_demo_mark(pdf_pages: list[str]) -> None:
    text = "\n".join(pdf_pages).replace("\u00a0", " ")
    for title in ("Общие сведения и охват", "Выполнение дорожной карты", "Нормативная база", "Информирование",
                  "Кадры и повышение квалификации", "Поощрения", "Ресурсы и деятельность библиотек",
                  "Динамика к прошлому году", "Выводы", "Приложение 1"):
        assert title in text, title
    assert "13 из 15" in text  # accepted of expected, on the title page
    assert "по данным 13 из 13 ОО" in text
    # Item 3.2 applies to 11 schools (two answered «не требуется»): 10 of 11, not 10 of 13.
    assert "90,9 % (10 из 11)" in text
    assert "Демонстрационный район" in text
    assert len(pdf_pages) >= 10
    assert all("Демонстрационные данные" in page for page in pdf_pages)
