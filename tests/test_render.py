"""The report documents: what a reader finds in the PDF, the HTML and svod.xlsx, and what a school's text cannot do."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipeline.district.roadmap import DistrictDataError, Office, load_district
from pipeline.report import charts
from pipeline.report.fetcher import ASSETS, AssetFetcher, RefusedURLError
from pipeline.report.model import Figure, Section, YearReport
from pipeline.report.render import render_html, render_report
from pipeline.report.svod import write_svod
from pipeline.report.tables import table_views

HOSTILE = '<img src="file:///etc/passwd"> <script>alert(1)</script> {{ 7*7 }}'
FORMULA = '=HYPERLINK("http://x","y")'
SECTION_TITLES = [
    "Общие сведения и охват",
    "Выполнение дорожной карты",
    "Нормативная база",
    "Информирование",
    "Кадры и повышение квалификации",
    "Поощрения",
    "Ресурсы и деятельность библиотек",
    "Динамика к прошлому году",
    "Выводы",
    "Приложение 1",
]
ITEMS = ["1.1", "1.2", "1.3", "1.4а", "1.4б", "2", "3.1", "3.2", "4.1", "4.2"]
SCHOOLS = [f"70-{number:03d}" for number in range(1, 7)]
NAMES = [f"МБОУ «СОШ № {number}»" for number in range(1, 7)]
OFFICE = Office(
    full_name="Управление образования Администрации Демонстрационного района",
    name_locative="Демонстрационном районе",
    approver_position="Начальник Управления образования", approver_name="И. И. Иванова",
    executor_name="Петрова Анна Сергеевна", executor_position="методист ИМЦ", executor_phone="8 (3822) 00-00-00",
    executor_email="metodist@demo.example.ru")
PROJECT = Path(__file__).resolve().parents[1]
POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo") and shutil.which("pdfdetach")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdfinfo, pdfdetach) not installed")


def small_report(demo: bool = True, has_previous: bool = True) -> YearReport:
    """A hand-built report of six schools, one of which wrote hostile text into its comments."""
    statuses = list(charts.STATUSES)
    item_matrix = pd.DataFrame(
        [[statuses[(row + column) % 5] for column in range(len(ITEMS))] for row in range(len(SCHOOLS))],
        index=pd.Index(SCHOOLS, name="school"), columns=ITEMS)
    item_matrix.iloc[5] = ""
    status_by_item = pd.DataFrame({status: (item_matrix == status).sum() for status in statuses})
    status_table = status_by_item.assign(**{"Доля выполнивших, %": status_by_item["выполнено"] / 5})
    index_by_school = pd.DataFrame({
        "school": SCHOOLS[:5], "name": NAMES[:5], "index": [0.9, 0.75, 0.5, 0.25, 0.1],
        "done": [9, 6, 4, 2, 1], "applicable": [10, 8, 8, 8, 10]})
    figures = [
        Figure("Отчёты приняты", 5, "ОО", 5, 6, previous=4),
        Figure("Доля ОО, сдавших отчёт в срок", 0.667, "%", 5, 6, previous=0.5),
        Figure("Библиотечный фонд, всего", 123456.0, "экз.", 5, 6),
    ]
    coverage = Section(
        "Общие сведения и охват", figures,
        {"ОО, не сдавшие отчёт": pd.DataFrame({"Код ОО": [SCHOOLS[5]], "ОО": [NAMES[5]], "Состояние": ["нет отчёта"]})},
        ["Отчёты сдали 5 из 6 ОО."])
    roadmap = Section(
        "Выполнение дорожной карты", [Figure("Средний индекс выполнения", 0.5, "%", 5, 6)],
        {"Статусы мероприятий": status_table.rename_axis("Мероприятие")}, [])
    regulation = Section("Нормативная база", [], {"Реквизиты документов": pd.DataFrame({
        "Код ОО": SCHOOLS[:2], "Документ": ["Приказ", "Положение"], "Номер": ["12-о", FORMULA],
        "Дата": [dt.date(2024, 9, 1), dt.date(2024, 10, 15)],
        "Комментарий ОО": [HOSTILE, "без замечаний"]})}, [])
    staff = Section("Кадры и повышение квалификации", [Figure("Сотрудников библиотек", 7, "чел.", 5, 6)],
                    {"Сотрудники по должностям": pd.DataFrame({"Должность": ["педагог-библиотекарь", "библиотекарь"],
                                                               "Человек": [4, 3], "Ставок": [3.5, 2.25]})}, [])
    library = Section("Ресурсы и деятельность библиотек", [], {"Показатели по району": pd.DataFrame({
        "Показатель": ["Фонд", "Читаемость"], "Значение": [123456.0, 12.345]})}, [])
    key_indicators = pd.DataFrame({"Читаемость": [12.3, 8.1, 15.0, 4.2, 9.9],
                                   "Охват обучающихся, %": [0.8, 0.65, 0.9, 0.4, 0.7]},
                                  index=pd.Index(SCHOOLS[:5], name="school"))
    year_over_year = pd.DataFrame({"figure": ["Отчёты приняты", "Доля ОО, сдавших в срок"],
                                   "previous": [4, 0.5], "current": [5, 0.667], "unit": ["ОО", "%"]})
    dynamics = Section("Динамика к прошлому году", figures[:2], {"Ключевые показатели": year_over_year}, [])
    return YearReport(
        district="Демонстрационный район", year=2025, demo=demo,
        generated_at=dt.datetime(2025, 11, 1, 9, 30), period=(dt.date(2024, 9, 1), dt.date(2025, 8, 31)),
        deadline=dt.date(2025, 10, 1), expected=6, accepted=5, has_previous=has_previous,
        coverage=coverage, roadmap=roadmap, regulation=regulation,
        informing=Section("Информирование", [], {}, ["Раздел «Школьные ИБЦ» есть на сайтах 3 из 5 ОО."]),
        staff=staff, awards=Section("Поощрения"), library=library, dynamics=dynamics,
        conclusions=["Сильнее всего выполнено мероприятие 1.1.", "Внимания требует МБОУ «СОШ № 5»."],
        status_by_item=status_by_item,
        arrivals=pd.DataFrame({"date": [dt.date(2025, 4, 20), dt.date(2025, 6, 2), dt.date(2025, 9, 30),
                                        dt.date(2025, 10, 3), dt.date(2025, 10, 20)], "accepted": [1, 2, 3, 4, 5]}),
        item_matrix=item_matrix, index_by_school=index_by_school, key_indicators=key_indicators,
        year_over_year=year_over_year,
        appendix_schools=pd.DataFrame({"school": SCHOOLS, "name": NAMES, **{
            f"P{number:02d}": [100 * number + row for row in range(6)] for number in range(1, 15)}}),
        appendix_warnings=pd.DataFrame({"school": [SCHOOLS[0], SCHOOLS[0], SCHOOLS[2]],
                                        "name": [NAMES[0], NAMES[0], NAMES[2]], "code": ["V04", "K02", "L01"],
                                        "sheet": ["Показатели", "Курсы", "Титул"], "cell": ["D7", "E3", "B2"],
                                        "message": ["Значение вне диапазона", HOSTILE, FORMULA]}),
        appendix_links=pd.DataFrame({"school": SCHOOLS[:2], "name": NAMES[:2], "item": ["2", "4.1"],
                                     "link": ["https://school1.ru/ibc", "javascript:alert(1)"]}),
        files_used=pd.DataFrame({"path": ["70-001_ИБЦ_2025.xlsx", f"{FORMULA}.xlsx"], "sha256": ["ab" * 32, "cd" * 32],
                                 "school": SCHOOLS[:2], "status": ["accepted", "accepted"],
                                 "arrived_at": [dt.datetime(2025, 4, 20, 10), dt.datetime(2025, 6, 2, 11)]}),
        office=OFFICE, states={"on_time": 3, "late": 2, "rejected": 0, "missing": 1},
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outputs = tmp_path_factory.mktemp("outputs")
    report = small_report()
    svod = write_svod(report, outputs / "2025" / "svod.xlsx")
    files = b"path,sha256,school,status\n70-001_x.xlsx,abab,70-001,accepted\n"
    paths = render_report(report, outputs, {"svod.xlsx": svod.read_bytes(), "files.csv": files})
    return {**paths, "svod": svod}


def pdf_pages(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def pdf_streams(path: Path) -> bytes:
    """The PDF's bytes followed by every stream inflated, so compressed text and metadata can be searched."""
    data = path.read_bytes()
    inflated = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        try:
            inflated.append(zlib.decompress(match.group(1)))
        except zlib.error:
            inflated.append(match.group(1))
    return data + b"\n".join(inflated)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " "))


