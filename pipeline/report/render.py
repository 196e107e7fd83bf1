"""Render the year's report to self-contained HTML and PDF/A-3b, fetching nothing but the project's own assets."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import mimetypes
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
import pandas as pd
import weasyprint
from markupsafe import Markup
from weasyprint.urls import URLFetcher, URLFetcherResponse

from pipeline.atomic import atomic_path, write_text
from pipeline.report import charts
from pipeline.report.model import Figure, Section, YearReport
from pipeline.templating import environment
from pipeline.typography import (
    count,
    is_missing,
    ru_change,
    ru_date,
    ru_number,
    ru_percent,
    ru_short_date,
    ru_value,
)

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ASSETS = TEMPLATES / "assets"
STYLESHEET = ASSETS / "report.css"
REPORT_TITLE = "Итоговый отчёт о внедрении единой информационно-библиотечной модели"
DEMO_MARK = "Демонстрационные данные"
# The A4 text block (174 mm) holds about 96 characters of 7.5 pt DejaVu Sans (a digit is 1.7 mm wide);
# a table whose columns need more is split into parts, the row keys (code, name) repeated in each.
PAGE_CHARACTERS = 100
LANDSCAPE_CHARACTERS = 144  # the per-school summary goes on landscape pages (261 mm)
KEY_CHARACTERS = 28
CELL_PADDING = 2
# Words longer than these are hyphenated (lang="ru", hyphens: auto), so they claim no more width.
HEADER_WORD = 6
TEXT_WORD = 14
# Beyond this many schools the heat map shows the schools with the lowest implementation index.
HEATMAP_SCHOOLS = charts.MAX_HEATMAP_ROWS
ATTACHMENT_DESCRIPTIONS = {
    "svod.xlsx": "Сводные таблицы отчёта (все агрегированные таблицы)",
    "files.csv": "Реестр файлов, по которым построен отчёт: хеш, ОО, статус",
}
# Headers of the frames whose columns aggregate.py names in English (see report_model.py).
COLUMN_LABELS = {
    "school": "Код ОО",
    "name": "ОО",
    "code": "Код замечания",
    "sheet": "Лист",
    "cell": "Ячейка",
    "message": "Замечание",
    "item": "Мероприятие",
    "link": "Ссылка",
    "index": "Индекс выполнения, %",
    "done": "Выполнено",
    "applicable": "Применимо",
    "path": "Файл",
    "sha256": "SHA-256",
    "status": "Статус",
    "arrived_at": "Получен",
    "figure": "Показатель",
    "previous": "Прошлый год",
    "current": "Текущий год",
    "date": "Дата",
    "accepted": "Принято",
    "unit": "Ед. изм.",
}
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
SCHOOL_NAME_LABELS = ("ОО", "Наименование")
# In a table with an «Ед. изм.» column, a unit ending in «%» makes that row's values shares 0–1 —
# only in these value columns (a base such as «Данные ОО» stays a count).
ROW_UNIT_COLUMNS = ("Значение", "Прошлый год", "Текущий год", "Изменение", "Медиана по ОО", "Медиана по району",
                    "Значение ОО")
_BREAKS = re.compile(r"[ \t\r\n]+|(?<=-)")
_SAFE_LINK = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


class RefusedURLError(ValueError):
    """The report tried to load a resource that is neither a data: URL nor one of the project's assets."""


