"""Generate N synthetic schools (register, district data and one report each) for the scale benchmark."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
import re
import shutil
import sys
import time
import zipfile
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.xml.constants import ARC_CORE
from openpyxl.xml.functions import tostring

from pipeline.district.layout import AWARDS, COURSES, INDICATORS, LAYOUTS, ROADMAP, SHEETS, STAFF, TITLE, TITLE_FIELDS
from pipeline.district.register import COLUMNS, REGISTER_FILE, School
from pipeline.district.roadmap import District, load_district
from pipeline.xlsx.templates import build_template

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project's scripts/, run as a file
from scripts.make_demo import export_csv, fmt

PROJECT = Path(__file__).resolve().parents[1]
SEED = 6  # the scale issue's number; every choice comes from Random(f"{SEED}:{code}:{topic}")
PLACEHOLDER_CODE = "B-000000"
PLACEHOLDER_NAME = "ШАБЛОН ШКОЛЫ"
SCHOOLS_PER_MUNICIPALITY = 25  # Томская область: ~500 schools in 20 municipalities
EXCEL_EPOCH = dt.date(1899, 12, 30)
ERROR_KINDS = ("R01", "L01", "V04", "V02")  # what an erroneous file gets wrong (one of these)
YES, NO = "да", "нет"
LIBRARIES = ("отдельное помещение", "совмещена с другим помещением")
DONE, DONE_BEFORE, IN_PROGRESS, NOT_DONE, NOT_REQUIRED = (
    "выполнено", "выполнено ранее", "в работе", "не выполнено", "не требуется")
COURSES_CATALOGUE = (
    ("повышение квалификации", "Информационно-библиотечный центр школы: организация и содержание работы", 36,
     "удостоверение"),
    ("повышение квалификации", "Цифровые ресурсы и сервисы школьной библиотеки", 72, "удостоверение"),
    ("стажировка", "Опыт работы ИБЦ: зоны, фонд, мероприятия", 8, "сертификат"),
    ("семинар (без документа)", "Школьная библиотека как медиацентр", 4, None),
)
COURSE_PROVIDER = "Региональный институт развития образования"
SURNAMES = ("Иванова", "Петрова", "Сидорова", "Кузнецова", "Смирнова", "Попова", "Волкова", "Соколова",
            "Морозова", "Новикова", "Фёдорова", "Лебедева")
FIRST_NAMES = ("Мария Ивановна", "Елена Сергеевна", "Ольга Петровна", "Наталья Викторовна", "Анна Андреевна",
               "Ирина Юрьевна", "Татьяна Николаевна", "Галина Павловна")
# Where a sheet's school-filled cells start (1-based column): the template pre-fills the labels before it.
FIRST_FILLED_COLUMN = {TITLE: 2, ROADMAP: 4, INDICATORS: 4}

Rows = list[list[Any]]


@dataclass(frozen=True)
class SyntheticSchool:
    """One generated school of the register."""

    number: int
    municipalities: int

    @property
    def code(self) -> str:
        return f"B-{self.number:06d}"

    @property
    def name(self) -> str:
        return f"МБОУ «Синтетическая СОШ № {self.number}»"

    @property
    def municipality(self) -> str:
        return f"Муниципалитет {self.number % self.municipalities + 1:03d}"

    @property
    def site(self) -> str:
        return f"{self.code.lower()}.example.ru"


@dataclass(frozen=True)
class Options:
    """What to generate: how many schools, which campaign, and the shares of faulty and CSV reports."""

    schools: int
    year: int = 2025
    error_share: float = 0.1
    csv_share: float = 0.05


def rng_for(code: str, topic: str) -> random.Random:
    # A string seed is hashed with SHA-512, so the data does not depend on PYTHONHASHSEED or order.
    return random.Random(f"{SEED}:{code}:{topic}")


def pick_date(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, max((last - first).days, 0)))


def arrival_of(school: SyntheticSchool, district: District, year: int) -> dt.datetime:
    """When the school's report arrived: mostly before the deadline, about one in ten up to two weeks late."""
    campaign = district.campaign(year)
    rng = rng_for(school.code, "arrival")
    last = campaign.deadline + dt.timedelta(days=14) if rng.random() < 0.1 else campaign.deadline
    day = pick_date(rng, campaign.window_open, last)
    return dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.randint(0, 59)))


