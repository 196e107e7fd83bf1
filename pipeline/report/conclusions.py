"""Write the report's conclusions: sentences generated from the numbers, naming the schools that need attention."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.collect.status import CampaignStatus
from pipeline.district.roadmap import District
from pipeline.statuses import SchoolState

# A conclusion names schools while the list reads as a sentence; a region's would run for pages.
CONCLUSION_CODES = 30


def build_conclusions(status: CampaignStatus, counts: pd.DataFrame, index: pd.DataFrame,
                      outliers: pd.DataFrame, district: District) -> list[str]:
    """Sentences generated from the numbers: coverage, strongest and weakest items, who needs attention."""
    expected = len(status.schools)
    accepted = status.counts["on_time"] + status.counts["late"]
    if not accepted:
        return [f"Принятых отчётов нет (ожидалось {expected}); выводы о внедрении Модели сделать нельзя."]
    sentences = [f"Отчёты приняты от {accepted} ОО из {expected} ожидавшихся; в срок — {status.counts['on_time']}."]
    answered = counts.sum(axis=1).replace(0, np.nan)
    done_share = ((counts["выполнено"] + counts["выполнено ранее"]) / answered).dropna()
    if len(done_share):
        best, worst = done_share.idxmax(), done_share.idxmin()
        sentences.append(f"Лучше всего выполняется мероприятие {best} «{district.item(best).title}» "
                         f"({done_share[best] * 100:.0f} % ОО).")
        if worst != best:
            sentences.append(f"Слабее всего — мероприятие {worst} «{district.item(worst).title}» "
                             f"({done_share[worst] * 100:.0f} % ОО).")
    lagging = index[index["index"] < 0.5]["school"].tolist()
    missing = [school.code for school in status.schools if school.state in (SchoolState.MISSING, SchoolState.REJECTED)]
    if missing:
        sentences.append("Требуют внимания ОО без принятого отчёта: "
                         + _codes(missing, "ОО без принятого отчёта") + ".")
    if lagging:
        sentences.append("Индекс внедрения ниже 50 % у ОО: " + _codes(lagging, "Индекс внедрения по ОО") + ".")
    if len(outliers):
        sentences.append("Значения показателей, требующие проверки, есть у ОО: "
                         + _codes(sorted(set(outliers["Код ОО"])), "Значения, требующие проверки") + ".")
    return sentences


def _codes(codes: list[str], svod_sheet: str) -> str:
    """Codes for a sentence: all of them, or the first ones, how many there are, and where the rest are."""
    if len(codes) <= CONCLUSION_CODES:
        return ", ".join(codes)
    number = f"{len(codes):,}".replace(",", "\u00a0")  # Russian thousands: 4 012
    return (f"{number}, в том числе {', '.join(codes[:CONCLUSION_CODES])} "
            f"(полный список — в своде svod.xlsx, лист «{svod_sheet}»)")
