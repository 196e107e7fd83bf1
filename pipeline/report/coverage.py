"""Aggregate coverage and timeliness: how many expected schools reported, when, and who did not."""

from __future__ import annotations

import pandas as pd

from pipeline.collect.status import CampaignStatus
from pipeline.report.model import Figure, Section, Share, share
from pipeline.statuses import SchoolState


def build_coverage(status: CampaignStatus) -> tuple[Section, pd.DataFrame]:
    """Coverage and timeliness (DHIS2's reporting rate summary) and the cumulative arrivals."""
    counts = status.counts
    expected = len(status.schools)
    accepted = counts[SchoolState.ON_TIME] + counts[SchoolState.LATE]
    on_time = counts[SchoolState.ON_TIME]
    # Labels read after any number on a card: «1 ОО — отчёт не сдан», not «1 ОО Не сдали отчёт».
    figures = [
        Figure("Ожидалось отчётов", expected, "ОО", expected, expected),
        Figure("Принято отчётов", accepted, "ОО", expected, expected),
        Figure("Доля принятых отчётов", share(accepted, expected), "%", expected, expected,
               counts=Share(accepted, expected)),
        Figure("Приняты в срок", share(on_time, expected), "%", expected, expected, counts=Share(on_time, expected)),
        Figure("Отчёт принят с опозданием", counts[SchoolState.LATE], "ОО", expected, expected),
        Figure("Отчёт отклонён", counts[SchoolState.REJECTED], "ОО", expected, expected),
        Figure("Отчёт не сдан", counts[SchoolState.MISSING], "ОО", expected, expected),
    ]
    by_state = pd.DataFrame([
        {"Состояние": state.label, "Число ОО": counts[state], "Доля, % (n из N)": Share(counts[state], expected)}
        for state in reversed(SchoolState)])
    missing = pd.DataFrame([
        {"Код ОО": school.code, "Наименование": school.name, "Состояние": school.state.label}
        for school in status.schools if school.state in (SchoolState.REJECTED, SchoolState.MISSING)],
        columns=["Код ОО", "Наименование", "Состояние"])
    notes = []
    if len(missing) == 0 and expected:
        notes.append("Все ожидаемые ОО сдали отчёт.")
    tables = {"Охват по состоянию отчётов": by_state, "ОО без принятого отчёта": missing}
    dates = sorted(school.accepted_at.date() for school in status.schools if school.accepted_at)
    arrivals = pd.DataFrame({"date": dates, "accepted": range(1, len(dates) + 1)}, columns=["date", "accepted"])
    if len(arrivals):
        arrivals = arrivals.groupby("date", as_index=False)["accepted"].max()
    return Section("Общие сведения и охват", figures, tables, notes), arrivals
