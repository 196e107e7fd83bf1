"""The report's sections and appendices as the template shows them: figures, charts and tables of a YearReport,
numbered through the document, with per-school lists moved to appendices and each table shown once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pandas as pd
from markupsafe import Markup

from pipeline.report import charts
from pipeline.report.columns import column_label, is_share_column, school_columns
from pipeline.report.model import Figure, Section, YearReport
from pipeline.report.tables import LANDSCAPE_CHARACTERS, TableView, table_views
from pipeline.typography import count, quoted, ru_short_date

# Beyond this many schools the heat map shows the schools with the lowest implementation index.
HEATMAP_SCHOOLS = charts.MAX_HEATMAP_ROWS
# A list of schools longer than this goes to an appendix: the body keeps the district's picture readable.
BODY_SCHOOL_ROWS = 10
# An item's name on a chart: its code and the title up to a bracket, on at most two lines of this length.
ITEM_LABEL_LINE = 40
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
    """One chart: its number in the document, its caption and its inline SVG."""

    caption: str
    svg: Markup
    number: int = 0


@dataclass(frozen=True)
class AppendixView:
    """One appendix: its number, its title, its charts and tables, or the sentence saying there is nothing to list."""

    anchor: str
    number: int
    title: str
    tables: list[TableView]
    empty_text: str
    landscape: bool = False
    charts: list[ChartView] = dataclasses.field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"Приложение\u00a0{self.number}. {self.title}"


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
    references: list[str] = dataclasses.field(default_factory=list)  # «Данные по каждой ОО — в приложении 3 …»


@dataclass(frozen=True)
class DocumentView:
    """The numbered sections and the appendices, tables and figures numbered in reading order."""

    sections: list[SectionView]
    appendices: list[AppendixView]


def document_view(report: YearReport, first_number: int = 2) -> DocumentView:
    """Sections numbered from *first_number* (the method section comes first), then the appendices: the
    per-school summary, every long per-school list of a section, the data warnings and the links."""
    summary = _appendix("appendix-schools", "Сводная таблица по ОО", report.appendix_schools,
                        "Отчётов ОО в кампании не принято: сводной таблицы нет.", landscape=True)
    warnings = _appendix("appendix-warnings", "Замечания к данным по ОО", report.appendix_warnings,
                         "В принятых отчётах замечаний к данным нет.", by_school=True)
    links = _appendix("appendix-links", "Ссылки, указанные ОО", _sorted_links(report.appendix_links),
                      "Ссылок в принятых отчётах нет.", by_school=True)
    shown_in_appendix = [report.appendix_schools, report.appendix_warnings, report.appendix_links]
    moved: list[AppendixView] = []
    sections = []
    for offset, (key, section, drawn, per_school) in enumerate(_sections(report)):
        dynamics_without_previous = key == "dynamics" and not report.has_previous
        view, lists = _section_view(key, str(first_number + offset), section, drawn, shown_in_appendix,
                                    force_empty=dynamics_without_previous)
        references = []
        for title, frame in lists:
            number = 2 + len(moved)
            moved.append(_appendix(f"appendix-{key}-{len(moved)}", title, frame, "", number=number))
            references.append(f"{number} {quoted(title)}")
        # A chart of every school fills a page: on a page of its own it leaves no half-empty page in the body.
        for chart in [] if dynamics_without_previous else per_school:
            number = 2 + len(moved)
            moved.append(AppendixView(f"appendix-{key}-{len(moved)}", number, chart.caption, [], "",
                                      charts=[chart]))
            references.append(f"{number} «{chart.caption}»")
        if references:
            view = dataclasses.replace(view, references=[_reference(references)])
        sections.append(view)
    appendices = [dataclasses.replace(summary, number=1), *moved]
    appendices += [dataclasses.replace(warnings, number=len(appendices) + 1),
                   dataclasses.replace(links, number=len(appendices) + 2)]
    return _numbered(DocumentView(sections, appendices))


def _sections(report: YearReport) -> list[tuple[str, Section, list[ChartView], list[ChartView]]]:
    """Each section with its district charts (in the body) and its charts of every school (in appendices)."""
    return [
        ("coverage", report.coverage, _coverage_charts(report), []),
        ("roadmap", report.roadmap, _roadmap_charts(report), _roadmap_school_charts(report)),
        ("regulation", report.regulation, [], []),
        ("informing", report.informing, [], []),
        ("staff", report.staff, [], []),
        ("awards", report.awards, [], []),
        ("library", report.library, [], _library_charts(report)),
        ("dynamics", report.dynamics, _dynamics_charts(report), []),
    ]


def _reference(appendices: list[str]) -> str:
    """«Данные по каждой ОО приведены в приложениях 3 «…» и 4 «…».»"""
    if len(appendices) == 1:
        return f"Данные по каждой ОО приведены в приложении\u00a0{appendices[0]}."
    return ("Данные по каждой ОО приведены в приложениях\u00a0" + ", ".join(appendices[:-1])
            + f" и {appendices[-1]}.")


def _section_view(key: str, number: str, section: Section, chart_views: list[ChartView],
                  shown_in_appendix: list[pd.DataFrame],
                  force_empty: bool = False) -> tuple[SectionView, list[tuple[str, pd.DataFrame]]]:
    """The section as shown, and the long per-school lists it hands to appendices."""
    default_title, empty_sentence = SECTION_DEFAULTS[key]
    body, lists = [], []
    for title, frame in section.tables.items():
        if any(frame is shown or _same(frame, shown) for shown in shown_in_appendix):
            continue  # each table once: the appendix holds it
        if school_columns(frame) and len(frame) > BODY_SCHOOL_ROWS:
            lists.append((title, frame))
        else:
            body.extend(table_views(title, frame))
    empty = force_empty or section.is_empty
    view = SectionView(
        anchor=f"section-{key}",
        number=number,
        title=section.title.strip() or default_title,
        figures=[] if force_empty else section.figures,
        charts=[] if force_empty else chart_views,
        tables=[] if force_empty else body,
        notes=section.notes,
        # The notes of an empty section usually say why; the default sentence is for when they do not.
        empty_text=empty_sentence if empty and not section.notes else None,
    )
    return view, [] if force_empty else lists


def _same(frame: pd.DataFrame, other: pd.DataFrame) -> bool:
    return frame.shape == other.shape and len(frame) > 0 and frame.equals(other)


def _appendix(anchor: str, title: str, frame: pd.DataFrame, empty_text: str, by_school: bool = False,
              landscape: bool = False, number: int = 0) -> AppendixView:
    """An appendix of one table; a table wider than a portrait page is laid out on landscape pages."""
    if not landscape:
        tables = table_views(title, frame, by_school=by_school)
        landscape = len(tables) > 1
    if landscape:
        tables = table_views(title, frame, by_school=by_school, page=LANDSCAPE_CHARACTERS)
    return AppendixView(anchor, number, title, tables, empty_text, landscape=landscape)


def _sorted_links(links: pd.DataFrame) -> pd.DataFrame:
    """The links by school, then by item, in the order each school gave them."""
    if links is None or links.empty:
        return links
    keys = [name for name in links.columns if column_label(name) in ("Код ОО", "Мероприятие")]
    return links.sort_values(keys, kind="stable").reset_index(drop=True) if keys else links


def _numbered(document: DocumentView) -> DocumentView:
    """Tables and figures numbered through the document; a table's later parts keep its number."""
    tables, figures = 0, 0

    def number_tables(views: list[TableView]) -> list[TableView]:
        nonlocal tables
        numbered = []
        for view in views:
            tables += 0 if view.continued else 1
            numbered.append(dataclasses.replace(view, number=tables))
        return numbered

    def number_charts(views: list[ChartView]) -> list[ChartView]:
        nonlocal figures
        numbered = []
        for view in views:
            figures += 1
            numbered.append(dataclasses.replace(view, number=figures))
        return numbered

    sections = [dataclasses.replace(section, charts=number_charts(section.charts),
                                    tables=number_tables(section.tables)) for section in document.sections]
    appendices = [dataclasses.replace(appendix, charts=number_charts(appendix.charts),
                                      tables=number_tables(appendix.tables)) for appendix in document.appendices]
    return DocumentView(sections, appendices)


