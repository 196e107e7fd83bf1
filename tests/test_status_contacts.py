"""status.html after a real collection: each school's latest feedback page, its e-mail and whom to call."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import campaign_setup, set_cell, write_xlsx

from pipeline.collect.run import collect
from pipeline.district.setup import Setup

REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru;a@test-school.ru;;\n"
            "70-005;МБОУ «Пятая СОШ»;Тест;five.ru;a@five.ru;;\n"
            "70-006;МБОУ «Шестая СОШ»;Тест;six.ru;a@six.ru;;\n")
BEFORE_DEADLINE = dt.datetime(2025, 6, 1, 10, 0)
LATER = dt.datetime(2025, 6, 20, 10, 0)


@pytest.fixture()
def setup(tmp_path: Path) -> Setup:
    return campaign_setup(tmp_path, REGISTER)


def school_row(setup: Setup, code: str) -> str:
    """The HTML of *code*'s row in the status table."""
    page = (setup.outputs / "2025" / "status.html").read_text(encoding="utf-8")
    body = page[page.index("<tbody>"):page.index("</tbody>")]
    [row] = [row for row in body.split("<tr>") if f"<td>{code}</td>" in row]
    return row


def links(row: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', row)


def page_of(setup: Setup, link: str) -> Path:
    """The file a link of status.html opens (it sits in outputs/<year>/)."""
    return setup.outputs / "2025" / unquote(link)


def test_status_shows_the_latest_page_email_and_respondent_of_each_school(setup: Setup, report: dict) -> None:
    write_xlsx(report, setup.drop_folder / "70-001_ИБЦ_2025.xlsx")
    rejected = {sheet: [list(row) for row in rows] for sheet, rows in report.items()}
    set_cell(rejected, "Титул", "B3", "70-005")
    set_cell(rejected, "Титул", "B6", "Петрова Анна Сергеевна")
    set_cell(rejected, "Дорожная карта", "E3", "")
    write_xlsx(rejected, setup.drop_folder / "70-005 отчёт.xlsx")
    collect(setup, now=BEFORE_DEADLINE)

    accepted = school_row(setup, "70-001")
    mail, feedback = links(accepted)
    assert page_of(setup, feedback).is_file()
    assert "принят" in page_of(setup, feedback).read_text(encoding="utf-8")
    assert mail == "mailto:a@test-school.ru"
    assert "Иванова Ирина Ивановна" in accepted and "+7 (3822) 12-34-56" in accepted

    # A rejected file: its page, the register's address, and whom to call about its errors.
    mail, feedback = links(school_row(setup, "70-005"))
    assert "R01" in page_of(setup, feedback).read_text(encoding="utf-8")
    assert mail == "mailto:a@five.ru"
    assert "Петрова Анна Сергеевна" in school_row(setup, "70-005")

    # No file at all: the register's address only.
    assert links(school_row(setup, "70-006")) == ["mailto:a@six.ru"]


def test_status_follows_a_schools_newer_file(setup: Setup, report: dict) -> None:
    path = setup.drop_folder / "70-001_ИБЦ_2025.xlsx"
    write_xlsx(report, path)
    collect(setup, now=BEFORE_DEADLINE)
    [first] = [link for link in links(school_row(setup, "70-001")) if not link.startswith("mailto:")]

    set_cell(report, "Титул", "B6", "Сидорова Мария Петровна")
    set_cell(report, "Титул", "B8", "8 913 000-00-00")
    write_xlsx(report, path)
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    collect(setup, now=LATER)
    row = school_row(setup, "70-001")
    [second] = [link for link in links(row) if not link.startswith("mailto:")]
    assert second != first and page_of(setup, second).is_file()
    assert "Сидорова Мария Петровна" in row and "8 913 000-00-00" in row
    assert "Иванова" not in row


def test_status_page_link_escapes_a_school_file_name(setup: Setup, report: dict) -> None:
    write_xlsx(report, setup.drop_folder / "отчёт <школы> & ИБЦ.xlsx")
    collect(setup, now=BEFORE_DEADLINE)
    [feedback] = [link for link in links(school_row(setup, "70-001")) if not link.startswith("mailto:")]
    assert re.fullmatch(r"feedback/70-001/[0-9A-Za-z%_.-]+\.html", feedback)
    assert page_of(setup, feedback).is_file()
