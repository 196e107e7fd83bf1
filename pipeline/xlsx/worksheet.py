"""Mark cells in an existing worksheet part: filled cell formats, missing cells created, a <legacyDrawing> added."""

from __future__ import annotations

import re
from dataclasses import dataclass

from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from pipeline.xlsx.markup import (
    AnnotationError,
    apply_edits,
    attributes_of,
    drop_attribute,
    relationship_prefix,
    root_close,
    set_attribute,
    split_cell,
    start_tag,
    top_level_children,
)
from pipeline.xlsx.notes import CellNote
from pipeline.xlsx.styles import PatchedStyles

# Worksheet children that must follow <legacyDrawing> (ECMA-376 Part 1, CT_Worksheet sequence).
AFTER_LEGACY_DRAWING = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                        "tableParts", "extLst")

_ROW = start_tag("row")
_R = re.compile(r"""\sr\s*=\s*["']\s*(\d+)\s*["']""")
_CELL = start_tag("c")
_COL = start_tag("col")
_SHEET_VIEW = start_tag("sheetView")


@dataclass
class _Row:
    number: int
    start: int
    tag_end: int
    end: int
    attributes: str
    empty: bool


def patch_worksheet(text: str, notes: list[CellNote], styles: PatchedStyles, legacy_id: str | None) -> str:
    """Point the marked cells at filled styles (creating missing cells), add <legacyDrawing>, unselect the tab."""
    prefix = ""
    if legacy_id is not None:
        text, prefix = relationship_prefix(text)
    children = top_level_children(text)
    spans = {name: (start, end) for name, start, end in reversed(children)}
    if "sheetData" not in spans:
        raise AnnotationError("a worksheet without sheetData")
    if text[slice(*spans["sheetData"])].endswith("/>"):
        text = apply_edits(text, [(*spans["sheetData"], "<sheetData></sheetData>")])
        children = top_level_children(text)
        spans = {name: (start, end) for name, start, end in reversed(children)}
    data_start, data_end = spans["sheetData"]
    rows = _rows(text, data_start, data_end)
    column_styles = _column_styles(text, spans.get("cols"))
    edits: list[tuple[int, int, str]] = []
    wanted: dict[int, dict[int, str]] = {}
    for note in notes:
        letters, row = split_cell(note.cell)
        wanted.setdefault(row, {})[column_index_from_string(letters)] = note.fill
    created: list[tuple[int, int]] = []
    new_rows: dict[int, list[str]] = {}  # insertion point → new rows, in order
    numbers = sorted(rows)
    for number in sorted(wanted):
        cells = wanted[number]
        if number in rows:
            row = rows[number]
            replacement, made = _patch_row(text, row, cells, styles, column_styles)
            edits.append((row.start, row.end, replacement))
            created.extend((number, column) for column in made)
            continue
        following = [other for other in numbers if other > number]
        point = rows[following[0]].start if following else _data_close(text, data_start, data_end)
        parts = [f'<row r="{number}">']
        for column in sorted(cells):
            style = styles.marked(column_styles.get(column, 0), cells[column])
            parts.append(f'<c r="{get_column_letter(column)}{number}" s="{style}"/>')
            created.append((number, column))
        new_rows.setdefault(point, []).append("".join(parts) + "</row>")
    for point, texts in new_rows.items():
        edits.append((point, point, "".join(texts)))
    if created and "dimension" in spans:
        edits.append((*spans["dimension"], _dimension(text[slice(*spans["dimension"])], created)))
    if "sheetViews" in spans:
        edits.append((*spans["sheetViews"], unselect_tabs(text[slice(*spans["sheetViews"])])))
    if legacy_id is None and "legacyDrawing" not in spans:
        raise AnnotationError("comments without a <legacyDrawing> to show them")
    if legacy_id is not None:
        if "legacyDrawing" in spans or "AlternateContent" in spans:
            raise AnnotationError("a legacy drawing without comments, or alternate content")
        following = [start for name, start, _ in children if name in AFTER_LEGACY_DRAWING]
        point = min(following) if following else root_close(text)
        edits.append((point, point, f'<legacyDrawing {prefix}:id="{legacy_id}"/>'))
    return apply_edits(text, edits)


def _rows(text: str, start: int, end: int) -> dict[int, _Row]:
    rows: dict[int, _Row] = {}
    position = start
    while True:
        match = _ROW.search(text, position, end)
        if match is None:
            return rows
        found = _R.search(match.group(1))
        number = found.group(1) if found else ""
        if not number.isdigit() or int(number) in rows:
            raise AnnotationError("a row without its number")  # openpyxl counts them; this module does not
        empty = bool(match.group(2))
        row_end = match.end() if empty else text.find("</row>", match.end(), end)
        if row_end == -1:
            raise AnnotationError("unterminated row")
        row_end = row_end if empty else row_end + len("</row>")
        rows[int(number)] = _Row(int(number), match.start(), match.end(), row_end, match.group(1), empty)
        position = row_end