def test_render_report_writes_both_documents(rendered: dict[str, Path]) -> None:
    assert rendered["html"].name == "report.html" and rendered["html"].parent.name == "2025"
    assert rendered["pdf"].read_bytes().startswith(b"%PDF-")
    assert not list(rendered["pdf"].parent.glob(".*.tmp"))


@needs_poppler
def test_pdf_contains_every_section_in_order(rendered: dict[str, Path]) -> None:
    text = flat("\n".join(pdf_pages(rendered["pdf"])))
    body = text[text.index("Общие сведения и охват", text.index("Содержание") + 200):]
    positions = [body.find(title) for title in SECTION_TITLES]
    assert -1 not in positions, dict(zip(SECTION_TITLES, positions, strict=True))
    assert positions == sorted(positions)


@needs_poppler
def test_pdf_title_page_and_typography(rendered: dict[str, Path]) -> None:
    first = flat(pdf_pages(rendered["pdf"])[0])
    # The long title wraps after «информационно-»; pdftotext keeps that line break.
    assert ("Аналитическая справка по итогам мониторинга реализации единой информационно-библиотечной модели "
            "в Демонстрационном районе за 2024/2025 учебный год") in first.replace("- ", "-")
    assert "Демонстрационный район" in first
    assert "1 ноября 2025 г." in first
    text = flat("\n".join(pdf_pages(rendered["pdf"])))
    assert "123 456 экз." in text
    assert "66,7 %" in text
    assert "+16,7 п. п." in text  # percentage points, spaced (issue 12)
    assert "по данным 5 из 6 ОО" in text
    assert "Данных о поощрениях в принятых отчётах нет." in text


