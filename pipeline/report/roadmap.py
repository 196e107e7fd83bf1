"""Aggregate the roadmap items: statuses, implementation index, deadlines, and the regulation and informing sections."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.district.roadmap import Campaign, District
from pipeline.report.library import indicator_values
from pipeline.report.model import Figure, Section, Share, share

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


def done_shares(counts: pd.DataFrame) -> pd.DataFrame:
    """Per item: schools done (either kind), schools it applies to, the share done of those, and «не требуется»
    apart — the one rule for every share of the report: «не требуется» never enters the denominator."""
    done = counts["выполнено"] + counts["выполнено ранее"]
    applicable = counts[["выполнено", "выполнено ранее", "в работе", "не выполнено"]].sum(axis=1)
    return pd.DataFrame({"done": done, "applicable": applicable,
                         "share": done / applicable.replace(0, np.nan), "not_required": counts[NOT_REQUIRED]})


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
    shares = done_shares(counts)
    by_item = pd.DataFrame({
        "Код": counts.index,
        "Мероприятие": [district.item(code).title for code in counts.index],
        **{status: counts[status].to_numpy() for status in STATUSES},
        DONE_SHARE: [Share(done, applicable) for done, applicable in zip(shares["done"], shares["applicable"],
                                                                          strict=True)],
    })
    stages = [stage_shares(stage, counts.loc[[item.code for item in district.items if item.stage == stage]])
              for stage in sorted({item.stage for item in district.items})]
    index = implementation_index(matrix)
    index["name"] = index["school"].map(names)
    index = index.sort_values(["index", "school"], ascending=[False, True]).reset_index(drop=True)
    ranking = pd.DataFrame({
        "Место": range(1, len(index) + 1), "Код ОО": index["school"], "Наименование": index["name"],
        "Выполнено": index["done"], "Применимо": index["applicable"], "Индекс внедрения, %": index["index"]})
    n = len(schools)
    figures = index_figures(index, n)
    late = overdue(items, titles, district, campaign)
    tables = {"Статусы мероприятий дорожной карты": by_item, "Статусы по этапам": pd.DataFrame(stages),
              "Нарушения сроков": late, "Индекс внедрения по ОО": ranking}
    notes = [] if n else ["Принятых отчётов нет: выполнение дорожной карты оценить нельзя."]
    return Section("Выполнение дорожной карты", figures, tables, notes), counts, matrix, index[
        ["school", "name", "index", "done", "applicable"]]


# The header of a column of Share cells: the share and the counts it is made of.
DONE_SHARE = "Выполнено из применимых, %"


def stage_shares(stage: str, counts: pd.DataFrame) -> dict[str, object]:
    """One stage's row: each status's share of the applicable marks (school × item), «не требуется» counted apart."""
    totals = counts.sum()
    applicable = int(sum(totals[status] for status in STATUSES if status != NOT_REQUIRED))
    return {"Этап": stage, "Применимых отметок": applicable,
            **{f"{status}, %": Share(int(totals[status]), applicable)
               for status in STATUSES if status != NOT_REQUIRED},
            NOT_REQUIRED: int(totals[NOT_REQUIRED])}


def index_figures(index: pd.DataFrame, n: int) -> list[Figure]:
    """The mean implementation index and the schools that did everything applicable, over the schools to
    which at least one item applies; the others are said apart."""
    applying = index[index["applicable"] > 0]
    outside = n - len(applying)
    note = f"без применимых мероприятий: {outside}\u00a0ОО" if outside else ""
    mean_index = float(applying["index"].mean()) if len(applying) else None
    all_done = int((applying["done"] == applying["applicable"]).sum())
    return [
        Figure("Средний индекс внедрения", mean_index, "%", len(applying), n, note=note),
        Figure("ОО, выполнившие все применимые мероприятия", all_done, "ОО", len(applying), n,
               counts=Share(all_done, len(applying)), note=note),
    ]


def item_share_figure(label: str, item_rows: pd.DataFrame, n: int) -> Figure:
    """The share of schools that did one item, of the schools it applies to; «не требуется» said apart."""
    by_school = item_rows.drop_duplicates("school") if len(item_rows) else item_rows
    statuses = by_school["status"] if len(by_school) else pd.Series(dtype=object)
    done = int(statuses.isin(DONE).sum())
    applicable = int(statuses.isin(DONE + OPEN).sum())
    not_required = int((statuses == NOT_REQUIRED).sum())
    note = f"не требуется: {not_required}\u00a0ОО" if not_required else ""
    return Figure(label, share(done, applicable), "%", len(by_school), n, counts=Share(done, applicable), note=note)


def build_regulation(items: pd.DataFrame, schools: list[str], district: District,
                     names: dict[str, str]) -> Section:
    """Share of schools with each regulation document adopted (items 1.1, 1.3, 1.4а, 1.4б), and their details."""
    n = len(schools)
    figures = [item_share_figure(district.item(code).title, items[items["item"] == code] if len(items) else items,
                                 n) for code in REGULATION_ITEMS]
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
    with_site = int((p22 == 1).sum())
    figures = [
        # One school may give several rows (links) for item 2: count schools, not rows.
        item_share_figure("ОО с разделом «Школьные ИБЦ» на сайте (мероприятие 2)",
                          items[items["item"] == website] if len(items) else items, n),
        Figure("Раздел «Школьные ИБЦ» на сайте (по показателям библиотеки)", share(with_site, p22.count()), "%",
               int(p22.count()), n, counts=Share(with_site, int(p22.count()))),
        Figure("Публикации о работе библиотекаря (мероприятие 4.1)",
               float(posts["quantity"].sum()) if len(posts) else 0, "публикация",
               int(posts["quantity"].count()) if len(posts) else 0, n),
        Figure("Публикации о работе библиотеки на сайте ОО", float(p21.sum()), "публикация", int(p21.count()), n),
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
        "Публикаций о библиотекаре (4.1)": [_float(quantities.get(code)) for code in schools],
        "Публикаций о библиотеке": [p21.get(code) for code in schools],
    })
    notes = [] if n else ["Принятых отчётов нет: сведений об информировании нет."]
    tables = {"Информирование по ОО": per_school, "Ссылки на разделы и публикации": link_frame}
    return Section("Информирование", figures if n else [], tables, notes), link_frame


def _float(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
