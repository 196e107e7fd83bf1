"""Aggregate the library staff: positions, rates, education, training in the period, and awards."""

from __future__ import annotations

import pandas as pd

from pipeline.report.model import Figure, Section, Share, share

PEOPLE = "чел."
PEDAGOGUE = "педагог-библиотекарь"
UNTRAINED_TABLE = "Сотрудники без КПК по ОО"  # the recommendations on training point at it in svod.xlsx


def build_staff(staff: pd.DataFrame, courses: pd.DataFrame, schools: list[str],
                names: dict[str, str] | None = None) -> Section:
    """Staff by position and employment, rates, education, who lacks training by school, and training in the period."""
    n = len(schools)
    reporting = staff["school"].nunique() if len(staff) else 0
    if not len(staff):
        return Section("Кадры и повышение квалификации", [], {},
                       ["В принятых отчётах нет сведений о сотрудниках библиотек."])
    positions = pd.crosstab(staff["position"], staff["employment"], margins=True, margins_name="Всего")
    positions = positions.reset_index().rename(columns={"position": "Должность"})
    positions.columns.name = None
    rates = staff.groupby("position", as_index=False)["rate"].sum().rename(
        columns={"position": "Должность", "rate": "Ставок"})
    education = staff["education"].value_counts().rename_axis("Образование").reset_index(name="Сотрудников")
    pedagogues = staff[staff["position"] == PEDAGOGUE]
    others = staff[staff["position"] != PEDAGOGUE]
    figures = [
        Figure("Сотрудников библиотек", len(staff), PEOPLE, reporting, n),
        Figure("Всего ставок", float(staff["rate"].sum()), "ставка", reporting, n, digits=2),
        people_share("Педагоги-библиотекари с КПК за последние 3 года", pedagogues, "kpk", n),
        people_share("Остальные сотрудники с КПК за последние 3 года", others, "kpk", n),
    ]
    tables = {"Сотрудники по должностям и характеру работы": positions, "Ставки по должностям": rates,
              "Образование сотрудников": education}
    untrained = untrained_by_school(staff, names or {})
    if len(untrained):
        tables[UNTRAINED_TABLE] = untrained
    if len(courses):
        trained = courses[["school", "person"]].drop_duplicates()
        figures += [
            Figure("Прошли обучение в отчётном периоде", len(trained), PEOPLE, int(courses["school"].nunique()), n),
            Figure("Часов обучения всего", float(courses["hours"].sum()), "ч", int(courses["school"].nunique()), n),
            Figure("Доля сотрудников, прошедших обучение в периоде", share(len(trained), len(staff)), "%",
                   reporting, n, counts=Share(len(trained), len(staff), PEOPLE)),
        ]
        programmes = courses.groupby("programme", as_index=False).agg(
            people=("person", "count"), hours=("hours", "sum")).rename(
            columns={"programme": "Вид программы", "people": "Обучений", "hours": "Часов"})
        tables["Повышение квалификации по видам программ"] = programmes
        organisations = courses["organisation"].value_counts().rename_axis("Организация").reset_index(
            name="Обучений")
        tables["Организации, проводившие обучение"] = organisations
    notes = [] if len(courses) else ["Сведений о повышении квалификации в отчётном периоде нет."]
    return Section("Кадры и повышение квалификации", figures, tables, notes)


def untrained_by_school(staff: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Schools with staff who have no КПК in the last 3 years: how many, and how many of them pedagogues."""
    without = staff[~staff["kpk"].eq(True)]
    counts = without.groupby("school").agg(people=("position", "size"),
                                           pedagogues=("position", lambda position: int((position == PEDAGOGUE).sum())))
    return pd.DataFrame({"Код ОО": counts.index, "Наименование": [names.get(code, "") for code in counts.index],
                         "Без КПК, чел.": counts["people"].to_numpy(),
                         "Из них педагоги-библиотекари, чел.": counts["pedagogues"].to_numpy()})


def people_share(label: str, people: pd.DataFrame, flag: str, n: int) -> Figure:
    """The share of *people* with *flag* set: its base is people («6 из 7 чел.»), found in so many of *n* schools."""
    flagged = int(people[flag].sum()) if len(people) else 0
    schools = int(people["school"].nunique()) if len(people) else 0
    return Figure(label, share(flagged, len(people)), "%", schools, n, counts=Share(flagged, len(people), PEOPLE))


def build_awards(awards: pd.DataFrame, schools: list[str]) -> Section:
    """Awards proposed and received, by level and by kind."""
    if not len(awards):
        return Section("Поощрения", [], {}, ["Данных о поощрениях в принятых отчётах нет."])
    n = len(schools)
    reporting = int(awards["school"].nunique())
    levels = ["ОО", "муниципальный", "региональный", "федеральный"]
    table = pd.crosstab(awards["level"], awards["status"]).reindex(index=levels, fill_value=0)
    table = table.reindex(columns=["представлен", "получено"], fill_value=0).reset_index()
    table.columns = ["Уровень", "Представлено", "Получено"]
    kinds = awards["kind"].value_counts().rename_axis("Вид поощрения").reset_index(name="Число")
    # The unit is a noun agreeing with the number: «3 представления», «1 поощрение».
    figures = [Figure("Представлено к поощрению", int((awards["status"] == "представлен").sum()), "представление",
                      reporting, n),
               Figure("Получено", int((awards["status"] == "получено").sum()), "поощрение", reporting, n)]
    return Section("Поощрения", figures, {"Поощрения по уровням": table, "Поощрения по видам": kinds})