@needs_poppler
def test_pdf_marks_demo_data_on_every_page(rendered: dict[str, Path]) -> None:
    pages = pdf_pages(rendered["pdf"])
    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        assert "Демонстрационные данные" in page, f"page {number}"


@needs_poppler
def test_pdf_numbers_pages_with_running_header(rendered: dict[str, Path]) -> None:
    pages = pdf_pages(rendered["pdf"])
    total = len(pages)
    for number, page in enumerate(pages[1:], start=2):
        assert f"стр. {number} из {total}" in page
        assert "Демонстрационный район, 2025 г." in page


@needs_poppler
def test_pdf_page_count_from_pdfinfo(rendered: dict[str, Path]) -> None:
    info = subprocess.run(["pdfinfo", str(rendered["pdf"])], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    assert pages > 3


@needs_poppler
def test_school_text_is_shown_as_text_and_nothing_is_read(rendered: dict[str, Path]) -> None:
    text = flat("\n".join(pdf_pages(rendered["pdf"])))
    assert "<img src=" in text
    assert "{{ 7*7 }}" in text
    assert "<script>alert(1)</script>" in text
    assert FORMULA in text
    assert "root:x:0" not in text
    assert b"root:x:0" not in pdf_streams(rendered["pdf"])


def test_pdf_is_pdf_a_3b(rendered: dict[str, Path]) -> None:
    metadata = pdf_streams(rendered["pdf"])
    assert re.search(rb"pdfaid:part(>|=\")3", metadata)
    assert re.search(rb"pdfaid:conformance(>|=\")B", metadata)


@needs_poppler
def test_pdf_carries_the_attachments(rendered: dict[str, Path]) -> None:
    listing = subprocess.run(["pdfdetach", "-list", str(rendered["pdf"])], check=True, capture_output=True,
                             text=True).stdout
    assert "svod.xlsx" in listing
    assert "files.csv" in listing


def test_html_escapes_school_text(rendered: dict[str, Path]) -> None:
    html = rendered["html"].read_text(encoding="utf-8")
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html
    assert "<script>alert" not in html
    assert "<script" not in html.lower()
    assert 'href="javascript:' not in html


def test_html_is_self_contained(rendered: dict[str, Path]) -> None:
    html = rendered["html"].read_text(encoding="utf-8")
    assert "<svg" in html
    assert "<link" not in html
    assert not re.search(r"""(src|href)=["'](?!#|https://school1\.ru)""", html)


def test_svod_has_a_sheet_per_table_and_formulas_stay_text(rendered: dict[str, Path]) -> None:
    workbook = openpyxl.load_workbook(rendered["svod"])
    names = workbook.sheetnames
    for expected in ("Статусы мероприятий", "Реквизиты документов", "Сотрудники по должностям",
                     "Сводная таблица по ОО", "Замечания к данным", "Ссылки", "Файлы отчёта"):
        assert expected in names
    assert all(len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name) for name in names)
    assert len({name.lower() for name in names}) == len(names)
    formula_cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
                     if isinstance(cell.value, str) and cell.value.startswith("=")]
    assert formula_cells
    assert all(cell.data_type == "s" for cell in formula_cells)


