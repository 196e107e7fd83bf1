"""The report's conclusions part: conclusions by the district's thresholds, and the recommendations they fire."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.collect.status import CampaignStatus
from pipeline.district.report_rules import ReportRules
from pipeline.district.roadmap import District
from pipeline.report.assessment import Assessment, Conclusion
from pipeline.report.measures import ACCEPTED, Measure, build_measures, item_measures
from pipeline.report.recommendations import LISTED_SCHOOLS, build_decisions, build_recommendations
from pipeline.report.roadmap import OPEN, implementation_index, item_statuses
from pipeline.typography import POINTS, count, quoted, ru_change, ru_number, ru_percent

# The svod.xlsx sheets that hold the full lists a conclusion cuts short.
MISSING_SHEET = "ОО без принятого отчёта"
INDEX_SHEET = "Индекс внедрения по ОО"
OUTLIER_SHEET = "Значения, требующие проверки"


@dataclass(frozen=True)
class PreviousCampaign:
    """Last year's campaign as the comparison needs it: its status and its roadmap rows."""

    status: CampaignStatus
    items: pd.DataFrame


def build_assessment(district: District, status: CampaignStatus, matrix: pd.DataFrame, index: pd.DataFrame,
                     staff: pd.DataFrame, outliers: pd.DataFrame,
                     previous: PreviousCampaign | None = None) -> Assessment:
    """Conclusions, recommendations and decisions of one campaign by the rules in district.toml."""
    rules = district.report_rules
    year = status.campaign.year
    names = {school.code: school.name for school in status.schools}
    measures = build_measures(status, matrix, staff, district)
    conclusions = [_coverage(status)]
    if any(school.state in ACCEPTED for school in status.schools):
        conclusions += _items([measure for measure in measures if measure.name == "item"], rules)
        conclusions += _support(status, index, matrix, rules)
        conclusions += _outliers(outliers)
        if previous is not None:
            conclusions += _year_over_year(matrix, previous, district, rules, year)
    else:
        conclusions += _support(status, index, matrix, rules)
    return Assessment(
        thresholds=_thresholds(rules),
        conclusions=tuple(conclusions),
        recommendations=tuple(build_recommendations(rules, measures, names, year)),
        decisions=tuple(build_decisions(rules, measures, names, year)),
    )


def _thresholds(rules: ReportRules) -> str:
    return ("Выводы сделаны по пороговым значениям, установленным управлением образования: мероприятие отстаёт, "
            f"если выполнено менее чем в {ru_percent(rules.item_lags_below, 0)} ОО, к которым относится; ОО "
            f"нуждается в поддержке, если её индекс внедрения ниже {ru_percent(rules.school_support_below, 0)}; "
            # The sentence ends on the abbreviation «п. п.», whose full stop closes it too.
            f"изменение к прошлому году отмечается от {_points(rules.notable_change_pp)}")


def _coverage(status: CampaignStatus) -> Conclusion:
    expected = len(status.schools)
    states = status.counts
    accepted = sum(states[state] for state in ACCEPTED)
    if not accepted:
        return Conclusion(f"Принятых отчётов нет (ожидалось {_schools(expected)}); выводы о выполнении "
                          "дорожной карты сделать нельзя.")
    return Conclusion(f"Отчёты приняты от {ru_number(accepted)} из {_schools(expected)} "
                      f"({ru_percent(accepted / expected)}): в срок — {ru_number(states['on_time'])}, "
                      f"с опозданием — {ru_number(states['late'])}.")


def _items(measures: list[Measure], rules: ReportRules) -> list[Conclusion]:
    """Items done everywhere they apply, items that lag, and the ones between."""
    based = [measure for measure in measures if measure.whole]
    full = [measure for measure in based if measure.part == measure.whole]
    lagging = [measure for measure in based if measure.share < rules.item_lags_below]
    between = [measure for measure in based if measure not in full and measure not in lagging]
    threshold = ru_percent(rules.item_lags_below, 0)
    found = []
    if full:
        found.append(Conclusion(f"Полностью, во всех ОО, к которым относятся, выполнено {_items_count(len(full))}:",
                                tuple(f"{_item(measure)} ({_counts(measure)})" for measure in full)))
    if lagging:
        found.append(Conclusion(f"Отстающие мероприятия — выполнены менее чем в {threshold} ОО, к которым "
                                f"относятся ({_items_count(len(lagging))}):",
                                tuple(f"{_item(measure)} — {_share(measure)}" for measure in lagging)))
    else:
        found.append(Conclusion(f"Мероприятий, выполненных менее чем в {threshold} ОО, к которым они относятся, нет."))
    if between:
        found.append(Conclusion(f"Не менее чем в {threshold}, но не во всех ОО, к которым относятся, выполнено "
                                f"{_items_count(len(between))}:",
                                tuple(f"{_item(measure)} — {_share(measure)}" for measure in between)))
    return found


