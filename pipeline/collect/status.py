"""Build and write the district's collection status: who is expected and where each school's report stands."""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.atomic import write_text
from pipeline.collect.contacts import SchoolContact, load_contacts
from pipeline.collect.senders import HELD_LABEL, REFUSED_LABEL, HeldFile, RefusedLetter, UnansweredMail, mail_states
from pipeline.district.register import School, expected_schools
from pipeline.district.roadmap import Campaign
from pipeline.district.setup import Setup
from pipeline.findings import to_visible
from pipeline.judge.identity import named_schools
from pipeline.statuses import SchoolState, SubmissionStatus
from pipeline.templating import environment
from pipeline.typography import count, ru_short_date
from pipeline.xlsx.stream import StreamWorkbook, freeze_header, set_autofilter, set_widths, stream_workbook
from pipeline.xlsx.stream_sheet import Sheet
from pipeline.xlsx.stream_styles import Style

logger = logging.getLogger(__name__)

# The order the district acts on: nothing at all, then only rejected files, then late, then done.
ATTENTION_ORDER = tuple(SchoolState)

HTML_NAME = "status.html"
XLSX_NAME = "status.xlsx"
STATUS_SHEET = "Статус"
SUMMARY_SHEET = "Сводка"

SCHOOL_FORMS = ("школа", "школы", "школ")
DAY_FORMS = ("день", "дня", "дней")

CONSOLE_WIDTH = 100
CONSOLE_NAME_WIDTH = 40
NO_VALUE = "—"

# Light fills close to Excel's own «Хороший», «Нейтральный», «Плохой»: readable in grey print.
STATE_FILLS = {SchoolState.ON_TIME: "#C6EFCE", SchoolState.LATE: "#FFEB9C", SchoolState.REJECTED: "#FFC7CE",
               SchoolState.MISSING: "#D9D9D9"}
STATE_STYLES = {state: (("bg_color", color), ("pattern", 1)) for state, color in STATE_FILLS.items()}
STATUS_COLUMNS = (
    ("Код ОО", 12),
    ("Наименование", 48),
    ("Муниципалитет", 22),
    ("Состояние", 30),
    ("Дата приёма", 13),
    ("Предупреждений", 16),
    ("Отклонённых файлов", 19),
    ("Ошибок в последнем отклонённом", 20),
    ("Последний файл", 18),
    ("Принятый файл", 40),
)
BOLD = (("bold", True),)
HEADER_STYLE = (*BOLD, ("text_wrap", True), ("valign", "vcenter"))


@dataclass(frozen=True)
class SubmissionFact:
    """One judged submission as the ledger knows it."""

    school: str | None  # Код ОО, None if unknown
    status: SubmissionStatus
    arrived_at: datetime.datetime  # naive local time
    path: str  # relative path in the drop folder (first file for a CSV group)
    errors: int
    warnings: int


@dataclass(frozen=True)
class SchoolStatus:
    """Where one expected school stands in the campaign."""

    code: str
    name: str
    municipality: str
    state: SchoolState
    accepted_at: datetime.datetime | None  # arrival of the current accepted submission
    accepted_path: str | None
    warnings: int  # of the accepted submission
    rejected_files: int  # count of rejected submissions of this school
    last_arrival: datetime.datetime | None  # latest arrival of any submission of the school
    last_errors: int  # errors of the latest rejected submission (0 if none)


@dataclass(frozen=True)
class NamedElsewhere:
    """A file whose name or folder names another school than its «Титул» (S10): counted for *school*."""

    path: str
    school: str  # the school its content gives, which it counts for
    named: str  # the other schools its name gives, «, »-separated
    status: SubmissionStatus


