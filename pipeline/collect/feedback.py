"""Write the feedback a school gets for each file: the Russian HTML page, and the annotated copy beside it."""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipeline.atomic import write_text
from pipeline.findings import SEVERITY_RU, Finding, sort_findings, to_visible
from pipeline.intake.read import RawSheet
from pipeline.statuses import SchoolState, SubmissionStatus
from pipeline.templating import environment
from pipeline.typography import count, ru_short_date

logger = logging.getLogger(__name__)

NO_CODE_FOLDER = "_без_кода"
MAX_STEM = 60

_SAFE_STEM_CHAR = re.compile(r"[^0-9A-Za-zА-Яа-яЁё_-]+")


@dataclass(frozen=True)
class FeedbackInput:
    """What the collection knows about one processed school file, enough to write its feedback."""

    file_name: str  # path relative to the drop folder, as the school named it
    sha256: str
    year: int
    status: SubmissionStatus
    processed_at: datetime.datetime
    findings: list[Finding]
    school_code: str | None  # None when the file names no school of the register
    school_name: str | None
    school_state: SchoolState | None  # the school's current state in the campaign
    deadline: datetime.date
    workbook: Path | None  # archived .xlsx/.xlsm to annotate; None for csv/xls/ods/unreadable
    sheets: list[RawSheet] | None  # raw sheets as read, to rebuild a workbook; None if unreadable
    arrived_at: datetime.datetime | None = None  # when the file arrived: late and after-window notes
    window_close: datetime.date | None = None  # the last day of the collection window


def feedback_folder(outputs: Path, year: int, school_code: str | None, sha256: str) -> Path:
    """Return outputs/<year>/feedback/<Код ОО>/, or …/_без_кода/<sha12>/ for a file of no known school."""
    base = outputs / str(year) / "feedback"
    if school_code is None:
        prefix = sha256[:12]
        if not re.fullmatch(r"[0-9a-fA-F]{12}", prefix):
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return base / NO_CODE_FOLDER / prefix.lower()
    # The code was validated against the register; this guards the path against a broken register.
    if not school_code.strip(".") or any(part in school_code for part in ("/", "\\", "..", "\x00")):
        raise ValueError(f"unsafe school code for a folder name: {school_code!r}")
    return base / school_code


def write_feedback(outputs: Path, item: FeedbackInput, folder_school: str | None = None) -> list[Path]:
    """Write the HTML page and, for a readable file with errors, the annotated workbook; return the paths.

    The annotated copy is for the file a school must fix: the page already lists every warning with
    its cell, and a copy costs a few ms patched, ~150 ms when openpyxl has to load and save it.
    *folder_school*: the same feedback in another school's folder (the school a file's name gives, S10).
    """
    folder = feedback_folder(outputs, item.year, folder_school or item.school_code, item.sha256)
    name = f"{safe_stem(item.file_name)}_{item.sha256[:8].lower()}"
    page = folder / f"{name}.html"
    # Atomic by rename; not worth two fsyncs a file. Stale temporaries: collect's sweep.
    write_text(page, render_page(item), durable=False, sweep=False)
    written = [page]
    has_errors = any(finding.is_error for finding in item.findings)
    if item.status != SubmissionStatus.UNRECOGNIZED and has_errors and (item.workbook is not None or item.sheets):
        from pipeline.collect.annotated_copy import write_annotated_workbook  # openpyxl: ≈ 0.2 s to import

        annotated = folder / f"{name}_замечания.xlsx"
        if write_annotated_workbook(annotated, item):
            written.append(annotated)
    return written


def safe_stem(file_name: str) -> str:
    """Return the file's stem reduced to letters, digits, «-» and «_» (at most 60 characters)."""
    stem = PurePosixPath(file_name.replace("\\", "/")).stem
    cleaned = _SAFE_STEM_CHAR.sub("_", stem)
    cleaned = re.sub(r"_{2,}", "_", cleaned).strip("_-")[:MAX_STEM].strip("_-")
    return cleaned or "файл"


