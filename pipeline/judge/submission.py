"""Turn raw sheets into a typed submission: find sheets, columns and rows (S), read every value (V)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline import findings as catalogue
from pipeline.district.labels import fold
from pipeline.district.layout import (
    IGNORED_SHEETS,
    INDICATORS,
    LAYOUTS,
    ROADMAP,
    SHEETS,
    TITLE,
    TITLE_COLUMNS,
    TITLE_FIELDS,
    Column,
)
from pipeline.district.roadmap import District
from pipeline.findings import Finding
from pipeline.intake.read import RawSheet
from pipeline.judge import normalise

# Columns shown to the reader only: their absence is not an error (REPORT_FORMAT §3.2, §3.6).
READER_ONLY_COLUMNS = {ROADMAP: ("Мероприятие", "Срок"), INDICATORS: ("Показатель", "Ед. изм.")}


@dataclass
class SheetData:
    """One sheet's typed values, with the cell address and the raw text of every value.

    ``values``, ``cells`` and ``raw`` map each column to its list of values, addresses and raw texts
    (plain lists: building three DataFrames per sheet cost more than reading the file). ``settled``
    lists (row, column) pairs that already have a finding from reading, so the schema does not
    report them twice.
    """

    columns: list[str]
    values: dict[str, list[Any]]
    cells: dict[str, list[str]]
    raw: dict[str, list[str]]
    settled: set[tuple[int, str]] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.values[self.columns[0]]) if self.columns else 0

    @property
    def frame(self) -> pd.DataFrame:
        """The typed values as a frame (object columns: pandera checks contents, not dtypes)."""
        return pd.DataFrame(self.values, columns=self.columns, dtype=object)


@dataclass
class Submission:
    """A school's report as typed data (sheet name → SheetData) plus what reading it found.

    ``unread`` names the form's sheets that may be in a CSV part that was sent but refused (S01/S07):
    they are neither missing (S02) nor empty, and no rule may conclude anything from their absence.
    """

    sheets: dict[str, SheetData]
    findings: list[Finding]
    unread: frozenset[str] = frozenset()

    def title(self, name: str) -> Any:
        data = self.sheets.get(TITLE)
        if data is None or not data.values.get(name):
            return None
        return data.values[name][0]

    def title_cell(self, name: str) -> str:
        data = self.sheets.get(TITLE)
        if data is None or not data.cells.get(name):
            return ""
        return data.cells[name][0]


def build_submission(sheets: list[RawSheet], district: District) -> Submission:
    """Find the six sheets and read them into typed frames; every problem becomes a finding."""
    found: list[Finding] = []
    by_name: dict[str, RawSheet] = {}
    wanted = {fold(name): name for name in SHEETS}
    ignored = {fold(name) for name in IGNORED_SHEETS}
    unread: set[str] = set()
    for sheet in sheets:
        key = fold(sheet.name)
        if sheet.unread:
            # Its S01/S07 is already a finding; a part whose sheet nobody can tell may hold any missing one.
            unread.update([wanted[key]] if key in wanted else SHEETS)
            continue
        if key in ignored:
            continue
        name = wanted.get(key)
        if name is None or name in by_name:
            if sheet.csv_file is None:
                found.append(catalogue.build("S09", sheet.name, "", variant="sheet", name=sheet.name))
            else:
                found.append(catalogue.build("S09", sheet.name, "", variant="csv_part", name=sheet.csv_file))
            continue
        by_name[name] = sheet
    unread.difference_update(by_name)
    for name in SHEETS:
        if name not in by_name and name not in unread:
            found.append(catalogue.build("S02", name, "", name=name))

    typed: dict[str, SheetData] = {}
    for name, sheet in by_name.items():
        if name == TITLE:
            data = _read_title(sheet, district, found)
        elif name == INDICATORS:
            data = _read_indicators(sheet, district, found)
        else:
            data = _read_table(sheet, district, found)
        if data is not None:
            typed[name] = data
    return Submission(typed, found, frozenset(unread))


def _header_map(sheet: RawSheet, expected: tuple[str, ...], optional: tuple[str, ...],
                found: list[Finding]) -> dict[str, int] | None:
    """Map each expected column to its position; S03 for a missing one, S09 for an extra one."""
    header = sheet.rows[0] if sheet.rows else []
    wanted = {fold(name): name for name in expected}
    positions: dict[str, int] = {}
    for index, label in enumerate(header):
        name = wanted.get(fold(label))
        if name is not None and name not in positions:
            positions[name] = index
        elif not normalise.is_missing(label):
            found.append(catalogue.build("S09", sheet.name, sheet.address(0, index), value=label,
                                         variant="column", name=normalise.to_text(label)))
    missing = [name for name in expected if name not in positions and name not in optional]
    for name in missing:
        found.append(catalogue.build("S03", sheet.name, "", name=name))
    return None if missing else positions


def _data_rows(sheet: RawSheet) -> list[int]:
    return [index for index in range(1, len(sheet.rows)) if not all(normalise.is_missing(v) for v in sheet.rows[index])]


def _cell(sheet: RawSheet, row: int, column: int) -> Any:
    values = sheet.rows[row]
    return values[column] if column < len(values) else ""


class _Collector:
    """Gathers one sheet's typed values, addresses and raw texts, column by column."""

    def __init__(self, sheet: RawSheet, found: list[Finding]):
        self.sheet = sheet
        self.found = found
        self.values: dict[str, list[Any]] = {}
        self.cells: dict[str, list[str]] = {}
        self.raw: dict[str, list[str]] = {}
        self.settled: set[tuple[int, str]] = set()

    def add(self, position: int, name: str, row: int, column: int | None, reader: Callable[[Any], Any]) -> None:
        raw = "" if column is None else _cell(self.sheet, row, column)
        address = "" if column is None else self.sheet.address(row, column)
        value = None
        if column is not None and address in self.sheet.empty_formulas:
            self.found.append(catalogue.build("V09", self.sheet.name, address, value=raw))
            self.settled.add((position, name))
        else:
            try:
                value = reader(raw)
            except normalise.ValueProblem as problem:
                self.found.append(catalogue.build(problem.code, self.sheet.name, address, value=raw, **problem.params))
                self.settled.add((position, name))
        self.values.setdefault(name, []).append(value)
        self.cells.setdefault(name, []).append(address)
        self.raw.setdefault(name, []).append(catalogue.display_value(raw))

    def result(self, columns: list[str]) -> SheetData:
        def lists(source: dict[str, list[Any]]) -> dict[str, list[Any]]:
            return {name: source.get(name, []) for name in columns}

        return SheetData(columns, lists(self.values), lists(self.cells), lists(self.raw), self.settled)