def test_svod_formats_numbers_shares_and_dates(rendered: dict[str, Path]) -> None:
    workbook = openpyxl.load_workbook(rendered["svod"])
    statuses = workbook["Статусы мероприятий"]
    header = [cell.value for cell in statuses[1]]
    assert all(cell.font.b for cell in statuses[1])
    assert statuses.freeze_panes == "A2"
    share = statuses.cell(2, header.index("Доля выполнивших, %") + 1)
    assert share.number_format == "0.0%"
    assert statuses.cell(2, header.index("выполнено") + 1).number_format == "#,##0"
    documents = workbook["Реквизиты документов"]
    date_column = [cell.value for cell in documents[1]].index("Дата") + 1
    assert isinstance(documents.cell(2, date_column).value, dt.datetime)
    assert documents.cell(2, date_column).number_format == "DD.MM.YYYY"


def test_fetcher_refuses_local_files_and_network() -> None:
    fetcher = AssetFetcher()
    for url in ("file:///etc/passwd", "http://127.0.0.1/", "https://example.org/x.png",
                f"file://{ASSETS}/../report.html", "file://evil.example/etc/passwd", "ftp://127.0.0.1/x"):
        with pytest.raises(RefusedURLError):
            fetcher.fetch(url)
        with pytest.raises(RefusedURLError):
            fetcher(url)


def test_fetcher_serves_assets_and_data_urls() -> None:
    fetcher = AssetFetcher()
    response = fetcher.fetch((ASSETS / "report.css").as_uri())
    assert b"@page" in response.read()
    response.close()
    data = fetcher.fetch("data:text/plain;base64,0J/RgNC40LLQtdGC")
    assert data.read().decode() == "Привет"
    data.close()


def test_empty_report_says_so_in_sentences() -> None:
    report = small_report(demo=False, has_previous=False)
    empty = Section("Поощрения")
    report = dataclasses.replace(report, awards=empty, staff=Section("Кадры и повышение квалификации"),
                                 appendix_warnings=report.appendix_warnings.iloc[0:0])
    html = render_html(report)
    assert "Данных о поощрениях в принятых отчётах нет." in html
    assert "Данных о кадрах и повышении квалификации в принятых отчётах нет." in html
    assert "Принятых отчётов прошлой кампании нет" in html
    assert "В принятых отчётах замечаний к данным нет." in html
    assert "Демонстрационные данные" not in html


def draw_every_chart(report: YearReport) -> dict[str, str]:
    return {
        "status_bars": charts.status_bars(report.status_by_item),
        "arrivals_line": charts.arrivals_line(report.arrivals, report.deadline,
                                              (dt.date(2025, 4, 1), dt.date(2025, 10, 31))),
        "item_heatmap": charts.item_heatmap(report.item_matrix),
        "ranked_bars": charts.ranked_bars(report.index_by_school, "index", "name", "Индекс", percent=True),
        "year_over_year_bars": charts.year_over_year_bars(report.year_over_year, years=(2024, 2025)),
    }