def error_of(school: SyntheticSchool, share: float) -> str | None:
    rng = rng_for(school.code, "error")
    return rng.choice(ERROR_KINDS) if rng.random() < share else None


def is_csv(school: SyntheticSchool, share: float) -> bool:
    return rng_for(school.code, "format").random() < share


def build_report(school: SyntheticSchool, district: District, year: int, error: str | None = None,
                 revision: int = 0) -> dict[str, Rows]:
    """A plausible report as rows per sheet (header first); *error* breaks it, *revision* > 0 updates it."""
    campaign = district.campaign(year)
    rng = rng_for(school.code, f"report-{year}")
    filled = arrival_of(school, district, year).date() - dt.timedelta(days=rng.randint(0, 3))
    staff = build_staff(rng)
    person = f"{rng.choice(SURNAMES)} {rng.choice(FIRST_NAMES)}"
    title = {
        "Версия шаблона": district.format_version,
        "Код ОО": school.code,
        "Наименование ОО": school.name,
        "Отчётный год": year,
        "ФИО ответственного": person,
        "Должность ответственного": staff[0][1] if staff[0][1] != "учитель (по совмещению)" else "иное",
        "Телефон": f"+7 (3822) {rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
        "E-mail": f"biblio@{school.site}",
        "Дата заполнения": filled,
        "Библиотека": LIBRARIES[0] if len(staff) > 1 or rng.random() < 0.7 else LIBRARIES[1],
    }
    first = campaign.period_start + dt.timedelta(days=30)
    last = min(filled - dt.timedelta(days=2), campaign.period_end)
    roadmap = one_off_items(school, district, year, rng)
    courses, awards = [], []
    roadmap["1.2"] = [DONE, pick_date(rng, first, last), "письмо", None, rng.randint(1, 4),
                      None, "Совещания методического объединения школьных библиотекарей."]
    if rng.random() < 0.8:
        roadmap["3.1"] = [DONE, pick_date(rng, first, last), "протокол", None, rng.randint(1, 3), None,
                          "Районный семинар «ИБЦ: от читального зала к медиацентру»."]
    else:
        roadmap["3.1"] = [IN_PROGRESS, None, None, None, None, None, "Выступление на семинаре запланировано."]
    for kind, name, hours, document in rng.sample(COURSES_CATALOGUE, rng.choice((0, 1, 1, 2))):
        courses.append(["Сотрудник 1", kind, name, COURSE_PROVIDER, hours, pick_date(rng, first, last), document])
    if courses:
        finished = courses[0][5]
        roadmap["3.2"] = [DONE, finished, "удостоверение", f"№ 70{rng.randint(1000, 9999)} от {fmt(finished)}",
                          None, None, None]
    else:
        roadmap["3.2"] = [NOT_REQUIRED, None, None, None, None, None,
                          "КПК пройдены в прошлом учебном году, удостоверение действительно."]
    publications = rng.randint(3, 12)
    roadmap["4.1"] = [DONE, pick_date(rng, first, last), "публикация на сайте", None, publications,
                      f"https://{school.site}/news/biblioteka", None]
    if rng.random() < 0.5:
        date = pick_date(rng, first, last)
        awards.append(["Сотрудник 1", "благодарность", "муниципальный", rng.choice(("представлен", "получено")), date])
        roadmap["4.2"] = [DONE, date, "письмо", f"ходатайство № {rng.randint(10, 99)} от {fmt(date)}", 1, None, None]
    else:
        roadmap["4.2"] = [NOT_DONE, None, None, None, None, None, "Представление к награждению в следующем году."]
    values = build_indicators(rng, roadmap, publications)
    notes = {"P01": f"по форме ОО-1 на 20.09.{year - 1}"}
    if revision:
        values["P20"] += revision
        notes["P20"] = f"уточнено (редакция {revision})"
    report = {
        TITLE: [["Поле", "Значение"], *([column.name, title[column.name]] for column in TITLE_FIELDS)],
        ROADMAP: [list(LAYOUTS[ROADMAP].column_names),
                  *([item.code, item.title, item.due_label, *roadmap[item.code]] for item in district.items)],
        STAFF: [list(LAYOUTS[STAFF].column_names), *staff],
        COURSES: [list(LAYOUTS[COURSES].column_names), *courses],
        AWARDS: [list(LAYOUTS[AWARDS].column_names), *awards],
        INDICATORS: [list(LAYOUTS[INDICATORS].column_names),
                     *([indicator.code, indicator.name, indicator.unit, values.get(indicator.code),
                        notes.get(indicator.code)] for indicator in district.indicators)],
    }
    if error is not None:
        break_report(report, error)
    return report


