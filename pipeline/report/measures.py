"""The measures the district's report rules watch: shares of schools or people, with the schools concerned."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.collect.status import CampaignStatus
from pipeline.district.roadmap import District, Item
from pipeline.report.roadmap import DONE, NOT_REQUIRED, STATUSES
from pipeline.report.staff import PEDAGOGUE
from pipeline.statuses import SchoolState

ACCEPTED = (SchoolState.ON_TIME, SchoolState.LATE)


@dataclass(frozen=True)
class Measure:
    """One measured share: *part* of *whole* (schools or people), and the schools that lack what is measured."""

    name: str  # a key of report_rules.MEASURES
    part: int
    whole: int
    unit: str  # «ОО» or «чел.»
    schools: tuple[str, ...]  # school codes, in register order
    item: Item | None = None  # for «item»: the roadmap item
    not_required: int = 0  # for «item»: schools where it is «не требуется» (outside the whole)

    @property
    def share(self) -> float | None:
        return self.part / self.whole if self.whole else None


def item_measures(matrix: pd.DataFrame, district: District) -> list[Measure]:
    """Per roadmap item: schools that did it, of the schools it applies to, and the schools where it is open."""
    measures = []
    for item in district.items:
        column = matrix[item.code] if item.code in matrix else pd.Series(dtype=object)
        answered = column[column.isin(STATUSES)]
        applicable = answered[answered != NOT_REQUIRED]
        done = applicable.isin(DONE)
        measures.append(Measure("item", int(done.sum()), len(applicable), "ОО", tuple(applicable.index[~done]),
                                item, int((answered == NOT_REQUIRED).sum())))
    return measures


def build_measures(status: CampaignStatus, matrix: pd.DataFrame, staff: pd.DataFrame,
                   district: District) -> list[Measure]:
    """Every measure of the campaign: one per roadmap item, then coverage, timeliness and training."""
    schools = status.schools
    accepted = [school for school in schools if school.state in ACCEPTED]
    on_time = [school for school in schools if school.state == SchoolState.ON_TIME]
    return [
        *item_measures(matrix, district),
        Measure("reports_accepted", len(accepted), len(schools), "ОО",
                tuple(school.code for school in schools if school.state not in ACCEPTED)),
        Measure("reports_on_time", len(on_time), len(schools), "ОО",
                tuple(school.code for school in schools if school.state != SchoolState.ON_TIME)),
        _training("training_pedagogues", staff[staff["position"] == PEDAGOGUE] if len(staff) else staff),
        _training("training_staff", staff),
    ]


def _training(name: str, people: pd.DataFrame) -> Measure:
    if not len(people):
        return Measure(name, 0, 0, "чел.", ())
    trained = people["kpk"].eq(True)
    without = people.loc[~trained, "school"]
    return Measure(name, int(trained.sum()), len(people), "чел.", tuple(sorted(set(without))))
