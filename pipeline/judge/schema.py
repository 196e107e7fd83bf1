"""Pandera schemas for each sheet, built from the district data; validate many submissions at once."""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

import pandas as pd
import pandera.pandas as pa

from pipeline import findings as catalogue
from pipeline.district.layout import INDICATORS, LAYOUTS, TITLE, TITLE_FIELDS, Column
from pipeline.district.roadmap import District
from pipeline.findings import Finding
from pipeline.judge.submission import SheetData, Submission

NOT_NULL = "not_nullable"  # pandera's own check name for a missing required value


def build_schema(sheet: str, district: District) -> pa.DataFrameSchema:
    """The schema of one sheet: required values (V01), lists (V04), ranges (V05), lengths (V08)."""
    if sheet == TITLE:
        columns = {column.name: _column(column, district) for column in TITLE_FIELDS}
    elif sheet == INDICATORS:
        columns = {indicator.code: _indicator_column(indicator) for indicator in district.indicators}
    else:
        columns = {column.name: _column(column, district) for column in LAYOUTS[sheet].columns}
    # Values are typed by the reader, so pandera checks types' contents, not dtypes (see STYLE.md).
    return pa.DataFrameSchema(columns, strict=False, coerce=False)


def _column(column: Column, district: District) -> pa.Column:
    checks = []
    if column.kind == "list":
        checks.append(pa.Check.isin(list(district.lists[column.list_name or ""]), error="V04"))
    if column.minimum is not None:
        checks.append(pa.Check.ge(column.minimum, error="V05"))
    if column.maximum is not None:
        checks.append(pa.Check.le(column.maximum, error="V05"))
    if column.step is not None:
        step = column.step
        checks.append(pa.Check(lambda values: ((values / step) % 1).abs() < 1e-9, error="V05"))
    if column.max_length is not None:
        checks.append(pa.Check.str_length(max_value=column.max_length, error="V08"))
    if column.min_length is not None:
        checks.append(pa.Check.str_length(min_value=column.min_length, error="V05"))
    return pa.Column(object, checks=checks, nullable=not column.required, required=False)


def _indicator_column(indicator: Any) -> pa.Column:
    # Requiredness of P02–P22 depends on «Библиотека» and is checked in checks.py; P11's range is L04.
    checks = []
    if indicator.kind in ("whole", "number") and indicator.code != "P11":
        checks.append(pa.Check.gt(0, error="V05") if indicator.positive else pa.Check.ge(0, error="V05"))
    return pa.Column(object, checks=checks, nullable=True, required=False)


@cache
def _schemas(district: District) -> dict[str, pa.DataFrameSchema]:
    return {sheet: build_schema(sheet, district) for sheet in LAYOUTS}


def check_schemas(submissions: list[Submission], district: District) -> list[list[Finding]]:
    """Validate every sheet of every submission with one pandera call per sheet; findings per submission.

    One call on the concatenated frames costs what one call on a single frame does (MEASURED.md),
    and the failure cases' index leads back to the submission, the row and so the cell.
    """
    result: list[list[Finding]] = [[] for _ in submissions]
    for sheet, schema in _schemas(district).items():
        parts = [(number, submission.sheets[sheet]) for number, submission in enumerate(submissions)
                 if sheet in submission.sheets and len(submission.sheets[sheet])]
        if not parts:
            continue
        owners = [number for number, data in parts for _ in range(len(data))]
        offsets = [position for _, data in parts for position in range(len(data))]
        # One frame built straight from the column lists of every part (no frame per submission).
        columns = parts[0][1].columns
        frame = pd.DataFrame({name: [value for _, data in parts for value in data.values[name]] for name in columns},
                             columns=columns, dtype=object)
        data_of = dict(parts)
        for row, column, check, value in _failures(schema, frame):
            number = owners[row]
            data = data_of[number]
            position = offsets[row]
            if (position, column) in data.settled:
                continue
            result[number].append(_finding(sheet, data, position, column, check, value, district))
    return result


def _failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[tuple[int, str, str, Any]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        cases = cases[cases["index"].notna()]
        return [(int(row.index), str(row.column), str(row.check), row.failure_case)
                for row in cases.itertuples(index=False)]
    return []


def _finding(sheet: str, data: SheetData, position: int, column: str, check: str, value: Any,
             district: District) -> Finding:
    cell = data.cells[column][position]
    raw = data.raw[column][position]
    if check == NOT_NULL:
        return catalogue.build("V01", sheet, cell, value=raw, name=column)
    spec = _spec(sheet, column, district)
    if check == "V04":
        allowed = "; ".join(district.lists[spec.list_name or ""]) if spec and spec.list_name else ""
        return catalogue.build("V04", sheet, cell, value=raw, allowed=allowed)
    if check == "V08":
        limit = spec.max_length if spec else ""
        return catalogue.build("V08", sheet, cell, value=raw, limit=limit, length=len(str(value)))
    return catalogue.build(check, sheet, cell, value=raw, bounds=_bounds(sheet, column, spec, district))


def _spec(sheet: str, column: str, district: District) -> Column | None:
    if sheet == TITLE:
        return next((field for field in TITLE_FIELDS if field.name == column), None)
    if sheet == INDICATORS:
        return None
    return LAYOUTS[sheet].column(column)


def _bounds(sheet: str, column: str, spec: Column | None, district: District) -> str:
    if sheet == INDICATORS:
        indicator = next(item for item in district.indicators if item.code == column)
        return "больше 0" if indicator.positive else "не меньше 0"
    if spec is None:
        return ""
    if spec.min_length is not None:
        return f"от {spec.min_length} до {spec.max_length} символов"
    parts = []
    if spec.minimum is not None:
        parts.append(f"от {catalogue.display_value(float(spec.minimum))}")
    if spec.maximum is not None:
        parts.append(f"до {catalogue.display_value(float(spec.maximum))}")
    if spec.step is not None:
        parts.append(f"с шагом {catalogue.display_value(float(spec.step))}")
    return " ".join(parts)
