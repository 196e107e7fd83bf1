"""Lay out a frame as the report's tables: column widths, wide tables split into parts, long ones left to svod.xlsx."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.report.columns import (
    ROW_UNIT_COLUMNS,
    column_kind,
    column_label,
    display_frame,
    format_cell,
    school_columns,
)
from pipeline.typography import is_absent

# The A4 text block (174 mm) holds about 96 characters of 7.5 pt DejaVu Sans (a digit is 1.7 mm wide);
# a table whose columns need more is split into parts, the row keys (code, name) repeated in each.
PAGE_CHARACTERS = 100
LANDSCAPE_CHARACTERS = 144  # the per-school summary goes on landscape pages (261 mm)
KEY_CHARACTERS = 28
CELL_PADDING = 2
# Words longer than these are hyphenated (lang="ru", hyphens: auto), so they claim no more width.
HEADER_WORD = 6
TEXT_WORD = 14
_BREAKS = re.compile(r"[ \t\r\n]+|(?<=-)")
# A per-school table longer than this stays in svod.xlsx only (see table_views).
DETAIL_ROW_LIMIT = 300
# A table of this many rows or fewer is kept on one page (see TableView.is_short).
SHORT_TABLE_ROWS = 6


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
    continued: bool = False  # a later part of a table split by its columns: «Продолжение таблицы N»
    omitted: int = 0  # rows left to svod.xlsx: a per-school table too long for a publication
    number: int = 0  # «Таблица N», numbered through the document (views.document_view)
    parts: int = 1  # how many parts the table was split into by its columns

    @property
    def is_short(self) -> bool:
        """A short table in one part is kept on one page: three rows carried over alone read as another table.
        The parts of a split table flow, so that two of them can share a page."""
        return self.parts == 1 and len(self.rows) + sum(1 for group in self.groups if group) <= SHORT_TABLE_ROWS


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
    parts = _parts(list(frame.columns), kinds, sizes, page)
    for part, columns in enumerate(parts):
        widths = _fit([sizes[name] for name in columns], [kinds[name] == "text" for name in columns], page)
        views.append(TableView(
            title=title,
            columns=[Column(column_label(name), kinds[name], width) for name, width in zip(columns, widths,
                                                                                          strict=True)],
            rows=_cells(frame[columns], [kinds[name] for name in columns], units),
            groups=groups,
            continued=part > 0,
            parts=len(parts),
        ))
    return views


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
            return ["" if is_absent(unit) else str(unit) for unit in frame[name]]
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