def value_reader(column: Column, district: District, unit: str | None = None) -> Callable[[Any], Any]:
    """Return the function that reads one raw value of *column* into its typed value."""
    kind = column.kind
    if kind == "date":
        return normalise.to_date
    if kind in ("whole", "number"):
        # A column named with its unit («Объём, часов») takes that unit after a number, as an indicator does.
        unit = unit or (column.name.rpartition(", ")[2] if ", " in column.name else None)
        return lambda raw: normalise.to_number(raw, whole=kind == "whole", unit=unit)
    if kind == "yes_no":
        return lambda raw: normalise.to_yes_no(raw, district.yes_words, district.no_words)
    if kind == "list":
        allowed = district.lists[column.list_name or ""]
        synonyms = district.synonyms.get(column.list_name or "", {})
        return lambda raw: normalise.to_list_value(raw, allowed, synonyms)
    if kind == "links":
        return normalise.to_links
    if kind == "email":
        return normalise.to_email
    if kind == "phone":
        return normalise.to_phone
    if kind == "code" and column.name == "Код":
        codes = tuple(item.code for item in district.items)
        return lambda raw: normalise.to_item_code(raw, codes)
    return normalise.to_text


def _read_table(sheet: RawSheet, district: District, found: list[Finding]) -> SheetData | None:
    layout = LAYOUTS[sheet.name]
    positions = _header_map(sheet, layout.column_names, READER_ONLY_COLUMNS.get(sheet.name, ()), found)
    if positions is None:
        return None
    collector = _Collector(sheet, found)
    rows = _data_rows(sheet)
    if sheet.name == ROADMAP:
        rows = _roadmap_rows(sheet, rows, positions["Код"], district, found)
    readers = {column.name: value_reader(column, district) for column in layout.columns}
    for position, row in enumerate(rows):
        for column in layout.columns:
            collector.add(position, column.name, row, positions.get(column.name), readers[column.name])
    return collector.result(list(layout.column_names))


