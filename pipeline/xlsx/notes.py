"""What an annotated copy says, whichever writer puts it in: the cells to mark and the rows of the listing sheet."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CellNote:
    """A cell to mark: its fill (RGB) and a comment line per finding."""

    sheet: str
    cell: str  # Excel address, upper case, no «$»
    fill: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class ListingCell:
    """One cell of the listing sheet: a number or a text, with an optional fill and internal link."""

    value: str | int
    fill: str | None = None
    link: str | None = None  # «'Лист'!A1»


@dataclass(frozen=True)
class Listing:
    """The sheet put first in the annotated copy: a bold header row, then one row per finding."""

    title: str
    columns: tuple[tuple[str, int], ...]  # (label, width)
    rows: list[tuple[ListingCell, ...]]
