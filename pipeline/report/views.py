"""The report's sections and appendices as the template shows them: figures, charts and tables of a YearReport."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from markupsafe import Markup

from pipeline.report import charts
from pipeline.report.columns import is_share_column
from pipeline.report.model import Figure, Section, YearReport
from pipeline.report.tables import LANDSCAPE_CHARACTERS, TableView, table_views
from pipeline.typography import count, ru_date

# Beyond this many schools the heat map shows the schools with the lowest implementation index.
HEATMAP_SCHOOLS = charts.MAX_HEATMAP_ROWS
SECTION_DEFAULTS = {
    "coverage": ("Общие сведения и охват", "В кампании не принято ни одного отчёта: данных об охвате нет."),
    "roadmap": ("Выполнение дорожной карты", "Данных о выполнении дорожной карты в принятых отчётах нет."),
    "regulation": ("Нормативная база", "Данных о нормативных документах в принятых отчётах нет."),
    "informing": ("Информирование", "Данных об информировании в принятых отчётах нет."),
    "staff": ("Кадры и повышение квалификации", "Данных о кадрах и повышении квалификации в принятых отчётах нет."),
    "awards": ("Поощрения", "Данных о поощрениях в принятых отчётах нет."),
    "library": ("Ресурсы и деятельность библиотек",
                "Данных о ресурсах и деятельности библиотек в принятых отчётах нет."),
    "dynamics": ("Динамика к прошлому году",
                 "Принятых отчётов прошлой кампании нет: сравнение с прошлым годом появится в следующем отчёте."),
}


@dataclass(frozen=True)
class ChartView:
    """One chart: its caption and its inline SVG."""

    caption: str
    svg: Markup


@dataclass(frozen=True)
class AppendixView:
    """One appendix: its tables, or the sentence saying there is nothing to list."""

    anchor: str
    heading: str
    tables: list[TableView]
    empty_text: str
    landscape: bool = False


@dataclass(frozen=True)
class SectionView:
    """One numbered section as the template shows it."""

    anchor: str
    number: str
    title: str
    figures: list[Figure]
    charts: list[ChartView]
    tables: list[TableView]
    notes: list[str]
    empty_text: str | None


def section_views(report: YearReport) -> list[SectionView]:
    """The eight numbered sections, in report order, each with its charts and tables."""
    return [
        _section_view("coverage", "1", report.coverage, _coverage_charts(report)),
        _section_view("roadmap", "2", report.roadmap, _roadmap_charts(report)),
        _section_view("regulation", "3", report.regulation, []),
        _section_view("informing", "4", report.informing, []),
        _section_view("staff", "5", report.staff, []),
        _section_view("awards", "6", report.awards, []),
        _section_view("library", "7", report.library, _library_charts(report)),
        _section_view("dynamics", "8", report.dynamics, _dynamics_charts(report),
                      force_empty=not report.has_previous),
    ]


def appendix_views(report: YearReport) -> list[AppendixView]:
    """The appendices: the per-school summary (landscape), the data warnings and the links, by school."""
    return [
        AppendixView("appendix-schools", "Приложение 1. Сводная таблица по ОО",
                     table_views("Сводная таблица по ОО", report.appendix_schools, page=LANDSCAPE_CHARACTERS),
                     "Отчётов ОО в кампании не принято: сводной таблицы нет.", landscape=True),
        AppendixView("appendix-warnings", "Приложение 2. Замечания к данным по ОО",
                     table_views("Замечания к данным", report.appendix_warnings, by_school=True),
                     "В принятых отчётах замечаний к данным нет."),
        AppendixView("appendix-links", "Приложение 3. Ссылки, указанные ОО",
                     table_views("Ссылки", report.appendix_links, by_school=True),
                     "Ссылок в принятых отчётах нет."),
    ]


def _section_view(key: str, number: str, section: Section, chart_views: list[ChartView],
                  force_empty: bool = False) -> SectionView:
    default_title, empty_sentence = SECTION_DEFAULTS[key]
    tables = [view for title, frame in section.tables.items() for view in table_views(title, frame)]
    empty = force_empty or section.is_empty
    return SectionView(
        anchor=f"section-{key}",
        number=number,
        title=section.title.strip() or default_title,
        figures=[] if force_empty else section.figures,
        charts=[] if force_empty else chart_views,
        tables=[] if force_empty else tables,
        notes=section.notes,
        # The notes of an empty section usually say why; the default sentence is for when they do not.
        empty_text=empty_sentence if empty and not section.notes else None,
    )


def _coverage_charts(report: YearReport) -> list[ChartView]:
    svg = charts.arrivals_line(report.arrivals, report.deadline, window=report.window)
    return _charts([(f"Поступление принятых отчётов и срок сдачи {ru_date(report.deadline)}", svg)])


def _roadmap_charts(report: YearReport) -> list[ChartView]:
    matrix = report.item_matrix
    heatmap_caption = "Статусы мероприятий дорожной карты по ОО"
    if len(matrix) > HEATMAP_SCHOOLS and "index" in report.index_by_school:
        # A grid of hundreds of rows is unreadable: show the schools that need attention first.
        lowest = report.index_by_school.sort_values("index", kind="stable")["school"].head(HEATMAP_SCHOOLS)
        matrix = matrix.loc[[school for school in lowest if school in matrix.index]]
        heatmap_caption += f" ({count(len(matrix), 'ОО', 'ОО', 'ОО')} с наименьшим индексом выполнения)"
    return _charts([
        ("Число ОО по статусам выполнения мероприятий дорожной карты", charts.status_bars(report.status_by_item)),
        ("Индекс выполнения дорожной карты по ОО (доля выполненных применимых мероприятий)",
         _index_chart(report)),
        (heatmap_caption, charts.item_heatmap(matrix)),
    ])


def _index_chart(report: YearReport) -> str:
    frame = report.index_by_school
    if frame.empty or "school" not in frame or "index" not in frame:
        return ""
    return charts.ranked_bars(_labelled(frame.set_index("school"), report), "index", "_label", "Индекс выполнения",
                              percent=True)


def _library_charts(report: YearReport) -> list[ChartView]:
    indicators = report.key_indicators
    if indicators.empty:
        return []
    labelled = _labelled(indicators, report)
    drawn = []
    for column in indicators.columns:
        share = is_share_column(str(column))
        svg = charts.ranked_bars(labelled, column, "_label", str(column), percent=share)
        drawn.append((f"{column}: значения по ОО", svg))
    return _charts(drawn)


def _dynamics_charts(report: YearReport) -> list[ChartView]:
    if not report.has_previous:
        return []
    frame, step = report.year_over_year, charts.YEAR_PANELS
    caption = f"Ключевые показатели {report.year - 1} и {report.year} гг."
    parts = [frame.iloc[start:start + step] for start in range(0, len(frame), step)]
    return _charts([(caption if index == 0 else f"{caption} (продолжение)",
                     charts.year_over_year_bars(part, years=(report.year - 1, report.year)))
                    for index, part in enumerate(parts)])


def _charts(drawn: list[tuple[str, str]]) -> list[ChartView]:
    # The SVG is our own matplotlib output; matplotlib XML-escapes every label it writes into it.
    return [ChartView(caption, Markup(svg)) for caption, svg in drawn if svg]


def _school_names(report: YearReport) -> dict[Any, str]:
    frame = report.index_by_school
    if frame.empty or "school" not in frame or "name" not in frame:
        return {}
    # The code leads: a long name is cut at its end on a chart, and the code still tells the school.
    return {row.school: f"{row.school} {row.name}" for row in frame[["school", "name"]].itertuples(index=False)}


def _labelled(by_school: pd.DataFrame, report: YearReport) -> pd.DataFrame:
    """*by_school* (index school code) with a «_label» column: «70-001 МБОУ «СОШ № 1»»."""
    names = _school_names(report)
    return by_school.assign(_label=[names.get(school, str(school)) for school in by_school.index])