def build_staff(rng: random.Random) -> Rows:
    """1–3 library staff."""
    count = rng.choice((1, 1, 2, 2, 3))
    position = rng.choice(("педагог-библиотекарь", "педагог-библиотекарь", "библиотекарь", "заведующий библиотекой"))
    education = rng.choice(("высшее педагогическое", "высшее библиотечное", "среднее профессиональное библиотечное"))
    staff: Rows = [["Сотрудник 1", position, rng.choice((0.75, 1.0, 1.0, 1.25)), "основной работник", education,
                    rng.randint(1, 30), YES]]
    if count >= 2:
        staff.append(["Сотрудник 2", "библиотекарь", 0.5, "внутренний совместитель",
                      "среднее профессиональное библиотечное", rng.randint(1, 10), rng.choice((YES, NO))])
    if count >= 3:
        staff.append(["Сотрудник 3", "учитель (по совмещению)", 0.25, "внутренний совместитель",
                      "высшее педагогическое", rng.randint(1, 5), NO])
    return staff


def one_off_items(school: SyntheticSchool, district: District, year: int, rng: random.Random) -> dict[str, list[Any]]:
    """Items done once (1.1, 1.3, 1.4а, 1.4б, 2): before the period → «выполнено ранее», else «выполнено»."""
    campaign = district.campaign(year)
    entries: dict[str, list[Any]] = {}
    order = rng.randint(12, 90)
    for item in district.items:
        if not item.one_off:
            continue
        due = item.due or campaign.period_end
        before = min(due, campaign.period_start - dt.timedelta(days=1))
        if before >= district.model_start:
            status, date = DONE_BEFORE, pick_date(rng, district.model_start, before)
        else:
            status, date = DONE, pick_date(rng, max(district.model_start, campaign.period_start), due)
        entry: list[Any] = [status, date, None, None, None, None, None]
        if item.code in district.item_rules.needs_document:
            entry[2:4] = ["приказ", f"№ {order}-од от {fmt(date)}"]
        if item.code == district.item_rules.website_item:
            entry[2], entry[5] = "публикация на сайте", f"https://{school.site}/svedeniya/ibc/"
        entries[item.code] = entry
    return entries


def build_indicators(rng: random.Random, roadmap: dict[str, list[Any]], publications: int) -> dict[str, Any]:
    """P01–P22, consistent with each other (L01–L08 hold) and within the usual ratios (L06)."""
    pupils = rng.randint(80, 1500)
    users = round(pupils * rng.uniform(0.7, 0.95))
    fund = round(pupils * rng.uniform(15, 40))
    seats = rng.randint(10, 40)
    with_pc = rng.randint(0, min(6, seats))
    website_done = roadmap["2"][0] in (DONE, DONE_BEFORE)
    return {
        "P01": pupils, "P02": users, "P03": round(users * rng.uniform(0.88, 0.97)),
        "P04": round(users * rng.uniform(5, 20)), "P05": round(users * rng.uniform(2, 15)),
        "P06": fund, "P07": round(fund * rng.uniform(0.40, 0.60)), "P08": round(fund * rng.uniform(0.20, 0.35)),
        "P09": round(fund * rng.uniform(0.02, 0.06)), "P10": round(fund * rng.uniform(0.01, 0.04)),
        "P11": rng.choice((100, round(rng.uniform(85, 100), 1))),
        "P12": round(rng.uniform(30, 150), 1) if rng.random() < 0.85 else None,
        "P13": seats, "P14": with_pc, "P15": rng.randint(0, with_pc), "P16": with_pc + rng.randint(1, 3),
        "P17": rng.choice((YES, NO)), "P18": rng.choice((YES, YES, NO)), "P19.1": YES, "P19.2": YES,
        "P19.3": rng.choice((YES, NO)), "P19.4": YES if with_pc else NO, "P19.5": rng.choice((YES, NO)),
        "P19.6": rng.choice((YES, NO)), "P19.7": rng.choice((YES, NO, NO)), "P20": rng.randint(5, 40),
        "P21": publications + rng.randint(0, 6), "P22": YES if website_done else NO,
    }