@dataclass(frozen=True)
class CampaignStatus:
    """The collection status of one campaign at one moment."""

    campaign: Campaign
    generated_at: datetime.datetime
    schools: list[SchoolStatus]  # expected schools, sorted by code
    unattributed: int  # submissions naming no expected school, incl. unrecognized files
    named_elsewhere: list[NamedElsewhere] = field(default_factory=list)
    held: list[HeldFile] = field(default_factory=list)
    refused_mail: list[RefusedLetter] = field(default_factory=list)
    unanswered_mail: list[UnansweredMail] = field(default_factory=list)
    contacts: dict[str, SchoolContact] = field(default_factory=dict)  # by code; the page shows them

    @property
    def held_schools(self) -> set[str]:
        return {item.school for item in self.held}

    @property
    def refused_schools(self) -> set[str]:
        return {item.school for item in self.refused_mail}

    @property
    def counts(self) -> dict[str, int]:
        """State -> number of schools; every state is present."""
        counts = dict.fromkeys(SchoolState, 0)
        for school in self.schools:
            counts[school.state] += 1
        return counts

    @property
    def days_left(self) -> int:
        """Days from the generation date to the deadline; negative once it has passed."""
        return (self.campaign.deadline - self.generated_at.date()).days


def build_status(
    expected: list[School], facts: list[SubmissionFact], campaign: Campaign, now: datetime.datetime
) -> CampaignStatus:
    """Judge every expected school against *campaign*'s deadline from the ledger's *facts*."""
    codes = {school.code for school in expected}
    facts_by_school: dict[str, list[SubmissionFact]] = defaultdict(list)
    unattributed = 0
    for fact in facts:
        if fact.status not in set(SubmissionStatus):
            raise ValueError(f"unknown submission status: {fact.status!r}")
        if fact.school is None or fact.school not in codes:
            unattributed += 1
        else:
            facts_by_school[fact.school].append(fact)
    schools = [
        _school_status(school, facts_by_school[school.code], campaign)
        for school in sorted(expected, key=lambda school: school.code)
    ]
    return CampaignStatus(campaign=campaign, generated_at=now, schools=schools, unattributed=unattributed)


def _school_status(school: School, facts: list[SubmissionFact], campaign: Campaign) -> SchoolStatus:
    # The path breaks ties between equal arrival times so that the result never depends on ledger order.
    ordered = sorted(facts, key=lambda fact: (fact.arrived_at, fact.path))
    accepted = [fact for fact in ordered if fact.status == SubmissionStatus.ACCEPTED]
    rejected = [fact for fact in ordered if fact.status == SubmissionStatus.REJECTED]
    current = accepted[-1] if accepted else None
    if current is not None:
        # The deadline is a day: anything that arrived on it, at any hour, is on time (REPORT_FORMAT §1).
        state = SchoolState.ON_TIME if current.arrived_at.date() <= campaign.deadline else SchoolState.LATE
    elif rejected:
        state = SchoolState.REJECTED
    else:
        state = SchoolState.MISSING
    return SchoolStatus(
        code=school.code,
        name=school.name,
        municipality=school.municipality,
        state=state,
        accepted_at=current.arrived_at if current else None,
        accepted_path=current.path if current else None,
        warnings=current.warnings if current else 0,
        rejected_files=len(rejected),
        last_arrival=ordered[-1].arrived_at if ordered else None,
        last_errors=rejected[-1].errors if rejected else 0,
    )


def by_attention(status: CampaignStatus) -> list[SchoolStatus]:
    """Schools the district must chase first: missing, rejected, late, on time; by code within each."""
    return sorted(status.schools, key=lambda school: (ATTENTION_ORDER.index(school.state), school.code))


def write_status(outputs: Path, status: CampaignStatus) -> list[Path]:
    """Write ``outputs/<year>/status.html`` and ``status.xlsx`` atomically; return both paths."""
    folder = outputs / str(status.campaign.year)
    html_path = folder / HTML_NAME
    write_text(html_path, render_status(status))
    xlsx_path = folder / XLSX_NAME
    write_status_workbook(xlsx_path, status)
    logger.info("status of campaign %s written: %s", status.campaign.year, status.counts)
    return [html_path, xlsx_path]


# A region's or the country's page would list tens of thousands of schools (18 MB of HTML at 40,000,
# which no browser shows well); past this, the page lists the schools to chase first and status.xlsx
# has every one.
HTML_ROW_LIMIT = 2000