def test_charts_are_small_inline_deterministic_svg() -> None:
    report = small_report()
    first, second = draw_every_chart(report), draw_every_chart(report)
    for name, svg in first.items():
        assert svg.startswith("<svg"), name
        assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<style" not in svg, name
        assert ' style="' not in svg, name  # presentation attributes only: nothing for the HTML cascade
        assert "DejaVu Sans" in svg, name
        assert len(svg) < 150_000, name
        assert svg == second[name], f"{name} is not deterministic"


@pytest.mark.parametrize("name", ["status_bars", "arrivals_line", "item_heatmap", "ranked_bars",
                                  "year_over_year_bars"])
def test_charts_draw_nothing_from_empty_frames(name: str) -> None:
    empty = pd.DataFrame()
    calls = {
        "status_bars": lambda: charts.status_bars(empty),
        "arrivals_line": lambda: charts.arrivals_line(pd.DataFrame(columns=["date", "accepted"]), dt.date(2025, 10, 1)),
        "item_heatmap": lambda: charts.item_heatmap(empty),
        "ranked_bars": lambda: charts.ranked_bars(pd.DataFrame({"name": [], "index": []}), "index", "name", "x"),
        "year_over_year_bars": lambda: charts.year_over_year_bars(pd.DataFrame(columns=["figure", "previous",
                                                                                       "current"])),
    }
    assert calls[name]() == ""


def test_ranked_bars_show_top_and_bottom_of_many_schools() -> None:
    many = pd.DataFrame({"name": [f"ОО {number}" for number in range(60)], "value": range(60)})
    svg = charts.ranked_bars(many, "value", "name", "Показатель")
    assert "… ещё 30 ОО …" in svg
    assert ">ОО 59<" in svg and ">ОО 0<" in svg and ">ОО 30<" not in svg


def test_chart_labels_are_plain_text() -> None:
    frame = pd.DataFrame({"name": ["$x^2$ школа", "<b>школа</b>"], "value": [1.0, 2.0]})
    svg = charts.ranked_bars(frame, "value", "name", "Доля $")
    assert ">$x^2$ школа<" in svg
    assert "&lt;b&gt;школа&lt;/b&gt;" in svg


def test_html_has_unique_ids_across_inlined_charts(rendered: dict[str, Path]) -> None:
    ids = re.findall(r' id="([^"]+)"', rendered["html"].read_text(encoding="utf-8"))
    assert len(ids) == len(set(ids))


def empty_report() -> YearReport:
    """A campaign in which no school's report was accepted: every frame empty, every section empty."""
    nothing = pd.DataFrame()
    sections = {key: Section(title) for key, title in zip(
        ("coverage", "roadmap", "regulation", "informing", "staff", "awards", "library", "dynamics"),
        SECTION_TITLES, strict=False)}
    return YearReport(
        district="Демонстрационный район", year=2025, demo=False, generated_at=dt.datetime(2025, 11, 1),
        period=(dt.date(2024, 9, 1), dt.date(2025, 8, 31)), deadline=dt.date(2025, 10, 1), expected=6, accepted=0,
        has_previous=False, **sections, conclusions=[], status_by_item=nothing, arrivals=nothing,
        item_matrix=nothing, index_by_school=nothing, key_indicators=nothing, year_over_year=nothing,
        appendix_schools=nothing, appendix_warnings=nothing, appendix_links=nothing, files_used=nothing)


def test_campaign_without_accepted_reports_renders_sentences(tmp_path: Path) -> None:
    html = render_html(empty_report())
    assert "<svg" not in html
    assert "<table" not in html
    assert "Данных о выполнении дорожной карты в принятых отчётах нет." in html
    assert "Отчётов ОО в кампании не принято: сводной таблицы нет." in html
    assert "Выводы не сформулированы" in html
    workbook = openpyxl.load_workbook(write_svod(empty_report(), tmp_path / "svod.xlsx"))
    assert "Сводная таблица по ОО" in workbook.sheetnames


