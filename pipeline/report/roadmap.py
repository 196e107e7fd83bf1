"""Aggregate the roadmap items: statuses, implementation index, deadlines, and the regulation and informing sections."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.district.roadmap import Campaign, District
from pipeline.report.library import indicator_values
from pipeline.report.model import Figure, Section, share

# The five statuses of a roadmap item (REPORT_FORMAT §3.2), in the order a reader scans them.
STATUSES = ("выполнено", "выполнено ранее", "в работе", "не выполнено", "не требуется")
DONE = ("выполнено", "выполнено ранее")
OPEN = ("в работе", "не выполнено")
NOT_REQUIRED = "не требуется"
REGULATION_ITEMS = ("1.1", "1.3", "1.4а", "1.4б")


def item_statuses(items: pd.DataFrame, schools: list[str], district: District) -> pd.DataFrame:
    """School × item status among accepted schools ("" where a school has no row for an item)."""
    codes = [item.code for item in district.items]
    if not len(items):
        return pd.DataFrame(index=pd.Index(schools, name="school"), columns=codes).fillna("")
    matrix = items.pivot_table(index="school", columns="item", values="status", aggfunc="first")
    # An item nobody answered reindexes as a float column of NaN: text first, so "" fills it (pandas 4 refuses).
    matrix = matrix.reindex(index=schools, columns=codes).astype(object)
    return matrix.fillna("").rename_axis(index="school", columns=None)


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
    """The roadmap section, and the status counts, status matrix and index by school the charts draw."""
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
    """Share of schools with each regulation document adopted (items 1.1, 1.3, 1.4а, 1.4б), and their details."""
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
    """The informing section (website section, publications) and every link the schools gave."""
    n = len(schools)
    website, publications = district.item_rules.website_item, district.item_rules.publications_item
    site_done = items[(items["item"] == website) & items["status"].isin(DONE)] if len(items) else items
    p22 = indicator_values(indicators, "P22")
    p21 = indicator_values(indicators, "P21")
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