def break_report(report: dict[str, Rows], error: str) -> None:
    """Put one error a school really makes into *report* (each makes the file rejected)."""
    roadmap = {row[0]: row for row in report[ROADMAP][1:]}
    indicators = {row[0]: row for row in report[INDICATORS][1:]}
    if error == "R01":  # «выполнено» without a date
        roadmap["1.2"][4] = None
    elif error == "L01":  # P03 (users who are pupils) above P02 (users)
        indicators["P03"][3] = indicators["P02"][3] + 37
    elif error == "V04":  # a value outside the dropdown list
        report[STAFF][1][1] = "библиотекарша"
    elif error == "V02":  # a date typed as words
        roadmap["1.2"][4] = "март 2025"
    else:
        raise ValueError(f"unknown error kind {error!r}")


@dataclass(frozen=True)
class SheetTemplate:
    """One worksheet of the blank template, split so that its cells can be filled with plain strings."""

    head: str  # everything up to and including <sheetData>
    tail: str  # from </sheetData> to the end
    rows: dict[int, tuple[str, dict[int, str]]]  # row → (opening tag, column → the template's <c> element)
    styles: dict[tuple[int, int], str]  # (row, column) → the template cell's style index
    column_styles: dict[int, str]  # column → the column's default style index


_ROW = re.compile(r'(<row\b[^>]*\br="(\d+)"[^>]*?)(?:/>|>(.*?)</row>)', re.S)
_CELL = re.compile(r'<c\b[^>]*\br="([A-Z]+)(\d+)"[^>]*?(?:/>|>.*?</c>)', re.S)
_STYLE = re.compile(r'\bs="(\d+)"')
_COL = re.compile(r'<col\b([^>]*)/>')


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def column_letter(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def parse_sheet(xml: str) -> SheetTemplate:
    start = xml.index("<sheetData>") + len("<sheetData>")
    end = xml.index("</sheetData>")
    rows: dict[int, tuple[str, dict[int, str]]] = {}
    styles: dict[tuple[int, int], str] = {}
    for match in _ROW.finditer(xml[start:end]):
        number = int(match.group(2))
        cells = {}
        for cell in _CELL.finditer(match.group(3) or ""):
            column = _column_number(cell.group(1))
            cells[column] = cell.group(0)
            style = _STYLE.search(cell.group(0).split(">", 1)[0])
            if style:
                styles[(number, column)] = style.group(1)
        rows[number] = (match.group(1) + ">", cells)
    column_styles = {}
    for col in _COL.finditer(xml):
        attributes = dict(re.findall(r'(\w+)="([^"]*)"', col.group(1)))
        if "style" in attributes:
            for column in range(int(attributes["min"]), int(attributes["max"]) + 1):
                column_styles[column] = attributes["style"]
    return SheetTemplate(xml[:start], xml[end:], rows, styles, column_styles)


class WorkbookFactory:
    """Fill the district's template with a report by patching its sheet XML; one template, any number of files.

    openpyxl needs ~110 ms to build, fill and save one workbook; this writes the same workbook (styles,
    dropdowns, protection, the hidden lists sheet) in about 4 ms.
    """

    def __init__(self, district: District, year: int):
        placeholder = School(PLACEHOLDER_CODE, PLACEHOLDER_NAME, "", ("example.ru",), "a@example.ru", None, None)
        workbook = build_template(district, placeholder, year)
        moment = dt.datetime(year, 4, 1, 9, 0)
        workbook.properties.created = moment
        buffer = io.BytesIO()
        workbook.save(buffer)
        # save() stamps «modified» with the clock: core.xml is written again so the bytes never vary.
        workbook.properties.modified = moment
        core = tostring(workbook.properties.to_tree())
        self.moment = moment.timetuple()[:6]
        self.members: list[tuple[str, bytes]] = []
        self.sheets: dict[str, SheetTemplate] = {}
        with zipfile.ZipFile(buffer) as archive:
            paths = _sheet_paths(archive)
            for info in archive.infolist():
                data = core if info.filename == ARC_CORE else archive.read(info.filename)
                self.members.append((info.filename, data))
                name = paths.get(info.filename)
                if name in SHEETS:
                    self.sheets[info.filename] = parse_sheet(data.decode("utf-8"))
        self.names = {path: name for path, name in paths.items() if name in SHEETS}
        # Where the placeholder school is named besides the data sheets: the title, «Инструкция».
        self.naming_sheets = {ARC_CORE, *(path for path, name in paths.items() if name not in SHEETS)}

    def build(self, school: SyntheticSchool, report: dict[str, Rows]) -> bytes:
        """The .xlsx bytes of *school*'s filled template."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path, data in self.members:
                if path in self.sheets:
                    name = self.names[path]
                    data = render_sheet(self.sheets[path], report[name], FIRST_FILLED_COLUMN.get(name, 1)).encode()
                elif path in self.naming_sheets:
                    data = (data.decode().replace(PLACEHOLDER_CODE, school.code)
                            .replace(escape(PLACEHOLDER_NAME), escape(school.name)).encode())
                info = zipfile.ZipInfo(path, date_time=self.moment)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        return buffer.getvalue()


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet XML path → sheet name (the template's own workbook.xml and its relationships)."""
    workbook = archive.read("xl/workbook.xml").decode()
    rels = archive.read("xl/_rels/workbook.xml.rels").decode()
    targets = dict(re.findall(r'<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Id="([^"]*)"', rels))
    by_id = {rid: target for target, rid in targets.items()}
    result = {}
    for name, rid in re.findall(r'<sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"', workbook):
        target = by_id[rid].lstrip("/")
        result[target if target.startswith("xl/") else f"xl/{target}"] = name
    return result


def render_sheet(template: SheetTemplate, rows: Rows, first_column: int) -> str:
    """The sheet's XML with the data rows of *rows* (row 0, the header, is the template's) filled in."""
    filled: dict[int, dict[int, Any]] = {}
    for index, values in enumerate(rows[1:], start=2):
        filled[index] = {column: value for column, value in enumerate(values[first_column - 1:], start=first_column)
                         if value is not None and value != ""}
    parts = []
    last_row, last_column = 1, 1
    for number in sorted(template.rows.keys() | filled.keys()):
        opening, cells = template.rows.get(number, (f'<row r="{number}">', {}))
        values = filled.get(number, {})
        parts.append(opening)
        for column in sorted(cells.keys() | values.keys()):
            if column in values:
                style = template.styles.get((number, column)) or template.column_styles.get(column)
                parts.append(cell_xml(f"{column_letter(column)}{number}", values[column], style))
            else:
                parts.append(cells[column])
            last_column = max(last_column, column)
        parts.append("</row>")
        last_row = max(last_row, number)
    head = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:{column_letter(last_column)}{last_row}"',
                  template.head, count=1)
    return head + "".join(parts) + template.tail


