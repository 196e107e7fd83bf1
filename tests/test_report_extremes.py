"""The report with very large (yet storable) values: every figure in the PDF text and in svod.xlsx, nothing
past the page's text block and no two words on top of each other (cards, charts, tables)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from test_render import SCHOOLS, flat, needs_poppler, pdf_pages, small_report

from pipeline.report import charts
from pipeline.report.model import Figure, Section, YearReport
from pipeline.report.render import render_report
from pipeline.report.svod import write_svod

HUGE = 9e18  # P05 = P06 = 9·10¹⁸: the values of the attack, written straight into the report's model
HUGE_TEXT = "9 000 000 000 000 000 000"
# The text block of a portrait page: A4 is 595 pt wide and report.css sets a 16 mm right margin.
TEXT_RIGHT = 595.3 - 16 / 25.4 * 72


def extreme_report() -> YearReport:
    """small_report() with its funds, loans and ratios at 9·10¹⁸ and their sums three times that."""
    report = small_report()
    figures = [
        Figure("Отчёты приняты", 5, "ОО", 5, 6, previous=4),
        Figure("Библиотечный фонд, всего", 3 * HUGE, "экз.", 5, 6, previous=192333.0),
        Figure("Книговыдача за период", 2 * HUGE, "экз.", 5, 6, previous=HUGE),
        Figure("Читаемость", 2886002886002894.0, "", 5, 6, previous=7.97),
    ]
    library = Section("Ресурсы и деятельность библиотек", figures[1:], {"Показатели по району": pd.DataFrame({
        "Показатель": ["Фонд", "Книговыдача"], "Значение": [3 * HUGE, 2 * HUGE]})}, [])
    # Below 10¹² a chart writes numbers out: ticks of eleven characters must thin out not to touch.
    key_indicators = pd.DataFrame({"Читаемость": [4.7e16, 2.1e16, 14.7, 12.3, 5.6],
                                   "Книгообеспеченность": [HUGE / 500, 50.4, 44.5, 43.8, 20.1],
                                   "Посещаемость": [4.4e11, 2.5e11, 11.5, 10.2, 6.8]},
                                  index=pd.Index(SCHOOLS[:5], name="school"))
    # Twelve digits are written out, yet two of them side by side are wider than a panel's two bars.
    year_over_year = pd.DataFrame({
        "figure": ["Отчёты приняты", "Библиотечный фонд (P06)", "Читаемость", "Книговыдача", "Посещения"],
        "previous": [4, 192333.0, 7.97, HUGE, 987654321000.0],
        "current": [5, 3 * HUGE, 2886002886002894.0, 2 * HUGE, 987654321098.0],
        "unit": ["ОО", "экз.", "", "экз.", "ед."]})
    dynamics = Section("Динамика к прошлому году", figures, {"Ключевые показатели": year_over_year}, [])
    appendix = report.appendix_schools.assign(P05=[HUGE, HUGE, 3622, 4418, 9144, 1988],
                                              P06=[HUGE, 24842, HUGE, 18612, 31017, 6452])
    return dataclasses.replace(report, library=library, dynamics=dynamics, key_indicators=key_indicators,
                               year_over_year=year_over_year, appendix_schools=appendix)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outputs = tmp_path_factory.mktemp("outputs")
    report = extreme_report()
    svod = write_svod(report, outputs / "2025" / "svod.xlsx")
    paths = render_report(report, outputs, {"svod.xlsx": svod.read_bytes()})
    return {**paths, "svod": svod}


def page_words(path: Path) -> list[tuple[float, list[tuple[float, float, float, float, str]]]]:
    """Per page: its width and every word's box (xMin, yMin, xMax, yMax) as pdftotext -bbox finds them."""
    text = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True).stdout
    pages = []
    for page in re.finditer(r'<page width="([\d.]+)" height="[\d.]+">(.*?)</page>', text, re.DOTALL):
        words = [(float(x0), float(y0), float(x1), float(y1), word) for x0, y0, x1, y1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', page.group(2))]
        pages.append((float(page.group(1)), words))
    return pages


@needs_poppler
def test_pdf_text_has_the_values_in_full(rendered: dict[str, Path]) -> None:
    text = flat(" ".join(pdf_pages(rendered["pdf"])))
    assert HUGE_TEXT in text  # the per-school appendix and the year-over-year table
    assert "27 000 000 000 000 000 000 экз." in text  # the fund's card, wrapped between digit groups
    assert "2 886 002 886 002 894" in text
    assert "2,7·10¹⁹" in text  # the year-over-year chart's bar label
    assert "4,7·10¹⁶" in text  # a ranked chart's bar label
    assert "440 000 000 000" in text  # twelve digits are still written out


@needs_poppler
def test_no_word_runs_past_the_text_block(rendered: dict[str, Path]) -> None:
    outside = [(number, word[4]) for number, (width, words) in enumerate(page_words(rendered["pdf"]), start=1)
               if width < 600 for word in words if word[2] > TEXT_RIGHT + 1]
    assert outside == []


@needs_poppler
def test_no_two_words_overlap(rendered: dict[str, Path]) -> None:
    overlapping = []
    for number, (_, words) in enumerate(page_words(rendered["pdf"]), start=1):
        for index, first in enumerate(words):
            for second in words[index + 1:]:
                if (first[0] < second[2] - 0.5 and second[0] < first[2] - 0.5
                        and first[1] < second[3] - 0.5 and second[1] < first[3] - 0.5):
                    overlapping.append((number, first[4], second[4]))
    assert overlapping == []


def test_svod_keeps_every_digit_it_can(rendered: dict[str, Path]) -> None:
    book = openpyxl.load_workbook(rendered["svod"], read_only=True)
    values = {cell for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row}
    assert {HUGE, 3 * HUGE, 2886002886002894} <= {float(value) for value in values
                                                   if isinstance(value, (int, float))}


@pytest.mark.parametrize(("value", "text"), [
    pytest.param(999_999_999_999, "999 999 999 999", id="twelve digits are written out"),
    pytest.param(1e12, "1·10¹²", id="from 10^12 a power of ten"),
    pytest.param(4.712e19, "4,71·10¹⁹", id="three significant digits"),
    pytest.param(9.996e18, "1·10¹⁹", id="rounding up carries into the exponent"),
    pytest.param(-2.5e13, "\u22122,5·10¹³", id="negative, with a true minus"),
])
def test_chart_numbers_past_twelve_digits_are_powers_of_ten(value: float, text: str) -> None:
    assert charts._short_number(value).replace("\u00a0", " ") == text
