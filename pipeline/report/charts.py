"""Draw the report's charts with matplotlib as small, deterministic SVG strings readable in grey print."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch, Rectangle
from matplotlib.textpath import text_to_path
from matplotlib.ticker import FuncFormatter, MaxNLocator

from pipeline.report.roadmap import STATUSES
from pipeline.typography import is_absent, ru_number, ru_percent, ru_short_date

# Figures are built without pyplot and saved straight to SVG; Agg keeps any pyplot user headless too.
matplotlib.use("Agg")

NO_DATA = "нет данных"
# One hue whose lightness falls with progress, plus hatching: the order survives a grey printer.
STATUS_STYLE: dict[str, tuple[str, str]] = {
    "выполнено": ("#1f3b63", ""),
    "выполнено ранее": ("#5b7fae", ""),
    "в работе": ("#b9cbe2", "///"),
    "не выполнено": ("#ffffff", "xxx"),
    "не требуется": ("#e4e4e4", ""),
    NO_DATA: ("#ffffff", ""),
}
# Marks printed in heat-map cells, so a cell reads even where two greys look alike; the legend says each in words.
STATUS_MARK = {"выполнено": "+", "выполнено ранее": "(+)", "в работе": "…", "не выполнено": "−", "не требуется": "н/т"}
BAR = "#3d5a80"
BAR_LIGHT = "#c5d3e6"
BAR_PALE = "#e3e9f2"  # opaque: no transparency groups in the PDF/A
TEXT = "#222222"
WIDTH_IN = 6.7  # the A4 text block (170 mm) in inches
MAX_RANKED = 30  # more bars than this and a ranked chart shows the top and bottom 15
MAX_HEATMAP_ROWS = 100
YEAR_PANELS = 8  # two rows of year-over-year panels: a third of a page, so no chart leaves a page half empty
# A year-over-year panel is ≈ 100 pt wide and its two bars ≈ 55 pt apart: a label wider than this would
# run into the other year's label.
PANEL_LABEL_ROOM = 50
LETTERED_ROWS = 40  # up to this many rows a heat-map cell is tall enough for its status letter
# From 10¹² on (sums of very large, yet accepted, values) a number in full is wider than a bar's label
# room, and nobody compares sixteen digits on a chart: it is written «4,73·10¹⁹»; the tables keep every digit.
EXACT_BELOW = 1e12
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_PROLOG = re.compile(r"\A.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
# matplotlib's «*{stroke-linejoin: round; stroke-linecap: butt}» would style the whole HTML page it is inlined in.
_GLOBAL_STYLE = re.compile(r"\s*<style[^>]*>.*?</style>", re.DOTALL)
_STYLE_ATTRIBUTE = re.compile(r' style="([^"]*)"')
_ID_ATTRIBUTE = re.compile(r' id="([^"]*)"')
_REFERENCE = re.compile(r'url\(#([^)]+)\)|href="#([^"]+)"')
_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "axes.edgecolor": "#555555",
    "axes.linewidth": 0.6,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "hatch.linewidth": 0.6,
    "hatch.color": "#333333",
    "svg.fonttype": "none",  # text stays text: small files, searchable, drawn with the page's DejaVu Sans
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def status_bars(status_by_item: pd.DataFrame, labels: dict[str, str] | None = None) -> str:
    """Horizontal stacked bars: schools per status for each roadmap item (index item code), each bar named by
    *labels* (item code → its code and short name, up to two lines) where given."""
    if status_by_item is None or status_by_item.empty:
        return ""
    counts = status_by_item.reindex(columns=list(STATUSES)).fillna(0).astype(float)
    if counts.to_numpy().sum() == 0:
        return ""
    items = [_plain((labels or {}).get(str(code), code)) for code in counts.index]
    widest = float(counts.sum(axis=1).max())
    # Two-line names need a taller bar row than a code does.
    row = 0.26 if any("\n" in item for item in items) else 0.22
    with _figure("status_bars", WIDTH_IN, 0.8 + row * len(items)) as (figure, svg):
        axes = figure.add_subplot()
        left = pd.Series(0.0, index=counts.index)
        for status in STATUSES:
            color, hatch = STATUS_STYLE[status]
            values = counts[status]
            axes.barh(items, values, left=left, color=color, hatch=hatch, edgecolor="#333333",
                      linewidth=0.4, height=0.72, label=status)
            for position, (value, start) in enumerate(zip(values, left, strict=True)):
                if value >= max(1.0, widest * 0.05):
                    _segment_label(axes, start + value / 2, position, ru_number(value), status)
            left = left + values
        axes.invert_yaxis()
        axes.set_xlabel("Число ОО")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlim(0, widest)
        axes.tick_params(axis="y", length=0, labelsize=6.5)
        figure.legend(*axes.get_legend_handles_labels(), loc="outside lower center", ncol=5, handlelength=1.6,
                      columnspacing=1.2)
        return svg()


def arrivals_line(arrivals: pd.DataFrame, deadline: dt.date, window: tuple[dt.date, dt.date] | None = None) -> str:
    """Cumulative accepted reports (columns date, accepted) over the collection window, deadline marked."""
    if arrivals is None or arrivals.empty:
        return ""
    moments = pd.to_datetime(arrivals["date"])
    if moments.dt.tz is not None:  # a ledger time with its zone: the chart speaks in local calendar days
        moments = moments.dt.tz_localize(None)
    frame = arrivals.assign(date=moments).sort_values("date")
    start = pd.Timestamp(window[0]) if window else frame["date"].min() - pd.Timedelta(days=7)
    end = pd.Timestamp(window[1]) if window else max(frame["date"].max(), pd.Timestamp(deadline)) + pd.Timedelta(days=7)
    dates = [start, *frame["date"], end]
    values = [0, *frame["accepted"].astype(float), float(frame["accepted"].iloc[-1])]
    with _figure("arrivals_line", WIDTH_IN, 2.4) as (figure, svg):
        axes = figure.add_subplot()
        axes.step(dates, values, where="post", color=BAR, linewidth=1.6)
        axes.fill_between(dates, values, step="post", color=BAR_PALE, linewidth=0)
        limit = pd.Timestamp(deadline)
        axes.axvline(limit, color="#000000", linestyle=(0, (4, 2)), linewidth=1)
        top = max(values) or 1
        by_deadline = frame.loc[frame["date"] <= limit + pd.Timedelta(hours=23, minutes=59), "accepted"]
        on_time = float(by_deadline.iloc[-1]) if len(by_deadline) else 0.0
        # The label goes on the side of the deadline line that has room for it.
        right_half = limit > start + (end - start) / 2
        axes.annotate(f"срок {ru_short_date(deadline)}: принято {ru_number(on_time)}", xy=(limit, top * 1.04),
                      xytext=(-4 if right_half else 4, 0), textcoords="offset points", fontsize=7.5,
                      va="bottom", ha="right" if right_half else "left")
        axes.set_ylim(0, top * 1.18)
        axes.set_xlim(start, end)
        axes.set_ylabel("Принято отчётов (ОО)")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: mdates.num2date(value).strftime("%d.%m")))
        axes.grid(axis="y", color="#dddddd", linewidth=0.5)
        return svg()


def item_heatmap(item_matrix: pd.DataFrame) -> str:
    """School × item grid of statuses (index school, columns item codes); the caller keeps it ≤ 100 rows."""
    if item_matrix is None or item_matrix.empty or item_matrix.shape[1] == 0:
        return ""
    matrix = item_matrix.iloc[:MAX_HEATMAP_ROWS]
    rows, columns = matrix.shape
    # Up to 40 rows a cell is tall enough for its status mark; below that, hatching carries the status.
    lettered = rows <= LETTERED_ROWS
    cell_height = 0.15 if lettered else 0.085
    with _figure("item_heatmap", WIDTH_IN, 0.95 + cell_height * rows) as (figure, svg):
        axes = figure.add_subplot()
        cells: dict[str, list[Rectangle]] = {status: [] for status in STATUS_STYLE}
        for row, statuses in enumerate(matrix.itertuples(index=False)):
            for column, status in enumerate(statuses):
                key = status if status in STATUS_STYLE else NO_DATA
                cells[key].append(Rectangle((column, row), 1, 1))
                if lettered and key in STATUS_MARK:
                    dark = key in ("выполнено", "выполнено ранее")
                    axes.text(column + 0.5, row + 0.5, STATUS_MARK[key], ha="center", va="center",
                              fontsize=6, color="white" if dark else TEXT)
        # One collection per status: one SVG pattern per status instead of one per cell.
        for status, rectangles in cells.items():
            color, hatch = STATUS_STYLE[status]
            axes.add_collection(PatchCollection(rectangles, facecolor=color, edgecolor="#888888", linewidth=0.3,
                                                hatch=None if lettered else (hatch or None)))
        axes.set_xlim(0, columns)
        axes.set_ylim(rows, 0)
        axes.set_xticks([index + 0.5 for index in range(columns)], [_plain(code) for code in matrix.columns])
        axes.xaxis.tick_top()
        axes.set_yticks([index + 0.5 for index in range(rows)], [_plain(school) for school in matrix.index],
                        fontsize=7 if lettered else 5)
        axes.tick_params(length=0)
        for spine in axes.spines.values():
            spine.set_visible(False)
        statuses = (*STATUSES, NO_DATA)
        handles = [_legend_patch(status, hatched=not lettered) for status in statuses]
        labels = [f"{STATUS_MARK[status]} — {status}" if lettered and status in STATUS_MARK else status
                  for status in statuses]
        figure.legend(handles, labels, loc="outside lower center", ncol=3, handlelength=1.4, columnspacing=1.2)
        return svg()


def ranked_bars(frame: pd.DataFrame, value_column: str, label_column: str, title: str, percent: bool = False) -> str:
    """Horizontal bars sorted by value, median marked; top and bottom 15 when there are more than 30."""
    if frame is None or frame.empty or value_column not in frame:
        return ""
    data = frame[[label_column, value_column]] if label_column in frame else frame[[value_column]].rename_axis(
        "label").reset_index()
    data = data.set_axis(["label", "value"], axis=1)
    data = data[data["value"].map(lambda value: not is_absent(value))]
    if data.empty:
        return ""
    data = data.assign(value=data["value"].astype(float)).sort_values("value", ascending=False, kind="stable")
    median = float(data["value"].median())
    total = len(data)
    if total > MAX_RANKED:
        half = MAX_RANKED // 2
        gap = pd.DataFrame({"label": [f"… ещё {total - MAX_RANKED} ОО …"], "value": [math.nan]})
        data = pd.concat([data.head(half), gap, data.tail(half)], ignore_index=True)
    labels = [_plain(_shorten(str(label))) for label in data["label"]]
    formatter = _short_percent if percent else _short_number
    height = 0.6 + 0.19 * len(data)
    # Margins measured from the labels themselves (a ranked chart is drawn for every key indicator, and
    # constrained layout would double its cost): the widest label, the widest value, a title line, a tick line.
    label_width = max(_text_width(label, 7.5) for label in labels) + 8
    value_width = max(_text_width(formatter(value), 7) for value in data["value"].dropna()) + 6
    with _figure(f"ranked_bars-{title}", WIDTH_IN, height, constrained=False) as (figure, svg):
        figure.subplots_adjust(left=min(label_width / 72 / WIDTH_IN, 0.6), right=1 - value_width / 72 / WIDTH_IN,
                               top=1 - 0.3 / height, bottom=0.25 / height)
        axes = figure.add_subplot()
        positions = range(len(data))
        axes.barh(list(positions), data["value"].fillna(0), color=BAR, height=0.68)
        largest = float(data["value"].max()) or 1.0
        for position, value in zip(positions, data["value"], strict=True):
            if not math.isnan(value):
                axes.text(value + largest * 0.01, position, formatter(value), va="center", fontsize=7)
        # The median is named in the title: a legend inside the axes would sit on the shortest bars.
        axes.axvline(median, color="#000000", linestyle=(0, (3, 2)), linewidth=0.8)
        axes.set_yticks(list(positions), labels)
        axes.set_ylim(len(data) - 0.4, -0.6)
        axes.tick_params(axis="y", length=0)
        axes.set_xlim(0, largest * 1.02)
        ticks = (lambda value, _: _short_percent(value, 0)) if percent else (lambda value, _: _short_number(value))
        axes.xaxis.set_major_formatter(FuncFormatter(ticks))
        _space_ticks(axes, ticks, largest * 1.02)
        figure.text(0.005, 1 - 0.06 / height, f"{_plain(title)} (пунктир — медиана по ОО: {formatter(median)})",
                    fontsize=9, ha="left", va="top")
        axes.grid(axis="x", color="#dddddd", linewidth=0.5)
        axes.set_axisbelow(True)
        return svg()


def year_over_year_bars(frame: pd.DataFrame, years: tuple[int, int] | None = None) -> str:
    """Small multiples, four panels a row, one per figure (columns figure, previous, current; optional unit,
    «%» = share); the caller passes at most YEAR_PANELS figures so the chart fits a page."""
    if frame is None or frame.empty:
        return ""
    data = frame.dropna(subset=["previous", "current"], how="all").reset_index(drop=True)
    if data.empty:
        return ""
    columns = 4
    rows = math.ceil(len(data) / columns)
    height = 1.35 * rows + 0.2
    # A fixed grid: panel titles take at most three short lines, so no layout engine is needed (it would
    # cost more than the drawing itself with sixteen panels).
    # The first panel's name keeps ids unique when a long list is drawn as several charts on one page.
    with _figure(f"year_over_year_bars-{data.at[0, 'figure']}", WIDTH_IN, height, constrained=False) as (figure, svg):
        panels = figure.subplots(rows, columns, squeeze=False)
        figure.subplots_adjust(left=0.01, right=0.99, top=1 - 0.5 / height, bottom=0.2 / height,
                               hspace=0.45 / 0.85 * 1.6, wspace=0.25)
        for index, axes in enumerate(panels.flat):
            if index >= len(data):
                axes.set_visible(False)
                continue
            record = data.iloc[index]
            is_share = "unit" in data and record.get("unit") == "%"
            formatter = _short_percent if is_share else _short_number
            values = [record["previous"], record["current"]]
            heights = [0.0 if is_absent(value) else float(value) for value in values]
            axes.bar([0, 1], heights, color=[BAR_LIGHT, BAR], hatch=["///", ""], edgecolor="#333333",
                     linewidth=0.4, width=0.62)
            top = max(heights) or 1.0
            for position, value in enumerate(values):
                text = "—" if is_absent(value) else formatter(float(value))
                if _text_width(text, 7) > PANEL_LABEL_ROOM:  # it would run into the other year's label
                    text = _power_of_ten(float(value) * 100) + "\u00a0%" if is_share else _power_of_ten(float(value))
                axes.text(position, heights[position] + top * 0.03, text, ha="center", va="bottom", fontsize=7)
            axes.set_ylim(0, top * 1.3)
            axes.set_xticks([0, 1], [str(year) for year in years] if years else ["прошлый год", "текущий год"])
            axes.set_yticks([])
            axes.spines["left"].set_visible(False)
            axes.set_title(_plain(_wrap(str(record["figure"]), 26)), fontsize=7, loc="center")
        return svg()


@contextmanager
def _figure(name: str, width: float, height: float,
            constrained: bool = True) -> Iterator[tuple[Figure, Callable[[], str]]]:
    """A figure in the report style; its svg() callable returns the SVG without the XML prolog."""
    # A salt per chart keeps ids (clip paths, hatches) unique among the charts inlined in one page.
    style = {**_STYLE, "svg.hashsalt": f"eibm-{name}"}
    with matplotlib.rc_context(style):
        # Constrained layout measures the DejaVu labels, so long Russian labels are never cut off.
        figure = Figure(figsize=(width, height), layout="constrained" if constrained else None)

        def svg() -> str:
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
            return to_inline_svg(buffer.getvalue())

        yield figure, svg


def to_inline_svg(document: str) -> str:
    """matplotlib's SVG made fit to inline in HTML: no prolog or metadata, styles as presentation attributes,
    and only the ids something refers to (clip paths, hatches, markers), which the per-chart salt keeps unique."""
    svg = _METADATA.sub("", _PROLOG.sub("", document, count=1), count=1)
    svg = _GLOBAL_STYLE.sub("", svg, count=1)
    svg = svg.replace("<svg ", '<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)
    # Style attributes on inline SVG go through the HTML cascade too, where «fill» or «stroke» are unknown
    # properties (a WeasyPrint warning each); presentation attributes mean the same to an SVG renderer.
    svg = _STYLE_ATTRIBUTE.sub(_presentation_attributes, svg)
    referenced = {first or second for first, second in _REFERENCE.findall(svg)}
    # Group ids such as «figure_1» repeat in every chart: duplicate anchors in one HTML page.
    return _ID_ATTRIBUTE.sub(lambda match: match.group(0) if match.group(1) in referenced else "", svg)


def _presentation_attributes(match: re.Match[str]) -> str:
    attributes = []
    for declaration in match.group(1).split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() and value.strip():
            attributes.append(f' {name.strip()}="{value.strip()}"')
    return "".join(attributes)


def _legend_patch(status: str, hatched: bool = True) -> Patch:
    color, hatch = STATUS_STYLE[status]
    return Patch(facecolor=color, hatch=hatch if hatched else None, edgecolor="#333333", linewidth=0.4)


def _segment_label(axes: Axes, x: float, y: float, text: str, status: str) -> None:
    """A count inside a bar segment: white on the dark fills, on a white box over hatching."""
    hatch = STATUS_STYLE[status][1]
    dark = status in ("выполнено", "выполнено ранее")
    box = {"boxstyle": "square,pad=0.2", "facecolor": "white", "linewidth": 0} if hatch else None
    axes.text(x, y, text, ha="center", va="center", fontsize=7, color="white" if dark else TEXT, bbox=box)


def _space_ticks(axes: Axes, label: Callable[[float, Any], str], end: float) -> None:
    """Fewer x ticks than matplotlib's own choice when their labels would touch (very large values)."""
    positions = [value for value in axes.xaxis.get_major_locator().tick_values(0, end) if 0 <= value <= end]
    widest = max(_text_width(label(value, None), 7.5) for value in positions) + 8
    length = axes.get_position().width * WIDTH_IN * 72
    if len(positions) > 1 and widest > length * (positions[1] - positions[0]) / end:
        axes.xaxis.set_major_locator(MaxNLocator(nbins=max(1, int(length // widest)), steps=[1, 2, 2.5, 5, 10]))


def _text_width(text: str, size: float) -> float:
    """Width of *text* in DejaVu Sans at *size* points, in points (matplotlib's own font metrics)."""
    return text_to_path.get_text_width_height_descent(text, FontProperties(family="DejaVu Sans", size=size),
                                                      ismath=False)[0]


def _short_number(value: float) -> str:
    # Large values need no decimals on a bar; small ratios keep up to two («0,45», «9,9»).
    if abs(value) >= EXACT_BELOW:
        return _power_of_ten(value)
    return ru_number(value, 0 if abs(value) >= 100 else None)


def _short_percent(share: float, digits: int = 1) -> str:
    if abs(share) * 100 >= EXACT_BELOW:
        return _power_of_ten(share * 100) + "\u00a0%"
    return ru_percent(share, digits)


def _power_of_ten(value: float) -> str:
    """«4,73·10¹⁹»: at most three significant digits (a tick at 1,25·10¹⁶ stays exact) and the power of ten."""
    if value == 0 or not math.isfinite(value):
        return ru_number(value)
    exponent = math.floor(math.log10(abs(value)))
    mantissa = round(value / 10**exponent, 2)
    if abs(mantissa) >= 10:  # 9,996 rounds up to 10
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{ru_number(mantissa)}·10{str(exponent).translate(_SUPERSCRIPT)}"


def _shorten(label: str, limit: int = 48) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _plain(label: object) -> str:
    """Text exactly as written: matplotlib would read «$…$» in a school's name as mathematics."""
    return str(label).replace("$", r"\$")


def _wrap(text: str, width: int) -> str:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines[:3])
