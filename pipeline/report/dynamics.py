"""Compare a campaign with the previous one: key figures and each school's indicators against last year."""

from __future__ import annotations

import pandas as pd

from pipeline.report.model import Figure, Section, share

# The figures compared with last year: the ones a head of department asks about, not every box.
DYNAMICS_FIGURES = (
    "Принято отчётов", "Доля принятых отчётов", "Приняты в срок", "Средний индекс внедрения",
    "ОО, выполнившие все применимые мероприятия", "Обучающихся (P01)", "Пользователей библиотек (P02)",
    "Охват обучающихся", "Библиотечный фонд (P06)", "Читаемость", "Обращаемость фонда", "Среднее число зон ИБЦ",
    "Сотрудников библиотек", "КПК за последние 3 года: педагоги-библиотекари",
)


def key_figures(section_figures: list[Figure]) -> dict[str, Figure]:
    """The figures by their label."""
    return {figure.label: figure for figure in section_figures}


def build_dynamics(current: list[Figure], previous: list[Figure] | None, wide: pd.DataFrame,
                   previous_wide: pd.DataFrame | None, names: dict[str, str]) -> tuple[Section, pd.DataFrame]:
    """Every key figure next to last campaign's, and each school's indicators next to its own last year."""
    if previous is None:
        return Section("Динамика к прошлому году", [], {}, [
            "Данных прошлой кампании нет: динамику можно будет оценить со следующего года."]), pd.DataFrame(
            columns=["figure", "previous", "current", "unit"])
    before = key_figures(previous)
    figures = [Figure(figure.label, figure.value, figure.unit, figure.base, figure.of,
                      before[figure.label].value if figure.label in before else None)
               for figure in current if figure.label in DYNAMICS_FIGURES]
    comparable = [figure for figure in figures if figure.value is not None and figure.previous is not None]
    table = pd.DataFrame([{"Показатель": figure.label, "Прошлый год": figure.previous, "Текущий год": figure.value,
                           "Изменение": figure.change, "Ед. изм.": figure.unit} for figure in comparable])
    chart = pd.DataFrame([{"figure": figure.label, "previous": figure.previous, "current": figure.value,
                           "unit": figure.unit} for figure in comparable],
                         columns=["figure", "previous", "current", "unit"])
    tables = {"Ключевые показатели к прошлому году": table}
    if previous_wide is not None and len(previous_wide.columns):
        rows = []
        for code in ("P02", "P04", "P05", "P06"):
            if code not in wide or code not in previous_wide:
                continue
            for school in wide.index:
                now, then = wide.at[school, code], previous_wide[code].get(school)
                if pd.notna(now) and then is not None and pd.notna(then):
                    rows.append({"Код ОО": school, "Наименование": names.get(school, ""), "Показатель": code,
                                 "Прошлый год": then, "Текущий год": now,
                                 "Изменение, %": share(now - then, then)})
        tables["Показатели ОО к их прошлому году"] = pd.DataFrame(rows)
    return Section("Динамика к прошлому году", figures, tables), chart
