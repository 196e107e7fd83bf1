"""Shared test fixtures: the district data, a small register, and a correct report as plain rows."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest

# Mail servers (dovecot, smtp_server, starttls_smtp_server): real ones, started per test that asks.
from mail_servers import dovecot, smtp_server, starttls_smtp_server  # noqa: F401

# PostgreSQL fixtures (postgres_server, postgres_url, fresh_postgres_url), started only when a test asks.
from postgres_server import fresh_postgres_url, postgres_server, postgres_url  # noqa: F401

# The session's own PREFECT_HOME (autouse): Prefect servers the tests start are stopped at the end.
from prefect_servers import session_prefect_home, warm_runner  # noqa: F401

from pipeline.district.register import School
from pipeline.district.roadmap import District, load_district
from pipeline.district.setup import Setup, load_setup
from pipeline.judge.verdict import Rules, Verdict, judge_paths

PROJECT = Path(__file__).resolve().parents[1]
YEAR = 2025
TODAY = dt.date(2025, 6, 1)
SCHOOL = "70-001"


@pytest.fixture(scope="session")
def district() -> District:
    return load_district(PROJECT / "inputs")


@pytest.fixture(scope="session")
def register() -> dict[str, School]:
    return {
        SCHOOL: School(SCHOOL, "МБОУ «Тестовая СОШ»", "Тестовый район",
                       ("test-school.ru", "test-r70.gosweb.gosuslugi.ru"), "lib@test-school.ru", None, None),
        "70-002": School("70-002", "МБОУ «Закрытая СОШ»", "Тестовый район", ("closed.ru",), "a@closed.ru",
                         None, dt.date(2024, 6, 30)),
    }


@pytest.fixture()
def rules(district: District, register: dict[str, School]) -> Rules:
    return Rules(district, register, district.campaign(YEAR), TODAY)


def good_report(district: District) -> dict[str, list[list[Any]]]:
    """A correct report for 2025 as rows per sheet (row 0 is the header), in Excel row order."""
    title = [["Поле", "Значение"],
             ["Версия шаблона", "ИБЦ-2025.1"],
             ["Код ОО", SCHOOL],
             ["Наименование ОО", "МБОУ «Тестовая СОШ»"],
             ["Отчётный год", 2025],
             ["ФИО ответственного", "Иванова Ирина Ивановна"],
             ["Должность ответственного", "педагог-библиотекарь"],
             ["Телефон", "+7 (3822) 12-34-56"],
             ["E-mail", "lib@test-school.ru"],
             ["Дата заполнения", "15.05.2025"],
             ["Библиотека", "отдельное помещение"]]
    roadmap = [["Код", "Мероприятие", "Срок", "Статус", "Дата выполнения", "Документ", "Реквизиты документа",
                "Количество", "Ссылки", "Комментарий"]]
    for item in district.items:
        row: list[Any] = [item.code, item.title, item.due_label, "", "", "", "", "", "", ""]
        if item.one_off:
            row[3:5] = ["выполнено ранее", "20.05.2024"]
        else:
            row[3:5] = ["выполнено", "10.03.2025"]
        if item.code in ("1.1", "1.4а", "1.4б"):
            row[5:7] = ["приказ", "№ 45-од от 20.05.2024"]
        if item.code in ("1.2", "3.1", "4.1", "4.2"):
            row[7] = 2
        if item.code in ("2", "4.1"):
            row[8] = "https://test-school.ru/ibc"
        roadmap.append(row)
    staff = [["Сотрудник", "Должность", "Ставка", "Характер работы", "Образование", "Стаж в должности, лет",
              "КПК за последние 3 года"],
             ["Сотрудник 1", "педагог-библиотекарь", 1, "основной работник", "высшее педагогическое", 12, "да"],
             ["Сотрудник 2", "библиотекарь", 0.5, "внутренний совместитель", "среднее профессиональное библиотечное",
              3, "нет"]]
    courses = [["Сотрудник", "Вид программы", "Название программы", "Организация", "Объём, часов",
                "Дата окончания", "Документ"],
               ["Сотрудник 1", "повышение квалификации", "Школьный ИБЦ", "ТОИПКРО", 36, "01.12.2024",
                "удостоверение"]]
    awards = [["Сотрудник", "Вид поощрения", "Уровень", "Статус", "Дата"],
              ["Сотрудник 1", "благодарность", "муниципальный", "представлен", "01.03.2025"]]
    values = {"P01": 500, "P02": 450, "P03": 420, "P04": 6000, "P05": 5000, "P06": 12000, "P07": 6000, "P08": 4000,
              "P09": 300, "P10": 200, "P11": 95, "P12": 60.5, "P13": 20, "P14": 5, "P15": 5, "P16": 6, "P20": 15,
              "P21": 4}
    indicators = [["Код", "Показатель", "Ед. изм.", "Значение", "Пояснение"]]
    for indicator in district.indicators:
        indicators.append([indicator.code, indicator.name, indicator.unit, values.get(indicator.code, "да"), ""])
    return {"Титул": title, "Дорожная карта": roadmap, "Сотрудники": staff, "Курсы": courses,
            "Поощрения": awards, "Показатели": indicators}


@pytest.fixture()
def report(district: District) -> dict[str, list[list[Any]]]:
    return good_report(district)


def set_cell(report: dict[str, list[list[Any]]], sheet: str, cell: str, value: Any) -> None:
    """Put *value* at Excel address *cell* (e.g. «E3») of *sheet*, growing the rows as needed."""
    letters = "".join(char for char in cell if char.isalpha())
    row = int("".join(char for char in cell if char.isdigit())) - 1
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    column -= 1
    rows = report[sheet]
    while len(rows) <= row:
        rows.append([""] * len(rows[0]))
    while len(rows[row]) <= column:
        rows[row].append("")
    rows[row][column] = value


def write_xlsx(report: dict[str, list[list[Any]]], path: Path) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in report.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append([None if value == "" else value for value in row])
    workbook.save(path)
    return path


def write_csv_parts(report: dict[str, list[list[Any]]], folder: Path, encoding: str = "utf-8-sig",
                    delimiter: str = ";") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in report.items():
        path = folder / f"{SCHOOL}_{name}.csv"
        # Excel writes characters Windows-1251 lacks (м²) as «?»: so do we.
        with path.open("w", encoding=encoding, errors="replace", newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            for row in rows:
                writer.writerow([_csv_text(value, delimiter) for value in row])
        paths.append(path)
    return paths


def _csv_text(value: Any, delimiter: str) -> str:
    if isinstance(value, float):
        return str(value).replace(".", ",") if delimiter != "," else str(value)
    return str(value)


def judge_one(paths: list[Path], rules: Rules) -> Verdict:
    verdicts = judge_paths(paths, rules)
    assert len(verdicts) == 1, verdicts
    return verdicts[0]


def codes_at(verdict: Verdict) -> list[tuple[str, str, str]]:
    return [(finding.code, finding.sheet, finding.cell) for finding in verdict.findings]


def write_district(inputs: Path, district: District, codes: list[str], faulty: set[str] = frozenset()) -> Path:
    """A district of *codes* in *inputs*: district.toml, schools.csv and one 2025 workbook per school.

    The workbooks of *faulty* schools miss the date of item 1.1 (R01, rejected); the others are accepted.
    """
    (inputs / "2025").mkdir(parents=True)
    shutil.copy(PROJECT / "inputs" / "district.toml", inputs)
    lines = ["Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта"]
    for number, code in enumerate(codes):
        lines.append(f"{code};Школа {number};Тест;test-school.ru;a@test-school.ru;;")
        report = good_report(district)
        set_cell(report, "Титул", "B3", code)
        if code in faulty:
            set_cell(report, "Дорожная карта", "E3", "")
        write_xlsx(report, inputs / "2025" / f"{code}.xlsx")
    (inputs / "schools.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return inputs


def campaign_setup(root: Path, register_csv: str) -> Setup:
    """The 2025 campaign of a district in *root*: the demo's district.toml, *register_csv*, an empty drop folder."""
    inputs = root / "inputs"
    (inputs / "2025").mkdir(parents=True)
    shutil.copy(PROJECT / "inputs" / "district.toml", inputs)
    (inputs / "schools.csv").write_text(register_csv, encoding="utf-8")
    return load_setup(inputs, root / "outputs", 2025)


def is_running(pid: int) -> bool:
    """Whether process *pid* exists and has not ended (a zombie waiting to be reaped has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"

