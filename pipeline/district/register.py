"""The district's register of schools (inputs/schools.csv) and who is expected in a campaign."""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.district.hosts import to_host
from pipeline.district.roadmap import Campaign

REGISTER_FILE = "schools.csv"
COLUMNS = ("Код ОО", "Наименование", "Муниципалитет", "Сайт", "E-mail", "Открыта", "Закрыта")
SCHOOL_CODE = re.compile(r"^[A-Za-z0-9А-Яа-яЁё_-]{1,32}$")


class RegisterError(Exception):
    """The register file is missing or broken; the message names the file, line and column."""


@dataclass(frozen=True)
class School:
    code: str
    name: str
    municipality: str
    domains: tuple[str, ...]  # IDNA-encoded, lower-case
    email: str
    opened: dt.date | None
    closed: dt.date | None

    def is_expected(self, campaign: Campaign) -> bool:
        """A school reports in campaign N if it was open on the period's last day."""
        day = campaign.period_end
        return (self.opened is None or self.opened <= day) and (self.closed is None or self.closed > day)


def is_school_code(text: str) -> bool:
    """1–32 letters, digits, «-» and «_»: safe to use as a folder name."""
    return bool(SCHOOL_CODE.match(text)) and text not in (".", "..")


def load_register(inputs: Path) -> dict[str, School]:
    """Read ``inputs/schools.csv`` (UTF-8, «;»); raise RegisterError naming the line on any problem."""
    path = inputs / REGISTER_FILE
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RegisterError(f"{path}: реестр школ не найден") from None
    except UnicodeDecodeError:
        raise RegisterError(f"{path}: реестр должен быть в кодировке UTF-8") from None
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    if not rows or tuple(cell.strip() for cell in rows[0]) != COLUMNS:
        raise RegisterError(f"{path}: строка 1: ожидается заголовок {';'.join(COLUMNS)}")
    schools: dict[str, School] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(COLUMNS):
            raise RegisterError(f"{path}: строка {line}: ожидается {len(COLUMNS)} столбцов, найдено {len(row)}")
        code, name, municipality, sites, email, opened, closed = (cell.strip() for cell in row)
        if not is_school_code(code):
            raise RegisterError(f"{path}: строка {line}: «Код ОО» «{code}» — допустимы 1–32 буквы, цифры, - и _")
        if code in schools:
            raise RegisterError(f"{path}: строка {line}: «Код ОО» {code} повторяется")
        domains = []
        for site in sites.split():
            host = site.split("://")[-1].split("/")[0]
            try:
                domains.append(to_host(host))
            except ValueError:
                raise RegisterError(f"{path}: строка {line}: «Сайт» «{site}» — не доменное имя") from None
        schools[code] = School(
            code=code,
            name=name,
            municipality=municipality,
            domains=tuple(domains),
            email=email,
            opened=_date(path, line, "Открыта", opened),
            closed=_date(path, line, "Закрыта", closed),
        )
    return schools


def _date(path: Path, line: int, column: str, text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, "%d.%m.%Y").date()
    except ValueError:
        raise RegisterError(f"{path}: строка {line}: «{column}» «{text}» — ожидается ДД.ММ.ГГГГ") from None


def expected_schools(register: dict[str, School], campaign: Campaign) -> list[School]:
    return sorted((school for school in register.values() if school.is_expected(campaign)), key=lambda s: s.code)