def cell_xml(reference: str, value: Any, style: str | None) -> str:
    """One <c> element: text inline, numbers as numbers, dates as Excel serials (the cell's style shows them)."""
    styled = f' s="{style}"' if style else ""
    if isinstance(value, str):
        return f'<c r="{reference}"{styled} t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    if isinstance(value, dt.date):
        return f'<c r="{reference}"{styled}><v>{(value - EXCEL_EPOCH).days}</v></c>'
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"cannot write {value!r} to {reference}")
    return f'<c r="{reference}"{styled} t="n"><v>{value}</v></c>'


def register_rows(schools: Iterable[SyntheticSchool]) -> Rows:
    rows: Rows = [list(COLUMNS)]
    for school in schools:
        rows.append([school.code, school.name, school.municipality, school.site, f"info@{school.site}", "", ""])
    return rows


def schools_of(count: int) -> list[SyntheticSchool]:
    municipalities = max(1, round(count / SCHOOLS_PER_MUNICIPALITY))
    return [SyntheticSchool(number, municipalities) for number in range(1, count + 1)]


def write_school(factory: WorkbookFactory, district: District, school: SyntheticSchool, options: Options,
                 folder: Path, revision: int = 0, mtime: float | None = None) -> list[Path]:
    """Write *school*'s report (a workbook or CSV parts) into the drop folder; return the paths."""
    report = build_report(school, district, options.year, error_of(school, options.error_share), revision)
    if is_csv(school, options.csv_share):
        files = export_csv(school.code, report)
    else:
        files = {f"{school.code}_ИБЦ_{options.year}.xlsx": factory.build(school, report)}
    # Arrival times live in the files' modification times (the pipeline's first run uses them).
    stamp = mtime if mtime is not None else arrival_of(school, district, options.year).timestamp()
    paths = []
    for index, (name, content) in enumerate(files.items()):
        path = folder / name
        path.write_bytes(content)
        os.utime(path, (stamp + 60 * index, stamp + 60 * index))
        paths.append(path)
    return paths


