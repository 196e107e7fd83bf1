"""Compare a campaign with the previous one: the collection as a whole, and the data of the schools in both years."""

from __future__ import annotations

import pandas as pd

from pipeline.report.model import Change, Figure, Section
from pipeline.typography import ru_number

# The figures compared with last year: the ones a head of department asks about, not every box.
DYNAMICS_FIGURES = (
    "Принято отчётов", "Доля принятых отчётов", "Приняты в срок", "Средний индекс внедрения",
    "ОО, выполнившие все применимые мероприятия", "Обучающихся", "Пользователей библиотек",
    "Охват обучающихся", "Библиотечный фонд", "Читаемость", "Обращаемость фонда", "Среднее число зон ИБЦ в ОО",
    "Сотрудников библиотек", "Педагоги-библиотекари с КПК за последние 3 года",
)
# These describe the collection itself, so the two campaigns are compared as wholes; every other figure is
# compared only over the schools accepted in both years (the same schools, not 14 against 13 others).
CAMPAIGN_FIGURES = ("Принято отчётов", "Доля принятых отчётов", "Приняты в срок")
SCHOOL_INDICATORS = ("P02", "P04", "P05", "P06")


def key_figures(section_figures: list[Figure]) -> dict[str, Figure]:
    """The figures by their label."""
    return {figure.label: figure for figure in section_figures}


def both_years_text(schools: int) -> str:
    """«ОО, сдавшие отчёт в оба года: 12»: reads with any number."""
    return f"ОО, сдавшие отчёт в оба года: {ru_number(schools)}"


def build_dynamics(current: list[Figure], previous: list[Figure] | None, wide: pd.DataFrame,
                   previous_wide: pd.DataFrame | None, names: dict[str, str], both_years: int | None = None,
                   labels: dict[str, str] | None = None, units: dict[str, str] | None = None
                   ) -> tuple[Section, pd.DataFrame]:
    """Every key figure next to last campaign's, and each school's indicators next to its own last year.

    *both_years* is how many schools the data figures rest on (accepted in both campaigns); *labels* and
    *units* name the per-school indicators (code → short label, code → unit)."""
    if previous is None:
        return Section("Динамика к прошлому году", [], {}, [
            "Данных прошлой кампании нет: динамику можно будет оценить со следующего года."]), pd.DataFrame(
            columns=["figure", "previous", "current", "unit"])
    labels, units = labels or {}, units or {}
    before = key_figures(previous)
    same_schools = "" if both_years is None else both_years_text(both_years)
    figures = [Figure(figure.label, figure.value, figure.unit, figure.base, figure.of,
                      before[figure.label].value if figure.label in before else None, counts=figure.counts,
                      digits=figure.digits,
                      note="по кампании в целом" if figure.label in CAMPAIGN_FIGURES else same_schools)
               for figure in current if figure.label in DYNAMICS_FIGURES]
    comparable = [figure for figure in figures if figure.value is not None and figure.previous is not None]
    table = pd.DataFrame([{"Показатель": figure.label, "Ед. изм.": figure.unit, "Прошлый год": figure.previous,
                           "Текущий год": figure.value,
                           "Изменение": Change(figure.change, figure.unit, figure.digits, with_unit=False)}
                          for figure in comparable])
    chart = pd.DataFrame([{"figure": figure.label, "previous": figure.previous, "current": figure.value,
                           "unit": figure.unit} for figure in comparable],
                         columns=["figure", "previous", "current", "unit"])
    tables = {"Ключевые показатели к прошлому году": table}
    if previous_wide is not None and len(previous_wide.columns):
        tables["Показатели ОО к их прошлому году"] = school_changes(wide, previous_wide, names, labels, units)
    notes = []
    if both_years is not None:
        notes.append("Показатели сбора отчётов сравниваются по кампаниям в целом; остальные — только по ОО, "
                     f"сдавшим отчёт в оба года ({ru_number(both_years)}\u00a0ОО), поэтому они могут отличаться "
                     "от приведённых в разделах выше. Изменение долей дано в процентных пунктах (п.\u00a0п.).")
    return Section("Динамика к прошлому году", figures, tables, notes), chart


def school_changes(wide: pd.DataFrame, previous_wide: pd.DataFrame, names: dict[str, str],
                   labels: dict[str, str], units: dict[str, str]) -> pd.DataFrame:
    """Each school's main counts next to its own last year, the change in the indicator's unit."""
    rows = []
    for code in SCHOOL_INDICATORS:
        if code not in wide or code not in previous_wide:
            continue
        for school in wide.index:
            now, then = wide.at[school, code], previous_wide[code].get(school)
            if pd.notna(now) and then is not None and pd.notna(then):
                rows.append({"Код ОО": school, "Наименование": names.get(school, ""),
                             "Показатель": labels.get(code, code), "Прошлый год": then, "Текущий год": now,
                             "Изменение": Change(now - then, units.get(code, ""))})
    return pd.DataFrame(rows)