def _roadmap_rows(sheet: RawSheet, rows: list[int], code_column: int, district: District,
                  found: list[Finding]) -> list[int]:
    """Keep one row per known item; S08 for an unknown, repeated or missing item."""
    codes = tuple(item.code for item in district.items)
    kept: dict[str, int] = {}
    for row in rows:
        raw = _cell(sheet, row, code_column)
        code = normalise.to_item_code(raw, codes)
        address = sheet.address(row, code_column)
        if code is None:
            found.append(catalogue.build("S08", sheet.name, address, value=raw, variant="no_code"))
        elif code not in codes:
            found.append(catalogue.build("S08", sheet.name, address, value=raw, variant="unknown", item=code))
        elif code in kept:
            found.append(catalogue.build("S08", sheet.name, address, value=raw, variant="repeated", item=code))
        else:
            kept[code] = row
    for code in codes:
        if code not in kept:
            found.append(catalogue.build("S08", sheet.name, "", value="", variant="missing", item=code))
    return sorted(kept.values())


def _keyed_rows(sheet: RawSheet, key_column: int, known: dict[str, Any], found: list[Finding],
                unknown: str) -> dict[str, int]:
    """Map each known key (a «Титул» field, an indicator code) to its row; extras are S09 (*unknown*: its variant)."""
    rows: dict[str, int] = {}
    for row in _data_rows(sheet):
        label = normalise.to_text(_cell(sheet, row, key_column)) or ""
        key = known.get(fold(label))
        address = sheet.address(row, key_column)
        if key is None:
            found.append(catalogue.build("S09", sheet.name, address, value=label, variant=unknown, name=label))
        elif key in rows:
            found.append(catalogue.build("S09", sheet.name, address, value=label, variant="repeated", name=label))
        else:
            rows[key] = row
    return rows


def _read_title(sheet: RawSheet, district: District, found: list[Finding]) -> SheetData | None:
    positions = _header_map(sheet, TITLE_COLUMNS, (), found)
    if positions is None:
        return None
    known = {fold(column.name): column.name for column in TITLE_FIELDS}
    rows = _keyed_rows(sheet, positions["Поле"], known, found, "field")
    collector = _Collector(sheet, found)
    for column in TITLE_FIELDS:
        row = rows.get(column.name)
        if row is None:
            # A missing field row is reported by the schema as a missing value (V01) of the field.
            collector.add(0, column.name, 0, None, lambda raw: None)
        else:
            collector.add(0, column.name, row, positions["Значение"], value_reader(column, district))
    return collector.result([column.name for column in TITLE_FIELDS])


def _read_indicators(sheet: RawSheet, district: District, found: list[Finding]) -> SheetData | None:
    """Read «Показатели» into one wide row: a column per indicator code, typed by its kind."""
    layout = LAYOUTS[INDICATORS]
    positions = _header_map(sheet, layout.column_names, READER_ONLY_COLUMNS[INDICATORS], found)
    if positions is None:
        return None
    known = {fold(indicator.code): indicator.code for indicator in district.indicators}
    rows = _keyed_rows(sheet, positions["Код"], known, found, "indicator")
    collector = _Collector(sheet, found)
    for indicator in district.indicators:
        row = rows.get(indicator.code)
        column = Column(indicator.code, indicator.kind)
        reader = value_reader(column, district, unit=indicator.unit)
        if row is None:
            collector.add(0, indicator.code, 0, None, lambda raw: None)
        else:
            collector.add(0, indicator.code, row, positions["Значение"], reader)
    return collector.result([indicator.code for indicator in district.indicators])