def _patch_row(text: str, row: _Row, wanted: dict[int, str], styles: PatchedStyles,
               column_styles: dict[int, int]) -> tuple[str, list[int]]:
    """Return the row's new XML and the columns whose cells had to be created."""
    attributes = attributes_of(row.attributes)
    row_style = int(attributes["s"]) if attributes.get("customFormat") in ("1", "true") and attributes.get(
        "s", "").isdigit() else None
    body = "" if row.empty else text[row.tag_end:row.end - len("</row>")]
    cells: list[tuple[int, int, int, re.Match[str]]] = []  # column, start, end in body, tag
    position = 0
    while (match := _CELL.search(body, position)) is not None:
        reference = attributes_of(match.group(1)).get("r")
        if reference is None:
            raise AnnotationError("a cell without its address")
        letters, number = split_cell(reference)
        if number != row.number:
            raise AnnotationError("a cell in the wrong row")
        end = match.end() if match.group(2) else body.find("</c>", match.end())
        if end == -1:
            raise AnnotationError("unterminated cell")
        end = end if match.group(2) else end + len("</c>")
        cells.append((column_index_from_string(letters), match.start(), end, match))
        position = end
    edits = []
    made = []
    present = {column: (start, tag) for column, start, _, tag in cells}
    for column, fill in wanted.items():
        if column in present:
            start, tag = present[column]
            old = attributes_of(tag.group(1)).get("s", "0")
            style = styles.marked(int(old) if old.isdigit() else 0, fill)
            replacement = f"<c{set_attribute(tag.group(1), 's', str(style))}{tag.group(2)}>"
            edits.append((start, tag.end(), replacement))
            continue
        base = row_style if row_style is not None else column_styles.get(column, 0)
        new = f'<c r="{get_column_letter(column)}{row.number}" s="{styles.marked(base, fill)}"/>'
        after = [start for other, start, _, _ in cells if other > column]
        point = min(after) if after else len(body)
        edits.append((point, point, new))
        made.append(column)
    # Several new cells at one point: apply them right to left so they end up left to right.
    edits.sort(key=lambda edit: (edit[0], edit[1], _column_of(edit[2])), reverse=True)
    for start, end, replacement in edits:
        body = body[:start] + replacement + body[end:]
    row_attributes = drop_attribute(row.attributes, "spans") if made else row.attributes
    return f"<row{row_attributes}>{body}</row>", made


def _column_of(cell: str) -> int:
    match = re.match(r'<c r="([A-Z]+)', cell)
    return column_index_from_string(match.group(1)) if match else 0


def _column_styles(text: str, span: tuple[int, int] | None) -> dict[int, int]:
    styles: dict[int, int] = {}
    if span is None:
        return styles
    for match in _COL.finditer(text, *span):
        attributes = attributes_of(match.group(1))
        first, last, style = attributes.get("min", ""), attributes.get("max", ""), attributes.get("style", "")
        if first.isdigit() and last.isdigit() and style.isdigit():
            for column in range(int(first), min(int(last), 16_384) + 1):
                styles[column] = int(style)
    return styles


def _dimension(tag: str, cells: list[tuple[int, int]]) -> str:
    match = re.search(r"""\sref\s*=\s*["']([A-Z$0-9:]+)["']""", tag.upper())
    if match is None:
        return tag
    try:
        first_column, first_row, last_column, last_row = range_boundaries(match.group(1).replace("$", ""))
    except ValueError:
        return tag
    first_column = min(first_column or 1, *(column for _, column in cells))
    first_row = min(first_row or 1, *(row for row, _ in cells))
    last_column = max(last_column or 1, *(column for _, column in cells))
    last_row = max(last_row or 1, *(row for row, _ in cells))
    ref = f"{get_column_letter(first_column)}{first_row}:{get_column_letter(last_column)}{last_row}"
    return f'<dimension ref="{ref}"/>'


def unselect_tabs(text: str) -> str:
    """Drop «tabSelected» from every sheet view: two selected tabs would group the sheets in Excel."""
    return _SHEET_VIEW.sub(lambda match: f"<sheetView{drop_attribute(match.group(1), 'tabSelected')}"
                                         f"{match.group(2)}>", text)


def _data_close(text: str, start: int, end: int) -> int:
    return end - len("</sheetData>")