def generate(out: Path, options: Options, jobs: int = 1) -> dict[str, int]:
    """Write out/inputs/{district.toml, schools.csv, <year>/…}; return counts of what was written."""
    inputs = out / "inputs"
    folder = inputs / str(options.year)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copyfile(PROJECT / "inputs" / "district.toml", inputs / "district.toml")
    schools = schools_of(options.schools)
    with (inputs / REGISTER_FILE).open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\n").writerows(register_rows(schools))
    # Contiguous slices, one per process: the bytes do not depend on how the work is split.
    size = -(-len(schools) // max(jobs, 1))
    slices = [(inputs, options, schools[start:start + size]) for start in range(0, len(schools), size)]
    if jobs > 1 and len(slices) > 1:
        with ProcessPoolExecutor(len(slices)) as pool:
            written = sum(pool.map(_write_slice, slices))
    else:
        written = sum(_write_slice(part) for part in slices)
    return {"schools": len(schools), "files": written,
            "csv_schools": sum(is_csv(school, options.csv_share) for school in schools),
            "faulty_schools": sum(error_of(school, options.error_share) is not None for school in schools)}


def _write_slice(work: tuple[Path, Options, list[SyntheticSchool]]) -> int:
    inputs, options, schools = work
    district = load_district(inputs)
    factory = WorkbookFactory(district, options.year)
    folder = inputs / str(options.year)
    return sum(len(write_school(factory, district, school, options, folder)) for school in schools)


def rewrite(out: Path, options: Options, count: int, revision: int = 1) -> list[Path]:
    """Replace *count* workbooks, spread over the register, with updated content (P20 + *revision*)."""
    inputs = out / "inputs"
    district = load_district(inputs)
    factory = WorkbookFactory(district, options.year)
    workbooks = [school for school in schools_of(options.schools) if not is_csv(school, options.csv_share)]
    step = max(1, len(workbooks) // max(count, 1))
    now = time.time()
    written = []
    for school in workbooks[::step][:count]:
        written += write_school(factory, district, school, options, inputs / str(options.year), revision, now)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schools", type=int, required=True, help="number of schools (B-000001 …)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write inputs/ into (never in git)")
    parser.add_argument("--year", type=int, default=2025, help="campaign year (default 2025)")
    parser.add_argument("--error-share", type=float, default=0.1, help="share of reports with an error (0.1)")
    parser.add_argument("--csv-share", type=float, default=0.05, help="share of reports sent as CSV parts (0.05)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    args = parser.parse_args(argv)
    options = Options(args.schools, args.year, args.error_share, args.csv_share)
    started = time.perf_counter()
    counts = generate(args.out, options, args.jobs)
    elapsed = time.perf_counter() - started
    print(f"{counts['schools']} schools, {counts['files']} files ({counts['csv_schools']} schools as CSV, "
          f"{counts['faulty_schools']} with an error) in {args.out / 'inputs'}: {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
