"""The annual report step: load a campaign from the ledger, aggregate it, write svod.xlsx, PDF and HTML."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.collect.status import current_status
from pipeline.district.layout import ROADMAP
from pipeline.district.roadmap import DistrictDataError
from pipeline.district.setup import Setup
from pipeline.report.aggregate import CampaignData, build_year_report
from pipeline.report.model import YearReport
from pipeline.statuses import SubmissionStatus

# The appendix of warnings speaks in words: where (sheet and row or item) and what; svod.xlsx also keeps the
# check code and the cell address for the analyst who opens the school's file.
WARNING_COLUMNS = ["Код ОО", "Наименование", "Место", "Замечание"]
WARNING_CELL_COLUMNS = ["Код ОО", "Наименование", "Место", "Замечание", "Код", "Лист", "Ячейка"]
FILE_COLUMNS = ["path", "sha256", "school", "status", "arrived_at"]
# The analyst's own text for the conclusions part: inputs/report/<year>.txt, paragraphs split by blank lines.
ANALYST_FOLDER = "report"
ANALYST_MAX_CHARS = 20_000
# The catalogue's roadmap messages name their item: «Мероприятие 4.2 …», «Для выполненного мероприятия 3.2 …».
_ITEM_IN_MESSAGE = re.compile(r"[Мм]ероприяти[а-яё]* ([0-9][0-9.]*[а-яё]?)")
_ROW = re.compile(r"[A-Z]+([0-9]+)$")


class AnalystTextError(DistrictDataError):
    """The analyst's text cannot be read as UTF-8 text of a sensible size; district data, so the command line
    says «Ошибка в данных района» and names the file."""


def load_campaign(setup: Setup, engine: Engine, year: int, now: dt.datetime) -> CampaignData:
    """A campaign's status and current accepted data, as the ledger holds them."""
    status = current_status(setup.for_year(year), engine, now)
    with ledger.transaction(engine) as connection:
        frames = ledger.accepted_frames(connection, year)
    return CampaignData(setup.district.campaign(year), status, frames)


def load_warnings(setup: Setup, engine: Engine) -> pd.DataFrame:
    """The warnings of every current accepted submission, placed in words, with their check code and cell."""
    item_codes = {item.code for item in setup.district.items}
    with ledger.transaction(engine) as connection:
        accepted = [item for item in ledger.campaign_submissions(connection, setup.year)
                    if item.status == SubmissionStatus.ACCEPTED]
        found = ledger.submission_findings(connection, [item.id for item in accepted])
    rows = []
    for item in accepted:
        school = setup.register.get(item.school or "")
        for finding in found[item.id]:
            rows.append({"Код ОО": item.school, "Наименование": school.name if school else "",
                         "Место": place_in_words(finding.sheet, finding.cell, finding.message, item_codes),
                         "Замечание": finding.message, "Код": finding.code, "Лист": finding.sheet,
                         "Ячейка": finding.cell})
    # By school code, as every other per-school list; a school's own warnings keep the order of its file.
    return pd.DataFrame(rows, columns=WARNING_CELL_COLUMNS).sort_values("Код ОО", kind="stable", ignore_index=True)


def place_in_words(sheet: str, cell: str, message: str, item_codes: set[str]) -> str:
    """«лист «Дорожная карта», мероприятие 3.2», «лист «Показатели», строка 7»: where a warning is, without codes.

    A roadmap row is named by the item its message names (the school may have reordered the rows, so the row
    number would not say which item); other rows by their number, which the school sees in its own file.
    """
    if not sheet:
        return "файл отчёта"
    where = f"лист «{sheet}»"
    named = _ITEM_IN_MESSAGE.search(message)
    if sheet == ROADMAP and named and named.group(1).rstrip(".") in item_codes:
        return f"{where}, мероприятие {named.group(1).rstrip('.')}"
    row = _ROW.match(cell or "")
    if row is None:
        return where
    if row.group(1) == "1":
        return f"{where}, строка заголовков"
    return f"{where}, строка {row.group(1)}"


def load_analyst_text(setup: Setup) -> tuple[str, ...]:
    """The paragraphs of inputs/report/<year>.txt (blank lines between them), or none when there is no file."""
    path = setup.inputs / ANALYST_FOLDER / f"{setup.year}.txt"
    if not path.is_file():
        return ()
    data = path.read_bytes()
    if len(data) > ANALYST_MAX_CHARS * 4:
        raise AnalystTextError(f"{path}: текст специалиста длиннее {ANALYST_MAX_CHARS} символов")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AnalystTextError(f"{path}: текст специалиста должен быть в кодировке UTF-8") from None
    if len(text) > ANALYST_MAX_CHARS:
        raise AnalystTextError(f"{path}: текст специалиста длиннее {ANALYST_MAX_CHARS} символов")
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return tuple(" ".join(paragraph.split()) for paragraph in paragraphs if paragraph.strip())


def load_files_used(setup: Setup, engine: Engine) -> pd.DataFrame:
    """Every file of the campaign the ledger knows, with hash, school and status: what the report rests on."""
    with ledger.transaction(engine) as connection:
        stored = {item.id: item for item in ledger.campaign_submissions(connection, setup.year)}
        files = ledger.all_files(connection, setup.year)
    rows = [{"path": path, "sha256": sha, "school": stored[number].school, "status": stored[number].status,
             "arrived_at": stored[number].arrived_at} for path, sha, number in files]
    return pd.DataFrame(rows, columns=FILE_COLUMNS)


def build_report(setup: Setup, engine: Engine, now: dt.datetime) -> YearReport:
    current = load_campaign(setup, engine, setup.year, now)
    previous = None
    if setup.year - 1 >= setup.district.first_campaign:
        previous = load_campaign(setup, engine, setup.year - 1, now)
    warnings = load_warnings(setup, engine)
    report = build_year_report(setup.district, setup.register, current, previous, warnings[WARNING_COLUMNS],
                               load_files_used(setup, engine), now)
    return dataclasses.replace(report, warning_cells=warnings, analyst_text=load_analyst_text(setup))


def write_report(setup: Setup, report: YearReport) -> dict[str, Path]:
    """svod.xlsx first (it is attached to the PDF), then report.pdf and report.html; each written atomically."""
    from pipeline.report.render import render_report
    from pipeline.report.svod import files_table, write_svod

    folder = setup.outputs / str(setup.year)
    svod = folder / "svod.xlsx"
    write_svod(report, svod)
    files_csv = io.StringIO()
    # What a user opens: Russian headers and statuses, dates as ДД.ММ.ГГГГ ЧЧ:ММ (Excel reads both).
    files_table(report.files_used).to_csv(files_csv, index=False, sep=";", date_format="%d.%m.%Y %H:%M")
    attachments = {"svod.xlsx": svod.read_bytes(), "files.csv": files_csv.getvalue().encode("utf-8-sig")}
    paths = render_report(report, setup.outputs, attachments)
    return {"svod": svod, **paths}
