"""Aggregate a campaign's accepted data into the figures and tables of the final report (pure pandas).

Conventions the renderer relies on: a table column whose name ends in «%» holds a share 0–1; a Figure
with unit «%» holds a share 0–1 too. Every figure carries its base (how many schools it rests on).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.collect.status import CampaignStatus
from pipeline.district.register import School
from pipeline.district.roadmap import Campaign, District
from pipeline.report.model import Figure, Section, YearReport

STATUSES = ("выполнено", "выполнено ранее", "в работе", "не выполнено", "не требуется")
DONE = ("выполнено", "выполнено ранее")
OPEN = ("в работе", "не выполнено")
NOT_REQUIRED = "не требуется"
REGULATION_ITEMS = ("1.1", "1.3", "1.4а", "1.4б")
# Robust outliers: |0,6745·(x − median)/MAD| > 3,5 (Iglewicz & Hoaglin), only with enough schools.
OUTLIER_Z = 3.5
OUTLIER_MIN_SCHOOLS = 8
RATIOS = {  # name → (numerator, denominator, factor); REPORT_FORMAT §3.6
    "Охват обучающихся, %": ("P03", "P01", 1.0),
    "Читаемость": ("P05", "P02", 1.0),
    "Посещаемость": ("P04", "P02", 1.0),
    "Обращаемость фонда": ("P05", "P06", 1.0),
    "Книгообеспеченность": ("P06", "P02", 1.0),
    "Обновляемость фонда, %": ("P09", "P06", 1.0),
    "Доля учебников в фонде, %": ("P07", "P06", 1.0),
}
# The figures compared with last year: the ones a head of department asks about, not every box.
DYNAMICS_FIGURES = (
    "Принято отчётов", "Доля принятых отчётов", "Приняты в срок", "Средний индекс внедрения",
    "ОО, выполнившие все применимые мероприятия", "Обучающихся (P01)", "Пользователей библиотек (P02)",
    "Охват обучающихся", "Библиотечный фонд (P06)", "Читаемость", "Обращаемость фонда", "Среднее число зон ИБЦ",
    "Сотрудников библиотек", "КПК за последние 3 года: педагоги-библиотекари",
)
KEY_RATIOS = ("Читаемость", "Посещаемость", "Обращаемость фонда", "Книгообеспеченность")
ZONES = ("P19.1", "P19.2", "P19.3", "P19.4", "P19.5", "P19.6", "P19.7")
TOTALLED = ("P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08", "P09", "P10", "P12", "P13", "P14", "P15",
            "P16", "P20", "P21")


@dataclass(frozen=True)
class CampaignData:
    """One campaign as stored: its status and its current accepted data (ledger.accepted_frames)."""

    campaign: Campaign
    status: CampaignStatus
    frames: dict[str, pd.DataFrame]


def accepted_schools(status: CampaignStatus) -> list[str]:
    return [school.code for school in status.schools if school.state in ("on_time", "late")]


def _expected_only(frame: pd.DataFrame, schools: list[str]) -> pd.DataFrame:
    # Only expected schools count: a later-closed school's old data must not inflate a figure.
    return frame[frame["school"].isin(schools)] if len(frame) else frame


def share(part: float, whole: float) -> float | None:
    return None if not whole else part / whole




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




def item_statuses(items: pd.DataFrame, schools: list[str], district: District) -> pd.DataFrame:
    """School × item status among accepted schools ("" where a school has no row for an item)."""
    codes = [item.code for item in district.items]
    if not len(items):
        return pd.DataFrame(index=pd.Index(schools, name="school"), columns=codes).fillna("")
    matrix = items.pivot_table(index="school", columns="item", values="status", aggfunc="first")
    return matrix.reindex(index=schools, columns=codes).fillna("").rename_axis(index="school", columns=None)


def status_counts(matrix: pd.DataFrame) -> pd.DataFrame:
    """Per item, the number of schools in each status."""
    counts = {code: matrix[code].value_counts() for code in matrix.columns}
    frame = pd.DataFrame(counts).T.reindex(columns=list(STATUSES)).fillna(0).astype(int)
    frame.index.name = "item"
    return frame


def implementation_index(matrix: pd.DataFrame) -> pd.DataFrame:
    """Per school: items done / items applicable («не требуется» leaves the denominator)."""
    done = matrix.isin(DONE).sum(axis=1)
    applicable = (matrix.ne(NOT_REQUIRED) & matrix.ne("")).sum(axis=1)
    frame = pd.DataFrame({"school": matrix.index, "done": done.to_numpy(), "applicable": applicable.to_numpy()})
    frame["index"] = frame["done"] / frame["applicable"].replace(0, np.nan)
    return frame


def overdue(items: pd.DataFrame, titles: pd.DataFrame, district: District, campaign: Campaign) -> pd.DataFrame:
    """Per item: done after its Срок, and still open when the report was filled after the Срок (R10)."""
    rows = []
    filled = titles.set_index("school")["filled_on"] if len(titles) else pd.Series(dtype=object)
    for item in district.items:
        due = item.due or campaign.period_end
        rows_of = items[items["item"] == item.code] if len(items) else items
        late_done = 0
        still_open = 0
        for record in rows_of.itertuples():
            if record.status in DONE and item.due and record.done_on is not None and record.done_on > due:
                late_done += 1
            filled_on = filled.get(record.school)
            if record.status in OPEN and filled_on is not None and filled_on > due:
                still_open += 1
        rows.append({"Код": item.code, "Мероприятие": item.title, "Срок": item.due_label,
                     "Выполнено с нарушением срока": late_done, "Просрочено (не выполнено)": still_open})
    return pd.DataFrame(rows)


def build_roadmap(items: pd.DataFrame, titles: pd.DataFrame, schools: list[str], district: District,
                  campaign: Campaign, names: dict[str, str]) -> tuple[Section, pd.DataFrame, pd.DataFrame,
                                                                       pd.DataFrame]:
    matrix = item_statuses(items, schools, district)
    counts = status_counts(matrix)
    answered = counts.sum(axis=1)
    done = counts["выполнено"] + counts["выполнено ранее"]
    by_item = pd.DataFrame({
        "Код": counts.index,
        "Мероприятие": [district.item(code).title for code in counts.index],
        "Этап": [district.item(code).stage for code in counts.index],
        "Срок": [district.item(code).due_label for code in counts.index],
        **{status: counts[status].to_numpy() for status in STATUSES},
        "Выполнено, %": (done / answered.replace(0, np.nan)).to_numpy(),
    })
    stages = []
    for stage in sorted({item.stage for item in district.items}):
        codes = [item.code for item in district.items if item.stage == stage]
        stage_counts = counts.loc[codes].sum()
        total = stage_counts.sum()
        stages.append({"Этап": stage, **{f"{status}, %": share(stage_counts[status], total) for status in STATUSES}})
    index = implementation_index(matrix)
    index["name"] = index["school"].map(names)
    index = index.sort_values(["index", "school"], ascending=[False, True]).reset_index(drop=True)
    ranking = pd.DataFrame({
        "Место": range(1, len(index) + 1), "Код ОО": index["school"], "Наименование": index["name"],
        "Выполнено": index["done"], "Применимо": index["applicable"], "Индекс внедрения, %": index["index"]})
    n = len(schools)
    mean_index = float(index["index"].mean()) if n else None
    all_done = int((index["done"] == index["applicable"]).sum()) if n else 0
    figures = [
        Figure("Средний индекс внедрения", mean_index, "%", n, n),
        Figure("ОО, выполнившие все применимые мероприятия", all_done, "ОО", n, n),
    ]
    late = overdue(items, titles, district, campaign)
    tables = {"Статусы мероприятий дорожной карты": by_item, "Статусы по этапам": pd.DataFrame(stages),
              "Нарушения сроков": late, "Индекс внедрения по ОО": ranking}
    notes = [] if n else ["Принятых отчётов нет: выполнение дорожной карты оценить нельзя."]
    return Section("Выполнение дорожной карты", figures, tables, notes), counts, matrix, index[
        ["school", "name", "index", "done", "applicable"]]




def build_regulation(items: pd.DataFrame, schools: list[str], district: District,
                     names: dict[str, str]) -> Section:
    n = len(schools)
    figures = []
    for code in REGULATION_ITEMS:
        done = items[(items["item"] == code) & items["status"].isin(DONE)]["school"].nunique() if len(items) else 0
        figures.append(Figure(district.item(code).title, share(done, n), "%", n, n))
    documents = items[items["item"].isin(REGULATION_ITEMS) & items["status"].isin(DONE)] if len(items) else items
    details = pd.DataFrame({
        "Код ОО": documents["school"] if len(documents) else [],
        "Наименование": documents["school"].map(names) if len(documents) else [],
        "Мероприятие": documents["item"] if len(documents) else [],
        "Документ": documents["document"] if len(documents) else [],
        "Реквизиты": documents["document_details"] if len(documents) else [],
        "Дата": documents["done_on"] if len(documents) else [],
    }).sort_values(["Код ОО", "Мероприятие"]) if len(documents) else pd.DataFrame(
        columns=["Код ОО", "Наименование", "Мероприятие", "Документ", "Реквизиты", "Дата"])
    notes = [] if n else ["Принятых отчётов нет: сведений о нормативной базе нет."]
    return Section("Нормативная база", figures if n else [], {"Реквизиты документов": details}, notes)


def build_informing(items: pd.DataFrame, indicators: pd.DataFrame, schools: list[str], district: District,
                    names: dict[str, str]) -> tuple[Section, pd.DataFrame]:
    n = len(schools)
    website, publications = district.item_rules.website_item, district.item_rules.publications_item
    site_done = items[(items["item"] == website) & items["status"].isin(DONE)] if len(items) else items
    p22 = _indicator(indicators, "P22")
    p21 = _indicator(indicators, "P21")
    posts = items[items["item"] == publications] if len(items) else items
    figures = [
        Figure("ОО с разделом «Школьные ИБЦ» на сайте (мероприятие 2)", share(len(site_done), n), "%", n, n),
        Figure("Раздел «Школьные ИБЦ» на сайте (P22)", share(float((p22 == 1).sum()), p22.count()), "%",
               int(p22.count()), n),
        Figure("Публикаций о работе библиотекаря (мероприятие 4.1)",
               float(posts["quantity"].sum()) if len(posts) else 0, "", int(posts["quantity"].count()) if len(posts)
               else 0, n),
        Figure("Публикаций о работе библиотеки на сайте (P21)", float(p21.sum()), "", int(p21.count()), n),
    ]
    links = []
    for record in (items[items["item"].isin([website, publications])].itertuples() if len(items) else []):
        for link in (record.links or "").split():
            links.append({"Код ОО": record.school, "Наименование": names.get(record.school, ""),
                          "Мероприятие": record.item, "Ссылка": link})
    link_frame = pd.DataFrame(links, columns=["Код ОО", "Наименование", "Мероприятие", "Ссылка"])
    with_section = set(site_done["school"]) if len(site_done) else set()
    quantities = posts.dropna(subset=["quantity"]).groupby("school")["quantity"].first() if len(posts) else {}
    per_school = pd.DataFrame({
        "Код ОО": schools, "Наименование": [names.get(code, "") for code in schools],
        "Раздел на сайте": [("да" if code in with_section else "нет") for code in schools],
        "Публикаций (4.1)": [_float(quantities.get(code)) for code in schools],
        "Публикаций (P21)": [p21.get(code) for code in schools],
    })
    notes = [] if n else ["Принятых отчётов нет: сведений об информировании нет."]
    tables = {"Информирование по ОО": per_school, "Ссылки на разделы и публикации": link_frame}
    return Section("Информирование", figures if n else [], tables, notes), link_frame


def _float(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _indicator(indicators: pd.DataFrame, code: str) -> pd.Series:
    """One indicator as a Series indexed by school (missing values dropped)."""
    if not len(indicators):
        return pd.Series(dtype=float)
    rows = indicators[indicators["code"] == code]
    return pd.Series(rows["value"].to_numpy(dtype=float), index=rows["school"].to_numpy()).dropna()




def build_staff(staff: pd.DataFrame, courses: pd.DataFrame, schools: list[str]) -> Section:
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
    pedagogues = staff[staff["position"] == "педагог-библиотекарь"]
    others = staff[staff["position"] != "педагог-библиотекарь"]
    figures = [
        Figure("Сотрудников библиотек", len(staff), "чел.", reporting, n),
        Figure("Всего ставок", float(staff["rate"].sum()), "", reporting, n),
        Figure("КПК за последние 3 года: педагоги-библиотекари", share(float(pedagogues["kpk"].sum()),
               len(pedagogues)), "%", int(pedagogues["school"].nunique()), n),
        Figure("КПК за последние 3 года: остальные сотрудники", share(float(others["kpk"].sum()), len(others)),
               "%", int(others["school"].nunique()), n),
    ]
    tables = {"Сотрудники по должностям и характеру работы": positions, "Ставки по должностям": rates,
              "Образование сотрудников": education}
    if len(courses):
        trained = courses[["school", "person"]].drop_duplicates()
        figures += [
            Figure("Прошли обучение в отчётном периоде", len(trained), "чел.", int(courses["school"].nunique()), n),
            Figure("Часов обучения всего", float(courses["hours"].sum()), "ч", int(courses["school"].nunique()), n),
            Figure("Доля сотрудников, прошедших обучение в периоде", share(len(trained), len(staff)), "%",
                   reporting, n),
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


def build_awards(awards: pd.DataFrame, schools: list[str]) -> Section:
    if not len(awards):
        return Section("Поощрения", [], {}, ["Данных о поощрениях в принятых отчётах нет."])
    n = len(schools)
    reporting = int(awards["school"].nunique())
    levels = ["ОО", "муниципальный", "региональный", "федеральный"]
    table = pd.crosstab(awards["level"], awards["status"]).reindex(index=levels, fill_value=0)
    table = table.reindex(columns=["представлен", "получено"], fill_value=0).reset_index()
    table.columns = ["Уровень", "Представлено", "Получено"]
    kinds = awards["kind"].value_counts().rename_axis("Вид поощрения").reset_index(name="Число")
    figures = [Figure("Представлений к поощрению", int((awards["status"] == "представлен").sum()), "", reporting, n),
               Figure("Получено поощрений", int((awards["status"] == "получено").sum()), "", reporting, n)]
    return Section("Поощрения", figures, {"Поощрения по уровням": table, "Поощрения по видам": kinds})




def indicator_table(indicators: pd.DataFrame, schools: list[str]) -> pd.DataFrame:
    """Schools × indicator codes (floats; да/нет as 1/0)."""
    if not len(indicators):
        return pd.DataFrame(index=pd.Index(schools, name="school"))
    wide = indicators.pivot_table(index="school", columns="code", values="value", aggfunc="first")
    return wide.reindex(index=schools).astype(float)


def ratios(wide: pd.DataFrame) -> pd.DataFrame:
    """Derived ratios per school (never entered by schools); percentages as shares 0–1."""
    result = pd.DataFrame(index=wide.index)
    for name, (numerator, denominator, factor) in RATIOS.items():
        if numerator in wide and denominator in wide:
            result[name] = wide[numerator] * factor / wide[denominator].where(wide[denominator] > 0)
        else:
            result[name] = np.nan
    zone_columns = [code for code in ZONES if code in wide]
    result["Зон ИБЦ"] = wide[zone_columns].sum(axis=1, min_count=1) if zone_columns else np.nan
    return result


def district_ratios(wide: pd.DataFrame) -> dict[str, float | None]:
    """District-level ratios from totals over schools having both values (not a mean of school ratios)."""
    values = {}
    for name, (numerator, denominator, factor) in RATIOS.items():
        if numerator not in wide or denominator not in wide:
            values[name] = None
            continue
        both = wide[[numerator, denominator]].dropna()
        values[name] = share(float(both[numerator].sum()) * factor, float(both[denominator].sum()))
    return values


def robust_outliers(values: pd.Series) -> pd.Series:
    """Flags of values far from the median in MADs; all False when too few values or no spread."""
    clean = values.dropna()
    flags = pd.Series(False, index=values.index)
    if len(clean) < OUTLIER_MIN_SCHOOLS:
        return flags
    median = clean.median()
    mad = (clean - median).abs().median()
    if not mad:
        return flags
    score = 0.6745 * (clean - median) / mad
    flags.loc[score.index] = score.abs() > OUTLIER_Z
    return flags


def build_library(indicators: pd.DataFrame, schools: list[str], district: District,
                  names: dict[str, str]) -> tuple[Section, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    n = len(schools)
    wide = indicator_table(indicators, schools)
    derived = ratios(wide)
    rows = []
    for indicator in district.indicators:
        column = wide[indicator.code] if indicator.code in wide else pd.Series(dtype=float)
        base = int(column.count())
        if indicator.kind == "yes_no":
            rows.append({"Код": indicator.code, "Показатель": indicator.name, "Ед. изм.": "доля ОО «да», %",
                         "Значение": share(float((column == 1).sum()), base), "Данные ОО": base})
        elif indicator.code in TOTALLED:
            rows.append({"Код": indicator.code, "Показатель": indicator.name, "Ед. изм.": indicator.unit,
                         "Значение": float(column.sum()) if base else None, "Данные ОО": base})
        else:  # P11 is a percentage per school: its median is the district figure, as a share 0–1
            median = float(column.median()) / 100 if base else None
            rows.append({"Код": indicator.code, "Показатель": indicator.name + " (медиана)",
                         "Ед. изм.": indicator.unit, "Значение": median, "Данные ОО": base})
    totals = pd.DataFrame(rows)
    district_values = district_ratios(wide)
    ratio_rows = [{"Показатель": name, "Ед. изм.": "%" if name.endswith("%") else "", "Значение": value,
                   "Медиана по ОО": float(derived[name].median()) if derived[name].count() else None,
                   "Данные ОО": int(derived[name].count())} for name, value in district_values.items()]
    ratio_table = pd.DataFrame(ratio_rows)
    zones = pd.DataFrame([{"Зона": indicator.name.removeprefix("Зона ИБЦ: "),
                           "ОО с зоной": int((wide[indicator.code] == 1).sum()) if indicator.code in wide else 0,
                           "Доля ОО, %": share(float((wide[indicator.code] == 1).sum()),
                                               float(wide[indicator.code].count()))
                           if indicator.code in wide else None}
                          for indicator in district.indicators if indicator.code in ZONES])
    outlier_rows = []
    for name in (*KEY_RATIOS, "Охват обучающихся, %", "Обновляемость фонда, %"):
        flags = robust_outliers(derived[name])
        median = derived[name].median()
        for school in flags[flags].index:
            outlier_rows.append({"Код ОО": school, "Наименование": names.get(school, ""), "Показатель": name,
                                 "Ед. изм.": "%" if name.endswith("%") else "",
                                 "Значение ОО": derived.at[school, name], "Медиана по району": median})
    outliers = pd.DataFrame(outlier_rows, columns=["Код ОО", "Наименование", "Показатель", "Ед. изм.",
                                                   "Значение ОО", "Медиана по району"])
    per_school = pd.concat([wide.reindex(columns=[code for code in TOTALLED if code in wide]), derived], axis=1)
    per_school.insert(0, "Наименование", [names.get(code, "") for code in per_school.index])
    per_school = per_school.reset_index().rename(columns={"school": "Код ОО"})
    reporting = int(wide.notna().any(axis=1).sum()) if len(wide.columns) else 0
    figures = [
        Figure("Обучающихся (P01)", _sum(wide, "P01"), "чел.", _base(wide, "P01"), n),
        Figure("Пользователей библиотек (P02)", _sum(wide, "P02"), "чел.", _base(wide, "P02"), n),
        Figure("Охват обучающихся", district_values["Охват обучающихся, %"], "%", _base(wide, "P03"), n),
        Figure("Библиотечный фонд (P06)", _sum(wide, "P06"), "экз.", _base(wide, "P06"), n),
        Figure("Читаемость", district_values["Читаемость"], "", _base(wide, "P05"), n),
        Figure("Обращаемость фонда", district_values["Обращаемость фонда"], "", _base(wide, "P05"), n),
        Figure("Среднее число зон ИБЦ", float(derived["Зон ИБЦ"].mean()) if derived["Зон ИБЦ"].count() else None,
               "", int(derived["Зон ИБЦ"].count()), n),
    ]
    notes = []
    if not reporting:
        notes.append("В принятых отчётах нет показателей библиотек.")
    if len(outliers):
        notes.append("Отмечены значения, далёкие от медианы по району: их стоит проверить вместе с ОО.")
    elif n < OUTLIER_MIN_SCHOOLS:
        notes.append(f"Выбросы не оцениваются: отчётов меньше {OUTLIER_MIN_SCHOOLS}.")
    tables = {"Показатели библиотек по району": totals, "Относительные показатели": ratio_table,
              "Зоны ИБЦ": zones, "Значения, требующие проверки": outliers, "Показатели по ОО": per_school}
    key = derived[list(KEY_RATIOS)].copy()
    return Section("Ресурсы и деятельность библиотек", figures if reporting else [], tables, notes), key, \
        wide, derived


def _sum(wide: pd.DataFrame, code: str) -> float | None:
    return float(wide[code].sum()) if code in wide and wide[code].count() else None


def _base(wide: pd.DataFrame, code: str) -> int:
    return int(wide[code].count()) if code in wide else 0


def key_figures(section_figures: list[Figure]) -> dict[str, Figure]:
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
    missing = [school.code for school in status.schools if school.state in ("missing", "rejected")]
    if missing:
        sentences.append("Требуют внимания ОО без принятого отчёта: "
                         + _codes(missing, "ОО без принятого отчёта") + ".")
    if lagging:
        sentences.append("Индекс внедрения ниже 50 % у ОО: " + _codes(lagging, "Индекс внедрения по ОО") + ".")
    if len(outliers):
        sentences.append("Значения показателей, требующие проверки, есть у ОО: "
                         + _codes(sorted(set(outliers["Код ОО"])), "Значения, требующие проверки") + ".")
    return sentences


# A conclusion names schools while the list reads as a sentence; a region's would run for pages.
CONCLUSION_CODES = 30


def _codes(codes: list[str], svod_sheet: str) -> str:
    """Codes for a sentence: all of them, or the first ones, how many there are, and where the rest are."""
    if len(codes) <= CONCLUSION_CODES:
        return ", ".join(codes)
    number = f"{len(codes):,}".replace(",", "\u00a0")  # Russian thousands: 4 012
    return (f"{number}, в том числе {', '.join(codes[:CONCLUSION_CODES])} "
            f"(полный список — в своде svod.xlsx, лист «{svod_sheet}»)")


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
    staff = build_staff(frames["staff"], frames["courses"], schools)
    awards = build_awards(frames["awards"], schools)
    library, key, wide, derived = build_library(frames["indicators"], schools, district, names)
    this_year = coverage.figures + roadmap.figures + library.figures + staff.figures
    previous_figures = previous_wide = None
    if previous is not None and accepted_schools(previous.status):
        before = build_year_report(district, register, previous, None, warnings.iloc[0:0], files_used.iloc[0:0],
                                   generated_at)
        previous_figures = (before.coverage.figures + before.roadmap.figures + before.library.figures
                            + before.staff.figures)
        previous_schools = accepted_schools(previous.status)
        previous_wide = indicator_table(_expected_only(previous.frames["indicators"], previous_schools),
                                        previous_schools)
    dynamics, year_over_year = build_dynamics(this_year, previous_figures, wide, previous_wide, names)
    outliers = library.tables["Значения, требующие проверки"]
    appendix = build_appendix(status, index, wide, derived)
    return YearReport(
        district=district.name, year=campaign.year, demo=district.demo, generated_at=generated_at,
        period=(campaign.period_start, campaign.period_end), deadline=campaign.deadline,
        expected=len(status.schools), accepted=len(schools), has_previous=previous_figures is not None,
        coverage=coverage, roadmap=roadmap, regulation=regulation, informing=informing, staff=staff,
        awards=awards, library=library, dynamics=dynamics,
        conclusions=build_conclusions(status, counts, index, outliers, district),
        status_by_item=counts, arrivals=arrivals, item_matrix=matrix, index_by_school=index,
        key_indicators=key, year_over_year=year_over_year, appendix_schools=appendix,
        appendix_warnings=warnings, appendix_links=links, files_used=files_used,
        window=(campaign.window_open, campaign.window_close),
    )


def build_appendix(status: CampaignStatus, index: pd.DataFrame, wide: pd.DataFrame,
                   derived: pd.DataFrame) -> pd.DataFrame:
    """One row per expected school: its state, index and main indicators."""
    labels = {"on_time": "в срок", "late": "с опозданием", "rejected": "отклонён", "missing": "не сдан"}
    by_school = index.set_index("school")["index"]
    rows = []
    for school in status.schools:
        code = school.code
        rows.append({
            "Код ОО": code, "Наименование": school.name, "Отчёт": labels[school.state],
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
