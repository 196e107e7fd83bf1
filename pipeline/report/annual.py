"""The annual report step: load a campaign from the ledger, aggregate it, write svod.xlsx, PDF and HTML."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.collect.status import current_status
from pipeline.district.setup import Setup
from pipeline.report.aggregate import CampaignData, build_year_report
from pipeline.report.model import YearReport
from pipeline.statuses import SubmissionStatus

WARNING_COLUMNS = ["Код ОО", "Наименование", "Код", "Лист", "Ячейка", "Замечание"]
FILE_COLUMNS = ["path", "sha256", "school", "status", "arrived_at"]


def load_campaign(setup: Setup, engine: Engine, year: int, now: dt.datetime) -> CampaignData:
    """A campaign's status and current accepted data, as the ledger holds them."""
    status = current_status(setup.for_year(year), engine, now)
    with ledger.transaction(engine) as connection:
        frames = ledger.accepted_frames(connection, year)
    return CampaignData(setup.district.campaign(year), status, frames)


def load_warnings(setup: Setup, engine: Engine) -> pd.DataFrame:
    """The warnings of every current accepted submission: data-quality notes for the analyst."""
    with ledger.transaction(engine) as connection:
        accepted = [item for item in ledger.campaign_submissions(connection, setup.year)
                    if item.status == SubmissionStatus.ACCEPTED]
        found = ledger.submission_findings(connection, [item.id for item in accepted])
    rows = []
    for item in accepted:
        school = setup.register.get(item.school or "")
        for finding in found[item.id]:
            rows.append({"Код ОО": item.school, "Наименование": school.name if school else "",
                         "Код": finding.code, "Лист": finding.sheet, "Ячейка": finding.cell,
                         "Замечание": finding.message})
    return pd.DataFrame(rows, columns=WARNING_COLUMNS)


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
    return build_year_report(setup.district, setup.register, current, previous, load_warnings(setup, engine),
                             load_files_used(setup, engine), now)


def write_report(setup: Setup, report: YearReport) -> dict[str, Path]:
    """svod.xlsx first (it is attached to the PDF), then report.pdf and report.html; each written atomically."""
    from pipeline.report.render import render_report
    from pipeline.report.svod import write_svod

    folder = setup.outputs / str(setup.year)
    svod = folder / "svod.xlsx"
    write_svod(report, svod)
    files_csv = io.StringIO()
    report.files_used.to_csv(files_csv, index=False, sep=";")
    attachments = {"svod.xlsx": svod.read_bytes(), "files.csv": files_csv.getvalue().encode("utf-8-sig")}
    paths = render_report(report, setup.outputs, attachments)
    return {"svod": svod, **paths}