def test_wide_table_is_split_with_its_row_keys_repeated() -> None:
    wide = pd.DataFrame({"school": SCHOOLS, "name": NAMES,
                         **{f"P{number:02d}": [123_456 * number] * len(SCHOOLS) for number in range(1, 31)}})
    parts = table_views("Сводная таблица по ОО", wide)
    assert len(parts) > 1
    assert all([column.label for column in part.columns[:2]] == ["Код ОО", "ОО"] for part in parts)
    shown = [column.label for part in parts for column in part.columns[2:]]
    assert shown == [f"P{number:02d}" for number in range(1, 31)]
    assert [part.continued for part in parts] == [False] + [True] * (len(parts) - 1)
    for part in parts:
        assert sum(column.width for column in part.columns) == pytest.approx(100, abs=0.1)


def test_row_unit_ending_in_percent_makes_only_value_columns_shares() -> None:
    totals = pd.DataFrame({"Показатель": ["Электронный каталог", "Фонд"], "Ед. изм.": ["доля ОО «да», %", "экз."],
                           "Значение": [0.5, 1234.0], "Данные ОО": [12, 12]})
    [view] = table_views("Показатели", totals)
    assert [kind for _, kind in view.rows[0]] == ["text", "text", "percent", "number"]
    assert [kind for _, kind in view.rows[1]] == ["text", "text", "number", "number"]


def test_school_rows_are_grouped_under_a_heading() -> None:
    links = pd.DataFrame({"Код ОО": ["70-001", "70-001", "70-002"], "Наименование": ["СОШ 1", "СОШ 1", "СОШ 2"],
                          "Мероприятие": ["2", "4.1", "2"], "Ссылка": ["https://a.ru", "https://b.ru", "x"]})
    [view] = table_views("Ссылки", links, by_school=True)
    assert [column.label for column in view.columns] == ["Мероприятие", "Ссылка"]
    assert view.groups == ["70-001 — СОШ 1", None, "70-002 — СОШ 2"]
    assert [kind for _, kind in view.rows[0]] == ["text", "link"]


# --- the report as a department's document (issue 12): cover, method, captions, appendices, executor ------------


def table_captions(lines: list[str]) -> list[tuple[int, str]]:
    """(number, title) of every «Таблица N — Наименование» caption, in reading order."""
    return [(int(match.group(1)), match.group(2).strip()) for line in lines
            if (match := re.match(r"Таблица (\d+) — (.+)", line))]


def caption_problems(lines: list[str]) -> list[str]:
    """What breaks ГОСТ 7.32 captions: numbers not 1…n, a table titled twice, «(продолжение)», a figure caption
    not «Рисунок N — …» or ending in a full stop."""
    problems = []
    numbers = [number for number, _ in table_captions(lines)]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"table numbers {numbers}")
    titles = [title for _, title in table_captions(lines)]
    problems += [f"table twice: {title}" for title in sorted({t for t in titles if titles.count(t) > 1})]
    problems += [line for line in lines if "(продолжение)" in line]
    figure_lines = [line for line in lines if line.startswith("Рисунок")]
    figures = [match for line in figure_lines if (match := re.match(r"Рисунок (\d+) — (.+)", line))]
    problems += [f"figure caption: {line}" for line in figure_lines if not re.match(r"Рисунок \d+ — ", line)]
    numbers = [int(match.group(1)) for match in figures]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"figure numbers {numbers}")
    problems += [f"full stop: {match.group(0)}" for match in figures if match.group(2).endswith(".")]
    return problems


def text_lines(path: Path) -> list[str]:
    return [flat(line).strip() for page in pdf_pages(path) for line in page.splitlines() if line.strip()]