def render_status(status: CampaignStatus) -> str:
    """Return the self-contained Russian HTML page of *status*."""
    counts = status.counts
    total = len(status.schools)
    accepted = counts[SchoolState.ON_TIME] + counts[SchoolState.LATE]
    summary = [
        {
            "state": state,
            "label": state.label,
            "count": counts[state],
            "text": count(counts[state], *SCHOOL_FORMS),
        }
        for state in ATTENTION_ORDER
    ]
    ordered = by_attention(status)
    shown = ordered if len(ordered) <= HTML_ROW_LIMIT else ordered[:HTML_ROW_LIMIT]
    return environment().get_template(HTML_NAME).render(
        status=status,
        campaign=status.campaign,
        schools=shown,
        hidden_text=count(len(ordered) - len(shown), *SCHOOL_FORMS) if len(shown) < len(ordered) else "",
        summary=summary,
        # The bar is drawn from the states in the order a report moves through them.
        bar=[item for item in reversed(summary) if item["count"]],
        total_text=count(total, *SCHOOL_FORMS),
        accepted=accepted,
        accepted_percent=round(100 * accepted / total) if total else 0,
        days_text=days_left_text(status.days_left),
        held_label=HELD_LABEL,
        held_schools=status.held_schools,
        refused_schools=status.refused_schools,
        refused_label=REFUSED_LABEL,
        contacts=status.contacts,
    )


def days_left_text(days: int) -> str:
    """«до срока 5 дней», «срок сдачи сегодня», «срок прошёл 2 дня назад»."""
    if days > 0:
        return f"до срока {count(days, *DAY_FORMS)}"
    if days == 0:
        return "срок сдачи сегодня"
    return f"срок прошёл {count(-days, *DAY_FORMS)} назад"


def write_status_workbook(path: Path, status: CampaignStatus) -> None:
    """Write at *path*, atomically, sheets «Статус» (one row per school) and «Сводка» (counts and dates)."""
    with stream_workbook(path) as book:
        _fill_status_sheet(book, book.add_sheet(STATUS_SHEET), status)
        _fill_summary_sheet(book, book.add_sheet(SUMMARY_SHEET), status)
        book.set_properties(title=f"Ход сбора отчётов ИБЦ — кампания {status.campaign.year}", creator="eibm")


def _fill_status_sheet(book: StreamWorkbook, sheet: Sheet, status: CampaignStatus) -> None:
    for column, (title, _) in enumerate(STATUS_COLUMNS):
        book.write(sheet, 0, column, title, HEADER_STYLE)
    set_widths(sheet, [width for _, width in STATUS_COLUMNS])
    write = book.write
    for row, school in enumerate(by_attention(status), start=1):
        accepted = school.accepted_at is not None
        write(sheet, row, 0, school.code)
        write(sheet, row, 1, school.name)
        write(sheet, row, 2, school.municipality)
        write(sheet, row, 3, school.state.label, STATE_STYLES[school.state])
        write(sheet, row, 4, school.accepted_at.date() if accepted else None)
        write(sheet, row, 5, school.warnings if accepted else None)
        write(sheet, row, 6, school.rejected_files)
        write(sheet, row, 7, school.last_errors if school.rejected_files else None)
        write(sheet, row, 8, school.last_arrival)
        write(sheet, row, 9, school.accepted_path)
    freeze_header(sheet)
    set_autofilter(sheet, len(status.schools), len(STATUS_COLUMNS) - 1)
    sheet.repeat_rows(0)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)


def _fill_summary_sheet(book: StreamWorkbook, sheet: Sheet, status: CampaignStatus) -> None:
    campaign = status.campaign
    counts = status.counts
    rows: list[tuple[str, Any]] = [
        ("Кампания", campaign.year),
        ("Сформировано", status.generated_at),
        ("", None),
        ("Состояние", "Школ"),
        *((state.label, counts[state]) for state in ATTENTION_ORDER),
        ("Всего ожидается", len(status.schools)),
        ("Файлов без школы из списка", status.unattributed),
        ("", None),
        ("Начало отчётного периода", campaign.period_start),
        ("Конец отчётного периода", campaign.period_end),
        ("Открытие окна сбора", campaign.window_open),
        ("Закрытие окна сбора", campaign.window_close),
        ("Срок сдачи", campaign.deadline),
        ("Дней до срока (отрицательное — срок прошёл)", status.days_left),
    ]
    state_by_label = {state.label: state for state in SchoolState}
    for row, (label, value) in enumerate(rows):
        label_style: Style = ()
        value_style: Style = ()
        if label == "Состояние":
            label_style = value_style = BOLD
        if label in state_by_label:
            label_style = STATE_STYLES[state_by_label[label]]
        book.write(sheet, row, 0, label, label_style)
        book.write(sheet, row, 1, value, value_style)
    set_widths(sheet, [44, 18])


