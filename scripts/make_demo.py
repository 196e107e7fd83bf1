"""Regenerate the synthetic demo district «Демонстрационный район»: register, drop folders and arrival times."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from odf.element import Element
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P
from openpyxl.xml.constants import ARC_CORE
from openpyxl.xml.functions import tostring

from pipeline.district.layout import AWARDS, COURSES, INDICATORS, LAYOUTS, ROADMAP, SHEETS, STAFF, TITLE, TITLE_FIELDS
from pipeline.district.register import COLUMNS, REGISTER_FILE, School, load_register
from pipeline.district.roadmap import District, DistrictDataError, load_district
from pipeline.xlsx.templates import build_template

DEMO_DISTRICT = "Демонстрационный район"
# pipeline.collect.run reads inputs/arrivals/<year>.csv; not imported from there because it pulls in the ledger.
ARRIVALS_FOLDER = "arrivals"
# Every random choice comes from a generator seeded by this, the school and the topic: the data never
# depends on the order in which schools or files are produced.
SEED = 70
DATE_FORMAT = "DD.MM.YYYY"
ARRIVAL_FORMAT = "%d.%m.%Y %H:%M"
# A real Excel lock file holds the owner's name; the pipeline only looks at the «~$» prefix.
LOCK_FILE_BYTES = b"\x0cdemo-user   " + b"\x00" * 40

YES, NO = "да", "нет"
DONE, DONE_BEFORE, IN_PROGRESS, NOT_DONE, NOT_REQUIRED = (
    "выполнено", "выполнено ранее", "в работе", "не выполнено", "не требуется")
ONE_OFF_ORDER = ("1.1", "1.3", "1.4а", "1.4б", "2")


@dataclass(frozen=True)
class DemoSchool:
    """A fictional school of the demo register."""

    number: int
    name: str
    responsible: str
    library: str = "отдельное помещение"
    opened: dt.date | None = None
    closed: dt.date | None = None

    @property
    def code(self) -> str:
        return f"70-{self.number:03d}"

    @property
    def site(self) -> str:
        return f"demo-school{self.number}.example.ru"

    @property
    def gosweb(self) -> str:
        return f"demo-school{self.number}-r70.gosweb.gosuslugi.ru"


SCHOOLS = (
    DemoSchool(1, "МБОУ «Демонстрационная СОШ № 1»", "Образцова Мария Ивановна"),
    DemoSchool(2, "МБОУ «Демонстрационная СОШ № 2»", "Примерова Елена Сергеевна"),
    DemoSchool(3, "МАОУ «Лицей „Пример“»", "Условнова Ольга Петровна"),
    DemoSchool(4, "МАОУ «Гимназия „Образец“»", "Эталонова Наталья Викторовна"),
    DemoSchool(5, "МБОУ «Условная ООШ»", "Макетова Анна Андреевна", library="совмещена с другим помещением"),
    DemoSchool(6, "МБОУ «Демонстрационная СОШ № 6»", "Шаблонова Ирина Юрьевна"),
    DemoSchool(7, "МКОУ «Примерная СОШ»", "Черновикова Светлана Олеговна"),
    DemoSchool(8, "МБОУ «Образцовская СОШ»", "Пробнова Татьяна Николаевна"),
    DemoSchool(9, "МКОУ «Макетная ООШ»", "Набросков Алексей Игоревич", library="совмещена с другим помещением"),
    DemoSchool(10, "МБОУ «Шаблонная СОШ»", "Вымыслова Галина Павловна"),
    DemoSchool(11, "МБОУ «Демонстрационная СОШ № 11»", "Демонстрова Людмила Александровна"),
    DemoSchool(12, "МАОУ «СОШ „Эталон“»", "Моделева Вера Константиновна"),
    DemoSchool(13, "МБОУ «Тестовская СОШ»", "Тестова Юлия Романовна"),
    DemoSchool(14, "МБОУ «Вымышленная СОШ»", "Эскизова Дарья Максимовна"),
    # Reorganised in June 2025: open on 31.08.2024, so it reports for 2024 but not for 2025.
    DemoSchool(15, "МКОУ «Черновая ООШ»", "Пробкина Зоя Фёдоровна", library="совмещена с другим помещением",
               closed=dt.date(2025, 6, 1)),
    # Opened for the 2024/25 school year: expected from campaign 2025 on.
    DemoSchool(16, "МАОУ «СОШ „Новый пример“»", "Новикова-Пример Ксения Львовна", opened=dt.date(2024, 9, 1)),
)


@dataclass(frozen=True)
class Sending:
    """One file (or group of CSV parts) a demo school drops into a campaign's folder."""

    name: str  # file name; for CSV the «<Код ОО>» prefix of the parts
    arrived: dt.datetime
    kind: str = "xlsx"  # xlsx | ods | csv
    # Deliberate changes to an otherwise correct report (see apply_edits); errors make it rejected.
    edits: tuple[str, ...] = ()
    copy_of: str | None = None  # a byte-identical copy of another sending (a «дубликат»)