def long_report() -> YearReport:
    """small_report() with a section table long enough to run over pages, a wide one split into parts, the links
    table repeated in a section, and a per-school list of fifteen schools."""
    report = small_report()
    long_rows = pd.DataFrame({"Показатель": [f"Показатель номер {number}" for number in range(1, 121)],
                              "Значение": [float(number) for number in range(1, 121)]})
    wide = pd.DataFrame({"Показатель": ["Фонд", "Читатели"],
                         **{f"Колонка показателя {number}": [123_456.0 * number] * 2 for number in range(1, 13)}})
    schools = pd.DataFrame({"Код ОО": [f"70-{number:03d}" for number in range(1, 16)],
                            "Наименование": [f"МБОУ «СОШ № {number}»" for number in range(1, 16)],
                            "Раздел на сайте": ["да"] * 15})
    links = report.appendix_links
    informing = Section("Информирование", [], {"Информирование по ОО": schools, "Ссылки на разделы": links}, [])
    library = Section("Ресурсы и деятельность библиотек", [], {"Показатели по району": long_rows,
                                                               "Показатели в разрезе": wide}, [])
    shuffled = pd.DataFrame({"school": [SCHOOLS[1], SCHOOLS[0], SCHOOLS[1], SCHOOLS[0]],
                             "name": [NAMES[1], NAMES[0], NAMES[1], NAMES[0]], "item": ["4.1", "4.1", "2", "2"],
                             "link": ["https://b.ru/41", "https://a.ru/41", "https://b.ru/2", "https://a.ru/2"]})
    informing.tables["Ссылки на разделы"] = shuffled
    return dataclasses.replace(report, informing=informing, library=library, appendix_links=shuffled)


@pytest.fixture(scope="module")
def long_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outputs = tmp_path_factory.mktemp("long")
    return render_report(long_report(), outputs, {"svod.xlsx": b"x", "files.csv": b"path\n"})["pdf"]


@needs_poppler
def test_cover_carries_the_approval_stamp_and_the_title_in_the_genre(rendered: dict[str, Path]) -> None:
    cover = flat(pdf_pages(rendered["pdf"])[0])
    stamp = cover.index("УТВЕРЖДАЮ")
    assert cover.index("Начальник Управления образования") > stamp
    assert re.search(r"_{6,} И\. И\. Иванова", cover)
    assert "«___» ____________ 20__ г." in cover
    assert "Управление образования Администрации Демонстрационного района" in cover
    assert "Аналитическая справка по итогам мониторинга" in cover


def test_cover_without_the_office_in_district_data_leaves_lines_to_fill_by_hand() -> None:
    html = render_html(dataclasses.replace(small_report(), office=Office()))
    assert "УТВЕРЖДАЮ" in html
    assert "Исполнитель: ____" in html
    assert "в\u00a0муниципальном образовании «Демонстрационный район» за\u00a02024/2025" in html


@needs_poppler
def test_executor_mark_closes_the_body_before_the_appendices(rendered: dict[str, Path]) -> None:
    text = flat("\n".join(pdf_pages(rendered["pdf"])))
    executor = text.index("Исполнитель: Петрова Анна Сергеевна, методист ИМЦ")
    assert text.index("Выводы", text.index("Содержание") + 300) < executor < text.index("Приложение 1 Сводная")
    assert "тел. 8 (3822) 00-00-00, e-mail: metodist@demo.example.ru" in text[executor:]


@needs_poppler
def test_method_states_the_collection_and_the_one_share_rule(rendered: dict[str, Path]) -> None:
    text = flat("\n".join(pdf_pages(rendered["pdf"])))
    start = text.index("1. Введение и методика", text.index("Содержание") + 300)
    method = text[start:text.index("2. Общие", start)]
    assert "Ожидались отчёты 6 ОО из реестра района; принято 5 отчётов (в срок — 3, с опозданием — 2)" in method
    assert "не сдали отчёт — 1 ОО" in method
    assert "«не требуется»" in method and "в знаменатель не входят" in method
    assert "в обоих годах" in method and "п. п." in method
    # File names appear in «О данных» only.
    assert "svod.xlsx" in method and "svod.xlsx" not in text[text.index("2. Общие", start):]


@needs_poppler
def test_tables_and_figures_are_captioned_by_gost(rendered: dict[str, Path], long_pdf: Path) -> None:
    for path in (rendered["pdf"], long_pdf):
        lines = text_lines(path)
        assert table_captions(lines), path
        assert any(line.startswith("Рисунок 1 — ") for line in lines), path
        assert caption_problems(lines) == [], path


def test_caption_rule_catches_a_title_given_twice_and_the_old_continuation() -> None:
    good = ["Таблица 1 — Охват", "Рисунок 1 — Поступление отчётов", "Таблица 2 — Ссылки", "Продолжение таблицы 2"]
    assert caption_problems(good) == []
    assert caption_problems([*good, "Таблица 3 — Ссылки"]) == ["table twice: Ссылки"]
    assert caption_problems(["Таблица 1 — Охват", "Таблица 1 Охват (продолжение)"]) == [
        "Таблица 1 Охват (продолжение)"]
    assert caption_problems(["Рисунок 1. Поступление."]) == ["figure caption: Рисунок 1. Поступление."]