def format_status(status: CampaignStatus) -> str:
    """Return a plain-text Russian table for the console, lines at most 100 characters."""
    campaign = status.campaign
    counts = status.counts
    lines = [
        f"Кампания {campaign.year}: срок сдачи {ru_short_date(campaign.deadline)}, {days_left_text(status.days_left)}",
        " · ".join(f"{state.label}: {counts[state]}" for state in ATTENTION_ORDER),
        f"Ожидается {count(len(status.schools), *SCHOOL_FORMS)}; "
        f"файлов без школы из списка: {status.unattributed}",
    ]
    if status.held or status.refused_mail:
        lines.append(f"Почта: {HELD_LABEL} — {len(status.held)}; {REFUSED_LABEL} — {len(status.refused_mail)}")
    if not status.schools:
        return "\n".join(lines)
    code_width = max(len("Код ОО"), *(len(school.code) for school in status.schools))
    state_width = max(len(state.label) for state in SchoolState)
    date_width = len("ДД.ММ.ГГГГ")
    prefix_width = code_width + state_width + date_width + 6
    # A long school code eats into the name rather than pushing the line past the console width.
    name_width = max(10, min(CONSOLE_NAME_WIDTH, CONSOLE_WIDTH - prefix_width))
    header = f"{'Код ОО':<{code_width}}  {'Состояние':<{state_width}}  {'Принят':<{date_width}}  Наименование"
    lines += ["", header, "-" * min(CONSOLE_WIDTH, prefix_width + name_width)]
    for school in by_attention(status):
        accepted = ru_short_date(school.accepted_at) if school.accepted_at else NO_VALUE
        name = _shorten(school.name, name_width)
        lines.append(
            f"{school.code:<{code_width}}  {school.state.label:<{state_width}}  {accepted:<{date_width}}  {name}"
        )
    # A terminal shows no-break spaces as odd characters in some fonts: plain spaces on the console.
    return "\n".join(line.rstrip() for line in lines).replace("\u00a0", " ")


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def status_json(status: CampaignStatus) -> list[dict[str, str]]:
    """Return ``[{"school": code, "state": state}, ...]`` in code order for ``eibm status --json``."""
    return [{"school": school.code, "state": school.state} for school in status.schools]


def current_status(setup: Setup, engine: Engine, now: datetime.datetime,
                   schools: set[str] | None = None) -> CampaignStatus:
    """The campaign's status now; of *schools* only, if given (a batch's feedback needs no more)."""
    campaign = setup.campaign
    with ledger.transaction(engine) as connection:
        rows = ledger.status_rows(connection, setup.year, schools)
    # The path is the school's own name for its file: shown with hidden characters written out.
    facts = [SubmissionFact(row.school, SubmissionStatus(row.status), row.arrived_at, to_visible(row.first_path),
                            row.errors, row.warnings) for row in rows]
    expected = expected_schools(setup.register, campaign)
    if schools is not None:
        expected = [school for school in expected if school.code in schools]
    status = build_status(expected, facts, campaign, now)
    if schools is not None:
        return status
    with ledger.transaction(engine) as connection:
        marked = ledger.submissions_with_finding(connection, setup.year, "S10")
        held, refused, unanswered = mail_states(connection, setup)
        contacts = load_contacts(connection, setup.year, expected)
    return replace(status, named_elsewhere=[_named_elsewhere(item, setup.register) for item in marked],
                   held=held, refused_mail=refused, unanswered_mail=unanswered, contacts=contacts)


def _named_elsewhere(item: ledger.StoredSubmission, register: dict[str, School]) -> NamedElsewhere:
    named = set().union(*(named_schools(path, register) for path in item.paths)) - {item.school}
    return NamedElsewhere(to_visible(", ".join(item.paths)), item.school or "", ", ".join(sorted(named)),
                          SubmissionStatus(item.status))
