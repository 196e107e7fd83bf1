"""Judge submissions: read, type, validate (schemas in one batch, then rules) into findings and a verdict."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import findings as catalogue
from pipeline.district.register import School
from pipeline.district.roadmap import Campaign, District
from pipeline.findings import Finding, has_errors
from pipeline.intake.discover import CSV_GROUP, UNRECOGNIZED, DroppedFile, Unit, group_units
from pipeline.intake.isolation import IsolatedReader, read_unit
from pipeline.intake.read import FILE_SHEET, RawSheet, RawSubmission
from pipeline.judge.checks import Context, check_rules
from pipeline.judge.identity import check_named_school
from pipeline.judge.schema import check_schemas
from pipeline.judge.submission import Submission, build_submission
from pipeline.statuses import SubmissionStatus

# Order in which a school reads its findings: whole-file problems, then sheet by sheet, then cell order.
_SHEET_ORDER = {name: index for index, name in enumerate(
    (FILE_SHEET, "Титул", "Дорожная карта", "Сотрудники", "Курсы", "Поощрения", "Показатели"))}


@dataclass
class Verdict:
    """What was decided about one unit: its status, its school (if any), findings, and the typed data."""

    unit: Unit
    status: SubmissionStatus  # accepted | rejected | unrecognized
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
    # Per school, its accepted indicator values of the previous campaign (rule L05).
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Prejudged:
    """One unit read, typed and rule-checked; only the batch's schema pass is left to do.

    Made where the unit was read (a worker process), so that only typed values travel back.
    *sheets* are kept only for CSV parts, .xls and .ods, whose annotated copy is rebuilt from them.
    """

    findings: list[Finding]
    submission: Submission | None = None
    school: str | None = None
    sheets: list[RawSheet] = field(default_factory=list)


# Reads one unit (given the district); IsolatedReader's workers return Prejudged, plain readers raw sheets.
Reader = Callable[[Unit, District], RawSubmission | Prejudged]


def prejudge_unit(unit: Unit, rules: Rules) -> Prejudged:
    """Read one unit and judge what does not need the rest of the batch (a worker's whole job)."""
    return prejudge(unit, read_unit(unit, rules.district), rules)


def prejudge(unit: Unit, raw: RawSubmission, rules: Rules) -> Prejudged:
    """Type *raw* and apply the rules; every problem becomes a finding."""
    annotated_from_archive = unit.kind != CSV_GROUP and unit.files[0].path.suffix.lower() in (".xlsx", ".xlsm")
    kept = [] if annotated_from_archive else raw.sheets
    result = Prejudged(list(raw.findings), sheets=kept)
    if not raw.sheets:
        if not result.findings:
            result.findings.append(catalogue.build("S01", FILE_SHEET, "", reason="в файле нет листов"))
        return result
    submission = build_submission(raw.sheets, rules.district)
    code = submission.title("Код ОО")
    school = rules.register.get(str(code)) if code is not None else None
    context = Context(rules.district, rules.register, rules.campaign, rules.today,
                      rules.previous.get(school.code) if school else None)
    result.findings += submission.findings + check_rules(submission, context)
    if school is not None:
        result.findings += check_named_school([file.relative for file in unit.files], school.code, rules.register)
    result.submission, result.school = submission, school.code if school else None
    return result


def judge_units(units: list[Unit], rules: Rules, reader: Reader | None = None) -> list[Verdict]:
    """Judge *units* together: one schema validation per sheet for the whole batch.

    *reader* returns either a unit's raw sheets (typed and checked here) or its Prejudged result
    (typed and checked where it was read: IsolatedReader's workers); by default, all in this process.
    """
    verdicts: list[Verdict] = []
    typed: list[tuple[Verdict, Submission]] = []
    for unit in units:
        if unit.kind == UNRECOGNIZED:
            finding = catalogue.build("S01", FILE_SHEET, "", reason=unit.reason)
            verdicts.append(Verdict(unit, SubmissionStatus.UNRECOGNIZED, None, [finding]))
            continue
        read = reader(unit, rules.district) if reader else prejudge_unit(unit, rules)
        done = read if isinstance(read, Prejudged) else prejudge(unit, read, rules)
        verdict = Verdict(unit, SubmissionStatus.REJECTED, done.school, done.findings, done.submission, done.sheets)
        verdicts.append(verdict)
        if done.submission is not None:
            typed.append((verdict, done.submission))

    schema_findings = check_schemas([submission for _, submission in typed], rules.district)
    for (verdict, _), found in zip(typed, schema_findings, strict=True):
        verdict.findings += found
    for verdict in verdicts:
        verdict.findings = _dedupe(sorted(verdict.findings, key=_reading_order))
        if verdict.status != SubmissionStatus.UNRECOGNIZED:
            rejected = has_errors(verdict.findings) or verdict.school is None
            verdict.status = SubmissionStatus.REJECTED if rejected else SubmissionStatus.ACCEPTED
    return verdicts


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


def judging_pool(rules: Rules) -> IsolatedReader:
    """Worker processes that read, type and rule-check units under *rules* (prejudge_unit)."""
    return IsolatedReader(context=rules, reader=prejudge_unit)


def judge_isolated(units: list[Unit], rules: Rules, isolated: IsolatedReader | None = None) -> list[Verdict]:
    """Judge *units* with reading, typing and rules in worker processes (*isolated*'s, or a pool of one's own).

    What a batch of a collection runs, in the run's process or on a Dask worker. A unit that
    crashes or hangs its worker becomes a finding for that unit only.
    """
    if isolated is None:
        with judging_pool(rules) as own:
            return judge_isolated(units, rules, own)
    return judge_units(units, rules, reader=isolated.read_ahead(units, rules.district))


def judge_paths(paths: list[Path], rules: Rules) -> list[Verdict]:
    """Judge loose files (for `eibm validate`): each workbook alone, CSV parts grouped as in a drop folder."""
    files = []
    for path in paths:
        info = path.stat()
        files.append(DroppedFile(path.resolve(), str(path), info.st_size, info.st_mtime))
    return judge_isolated(group_units(files), rules)
