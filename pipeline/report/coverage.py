"""Aggregate coverage and timeliness: how many expected schools reported, when, and who did not."""

from __future__ import annotations

import pandas as pd

from pipeline.collect.status import CampaignStatus
from pipeline.report.model import Figure, Section, share


def build_coverage(status: CampaignStatus) -> tuple[Section, pd.DataFrame]:
    """Coverage and timeliness (DHIS2's reporting rate summary) and the cumulative arrivals."""
    counts = status.counts
    expected = len(status.schools)
    accepted = counts["on_time"] + counts["late"]
    figures = [
        Figure("Ожидалось отчётов", expected, "ОО", expected, expected),
        Figure("Принято отчётов", accepted, "ОО", expected, expected),
        Figure("Доля принятых отчётов", share(accepted, expected), "%", expected, expected),
        Figure("Приняты в срок", share(counts["on_time"], expected), "%", expected, expected),
        Figure("Приняты с опозданием", counts["late"], "ОО", expected, expected),
        Figure("Только отклонённые файлы", counts["rejected"], "ОО", expected, expected),
        Figure("Не сдали отчёт", counts["missing"], "ОО", expected, expected),
    ]
    labels = {"on_time": "принят в срок", "late": "принят с опозданием", "rejected": "только отклонённые файлы",
              "missing": "не сдан"}
    by_state = pd.DataFrame([
        {"Состояние": labels[state], "Число ОО": counts[state], "Доля, %": share(counts[state], expected)}
        for state in ("on_time", "late", "rejected", "missing")])
    missing = pd.DataFrame([
        {"Код ОО": school.code, "Наименование": school.name, "Состояние": labels[school.state]}
        for school in status.schools if school.state in ("rejected", "missing")],
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
