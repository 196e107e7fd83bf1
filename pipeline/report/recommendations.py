"""Addressed recommendations and management decisions: the district's rules filled with the figures that fire them."""

from __future__ import annotations

from pipeline.district.report_rules import ReportRules, Rule
from pipeline.report.assessment import Decision, Recommendations
from pipeline.report.measures import Measure
from pipeline.report.staff import UNTRAINED_TABLE
from pipeline.typography import count, ru_number, ru_percent

# A sentence or a list names schools while it reads as one (the demo's longest list is 10); a region's would
# run for pages, so past this many the report names the first ones and points at svod.xlsx for the rest.
LISTED_SCHOOLS = 15
# Where the full list of the schools concerned is, when a sentence names only the first ones.
SVOD_SHEETS = {
    "item": "Статусы ОО по мероприятиям",
    "reports_accepted": "ОО без принятого отчёта",
    "reports_on_time": "Охват по состоянию отчётов",
    "training_pedagogues": UNTRAINED_TABLE,
    "training_staff": UNTRAINED_TABLE,
}


def school_list(codes: tuple[str, ...] | list[str], names: dict[str, str], svod_sheet: str) -> str:
    """Schools by name for a sentence: all of them, or the first ones, how many, and where the rest are."""
    named = [names.get(code) or code for code in codes]
    if len(named) <= LISTED_SCHOOLS:
        return ", ".join(named)
    return (f"{count(len(named), 'ОО')}, в том числе {', '.join(named[:LISTED_SCHOOLS])} "
            f"(полный список — в своде svod.xlsx, лист «{svod_sheet}»)")


def fired(rule: Rule, measures: list[Measure]) -> list[Measure]:
    """The measures that fire *rule*: of its kind (and items), with a base, below its threshold if it has one."""
    chosen = []
    for measure in measures:
        if measure.name != rule.measure or measure.share is None:
            continue
        if rule.items and (measure.item is None or measure.item.code not in rule.items):
            continue
        if rule.below is None or measure.share < rule.below:
            chosen.append(measure)
    return chosen


def fill(template: str, measure: Measure, names: dict[str, str], year: int) -> str:
    """*template* with the figures of *measure*: share, counts, item, schools by name, years."""
    return template.format(
        share=ru_percent(measure.share), part=ru_number(measure.part), whole=ru_number(measure.whole),
        unit=measure.unit, item=measure.item.code if measure.item else "",
        title=measure.item.title if measure.item else "",
        schools=school_list(measure.schools, names, SVOD_SHEETS[measure.name]), year=year, next_year=year + 1)


def build_recommendations(rules: ReportRules, measures: list[Measure], names: dict[str, str],
                          year: int) -> list[Recommendations]:
    """The recommendations the figures fire, grouped by addressee in the district's order; empty groups left out."""
    by_addressee: dict[str, list[str]] = {to: [] for to in rules.addressees}
    for rule in rules.recommendations:
        for measure in fired(rule, measures):
            because = _capitalised(fill(rule.because, measure, names, year))
            by_addressee[rule.to].append(_sentence(f"{because} — {fill(rule.action, measure, names, year)}"))
    return [Recommendations(to, tuple(sentences)) for to, sentences in by_addressee.items() if sentences]


def build_decisions(rules: ReportRules, measures: list[Measure], names: dict[str, str], year: int) -> list[Decision]:
    """The management decisions the figures fire, in the district's order."""
    return [Decision(action=fill(rule.action, measure, names, year), responsible=rule.to,
                     due=fill(rule.due, measure, names, year),
                     because=fill(rule.because, measure, names, year))
            for rule in rules.decisions for measure in fired(rule, measures)]


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
