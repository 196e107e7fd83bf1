"""Aggregate a campaign's accepted data into the figures and tables of the final report (pure pandas).

Conventions the renderer relies on: a table column whose name ends in «%» holds a share 0–1; a Figure
with unit «%» holds a share 0–1 too. Every figure carries its base (how many schools it rests on).
Each section's arithmetic lives in its own module (coverage, roadmap, staff, library, dynamics, conclusions);
this one loads nothing and joins them into a YearReport.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from pipeline.collect.status import CampaignStatus
from pipeline.district.register import School
from pipeline.district.roadmap import Campaign, District
from pipeline.report.conclusions import PreviousCampaign, build_assessment
from pipeline.report.coverage import build_coverage
from pipeline.report.dynamics import build_dynamics
from pipeline.report.library import build_library, indicator_table
from pipeline.report.model import YearReport
from pipeline.report.roadmap import build_informing, build_regulation, build_roadmap
from pipeline.report.staff import build_awards, build_staff


@dataclass(frozen=True)
class CampaignData:
    """One campaign as stored: its status and its current accepted data (ledger.accepted_frames)."""

    campaign: Campaign
    status: CampaignStatus
    frames: dict[str, pd.DataFrame]


def accepted_schools(status: CampaignStatus) -> list[str]:
    """Codes of the expected schools with an accepted report, on time or late."""
    return [school.code for school in status.schools if school.state in ("on_time", "late")]


def _expected_only(frame: pd.DataFrame, schools: list[str]) -> pd.DataFrame:
    # Only expected schools count: a later-closed school's old data must not inflate a figure.
    return frame[frame["school"].isin(schools)] if len(frame) else frame


def build_year_report(district: District, register: dict[str, School], current: CampaignData,
                      previous: CampaignData | None, warnings: pd.DataFrame, files_used: pd.DataFrame,
                      generated_at: dt.datetime) -> YearReport:
    """The whole report of one campaign from its stored data (and the previous campaign's, when there is one)."""
    campaign, status = current.campaign, current.status
    names = {school.code: school.name for school in status.schools}
    schools = accepted_schools(status)
    frames = {name: _expected_only(frame, schools) for name, frame in current.frames.items()}
    coverage, arrivals = build_coverage(status)
    roadmap, counts, matrix, index = build_roadmap(frames["items"], frames["title"], schools, district, campaign,
                                                   names)
    regulation = build_regulation(frames["items"], schools, district, names)
    informing, links = build_informing(frames["items"], frames["indicators"], schools, district, names)
    staff = build_staff(frames["staff"], frames["courses"], schools)
    awards = build_awards(frames["awards"], schools)
    library, key, wide, derived = build_library(frames["indicators"], schools, district, names)
    this_year = coverage.figures + roadmap.figures + library.figures + staff.figures
    previous_figures = previous_wide = None
    if previous is not None and accepted_schools(previous.status):
        before = build_year_report(district, register, previous, None, warnings.iloc[0:0], files_used.iloc[0:0],
                                   generated_at)
        previous_figures = (before.coverage.figures + before.roadmap.figures + before.library.figures
                            + before.staff.figures)
        previous_schools = accepted_schools(previous.status)
        previous_wide = indicator_table(_expected_only(previous.frames["indicators"], previous_schools),
                                        previous_schools)
    dynamics, year_over_year = build_dynamics(this_year, previous_figures, wide, previous_wide, names)
    outliers = library.tables["Значения, требующие проверки"]
    assessment = build_assessment(district, status, matrix, index, frames["staff"], outliers,
                                  PreviousCampaign(previous.status, previous.frames["items"]) if previous else None)
    appendix = build_appendix(status, index, wide, derived)
    return YearReport(
        district=district.name, year=campaign.year, demo=district.demo, generated_at=generated_at,
        period=(campaign.period_start, campaign.period_end), deadline=campaign.deadline,
        expected=len(status.schools), accepted=len(schools), has_previous=previous_figures is not None,
        coverage=coverage, roadmap=roadmap, regulation=regulation, informing=informing, staff=staff,
        awards=awards, library=library, dynamics=dynamics,
        conclusions=assessment.sentences, assessment=assessment,
        status_by_item=counts, arrivals=arrivals, item_matrix=matrix, index_by_school=index,
        key_indicators=key, year_over_year=year_over_year, appendix_schools=appendix,
        appendix_warnings=warnings, appendix_links=links, files_used=files_used,
        window=(campaign.window_open, campaign.window_close),
    )


def build_appendix(status: CampaignStatus, index: pd.DataFrame, wide: pd.DataFrame,
                   derived: pd.DataFrame) -> pd.DataFrame:
    """One row per expected school: its state, index and main indicators."""
    by_school = index.set_index("school")["index"]
    rows = []
    for school in status.schools:
        code = school.code
        rows.append({
            "Код ОО": code, "Наименование": school.name, "Отчёт": school.state.label,
            "Принят": school.accepted_at.date() if school.accepted_at else None,
            "Индекс внедрения, %": by_school.get(code),
            "Обучающихся": _value(wide, code, "P01"), "Пользователей": _value(wide, code, "P02"),
            "Фонд, экз.": _value(wide, code, "P06"), "Читаемость": _value(derived, code, "Читаемость"),
            "Зон ИБЦ": _value(derived, code, "Зон ИБЦ"),
        })
    return pd.DataFrame(rows)


def _value(frame: pd.DataFrame, school: str, column: str) -> float | None:
    if column not in frame or school not in frame.index:
        return None
    value = frame.at[school, column]
    return None if pd.isna(value) else float(value)