def render_page(item: FeedbackInput) -> str:
    """Render the Russian feedback page for *item*."""
    ordered = sort_findings(item.findings)
    errors = sum(1 for finding in ordered if finding.is_error)
    context = {
        "file_name": to_visible(item.file_name),  # the school chose it: bidi controls shown, not applied
        "processed_at": item.processed_at,
        "year": item.year,
        "school_code": item.school_code,
        "school_name": item.school_name,
        "status": item.status,
        "status_ru": SubmissionStatus(item.status).label,
        "explanation": status_explanation(item),
        "arrival_note": arrival_note(item),
        "state_ru": SchoolState(item.school_state).label if item.school_state else None,
        "deadline": item.deadline,
        "findings": ordered,
        "summary": count_summary(errors, len(ordered) - errors),
        "severity_ru": SEVERITY_RU,
    }
    return environment().get_template("feedback.html").render(context)


def arrival_note(item: FeedbackInput) -> str | None:
    """A file that arrived after the collection window closed is told so plainly; None otherwise."""
    if item.arrived_at is None or item.window_close is None or item.arrived_at.date() <= item.window_close:
        return None
    return (f"Файл получен {ru_short_date(item.arrived_at.date())}, после закрытия сбора отчётов "
            f"({ru_short_date(item.window_close)}). Он проверен, но мог не войти в итоговый отчёт района, "
            "если тот уже сформирован: сообщите об отправке в управление образования.")


def status_explanation(item: FeedbackInput) -> str:
    """Say what the status means for the school and what to do next, in one wording per state."""
    deadline = ru_short_date(item.deadline)
    if item.status == SubmissionStatus.ACCEPTED:
        warnings = sum(1 for finding in item.findings if not finding.is_error)
        if item.school_state == SchoolState.LATE and item.arrived_at and item.arrived_at.date() > item.deadline:
            accepted = (f"Отчёт принят с опозданием: файл получен {ru_short_date(item.arrived_at.date())}, "
                        f"после срока сдачи {deadline}.")
        else:
            accepted = "Отчёт принят."
        if not warnings:
            return f"{accepted} Замечаний нет, присылать файл заново не нужно."
        return (f"{accepted} Ниже — предупреждения: это не ошибки, из-за них отчёт не отклонён. "
                "Проверьте эти значения; исправлять и присылать файл заново не нужно, учтите их в следующем отчёте.")
    if item.status == SubmissionStatus.REJECTED:
        if item.school_state in (SchoolState.ON_TIME, SchoolState.LATE):
            # Another file of the school, judged in the same run or before, was accepted.
            return "Этот файл отклонён, но от вашей школы уже принят другой отчёт: исправлять этот файл не нужно."
        if item.processed_at.date() > item.deadline:
            # A late report is still accepted (REPORT_FORMAT §1), so «до <срок>» would only confuse.
            return (
                f"Отчёт отклонён: исправьте ошибки и отправьте файл заново как можно скорее "
                f"(срок сдачи {deadline} прошёл, исправленный отчёт будет принят с опозданием)."
            )
        return f"Отчёт отклонён: исправьте ошибки и отправьте файл заново до {deadline}."
    if item.status == SubmissionStatus.SUPERSEDED:
        return (
            "Этот файл заменён более поздним файлом вашей школы: учитывается последний отправленный отчёт. "
            "Ничего делать не нужно."
        )
    if item.status == SubmissionStatus.DUPLICATE:
        return "Файл с точно таким же содержимым уже был получен и проверен раньше. Ничего делать не нужно."
    if item.status == SubmissionStatus.UNRECOGNIZED:
        return (
            "Этот файл не является отчётом ИБЦ. Отправьте заполненную по шаблону книгу Excel (.xlsx) "
            "или CSV-файлы листов отчёта."
        )
    raise ValueError(f"unknown status: {item.status!r}")


ERROR_FORMS = ("ошибка", "ошибки", "ошибок")
WARNING_FORMS = ("предупреждение", "предупреждения", "предупреждений")


def count_summary(errors: int, warnings: int) -> str:
    """«3 ошибки, 1 предупреждение»; «Замечаний нет.» when both are zero."""
    parts = [count(number, *forms) for number, forms in ((errors, ERROR_FORMS), (warnings, WARNING_FORMS)) if number]
    return ", ".join(parts) if parts else "Замечаний нет."