def _support(status: CampaignStatus, index: pd.DataFrame, matrix: pd.DataFrame,
             rules: ReportRules) -> list[Conclusion]:
    """Schools without an accepted report, and schools whose index is below the threshold, with what is open."""
    found = []
    missing = [school for school in status.schools if school.state not in ACCEPTED]
    if missing:
        points = [f"{school.name or school.code} — {school.state.label}" for school in missing]
        found.append(Conclusion(f"Нет принятого отчёта у {_schools(len(missing))}:", _cut(points, MISSING_SHEET)))
    threshold = ru_percent(rules.school_support_below, 0)
    low = index[index["index"] < rules.school_support_below] if len(index) else index
    if len(low):
        low = low.sort_values(["index", "school"])
        # Only the schools a sentence names are described: a region may have thousands below the threshold.
        rows = low.head(LISTED_SCHOOLS + 1)[["school", "name", "index", "done", "applicable"]]
        points = [f"{name or school} — индекс {ru_percent(share)} ({ru_number(done)} из {ru_number(applicable)}); "
                  f"{_open_items(matrix, school)}"
                  for school, name, share, done, applicable in rows.itertuples(index=False, name=None)]
        # «Нужна поддержка …» agrees with any count; «Нуждаются» would not with «1 ОО».
        found.append(Conclusion(f"Нужна поддержка ОО с индексом внедрения ниже {threshold} "
                                f"({_schools(len(low))}):", _cut(points, INDEX_SHEET, len(low))))
    elif len(index):
        found.append(Conclusion(f"ОО с индексом внедрения ниже {threshold} нет."))
    return found


def _open_items(matrix: pd.DataFrame, school: str) -> str:
    """«в работе: 3.1; не выполнено: 4.2» for one school's row of the status matrix."""
    row = matrix.loc[school]
    parts = [f"{status}: {', '.join(str(code) for code in row.index[row == status])}"
             for status in OPEN if (row == status).any()]
    return "; ".join(parts)


def _outliers(outliers: pd.DataFrame) -> list[Conclusion]:
    if not len(outliers):
        return []
    points = [f"{name} — {', '.join(_in_sentence(label) for label in rows['Показатель'].unique())}"
              for (code, name), rows in outliers.groupby(["Код ОО", "Наименование"], sort=True)]
    return [Conclusion(f"Значения показателей, требующие проверки (сильно отличаются от значений других ОО), "
                       f"есть у {_schools(len(points))}:", _cut(points, OUTLIER_SHEET))]


def _year_over_year(matrix: pd.DataFrame, previous: PreviousCampaign, district: District, rules: ReportRules,
                    year: int) -> list[Conclusion]:
    """Items whose share moved on last year, over the schools that reported in both years only."""
    accepted_before = [school.code for school in previous.status.schools if school.state in ACCEPTED]
    items = previous.items[previous.items["school"].isin(accepted_before)] if len(previous.items) else previous.items
    before = item_statuses(items, accepted_before, district)
    common = sorted(set(matrix.index) & set(before.index))
    lead = f"По сравнению с {year - 1} годом"
    if not common:
        return [Conclusion(f"С {year - 1} годом сравнить нельзя: нет ОО, отчёт которых принят в оба года.")]
    now, then = matrix.loc[common], before.loc[common]
    index_now = implementation_index(now)["index"].mean()
    index_then = implementation_index(then)["index"].mean()
    points = [f"средний индекс внедрения — {ru_percent(index_then)} в {year - 1}\u00a0г. и "
              f"{ru_percent(index_now)} в {year}\u00a0г. ({ru_change(index_now - index_then, '%')})"]
    for current, past in zip(item_measures(now, district), item_measures(then, district), strict=True):
        if current.share is None or past.share is None:
            continue
        change = current.share - past.share
        if abs(change) * 100 >= rules.notable_change_pp:
            verb = "выросла" if change > 0 else "снизилась"
            points.append(f"{verb} доля выполнения мероприятия {_item(current)}: с {_share_of(past)} "
                          f"до {_share_of(current)}, {ru_change(change, '%')}")
    if len(points) == 1:
        points.append(f"доля выполнения ни одного мероприятия не изменилась на {_points(rules.notable_change_pp)} "
                      "и более")
    return [Conclusion(f"{lead} (по {_schools(len(common))}, отчёт которых принят в оба года):", tuple(points))]


def _item(measure: Measure) -> str:
    return f"{measure.item.code} {quoted(measure.item.title)}"


def _counts(measure: Measure, unit: bool = True) -> str:
    whole = _schools(measure.whole) if unit else ru_number(measure.whole)
    text = f"{ru_number(measure.part)} из {whole}"
    if measure.not_required:
        text += f"; не требуется — в {_schools(measure.not_required)}"
    return text


def _share(measure: Measure) -> str:
    """«23,1 % ОО (3 из 13)» — the share and the counts it is made of."""
    return f"{ru_percent(measure.share)} ОО ({_counts(measure, unit=False)})"


def _share_of(measure: Measure) -> str:
    """«90,9 % (10 из 11)»: a share and the counts it is made of, the unit said by the sentence."""
    return f"{ru_percent(measure.share)} ({_counts(measure, unit=False)})"


def _cut(points: list[str], svod_sheet: str, total: int | None = None) -> tuple[str, ...]:
    """All *total* points, or the first ones and a last point saying how many more and where the full list is."""
    total = len(points) if total is None else total
    if total <= LISTED_SCHOOLS:
        return tuple(points)
    rest = total - LISTED_SCHOOLS
    return (*points[:LISTED_SCHOOLS],
            f"и ещё {_schools(rest)} (полный список — в своде svod.xlsx, лист «{svod_sheet}»)")


def _schools(n: int) -> str:
    return count(n, "ОО", "ОО", "ОО")


def _items_count(n: int) -> str:
    return count(n, "мероприятие", "мероприятия", "мероприятий")


def _points(value: float) -> str:
    return f"{ru_number(value)}\u00a0{POINTS}"


def _in_sentence(label: object) -> str:
    """A table's label inside a sentence: «Обновляемость фонда, %» → «обновляемость фонда»."""
    text = str(label).removesuffix(", %")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text