class AssetFetcher(URLFetcher):
    """WeasyPrint fetcher serving only data: URLs and files under templates/assets/; everything else is refused."""

    def __init__(self, assets: Path = ASSETS) -> None:
        # No redirects and only two schemes, even before our own check below.
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, fail_on_errors=False)
        self._root = assets.resolve()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        """Return the resource at *url*, or raise RefusedURLError."""
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self._asset(url)
            if path is not None:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})
        logger.warning("refused to fetch %s: only data: URLs and the report's own assets are allowed", url[:200])
        raise RefusedURLError(f"refused: {url[:200]}")

    def _asset(self, url: str) -> Path | None:
        """The file *url* names when it is a regular file inside the assets folder (symlinks resolved)."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self._root) or not path.is_file():
            return None
        return path


@dataclass(frozen=True)
class Column:
    """One column of a rendered table: its header, how its cells are formatted and aligned."""

    label: str
    kind: str  # number | percent | date | text | link
    width: float  # share of the table width, in per cent


@dataclass(frozen=True)
class TableView:
    """A frame ready for the template: headers, raw cell values, optional group rows."""

    title: str
    columns: list[Column]
    rows: list[list[tuple[Any, str]]]  # (value, kind) per cell: a row's unit «%» makes its numbers shares
    groups: list[str | None] = field(default_factory=list)  # a group heading before row i, or None
    continued: bool = False
    omitted: int = 0  # rows left to svod.xlsx: a per-school table too long for a publication


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


def render_report(report: YearReport, outputs: Path, attachments: dict[str, bytes]) -> dict[str, Path]:
    """Write outputs/<year>/report.html and report.pdf (PDF/A-3b carrying *attachments*); return their paths."""
    folder = outputs / str(report.year)
    html = render_html(report, attachments=sorted(attachments))
    html_path = folder / "report.html"
    pdf_path = folder / "report.pdf"
    write_text(html_path, html)
    with atomic_path(pdf_path) as temporary:
        write_pdf(html, temporary, attachments, report.generated_at)
    return {"html": html_path, "pdf": pdf_path}


def render_html(report: YearReport, attachments: list[str] | None = None) -> str:
    """Return the report as one self-contained HTML page (CSS inlined, charts as inline SVG)."""
    context = build_context(report, attachments or [])
    return _environment().get_template("report.html").render(context)


def write_pdf(html: str, target: Path, attachments: dict[str, bytes], created: dt.datetime) -> None:
    """Lay out *html* with WeasyPrint into a PDF/A-3b file at *target*, embedding *attachments*."""
    fetcher = AssetFetcher()
    embedded = [
        weasyprint.Attachment(string=data, name=name, description=ATTACHMENT_DESCRIPTIONS.get(name, name),
                              created=created, modified=created, relationship="Data", url_fetcher=fetcher)
        for name, data in sorted(attachments.items())
    ]
    document = weasyprint.HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=fetcher)
    document.write_pdf(target, pdf_variant="pdf/a-3b", attachments=embedded)


def build_context(report: YearReport, attachments: list[str]) -> dict[str, Any]:
    """Everything the template shows, already chosen and ordered; the template only formats it."""
    sections = [
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
    appendices = [
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
    return {
        "title": REPORT_TITLE,
        "demo_mark": DEMO_MARK,
        "report": report,
        "formed": report.generated_at.date(),
        "school_year": f"{report.period[0].year}/{report.period[1].year}",
        "sections": sections,
        "conclusions_number": "9",
        "appendices": appendices,
        "attachments": attachments,
        "css": Markup(STYLESHEET.read_text(encoding="utf-8")),
    }


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


def is_share_column(name: str) -> bool:
    """A column holds shares 0–1 when its header ends with «%» or starts with «Доля» (the aggregate's convention)."""
    text = name.strip()
    return text.endswith("%") or text.lower().startswith("доля")


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a meaningful index (named, or labels such as item codes) as its first column(s);
    an unnamed integer index (0…n-1, or row numbers left by sorting) is dropped."""
    index = frame.index
    if all(name is None for name in index.names) and pd.api.types.is_integer_dtype(index.dtype):
        return frame.reset_index(drop=True)
    return frame.reset_index(names=[name or "Код" for name in index.names])


def column_label(name: Any) -> str:
    """Russian header for the model's English column names; other headers stay as aggregate.py wrote them."""
    return COLUMN_LABELS.get(str(name), str(name))


def column_kind(name: Any, values: pd.Series) -> str:
    """number | percent | date | link | text, from the header convention and the column's values."""
    text = str(name)
    if is_share_column(column_label(text)):
        return "percent"
    if column_label(text) == "Ссылка":
        return "link"
    present = values[values.map(lambda value: not is_missing(value))]
    if present.empty:
        return "text"
    if pd.api.types.is_bool_dtype(present) or present.map(lambda value: isinstance(value, bool)).all():
        return "text"
    if present.map(lambda value: isinstance(value, numbers.Real)).all():
        return "number"
    if present.map(lambda value: isinstance(value, dt.date)).all():
        return "date"
    return "text"


DETAIL_ROW_LIMIT = 300


def table_views(title: str, frame: pd.DataFrame, by_school: bool = False,
                page: float = PAGE_CHARACTERS) -> list[TableView]:
    """One table, or several when it is wider than the page (the key columns repeat in each part);
    *by_school* turns the school's code and name columns into a heading row before each school's rows."""
    if frame is None or frame.empty:
        return []
    frame = display_frame(frame)
    if school_columns(frame) and len(frame) > DETAIL_ROW_LIMIT:
        # WeasyPrint lays out ~6 ms a row (MEASURED.md) and nobody reads 2,000 rows on paper:
        # a region's per-school detail lives in svod.xlsx, the PDF says where.
        return [TableView(title=title, columns=[], rows=[], omitted=len(frame))]
    grouping = school_columns(frame) if by_school else []
    groups: list[str | None] = []
    if grouping:
        keys = frame[grouping].astype(str).agg(" — ".join, axis=1).tolist()
        groups = [key if index == 0 or key != keys[index - 1] else None for index, key in enumerate(keys)]
        frame = frame.drop(columns=grouping)
    units = _row_units(frame)
    kinds = {name: column_kind(name, frame[name]) for name in frame.columns}
    sizes = {name: _size(name, frame[name], kinds[name]) for name in frame.columns}
    views = []
    for part, columns in enumerate(_parts(list(frame.columns), kinds, sizes, page)):
        widths = _fit([sizes[name] for name in columns], [kinds[name] == "text" for name in columns], page)
        views.append(TableView(
            title=title,
            columns=[Column(column_label(name), kinds[name], width) for name, width in zip(columns, widths,
                                                                                          strict=True)],
            rows=_cells(frame[columns], [kinds[name] for name in columns], units),
            groups=groups,
            continued=part > 0,
        ))
    return views


def school_columns(frame: pd.DataFrame) -> list[Any]:
    """The columns naming a school: its code («school», «Код ОО») and its name («name», «Наименование»)."""
    return [name for name in frame.columns if column_label(name) in ("Код ОО", *SCHOOL_NAME_LABELS)]


def _parts(columns: list[Any], kinds: dict[Any, str], sizes: dict[Any, tuple[float, float]],
           page: float) -> list[list[Any]]:
    """Split columns into parts that fit the page by their minimum widths; the row keys lead every part."""
    if sum(size[0] for size in sizes.values()) <= page:
        return [columns]
    keys = []
    for name in columns[:2]:
        if kinds[name] != "text":
            break
        keys.append(name)
    keys = keys or columns[:1]
    room = page - sum(min(sizes[name][1], KEY_CHARACTERS) for name in keys)
    rest = columns[len(keys):]
    if not rest:
        return [columns]
    needs = [sizes[name][0] for name in rest]
    # Balanced parts: as few as fit, of about equal width (no part holding one lonely column).
    fewest = math.ceil(sum(needs) / room)
    parts = _pack(rest, needs, max(sum(needs) / fewest * 1.05, max(needs)))
    if len(parts) > fewest or any(sum(sizes[name][0] for name in part) > room for part in parts):
        parts = _pack(rest, needs, room)
    return [keys + part for part in parts]


def _pack(columns: list[Any], needs: list[float], capacity: float) -> list[list[Any]]:
    parts: list[list[Any]] = [[]]
    used = 0.0
    for name, need in zip(columns, needs, strict=True):
        if parts[-1] and used + need > capacity:
            parts.append([])
            used = 0.0
        parts[-1].append(name)
        used += need
    return parts


def _fit(sizes: list[tuple[float, float]], is_text: list[bool], page: float) -> list[float]:
    """Column widths in per cent: each gets its minimum; text columns share what is left by how much they wish."""
    needs = [need for need, _ in sizes]
    spare = max(page - sum(needs), 0.0)
    extra = [wish - need if text else 0.0 for (need, wish), text in zip(sizes, is_text, strict=True)]
    if sum(extra) == 0:  # nothing wishes for more: every column grows alike
        extra = [1.0] * len(sizes)
    widths = [need + spare * share / sum(extra) for need, share in zip(needs, extra, strict=True)]
    return [round(100 * width / sum(widths), 2) for width in widths]


def _row_units(frame: pd.DataFrame) -> list[str]:
    """Each row's unit when the frame has a unit column; a unit ending in «%» means a share 0–1, as in a header."""
    for name in frame.columns:
        if column_label(name) == "Ед. изм.":
            return ["" if is_missing(unit) else str(unit) for unit in frame[name]]
    return [""] * len(frame)


def _cells(frame: pd.DataFrame, kinds: list[str], units: list[str]) -> list[list[tuple[Any, str]]]:
    follows_unit = [column_label(name) in ROW_UNIT_COLUMNS for name in frame.columns]
    rows = []
    for row, unit in zip(frame.itertuples(index=False), units, strict=True):
        share_row = unit.strip().endswith("%")
        rows.append([(value, "percent" if share_row and follows and kind == "number" else kind)
                     for value, kind, follows in zip(row, kinds, follows_unit, strict=True)])
    return rows


def _size(name: Any, values: pd.Series, kind: str) -> tuple[float, float]:
    """(minimum, wished) width of a column in characters: numbers and codes never break, long texts wrap."""
    texts = [format_cell(value, kind) for value in values]
    # Header words are bold and often capitals («ИБЦ»): a fifth wider than body text.
    header = 1.2 * min(max((len(word) for word in column_label(name).split(" ")), default=3), HEADER_WORD)
    if kind in ("number", "percent", "date"):
        # Babel groups digits with NBSP: a number is one unbreakable token.
        need = max(max((len(text) for text in texts), default=1), header) + CELL_PADDING
        return need, need
    lengths = pd.Series([len(text) for text in texts])
    if kind == "link":
        # A URL breaks anywhere but reads badly in a narrow column: it claims its length, up to 40.
        need = min(float(lengths.quantile(0.9)), 40) + CELL_PADDING
        return need, need
    # Ordinary spaces and hyphens break a line (an NBSP inside «5 ОО» does not).
    tokens = [max((len(token) for token in _BREAKS.split(text)), default=1) for text in texts]
    need = max(min(float(pd.Series(tokens).quantile(0.9)), TEXT_WORD), header, 3) + CELL_PADDING
    wish = min(float(lengths.quantile(0.9)), 45) + CELL_PADDING
    return need, max(need, wish)


def format_cell(value: Any, kind: str) -> str:
    """A table cell in Russian typography: «1 234,5», «45,5 %», «01.11.2025», «да», «—»."""
    if is_missing(value):
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if kind == "percent" and isinstance(value, numbers.Real):
        return ru_percent(value)
    if isinstance(value, numbers.Real):
        return ru_number(value)
    if isinstance(value, dt.datetime):
        # A date that pandas stored as a timestamp has no time worth showing.
        return value.strftime("%d.%m.%Y" if value.time() == dt.time() else "%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return ru_short_date(value)
    return str(value)


def safe_link(value: Any) -> str | None:
    """The URL when it is a plain http(s) link worth making clickable; None for anything else."""
    text = "" if is_missing(value) else str(value).strip()
    return text if _SAFE_LINK.match(text) else None


def figure_value(figure: Figure) -> str:
    """A key figure's value with its unit; «%» means a share 0–1."""
    return ru_value(figure.value, figure.unit)


def figure_change(figure: Figure) -> str:
    """«+5,2 п.п.», «-3 ОО»: the change against the previous campaign, empty when there is none."""
    return "" if figure.change is None else ru_change(figure.change, figure.unit)


@functools.cache
def _environment() -> jinja2.Environment:
    """The shared document environment plus the report's own cell and figure filters."""
    env = environment().overlay()
    env.filters.update({"cell": format_cell, "safe_link": safe_link, "figure_value": figure_value,
                        "figure_change": figure_change})
    return env
