"""Judge submissions: read, type, validate (schemas in one batch, then rules) into findings and a verdict."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import findings as catalogue
from pipeline.checks import Context, check_rules
from pipeline.discover import UNRECOGNIZED, DroppedFile, Unit, group_units
from pipeline.findings import Finding, has_errors
from pipeline.isolation import IsolatedReader, read_unit
from pipeline.read import FILE_SHEET, RawSheet, RawSubmission
from pipeline.register import School, is_school_code
from pipeline.roadmap import Campaign, District
from pipeline.schema import check_schemas
from pipeline.submission import Submission, build_submission

ACCEPTED = "accepted"
REJECTED = "rejected"

# Order in which a school reads its findings: whole-file problems, then sheet by sheet, then cell order.
_SHEET_ORDER = {name: index for index, name in enumerate(
    (FILE_SHEET, "Титул", "Дорожная карта", "Сотрудники", "Курсы", "Поощрения", "Показатели"))}


@dataclass
class Verdict:
    """What was decided about one unit: its status, its school (if any), findings, and the typed data."""

    unit: Unit
    status: str  # accepted | rejected | unrecognized
    school: str | None
    findings: list[Finding]
    submission: Submission | None = None
    sheets: list[RawSheet] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.is_error)

    @property
    def warnings(self) -> int:
        return sum(1 for finding in self.findings if not finding.is_error)


@dataclass(frozen=True)
class Rules:
    """Everything a judgement depends on apart from the files."""

    district: District
    register: dict[str, School]
    campaign: Campaign
    today: dt.date


def judge_units(
    units: list[Unit],
    rules: Rules,
    previous_indicators: Callable[[str], dict[str, Any] | None] = lambda code: None,
    reader: Callable[[Unit, District], RawSubmission] = read_unit,
) -> list[Verdict]:
    """Judge *units* together: one schema validation per sheet for the whole batch."""
    verdicts: list[Verdict] = []
    typed: list[tuple[Verdict, Submission]] = []
    for unit in units:
        if unit.kind == UNRECOGNIZED:
            finding = catalogue.build("S01", FILE_SHEET, "", reason=unit.reason)
            verdicts.append(Verdict(unit, UNRECOGNIZED, None, [finding]))
            continue
        raw = reader(unit, rules.district)
        verdict = Verdict(unit, REJECTED, None, list(raw.findings), sheets=raw.sheets)
        verdicts.append(verdict)
        if not raw.sheets:
            if not verdict.findings:
                verdict.findings.append(catalogue.build("S01", FILE_SHEET, "", reason="в файле нет листов"))
            continue
        submission = build_submission(raw.sheets, rules.district)
        verdict.findings += submission.findings
        verdict.submission = submission
        typed.append((verdict, submission))

    schema_findings = check_schemas([submission for _, submission in typed], rules.district)
    for (verdict, submission), found in zip(typed, schema_findings, strict=True):
        verdict.findings += found
        code = submission.title("Код ОО")
        school = rules.register.get(str(code)) if code is not None else None
        verdict.school = school.code if school else None
        context = Context(rules.district, rules.register, rules.campaign, rules.today,
                          previous_indicators(school.code) if school else None)
        verdict.findings += check_rules(submission, context)
    for verdict in verdicts:
        verdict.findings = _dedupe(sorted(verdict.findings, key=_reading_order))
        if verdict.status != UNRECOGNIZED:
            verdict.status = REJECTED if has_errors(verdict.findings) or verdict.school is None else ACCEPTED
    return verdicts


def school_code_of(verdict: Verdict) -> str | None:
    """The Код ОО a rejected file claims, if it is safe as a folder name (for feedback of unknown codes)."""
    if verdict.submission is None:
        return None
    code = verdict.submission.title("Код ОО")
    return str(code) if code is not None and is_school_code(str(code)) else None


def _reading_order(finding: Finding) -> tuple[int, int, int, str]:
    row, column = _cell_position(finding.cell)
    return (_SHEET_ORDER.get(finding.sheet, len(_SHEET_ORDER)), row, column, finding.code)


def _cell_position(cell: str) -> tuple[int, int]:
    letters = "".join(char for char in cell if "A" <= char <= "Z")
    digits = "".join(char for char in cell if char.isdigit())
    if cell.startswith("стр."):
        return (int(digits or 0), 0)
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    return (int(digits) if digits else 0, column)


def _dedupe(found: list[Finding]) -> list[Finding]:
    seen = set()
    unique = []
    for finding in found:
        key = (finding.code, finding.sheet, finding.cell, finding.message)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


def judge_paths(paths: list[Path], rules: Rules) -> list[Verdict]:
    """Judge loose files (for `eibm validate`): each workbook alone, CSV parts grouped as in a drop folder."""
    files = []
    for path in paths:
        info = path.stat()
        files.append(DroppedFile(path.resolve(), str(path), info.st_size, info.st_mtime))
    units = group_units(files)
    with IsolatedReader() as isolated:
        return judge_units(units, rules, reader=isolated.read_ahead(units, rules.district))