@dataclass(frozen=True)
class Plan:
    """What one school does in one campaign: how its report looks (quirks) and what it sends."""

    sendings: tuple[Sending, ...] = ()
    # Realistic deviations that give warnings only: late_one_offs, website_late, open_one_offs,
    # old_version, fund_jump, no_kpk, foreign_link, new_school.
    quirks: frozenset[str] = frozenset()
    extra_files: tuple[tuple[str, bytes, dt.datetime], ...] = ()  # not reports: lock files


def at(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, ARRIVAL_FORMAT)


def _plans() -> dict[int, dict[str, Plan]]:
    """The demo scenario: per campaign and school, what arrives when (REPORT_FORMAT §1: deadline 01.10.N)."""
    plans_2024 = {
        "70-001": Plan((Sending("70-001_ИБЦ_2024.xlsx", at("21.05.2024 10:15")),)),
        "70-002": Plan((Sending("70-002_ИБЦ_2024.xlsx", at("27.05.2024 14:40")),)),
        # Roadmap and Положение approved in July, after the Срок 30.06.2024: R10, still accepted.
        "70-003": Plan((Sending("70-003_ИБЦ_2024.xlsx", at("19.08.2024 09:05")),), frozenset({"late_one_offs"})),
        "70-004": Plan((Sending("70-004_ИБЦ_2024.xlsx", at("03.06.2024 11:30")),)),
        "70-005": Plan((Sending("70-005_ИБЦ_2024.xlsx", at("03.10.2024 12:00")),)),  # late
        "70-006": Plan((Sending("70-006_ИБЦ_2024.xlsx", at("30.05.2024 16:20")),)),
        "70-007": Plan((Sending("70-007_ИБЦ_2024.xlsx", at("11.06.2024 08:50")),)),
        # Filled in last year's template: S06, accepted.
        "70-008": Plan((Sending("70-008_ИБЦ_2024.xlsx", at("24.05.2024 13:10")),), frozenset({"old_version"})),
        "70-009": Plan((Sending("70-009_ИБЦ_2024.xlsx", at("05.06.2024 10:00")),)),
        "70-010": Plan((Sending("70-010_ИБЦ_2024.xlsx", at("17.06.2024 15:45")),)),
        # Roadmap, Положение and the website section still «в работе» after the Срок: R10 «просрочено».
        "70-011": Plan((Sending("70-011_ИБЦ_2024.xlsx", at("26.08.2024 11:05")),), frozenset({"open_one_offs"})),
        # 70-012 sends nothing in 2024.
        "70-013": Plan((Sending("70-013_ИБЦ_2024.xlsx", at("02.09.2024 09:40")),), frozenset({"website_late"})),
        "70-014": Plan((Sending("70-014_ИБЦ_2024.xlsx", at("14.06.2024 12:25")),)),
        "70-015": Plan((Sending("70-015_ИБЦ_2024.xlsx", at("29.05.2024 10:35")),)),
    }
    plans_2025 = {
        # On time; a colleague forwards the same file again from the mailbox: a «дубликат».
        "70-001": Plan((Sending("70-001_ИБЦ_2025.xlsx", at("12.05.2025 09:30")),
                        Sending("почта/70-001_ИБЦ_2025.xlsx", at("13.05.2025 08:15"),
                                copy_of="70-001_ИБЦ_2025.xlsx"))),
        # On time; Excel left its lock file next to the report: «не распознан».
        "70-002": Plan((Sending("70-002_ИБЦ_2025.xlsx", at("20.05.2025 14:05")),),
                       extra_files=(("~$70-002_ИБЦ_2025.xlsx", LOCK_FILE_BYTES, at("20.05.2025 14:06")),)),
        "70-003": Plan((Sending("70-003_ИБЦ_2025.xlsx", at("28.05.2025 10:50")),),
                       frozenset({"late_one_offs", "fund_jump"})),
        # Rejected first (R01, L01), then corrected before the deadline.
        "70-004": Plan((Sending("70-004_ИБЦ_2025.xlsx", at("15.09.2025 11:20"),
                                edits=("done_without_date", "p03_above_p02")),
                        Sending("70-004_ИБЦ_2025_исправленный.xlsx", at("24.09.2025 16:05")))),
        # Only a rejected file (V02, R01, R04, K01): the school still has to send a correct one.
        "70-005": Plan((Sending("70-005_ИБЦ_2025.xlsx", at("29.09.2025 17:45"),
                                edits=("text_date", "not_done_without_comment", "unknown_staff")),)),
        "70-006": Plan((Sending("70-006_ИБЦ_2025.xlsx", at("06.10.2025 10:10")),)),  # late
        # The school's library software exports CSV parts in Windows-1251.
        "70-007": Plan((Sending("70-007", at("18.06.2025 09:00"), kind="csv"),)),
        "70-008": Plan((Sending("70-008_ИБЦ_2025.ods", at("22.05.2025 13:35"), kind="ods"),)),
        # 70-009 sends nothing in 2025.
        "70-010": Plan((Sending("70-010_ИБЦ_2025.xlsx", at("14.10.2025 15:00")),)),  # late
        "70-011": Plan((Sending("70-011_ИБЦ_2025.xlsx", at("02.06.2025 12:40")),), frozenset({"open_one_offs"})),
        "70-012": Plan((Sending("70-012_ИБЦ_2025.xlsx", at("10.09.2025 10:20")),), frozenset({"no_kpk"})),
        "70-013": Plan((Sending("70-013_ИБЦ_2025.xlsx", at("09.10.2025 09:55")),),  # late
                       frozenset({"website_late", "foreign_link"})),
        # Accepted, then replaced by an updated file: the first becomes «заменён».
        "70-014": Plan((Sending("70-014_ИБЦ_2025.xlsx", at("20.05.2025 11:00")),
                        Sending("70-014_ИБЦ_2025_уточнённый.xlsx", at("03.06.2025 14:30"), edits=("revised",)))),
        "70-016": Plan((Sending("70-016_ИБЦ_2025.xlsx", at("16.06.2025 10:45")),), frozenset({"new_school"})),
    }
    return {2024: plans_2024, 2025: plans_2025}


