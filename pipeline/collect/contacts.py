"""How the district reaches each school from its status page: the latest feedback page, e-mail, responsible person."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline import ledger
from pipeline.collect.feedback import feedback_folder, safe_stem
from pipeline.district.register import School


@dataclass(frozen=True)
class LatestFile:
    """A school's newest submission in a campaign, enough to name its feedback page."""

    year: int
    school: str
    arrived_at: dt.datetime
    paths: str  # the ledger's JSON list of the submission's paths in the drop folder
    sha256: str

    def order(self) -> tuple[dt.datetime, str]:
        # Equal arrival times are broken by the first path, as the status orders a school's files.
        return self.arrived_at, next(iter(json.loads(self.paths)), "")

    def feedback_link(self) -> str:
        """The URL of this file's feedback page relative to outputs/<year>/status.html, as write_feedback names it."""
        name = f"{safe_stem(', '.join(json.loads(self.paths)))}_{self.sha256[:8].lower()}.html"
        page = feedback_folder(Path(), self.year, self.school, self.sha256) / name
        return quote(page.relative_to(str(self.year)).as_posix())


@dataclass(frozen=True)
class SchoolContact:
    """What status.html shows beside a school so that the district can write or call it."""

    email: str  # the register's address: the one the district trusts
    respondent: str | None  # ФИО ответственного in the latest «Титул» the ledger stores
    phone: str | None  # Телефон in that «Титул»
    latest: LatestFile | None  # None when the school sent nothing

    @property
    def feedback(self) -> str | None:
        """The link to the latest file's page: built for the rows a page shows, not for every school."""
        return self.latest.feedback_link() if self.latest else None


def load_contacts(connection: Connection, year: int, schools: list[School]) -> dict[str, SchoolContact]:
    """Each of *schools*' contact in campaign *year*, by code, from one pass over the campaign's submissions."""
    # The ledger keeps the «Титул» of accepted and rejected files (superseded ones included): the page names
    # the respondent of the school's latest file that had one.
    submissions, title_data = ledger.submissions, ledger.title_data
    query = (select(submissions.c.school, submissions.c.arrived_at, submissions.c.paths, submissions.c.sha256,
                    title_data.c.respondent, title_data.c.phone)
             .outerjoin(title_data, title_data.c.submission_id == submissions.c.id)
             .where(submissions.c.year == year, submissions.c.school.is_not(None)))
    latest: dict[str, LatestFile] = {}
    titles: dict[str, tuple[dt.datetime, str | None, str | None]] = {}
    for school, arrived_at, paths, sha256, respondent, phone in connection.execute(query):
        newest = latest.get(school)
        if newest is None or arrived_at >= newest.arrived_at:
            candidate = LatestFile(year, school, arrived_at, paths, sha256)
            if newest is None or arrived_at > newest.arrived_at or candidate.order() > newest.order():
                latest[school] = candidate
        if respondent is not None and (school not in titles or arrived_at > titles[school][0]):
            titles[school] = (arrived_at, respondent, phone)
    contacts = {}
    for school in schools:
        _, respondent, phone = titles.get(school.code, (None, None, None))
        contacts[school.code] = SchoolContact(school.email, respondent, phone, latest.get(school.code))
    return contacts