@needs_poppler
def test_a_table_running_over_a_page_says_so_above_its_continuation(long_pdf: Path) -> None:
    pages = pdf_pages(long_pdf)
    starts = [number for number, page in enumerate(pages) if "Показатель номер 1 " in flat(page)]
    ends = [number for number, page in enumerate(pages) if "Показатель номер 120" in flat(page)]
    assert starts and ends and ends[0] > starts[0]
    caption = next(title for number, title in table_captions(text_lines(long_pdf)) if title == "Показатели по району")
    number = next(number for number, title in table_captions(text_lines(long_pdf)) if title == caption)
    for page in pages[starts[0] + 1:ends[0] + 1]:
        first_line = next(line.strip() for line in page.splitlines()
                          if line.strip() and "Аналитическая справка о реализации ЕИБМ" not in line)
        assert first_line.startswith(f"Продолжение таблицы {number}"), first_line
    # The page where the table begins and the pages after it has ended say nothing of it.
    assert "Продолжение таблицы" not in pages[starts[0]].split("Таблица")[0]
    assert all(f"Продолжение таблицы {number}" not in page for page in pages[ends[0] + 1:])


@needs_poppler
def test_a_table_split_by_its_columns_continues_under_its_number(long_pdf: Path) -> None:
    lines = text_lines(long_pdf)
    number = next(number for number, title in table_captions(lines) if title == "Показатели в разрезе")
    assert f"Продолжение таблицы {number}" in lines


@needs_poppler
def test_each_table_once_links_sorted_and_school_lists_in_appendices(long_pdf: Path) -> None:
    text = flat("\n".join(pdf_pages(long_pdf)))
    lines = text_lines(long_pdf)
    titles = [title for _, title in table_captions(lines)]
    assert "Ссылки на разделы" not in titles  # the section's copy of the links: the appendix holds them
    links = text[text.index("Ссылки, указанные ОО", text.index("Приложение 1 Сводная")):]
    assert [links.index(url) for url in ("https://a.ru/2", "https://a.ru/41", "https://b.ru/2", "https://b.ru/41")] \
        == sorted(links.index(url) for url in ("https://a.ru/2", "https://a.ru/41", "https://b.ru/2", "https://b.ru/41"))
    body = text[:text.index("Приложение 1 Сводная")]
    assert "МБОУ «СОШ № 15»" not in body
    assert re.search(r"приведены в приложении \d+ «Информирование по ОО»", body)
    assert re.search(r"Приложение \d+ Информирование по ОО", text)


def test_heat_map_and_status_bars_speak_in_words() -> None:
    report = small_report()
    heatmap = charts.item_heatmap(report.item_matrix)
    assert ">+ — выполнено<" in heatmap and ">… — в работе<" in heatmap
    assert ">Ж<" not in heatmap and "Ж в работе" not in heatmap
    svg = charts.status_bars(report.status_by_item, {"1.1": "1.1 Нормативная база ОО"})
    assert ">1.1 Нормативная база ОО<" in svg


def test_office_keys_of_a_wrong_type_are_named_with_the_file(tmp_path: Path) -> None:
    text = (PROJECT / "inputs" / "district.toml").read_text(encoding="utf-8")
    (tmp_path / "district.toml").write_text(text.replace('approver_name = "И. И. Иванова"', "approver_name = 5"),
                                            encoding="utf-8")
    with pytest.raises(DistrictDataError, match=r"district\.toml: ключ «district\.approver_name»: неверный тип"):
        load_district(tmp_path)
    (tmp_path / "district.toml").write_text(re.sub(r"(?m)^(approver|executor)_\w+ = .*$", "", text),
                                            encoding="utf-8")
    office = load_district(tmp_path).office
    assert office.approver_name == "" and office.executor_phone == ""
    assert office.full_name == "Управление образования Администрации Демонстрационного района"
