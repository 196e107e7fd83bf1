"""Rules across fields, sheets and years (S04–S06, R, K, L, conditional V01) over a typed submission."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pipeline import findings as catalogue
from pipeline.district.labels import fold
from pipeline.district.layout import AWARDS, COURSES, INDICATORS, ROADMAP, STAFF, TITLE
from pipeline.district.register import School
from pipeline.district.roadmap import Campaign, District, Item
from pipeline.findings import Finding
from pipeline.judge.submission import SheetData, Submission
from pipeline.typography import ru_number

DONE = "выполнено"
DONE_BEFORE = "выполнено ранее"
IN_PROGRESS = "в работе"
NOT_DONE = "не выполнено"
NOT_REQUIRED = "не требуется"
NO_LIBRARY = "нет библиотеки"
PEDAGOGUE_LIBRARIAN = "педагог-библиотекарь"


@dataclass(frozen=True)
class Context:
    """What the rules need besides the submission itself."""

    district: District
    register: dict[str, School]
    campaign: Campaign
    today: dt.date
    previous_indicators: dict[str, Any] | None = None  # the school's accepted P-values of last campaign


@dataclass(frozen=True)
class Row:
    """One data row of a sheet: typed values, their cells and raw texts by column name."""

    values: dict[str, Any]
    cells: dict[str, str]
    raw: dict[str, str]
    settled: frozenset[str] = frozenset()  # columns whose value could not be read (already a finding)

    def get(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value is None or (isinstance(value, float) and value != value) else value


def rows(data: SheetData | None) -> Iterator[Row]:
    if data is None:
        return
    for position in range(len(data)):
        settled = frozenset(column for row, column in data.settled if row == position)
        yield Row({name: values[position] for name, values in data.values.items()},
                  {name: cells[position] for name, cells in data.cells.items()},
                  {name: raw[position] for name, raw in data.raw.items()}, settled)


def check_rules(submission: Submission, context: Context) -> list[Finding]:
    """Return every rule finding (title, roadmap, staff, indicators) for *submission*."""
    found = check_title(submission, context)
    found += check_roadmap(submission, context)
    found += check_staff(submission, context)
    found += check_indicators(submission, context)
    return found


def _period(campaign: Campaign) -> str:
    return f"{campaign.period_start:%d.%m.%Y}–{campaign.period_end:%d.%m.%Y}"


def _in_period(date: dt.date, campaign: Campaign) -> bool:
    return campaign.period_start <= date <= campaign.period_end


def _title_row(submission: Submission) -> Row | None:
    return next(rows(submission.sheets.get(TITLE)), None)


def check_title(submission: Submission, context: Context) -> list[Finding]:
    """S04 (school), S05 (year), S06 (template version) and the range of Дата заполнения."""
    title = _title_row(submission)
    if title is None:
        return []
    found = []
    district, campaign = context.district, context.campaign
    version = title.get("Версия шаблона")
    if version is not None and fold(version) != fold(district.format_version):
        if fold(version) in (fold(old) for old in district.older_versions):
            found.append(catalogue.build("S06", TITLE, title.cells["Версия шаблона"], value=version,
                                         found=version, current=district.format_version))
        else:
            found.append(catalogue.build("V04", TITLE, title.cells["Версия шаблона"], value=version,
                                         allowed=district.format_version))
    code = title.get("Код ОО")
    if code is not None:
        school = context.register.get(str(code))
        if school is None:
            found.append(catalogue.build("S04", TITLE, title.cells["Код ОО"], value=code, variant="unknown",
                                         school=code))
        elif not school.is_expected(campaign):
            found.append(catalogue.build("S04", TITLE, title.cells["Код ОО"], value=code, variant="closed",
                                         school=code, year=campaign.year))
    year = title.get("Отчётный год")
    if year is not None and year != campaign.year:
        found.append(catalogue.build("S05", TITLE, title.cells["Отчётный год"], value=year,
                                     found=catalogue.display_value(year), year=campaign.year))
    filled = title.get("Дата заполнения")
    if filled is not None and not campaign.period_start <= filled <= context.today:
        bounds = f"с {campaign.period_start:%d.%m.%Y} по {context.today:%d.%m.%Y}"
        found.append(catalogue.build("V05", TITLE, title.cells["Дата заполнения"], value=filled, bounds=bounds))
    return found


def _filled_date(submission: Submission, context: Context) -> dt.date | None:
    title = _title_row(submission)
    filled = title.get("Дата заполнения") if title else None
    if filled is None or not context.campaign.period_start <= filled <= context.today:
        return None
    return filled


def check_roadmap(submission: Submission, context: Context) -> list[Finding]:
    """R01–R10 for every roadmap row whose status is readable."""
    district, campaign = context.district, context.campaign
    rules = district.item_rules
    filled = _filled_date(submission, context)
    statuses = set(district.lists["item_status"])
    course_rows = sum(1 for _ in rows(submission.sheets.get(COURSES)))
    award_rows = sum(1 for _ in rows(submission.sheets.get(AWARDS)))
    school = context.register.get(str(_title_row(submission).get("Код ОО"))) if _title_row(submission) else None
    found: list[Finding] = []
    for row in rows(submission.sheets.get(ROADMAP)):
        status = row.get("Статус")
        code = row.get("Код")
        if status not in statuses or code is None:
            continue
        item = district.item(code)
        if "Дата выполнения" in row.settled:
            continue  # an unreadable date already has its finding (V02, V09); date rules would only repeat it
        date = row.get("Дата выполнения")
        done = status in (DONE, DONE_BEFORE)

        def add(rule: str, column: str, variant: str = "", row: Row = row, status: str = status, code: str = code,
                found: list[Finding] = found,
                **params: Any) -> None:
            found.append(catalogue.build(rule, ROADMAP, row.cells[column], value=row.raw[column],
                                         variant=variant, status=status, item=code, **params))

        if status == DONE and (date is None or not _in_period(date, campaign) or (filled and date > filled)):
            add("R01", "Дата выполнения", period=_period(campaign))
        if status == DONE_BEFORE:
            too_early_or_late = date is None or date >= campaign.period_start or date < district.model_start
            if not item.one_off or too_early_or_late:
                add("R02", "Статус" if not item.one_off else "Дата выполнения",
                    start=f"{campaign.period_start:%d.%m.%Y}", model_start=f"{district.model_start:%d.%m.%Y}")
        if status in (IN_PROGRESS, NOT_DONE, NOT_REQUIRED) and date is not None:
            add("R03", "Дата выполнения")
        if status in (NOT_DONE, NOT_REQUIRED) and row.get("Комментарий") is None:
            add("R04", "Комментарий")
        if status == NOT_REQUIRED and code not in rules.may_be_not_required:
            add("R09", "Статус")
        links = row.get("Ссылки") or ()
        links_unreadable = "Ссылки" in row.settled
        if code == rules.website_item and done and not links_unreadable:
            if not links:
                add("R05", "Ссылки")
            elif school is not None and school.domains and not all(_on_site(link, school) for link in links):
                add("R05", "Ссылки", variant="warning", domains=", ".join(school.domains))
        if code in rules.needs_document and done:
            missing = [column for column in ("Документ", "Реквизиты документа") if row.get(column) is None]
            if missing:
                add("R06", missing[0])
        if code in rules.needs_quantity and status == DONE:
            quantity = row.get("Количество")
            if (quantity is None or quantity < 1) and "Количество" not in row.settled:
                add("R07", "Количество", variant="quantity", quantity=item.quantity or "число")
            if code in rules.needs_link and code != rules.website_item and not links and not links_unreadable:
                add("R07", "Ссылки", variant="link")
        # A part refused as a whole (S01/S07) is not an empty sheet: R08 cannot tell whether it had the row.
        if status == DONE and code in rules.needs_course and course_rows == 0 and COURSES not in submission.unread:
            add("R08", "Статус", variant="courses")
        if status == DONE and code in rules.needs_award and award_rows == 0 and AWARDS not in submission.unread:
            add("R08", "Статус", variant="awards")
        row_cells = (row.cells["Статус"], row.cells["Дата выполнения"])
        opened_after_due = school is not None and school.opened is not None and item.due is not None \
            and school.opened > item.due  # a school cannot be late for a Срок before it existed
        if not opened_after_due and not any(
                finding.code in ("R01", "R02") and finding.cell in row_cells for finding in found):
            found += _check_due(row, item, status, date, filled, campaign)
    return found


def _on_site(link: str, school: School) -> bool:
    host = link.split("://", 1)[-1].split("/", 1)[0]
    return any(host == domain or host.endswith("." + domain) for domain in school.domains)


def _check_due(row: Row, item: Item, status: str, date: dt.date | None, filled: dt.date | None,
               campaign: Campaign) -> list[Finding]:
    """R10: done after its Срок, or still open when the report was filled after the Срок."""
    due = item.due or campaign.period_end
    # «выполнено ранее» dated after the Срок was already flagged in the campaign it was done in.
    if status == DONE and date is not None and date > due and item.due is not None:
        return [catalogue.build("R10", ROADMAP, row.cells["Дата выполнения"], value=row.raw["Дата выполнения"],
                                variant="late", item=item.code, due=f"{due:%d.%m.%Y}")]
    if status in (IN_PROGRESS, NOT_DONE) and filled is not None and filled > due:
        return [catalogue.build("R10", ROADMAP, row.cells["Статус"], value=row.raw["Статус"], variant="overdue",
                                item=item.code, due=f"{due:%d.%m.%Y}", status=status)]
    return []


def check_staff(submission: Submission, context: Context) -> list[Finding]:
    """K01–K05 and the conditional «Документ» of a course."""
    district, campaign = context.district, context.campaign
    found: list[Finding] = []
    staff = list(rows(submission.sheets.get(STAFF)))
    names = {fold(row.get("Сотрудник")) for row in staff if row.get("Сотрудник") is not None}
    title = _title_row(submission)
    library = title.get("Библиотека") if title else None
    if STAFF in submission.sheets and not staff and library is not None and library != NO_LIBRARY:
        found.append(catalogue.build("K02", STAFF, "A2"))
    for row in staff:
        if row.get("Должность") == PEDAGOGUE_LIBRARIAN and row.get("КПК за последние 3 года") is False:
            column = "КПК за последние 3 года"
            found.append(catalogue.build("K05", STAFF, row.cells[column], value=row.raw[column]))
    staff_known = STAFF in submission.sheets
    for sheet, date_column in ((COURSES, "Дата окончания"), (AWARDS, "Дата")):
        for row in rows(submission.sheets.get(sheet)):
            person = row.get("Сотрудник")
            if staff_known and person is not None and fold(person) not in names:
                found.append(catalogue.build("K01", sheet, row.cells["Сотрудник"], value=person))
            date = row.get(date_column)
            if date is not None and not _in_period(date, campaign):
                found.append(catalogue.build("K04", sheet, row.cells[date_column], value=date,
                                             period=_period(campaign)))
            if sheet != COURSES:
                continue
            programme, hours = row.get("Вид программы"), row.get("Объём, часов")
            minimum = district.min_hours.get(programme)
            if minimum is not None and hours is not None and hours < minimum:
                found.append(catalogue.build("K03", sheet, row.cells["Объём, часов"], value=hours,
                                             programme=programme, minimum=minimum))
            if (programme in district.lists["programme"] and programme not in district.document_optional
                    and row.get("Документ") is None):
                found.append(catalogue.build("V01", sheet, row.cells["Документ"], name="Документ"))
    return found


def check_indicators(submission: Submission, context: Context) -> list[Finding]:
    """Required indicators (V01) and L01–L08."""
    data = submission.sheets.get(INDICATORS)
    if data is None or not len(data):
        return []
    district = context.district
    row = next(rows(data))
    title = _title_row(submission)
    library = title.get("Библиотека") if title else None
    found: list[Finding] = []
    # With «Титул» refused unread, «Библиотека» is unknown: only what every school must fill is required.
    library_known = TITLE not in submission.unread
    for indicator in district.indicators:
        required = indicator.always_required or (not indicator.optional and library_known and library != NO_LIBRARY)
        if required and row.get(indicator.code) is None and (0, indicator.code) not in data.settled:
            found.append(catalogue.build("V01", INDICATORS, row.cells[indicator.code], value=row.raw[indicator.code],
                                         name=f"{indicator.code} {indicator.name}"))
    p = {indicator.code: row.get(indicator.code) for indicator in district.indicators}

    def add(rule: str, code: str, variant: str = "", **params: Any) -> None:
        found.append(catalogue.build(rule, INDICATORS, row.cells[code], value=row.raw[code], variant=variant,
                                     **params))

    def shown(code: str) -> str:
        return ru_number(p[code])  # in a sentence: «18 181», as the report and the letters write numbers

    if _all_known(p, "P01", "P02", "P03") and (p["P03"] > p["P02"] or p["P03"] > p["P01"]):
        add("L01", "P03", p01=shown("P01"), p02=shown("P02"), p03=shown("P03"))
    if _all_known(p, "P06", "P07", "P08") and p["P07"] + p["P08"] > p["P06"]:
        add("L02", "P06", total=ru_number(p["P07"] + p["P08"]), p06=shown("P06"))
    if _all_known(p, "P13", "P14", "P15") and not p["P15"] <= p["P14"] <= p["P13"]:
        add("L03", "P14" if p["P14"] > p["P13"] else "P15", p13=shown("P13"), p14=shown("P14"), p15=shown("P15"))
    if p["P11"] is not None:
        if not 0 <= p["P11"] <= 100:
            add("L04", "P11")
        elif 0 < p["P11"] <= 1:
            add("L04", "P11", variant="warning")
    previous = context.previous_indicators or {}
    if previous.get("P06") is not None and _all_known(p, "P06", "P09", "P10"):
        expected = previous["P06"] + p["P09"] - p["P10"]
        if abs(p["P06"] - expected) > max(5, 0.005 * p["P06"]):
            add("L05", "P06", p06_last=ru_number(previous["P06"]), p09=shown("P09"), p10=shown("P10"),
                expected=ru_number(expected), p06=shown("P06"))
    _add_implausible(p, add)
    found += _website_agreement(submission, p, row, district)
    return found


def _all_known(values: dict[str, Any], *codes: str) -> bool:
    return all(values.get(code) is not None for code in codes)


def _add_implausible(p: dict[str, Any], add: Callable[..., None]) -> None:
    """L06: values that are possible but unlikely; each condition once, on the cell it is about."""
    if _all_known(p, "P02", "P04") and p["P04"] < p["P02"]:
        add("L06", "P04", variant="visits_below_users")
    elif _all_known(p, "P02", "P04") and p["P02"] > 0 and p["P04"] / p["P02"] > 100:
        add("L06", "P04", variant="visits_per_user", ratio=f"{p['P04'] / p['P02']:.1f}".replace(".", ","))
    if _all_known(p, "P14", "P16") and p["P14"] > p["P16"]:
        add("L06", "P14", variant="seats_over_computers")
    if _all_known(p, "P02", "P05") and p["P02"] > 0 and not 0.5 <= p["P05"] / p["P02"] <= 60:
        add("L06", "P05", variant="loans_per_user", ratio=f"{p['P05'] / p['P02']:.2f}".replace(".", ","))
    if _all_known(p, "P05", "P06") and p["P06"] > 0 and not 0.01 <= p["P05"] / p["P06"] <= 5:
        add("L06", "P05", variant="turnover", ratio=f"{p['P05'] / p['P06']:.3f}".replace(".", ","))


def _website_agreement(submission: Submission, p: dict[str, Any], row: Row, district: District) -> list[Finding]:
    """L07 (P22 and item 2 agree) and L08 (P21 not below item 4.1's count)."""
    found = []
    items = {item_row.get("Код"): item_row for item_row in rows(submission.sheets.get(ROADMAP))}
    website = items.get(district.item_rules.website_item)
    status = website.get("Статус") if website else None
    if p.get("P22") is not None and status in (DONE, DONE_BEFORE, IN_PROGRESS, NOT_DONE, NOT_REQUIRED):
        done = status in (DONE, DONE_BEFORE)
        if p["P22"] != done:
            variant = "yes_not_done" if p["P22"] else "no_but_done"
            found.append(catalogue.build("L07", INDICATORS, row.cells["P22"], value=row.raw["P22"], variant=variant))
    publications = items.get(district.item_rules.publications_item)
    quantity = publications.get("Количество") if publications else None
    if p.get("P21") is not None and quantity is not None and p["P21"] < quantity:
        found.append(catalogue.build("L08", INDICATORS, row.cells["P21"], value=row.raw["P21"],
                                     p21=catalogue.display_value(p["P21"]), quantity=catalogue.display_value(quantity)))
    return found
