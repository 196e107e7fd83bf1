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
from pipeline.report.library import build_library, indicator_label, indicator_table, library_figures, ratios
from pipeline.report.model import Figure, YearReport
from pipeline.report.roadmap import (
    build_informing,
    build_regulation,
    build_roadmap,
    implementation_index,
    index_figures,
    item_statuses,
)
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
    staff = build_staff(frames["staff"], frames["courses"], schools, names)
    awards = build_awards(frames["awards"], schools)
    library, key, wide, derived = build_library(frames["indicators"], schools, district, names)
    previous_figures = current_figures = previous_wide = both_years = None
    if previous is not None and accepted_schools(previous.status):
        # Year over year only on the schools accepted in both campaigns: the same schools, said how many.
        before = set(accepted_schools(previous.status))
        common = [school for school in schools if school in before]
        previous_frames = {name: _expected_only(frame, common) for name, frame in previous.frames.items()}
        common_frames = {name: _expected_only(frame, common) for name, frame in frames.items()}
        previous_figures = build_coverage(previous.status)[0].figures + data_figures(district, previous_frames,
                                                                                       common)
        current_figures = coverage.figures + data_figures(district, common_frames, common)
        previous_wide = indicator_table(previous_frames["indicators"], common)
        both_years = len(common)
    units = {indicator.code: indicator.unit for indicator in district.indicators}
    labels = {indicator.code: indicator_label(indicator.code) for indicator in district.indicators}
    dynamics, year_over_year = build_dynamics(current_figures or [], previous_figures, wide, previous_wide, names,
                                              both_years, labels, units)
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
        window=(campaign.window_open, campaign.window_close), office=district.office,
        states={str(state): int(number) for state, number in status.counts.items()},
    )


def data_figures(district: District, frames: dict[str, pd.DataFrame], schools: list[str]) -> list[Figure]:
    """The roadmap, library and staff key figures over *schools* only (the year comparison's common schools)."""
    n = len(schools)
    index = implementation_index(item_statuses(frames["items"], schools, district))
    wide = indicator_table(frames["indicators"], schools)
    return (index_figures(index, n) + library_figures(wide, ratios(wide), n)
            + build_staff(frames["staff"], frames["courses"], schools).figures)


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