def _coverage_charts(report: YearReport) -> list[ChartView]:
    svg = charts.arrivals_line(report.arrivals, report.deadline, window=report.window)
    # No date «… 2025 г.» at the end: a figure's caption ends without a full stop (ГОСТ 7.32).
    return _charts([(f"Поступление принятых отчётов (срок сдачи — {ru_short_date(report.deadline)})", svg)])


def _roadmap_charts(report: YearReport) -> list[ChartView]:
    return _charts([("Число ОО по статусам выполнения мероприятий дорожной карты",
                     charts.status_bars(report.status_by_item, _item_labels(report)))])


def _roadmap_school_charts(report: YearReport) -> list[ChartView]:
    matrix = report.item_matrix
    heatmap_caption = "Статусы мероприятий дорожной карты по ОО"
    if len(matrix) > HEATMAP_SCHOOLS and "index" in report.index_by_school:
        # A grid of hundreds of rows is unreadable: show the schools that need attention first.
        lowest = report.index_by_school.sort_values("index", kind="stable")["school"].head(HEATMAP_SCHOOLS)
        matrix = matrix.loc[[school for school in lowest if school in matrix.index]]
        heatmap_caption += f" ({count(len(matrix), 'ОО', 'ОО', 'ОО')} с наименьшим индексом выполнения)"
    return _charts([
        ("Индекс выполнения дорожной карты по ОО (доля выполненных применимых мероприятий)",
         _index_chart(report)),
        (heatmap_caption, charts.item_heatmap(matrix)),
    ])


def _item_labels(report: YearReport) -> dict[str, str]:
    """«1.1 Нормативная база ОО приведена в соответствие с Моделью»: each item's code and the title before its
    brackets, on two lines at most, from the roadmap table that names the items."""
    for frame in report.roadmap.tables.values():
        if {"Код", "Мероприятие"} <= set(frame.columns):
            return {str(code): _two_lines(f"{code} {str(title).split(' (')[0]}")
                    for code, title in zip(frame["Код"], frame["Мероприятие"], strict=True)}
    return {}


def _two_lines(text: str) -> str:
    lines: list[str] = [""]
    for word in text.split():
        if lines[-1] and len(lines[-1]) + 1 + len(word) > ITEM_LABEL_LINE:
            if len(lines) == 2:
                return "\n".join(lines).rstrip(",") + "…"
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    return "\n".join(lines)


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
    caption = f"Ключевые показатели: {report.year - 1} и {report.year} годы"
    parts = [frame.iloc[start:start + step] for start in range(0, len(frame), step)]
    if len(parts) > 1:  # each part is a figure of its own, captioned as one of the whole
        captions = [f"{caption} (часть {index} из {len(parts)})" for index in range(1, len(parts) + 1)]
    else:
        captions = [caption]
    return _charts([(text, charts.year_over_year_bars(part, years=(report.year - 1, report.year)))
                    for text, part in zip(captions, parts, strict=True)])


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