PLANS = _plans()


@dataclass
class ItemEntry:
    """The school-filled columns of one roadmap row."""

    status: str
    date: dt.date | str | None = None
    document: str | None = None
    requisites: str | None = None
    quantity: int | None = None
    links: str | None = None
    comment: str | None = None

    def cells(self) -> list[Any]:
        return [self.status, self.date, self.document, self.requisites, self.quantity, self.links, self.comment]


@dataclass
class Report:
    """One school's report for one campaign, before it is written in any format."""

    title: dict[str, Any]
    roadmap: dict[str, ItemEntry]
    staff: list[list[Any]]
    courses: list[list[Any]] = field(default_factory=list)
    awards: list[list[Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def rng_for(school: DemoSchool, topic: str) -> random.Random:
    # A string seed is hashed with SHA-512 by random.seed, so it does not depend on PYTHONHASHSEED.
    return random.Random(f"{SEED}:{school.code}:{topic}")


def pick_date(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, max((last - first).days, 0)))


def fmt(date: dt.date) -> str:
    return date.strftime("%d.%m.%Y")


def one_off_dates(school: DemoSchool, quirks: frozenset[str]) -> dict[str, dt.date]:
    """When the school did its one-off items; the same dates in every campaign's report."""
    rng = rng_for(school, "one-off")
    if "new_school" in quirks:
        start = dt.date(2024, 9, 10)  # a new school starts on the roadmap when it opens
    else:
        start = dt.date(2024, 1, 22)
    dates = {}
    day = start + dt.timedelta(days=rng.randint(0, 20))
    for code in ONE_OFF_ORDER:
        dates[code] = day
        if code != "1.4а":  # the roadmap and the Положение are approved by one order
            day += dt.timedelta(days=rng.randint(10, 24))
    if "late_one_offs" in quirks:
        dates["1.4а"] = dates["1.4б"] = dt.date(2024, 7, 10)
        dates["2"] = dt.date(2024, 7, 12)
    if "website_late" in quirks:
        dates["2"] = dt.date(2024, 7, 15)
    if "open_one_offs" in quirks:
        # Finished only at the start of the next school year (reported in campaign 2025).
        dates.update({"1.3": dt.date(2024, 10, 8), "1.4а": dt.date(2024, 10, 21), "1.4б": dt.date(2024, 10, 21),
                      "2": dt.date(2024, 11, 5)})
    return dates


def build_report(district: District, school: DemoSchool, year: int, plan: Plan, filled: dt.date) -> Report:
    """Return a correct report of *school* for campaign *year*, with the plan's realistic quirks."""
    campaign = district.campaign(year)
    quirks = plan.quirks
    version = "ИБЦ-2024.1" if "old_version" in quirks else district.format_version
    staff = build_staff(school, year, quirks)
    title = {
        "Версия шаблона": version,
        "Код ОО": school.code,
        "Наименование ОО": school.name,
        "Отчётный год": year,
        "ФИО ответственного": school.responsible,
        "Должность ответственного": responsible_position(staff[0][1]),
        "Телефон": f"+7 (3822) 90-00-{school.number:02d}",
        "E-mail": f"biblio@{school.site}",
        "Дата заполнения": filled,
        "Библиотека": school.library,
    }
    report = Report(title, {}, staff)
    rng = rng_for(school, f"roadmap-{year}")
    # Annual work is dated from October to a few days before the report was filled in.
    first = campaign.period_start + dt.timedelta(days=30)
    last = min(filled - dt.timedelta(days=2), campaign.period_end)
    fill_one_offs(report, school, year, campaign.period_start, quirks, rng)
    fill_annual(report, school, year, quirks, rng, first, last)
    report.values, report.notes = build_indicators(school, year, report)
    return report


def responsible_position(staff_position: str) -> str:
    if staff_position == "учитель (по совмещению)":
        return "учитель, ответственный за библиотеку"
    return staff_position


def build_staff(school: DemoSchool, year: int, quirks: frozenset[str]) -> list[list[Any]]:
    """1–3 library staff, the same people every year (one year more experience)."""
    rng = rng_for(school, "staff")
    small = school.library != "отдельное помещение"
    count = 1 if small else rng.choice((1, 2, 2, 3))
    position = rng.choice(("педагог-библиотекарь", "педагог-библиотекарь", "библиотекарь", "заведующий библиотекой"))
    if "no_kpk" in quirks:
        position = "педагог-библиотекарь"  # K05 is about педагог-библиотекарь only
    rate = 0.5 if small else rng.choice((0.75, 1.0, 1.0, 1.25))
    education = rng.choice(("высшее педагогическое", "высшее библиотечное", "среднее профессиональное библиотечное"))
    years = rng.randint(2, 28) + (year - 2024)
    staff = [["Сотрудник 1", position, rate, "основной работник", education, years,
              NO if "no_kpk" in quirks else YES]]
    if count >= 2:
        staff.append(["Сотрудник 2", "библиотекарь", 0.5, "внутренний совместитель",
                      "среднее профессиональное библиотечное", rng.randint(1, 10) + (year - 2024),
                      rng.choice((YES, NO))])
    if count >= 3:
        staff.append(["Сотрудник 3", "учитель (по совмещению)", 0.25, "внутренний совместитель",
                      "высшее педагогическое", rng.randint(1, 5) + (year - 2024), NO])
    return staff


def fill_one_offs(report: Report, school: DemoSchool, year: int, period_start: dt.date, quirks: frozenset[str],
                  rng: random.Random) -> None:
    """Items 1.1, 1.3, 1.4а, 1.4б, 2: done once; later campaigns report them as «выполнено ранее»."""
    dates = one_off_dates(school, quirks)
    order = rng_for(school, "orders").randint(12, 60)
    for code in ONE_OFF_ORDER:
        date = dates[code]
        if date >= period_start:
            status = DONE
        else:
            status = DONE_BEFORE
        if year == 2024 and "open_one_offs" in quirks and code != "1.1":
            report.roadmap[code] = ItemEntry(IN_PROGRESS, comment=open_comment(code))
            continue
        entry = ItemEntry(status, date)
        if code == "1.1":
            entry.document, entry.requisites = "приказ", f"№ {order}-од от {fmt(date)}"
        elif code == "1.3":
            entry.document, entry.requisites = "протокол", f"протокол педсовета № {rng.randint(2, 5)} от {fmt(date)}"
        elif code == "1.4а":
            entry.document, entry.requisites = "приказ", f"№ {order + 9}-од от {fmt(date)}"
        elif code == "1.4б":
            entry.document, entry.requisites = "положение", f"утв. приказом № {order + 9}-од от {fmt(date)}"
        else:
            entry.document = "публикация на сайте"
            host = f"demo-school{school.number}-blog.example.org" if "foreign_link" in quirks else school.gosweb
            entry.links = f"https://{host}/svedeniya/ibc/"
        report.roadmap[code] = entry


def open_comment(code: str) -> str:
    return {
        "1.3": "Проект дорожной карты обсуждается с методическим объединением.",
        "1.4а": "Утверждение запланировано на сентябрь 2024 г.",
        "1.4б": "Проект положения на согласовании у директора.",
        "2": "Раздел на сайте в разработке, ожидаем доступ к Госвебу.",
    }[code]


COURSES_CATALOGUE = (
    ("повышение квалификации", "Информационно-библиотечный центр школы: организация и содержание работы", 36,
     "удостоверение"),
    ("повышение квалификации", "Цифровые ресурсы и сервисы школьной библиотеки", 72, "удостоверение"),
    ("стажировка", "Опыт работы ИБЦ: зоны, фонд, мероприятия", 8, "сертификат"),
    ("семинар (без документа)", "Школьная библиотека как медиацентр", 4, None),
)
COURSE_PROVIDER = "Демонстрационный институт развития образования"


def fill_annual(report: Report, school: DemoSchool, year: int, quirks: frozenset[str], rng: random.Random,
                first: dt.date, last: dt.date) -> None:
    """Items 1.2, 3.1, 3.2, 4.1, 4.2: done (or not) within each reporting period."""
    report.roadmap["1.2"] = ItemEntry(
        DONE, pick_date(rng, first, last), "письмо", None, rng.randint(1, 4),
        comment="Совещания районного методического объединения школьных библиотекарей, консультации методиста УО.")
    if rng.random() < 0.8:
        report.roadmap["3.1"] = ItemEntry(
            DONE, pick_date(rng, first, last), "протокол", None, rng.randint(1, 3),
            comment="Районный семинар «ИБЦ: от читального зала к медиацентру».")
    else:
        report.roadmap["3.1"] = ItemEntry(IN_PROGRESS, comment="Выступление на семинаре запланировано на август.")

    if "no_kpk" in quirks:
        report.roadmap["3.2"] = ItemEntry(IN_PROGRESS, comment="Заявка на курсы подана, обучение в октябре.")
    elif rng.random() < 0.75:
        courses = rng.sample(COURSES_CATALOGUE[:2], 1) + rng.sample(COURSES_CATALOGUE[2:], rng.randint(0, 1))
        for kind, title, hours, document in courses:
            report.courses.append(["Сотрудник 1", kind, title, COURSE_PROVIDER, hours, pick_date(rng, first, last),
                                   document])
        # The roadmap row cites the certificate of the main course, not the seminar.
        finished = report.courses[0][5]
        report.roadmap["3.2"] = ItemEntry(DONE, finished, "удостоверение",
                                          f"№ 70{rng.randint(1000, 9999)} от {fmt(finished)}")
    else:
        report.roadmap["3.2"] = ItemEntry(NOT_REQUIRED, comment="КПК пройдены в прошлом учебном году, "
                                                                "удостоверение действительно.")

    publications = rng.randint(3, 12)
    news = f"https://{school.site}/news/biblioteka; https://{school.gosweb}/novosti/?tag=ibc"
    report.roadmap["4.1"] = ItemEntry(DONE, pick_date(rng, first, last), "публикация на сайте", None, publications,
                                      news)

    if rng.random() < 0.6:
        date = pick_date(rng, first, last)
        state = rng.choice(("представлен", "получено"))
        report.awards.append(["Сотрудник 1", "благодарность", "муниципальный", state, date])
        report.roadmap["4.2"] = ItemEntry(DONE, date, "письмо", f"ходатайство № {rng.randint(10, 99)} от {fmt(date)}",
                                          len(report.awards))
    else:
        report.roadmap["4.2"] = ItemEntry(NOT_DONE, comment="Представление к награждению планируется в следующем году.")


def build_indicators(school: DemoSchool, year: int, report: Report) -> tuple[dict[str, Any], dict[str, str]]:
    """P01–P22, plausible and consistent; in 2025 the fund balances with 2024 (L05) unless fund_jump."""
    base = rng_for(school, "indicators-2024")
    pupils = base.randint(200, 1200) if school.library == "отдельное помещение" else base.randint(200, 320)
    fund = round(pupils * base.uniform(15, 40))
    seats = base.randint(10, 40)
    rng = rng_for(school, f"indicators-{year}")
    quirks = PLANS[year][school.code].quirks
    if year > 2024:
        pupils = round(pupils * rng.uniform(0.96, 1.05))
    users = round(pupils * rng.uniform(0.7, 0.95))
    received = round(fund * rng.uniform(0.02, 0.06))
    removed = round(fund * rng.uniform(0.01, 0.04))
    if "new_school" in quirks:
        received, removed = fund, 0  # the whole fund of a new school arrived this year
    elif year > 2024:
        fund = fund + received - removed  # last year's P06 + P09 − P10
    if "fund_jump" in quirks:
        fund += 2400  # a gift of books nobody entered under P09: L05 flags it
    with_pc = rng.randint(0, min(6, seats))
    website_done = report.roadmap["2"].status in (DONE, DONE_BEFORE)
    values: dict[str, Any] = {
        "P01": pupils,
        "P02": users,
        "P03": round(users * rng.uniform(0.88, 0.97)),
        "P04": round(users * rng.uniform(5, 20)),
        "P05": round(users * rng.uniform(2, 15)),
        "P06": fund,
        "P07": round(fund * rng.uniform(0.40, 0.60)),
        "P08": round(fund * rng.uniform(0.20, 0.35)),
        "P09": received,
        "P10": removed,
        "P11": rng.choice((100, round(rng.uniform(85, 100), 1))),
        "P12": round(rng.uniform(30, 150), 1) if rng.random() < 0.85 else None,
        "P13": seats,
        "P14": with_pc,
        "P15": rng.randint(0, with_pc),
        "P16": with_pc + rng.randint(1, 3),
        "P17": rng.choice((YES, NO)),
        "P18": rng.choice((YES, YES, NO)),
        "P19.1": YES,
        "P19.2": YES,
        "P19.3": rng.choice((YES, NO)),
        "P19.4": YES if with_pc else NO,
        "P19.5": rng.choice((YES, NO)),
        "P19.6": rng.choice((YES, NO)),
        "P19.7": rng.choice((YES, NO, NO)),
        "P20": rng.randint(5, 40),
        "P21": (report.roadmap["4.1"].quantity or 0) + rng.randint(0, 6),
        "P22": YES if website_done else NO,
    }
    notes = {"P01": f"по форме ОО-1 на 20.09.{year - 1}"}
    if values["P12"] is None:
        notes["P12"] = "площадь не выделена в техпаспорте"
    if "new_school" in quirks:
        notes["P09"] = "фонд новой школы сформирован в 2024/25 учебном году"
    return values, notes


def apply_edits(report: Report, edits: Iterable[str]) -> None:
    """Turn a correct report into what a school really sent: deliberate errors or a later update."""
    for edit in edits:
        if edit == "done_without_date":  # R01
            report.roadmap["1.2"].date = None
        elif edit == "p03_above_p02":  # L01
            report.values["P03"] = report.values["P02"] + 37
        elif edit == "text_date":  # V02 (and R01: «выполнено» without a readable date)
            report.roadmap["3.1"] = replace(report.roadmap["3.1"], status=DONE, date="май 2025",
                                            document="протокол", quantity=1)
        elif edit == "not_done_without_comment":  # R04
            report.roadmap["4.2"] = ItemEntry(NOT_DONE)
            report.awards.clear()
        elif edit == "unknown_staff":  # K01
            report.courses = [["Сотрудник 3", "семинар (без документа)", "Школьная библиотека как медиацентр",
                               COURSE_PROVIDER, 4, report.title["Дата заполнения"] - dt.timedelta(days=60), None]]
            report.roadmap["3.2"] = ItemEntry(DONE, report.courses[0][5], "иное", "справка об участии")
        elif edit == "revised":
            report.values["P20"] += 3
            report.notes["P20"] = "уточнено: добавлены мероприятия Недели детской книги"
        else:
            raise ValueError(f"unknown edit {edit!r}")


def report_rows(report: Report, district: District) -> dict[str, list[list[Any]]]:
    """The six sheets as rows of values, header first (what a CSV or .ods holds)."""
    roadmap = [list(LAYOUTS[ROADMAP].column_names)]
    for item in district.items:
        roadmap.append([item.code, item.title, item.due_label, *report.roadmap[item.code].cells()])
    indicators = [list(LAYOUTS[INDICATORS].column_names)]
    for indicator in district.indicators:
        indicators.append([indicator.code, indicator.name, indicator.unit, report.values.get(indicator.code),
                           report.notes.get(indicator.code)])
    return {
        TITLE: [["Поле", "Значение"], *([column.name, report.title[column.name]] for column in TITLE_FIELDS)],
        ROADMAP: roadmap,
        STAFF: [list(LAYOUTS[STAFF].column_names), *report.staff],
        COURSES: [list(LAYOUTS[COURSES].column_names), *report.courses],
        AWARDS: [list(LAYOUTS[AWARDS].column_names), *report.awards],
        INDICATORS: indicators,
    }


def build_workbook_bytes(report: Report, district: District, school: School, year: int) -> bytes:
    """Fill the district's own template, as a librarian would, and return the saved .xlsx."""
    workbook = build_template(district, school, year)
    rows = report_rows(report, district)
    for name in SHEETS:
        sheet = workbook[name]
        # Титул column A, Дорожная карта A–C and Показатели A–C are pre-filled; write everything else.
        first_column = {TITLE: 2, ROADMAP: 4, INDICATORS: 4}.get(name, 1)
        for row_number, values in enumerate(rows[name][1:], start=2):
            for column, value in enumerate(values[first_column - 1:], start=first_column):
                cell = sheet.cell(row=row_number, column=column)
                cell.value = value
                if isinstance(value, dt.date):
                    cell.number_format = DATE_FORMAT
    saved = dt.datetime.combine(report.title["Дата заполнения"], dt.time(15, 0))
    workbook.properties.created = dt.datetime(year, 4, 1, 9, 0)
    workbook.properties.lastModifiedBy = report.title["ФИО ответственного"]
    buffer = io.BytesIO()
    workbook.save(buffer)
    # save_workbook() stamps «modified» with the clock; core.xml is written again with a fixed time.
    workbook.properties.modified = saved
    core = tostring(workbook.properties.to_tree())
    return freeze_zip(buffer.getvalue(), saved, {ARC_CORE: core})


def build_ods_bytes(report: Report, district: District) -> bytes:
    """The six sheets as an OpenDocument spreadsheet, typed cells as LibreOffice saves them."""
    # odfpy declares, in every document, all namespaces the process has used so far (a class-level
    # dict): a fresh dict makes the bytes independent of what was written before.
    seen = Element.namespaces
    Element.namespaces = {}
    try:
        document = OpenDocumentSpreadsheet()
        for name, rows in report_rows(report, district).items():
            table = Table(name=name)
            for values in rows:
                row = TableRow()
                for value in values:
                    row.addElement(ods_cell(value))
                table.addElement(row)
            document.spreadsheet.addElement(table)
        buffer = io.BytesIO()
        document.write(buffer)
    finally:
        Element.namespaces = seen
    return freeze_zip(buffer.getvalue(), dt.datetime.combine(report.title["Дата заполнения"], dt.time(15, 0)))


def ods_cell(value: Any) -> TableCell:
    if value is None:
        return TableCell()
    if isinstance(value, dt.date):
        cell = TableCell(valuetype="date", datevalue=value.isoformat())
    elif isinstance(value, (int, float)):
        cell = TableCell(valuetype="float", value=value)
    else:
        cell = TableCell(valuetype="string")
    cell.addElement(P(text=csv_text(value)))
    return cell


def build_csv_parts(report: Report, district: District, code: str) -> dict[str, bytes]:
    return export_csv(code, report_rows(report, district))


def export_csv(code: str, sheets: dict[str, list[list[Any]]]) -> dict[str, bytes]:
    """One Windows-1251 «;» file per sheet with decimal commas, as a library program exports them."""
    parts = {}
    for name, rows in sheets.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        for values in rows:
            writer.writerow([csv_text(value) for value in values])
        # «м²» has no Windows-1251 byte and becomes «м?», exactly as Excel saves it (REPORT_FORMAT §3.6).
        parts[f"{code}_{name}.csv"] = buffer.getvalue().encode("cp1251", errors="replace")
    return parts


def csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return fmt(value)
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def freeze_zip(data: bytes, moment: dt.datetime, replacements: dict[str, bytes] | None = None) -> bytes:
    """Rewrite a zip with every entry dated *moment*: openpyxl and odfpy stamp entries with the clock."""
    replacements = replacements or {}
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            frozen = zipfile.ZipInfo(info.filename, date_time=moment.timetuple()[:6])
            # Order and compression are kept: an .ods needs «mimetype» first and stored.
            frozen.compress_type = info.compress_type
            frozen.external_attr = info.external_attr
            target.writestr(frozen, replacements.get(info.filename) or source.read(info.filename))
    return buffer.getvalue()


def register_rows() -> list[list[str]]:
    rows = [list(COLUMNS)]
    for school in SCHOOLS:
        rows.append([school.code, school.name, DEMO_DISTRICT, f"{school.site} {school.gosweb}",
                     f"info@{school.site}", fmt(school.opened) if school.opened else "",
                     fmt(school.closed) if school.closed else ""])
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def build_campaign(district: District, register: dict[str, School], year: int) -> dict[str, tuple[bytes, dt.datetime]]:
    """Every file of campaign *year*'s drop folder: relative path → (content, arrival time)."""
    files: dict[str, tuple[bytes, dt.datetime]] = {}
    for school in SCHOOLS:
        plan = PLANS[year].get(school.code)
        if plan is None:
            continue
        for sending in plan.sendings:
            if sending.copy_of is not None:
                files[sending.name] = (files[sending.copy_of][0], sending.arrived)
                continue
            # Filled in on the day of sending or up to three days before.
            days = rng_for(school, f"filled-{sending.name}").randint(0, 3)
            filled = sending.arrived.date() - dt.timedelta(days=days)
            report = build_report(district, school, year, plan, filled)
            apply_edits(report, sending.edits)
            if sending.kind == "csv":
                for index, (name, content) in enumerate(build_csv_parts(report, district, sending.name).items()):
                    # The parts are exported one after another, a minute apart.
                    files[name] = (content, sending.arrived + dt.timedelta(minutes=index))
            elif sending.kind == "ods":
                files[sending.name] = (build_ods_bytes(report, district), sending.arrived)
            else:
                content = build_workbook_bytes(report, district, register[school.code], year)
                files[sending.name] = (content, sending.arrived)
        for name, content, arrived in plan.extra_files:
            files[name] = (content, arrived)
    return files


def arrival_rows(files: dict[str, tuple[bytes, dt.datetime]]) -> list[list[str]]:
    ordered = sorted(files.items(), key=lambda entry: (entry[1][1], entry[0]))
    return [["Файл", "Получен"], *([name, arrived.strftime(ARRIVAL_FORMAT)] for name, (_, arrived) in ordered)]


def is_demo_register(inputs: Path) -> bool:
    """True if there is no register yet or it is the demo's: a real district's data is never overwritten."""
    path = inputs / REGISTER_FILE
    if not path.exists():
        return True
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    return all(len(row) > 2 and row[2].strip() == DEMO_DISTRICT for row in rows[1:] if any(row))


def remove_previous_demo(inputs: Path, year: int) -> None:
    """Delete the files an earlier run wrote (listed in its arrivals file), so none outlives the plan."""
    arrivals = inputs / ARRIVALS_FOLDER / f"{year}.csv"
    if not arrivals.exists():
        return
    folder = inputs / str(year)
    with arrivals.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            path = folder / row["Файл"]
            if path.resolve().is_relative_to(folder.resolve()):
                path.unlink(missing_ok=True)
    for directory in sorted((path for path in folder.rglob("*") if path.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def write_demo(inputs: Path) -> list[Path]:
    """Write register, drop folders 2024 and 2025 and their arrival files under *inputs*; return the paths."""
    district = load_district(inputs)
    (inputs / REGISTER_FILE).write_bytes(csv_bytes(register_rows()))
    register = load_register(inputs)
    written = [inputs / REGISTER_FILE]
    for year in sorted(PLANS):
        remove_previous_demo(inputs, year)
        files = build_campaign(district, register, year)
        for name, (content, _) in sorted(files.items()):
            path = inputs / str(year) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append(path)
        arrivals = inputs / ARRIVALS_FOLDER / f"{year}.csv"
        arrivals.parent.mkdir(parents=True, exist_ok=True)
        arrivals.write_bytes(csv_bytes(arrival_rows(files)))
        written.append(arrivals)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=Path, default=Path("inputs"),
                        help="folder with district.toml; the demo data is written here (default: inputs)")
    args = parser.parse_args(argv)
    if not is_demo_register(args.inputs):
        print(f"{args.inputs / REGISTER_FILE}: реестр не демонстрационный — данные не перезаписаны", file=sys.stderr)
        return 2
    try:
        written = write_demo(args.inputs)
    except DistrictDataError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Записано файлов: {len(written)} в {args.inputs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
