"""Aggregation on its own: small frames shaped like ledger.accepted_frames in, the report's numbers out.

Every expected number below is worked out by hand in the comment next to it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipeline.collect.status import CampaignStatus, SubmissionFact, build_status
from pipeline.district.register import School
from pipeline.district.roadmap import District
from pipeline.report.aggregate import CampaignData, build_year_report
from pipeline.report.coverage import build_coverage
from pipeline.report.dynamics import build_dynamics
from pipeline.report.library import build_library, district_ratios, indicator_table, ratios, robust_outliers
from pipeline.report.model import Change, Figure, Section, Share
from pipeline.report.roadmap import (
    build_informing,
    build_regulation,
    build_roadmap,
    implementation_index,
    item_statuses,
    status_counts,
)
from pipeline.report.staff import UNTRAINED_TABLE, build_awards, build_staff

A, B, C = "70-001", "70-002", "70-003"
NAMES = {A: "МБОУ «СОШ № 1»", B: "МБОУ «СОШ № 2»", C: "МБОУ «СОШ № 3»"}
COLUMNS = {  # the columns ledger.accepted_frames gives each frame (without submission_id and year)
    "title": ["school", "filled_on"],
    "items": ["school", "item", "status", "done_on", "document", "document_details", "quantity", "links"],
    "staff": ["school", "person", "position", "rate", "employment", "education", "kpk"],
    "courses": ["school", "person", "programme", "organisation", "hours"],
    "awards": ["school", "person", "kind", "level", "status"],
    "indicators": ["school", "code", "value"],
}
FILLED_ON = dt.date(2025, 5, 15)


def item(school: str, code: str, status: str, done_on: dt.date | None = None, **extra: Any) -> dict[str, Any]:
    """One roadmap row as the ledger stores it: no document, quantity or link unless given."""
    row = {"school": school, "item": code, "status": status, "done_on": done_on, "document": "",
           "document_details": "", "quantity": np.nan, "links": ""}
    return row | extra


def frame(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS[name])


def indicators(values: dict[str, dict[str, float]]) -> pd.DataFrame:
    """The long indicator frame from {school: {code: value}}."""
    return frame("indicators", [{"school": school, "code": code, "value": value}
                                for school, by_code in values.items() for code, value in by_code.items()])


def titles(*schools: str) -> pd.DataFrame:
    return frame("title", [{"school": school, "filled_on": FILLED_ON} for school in schools])


def figures(section: Section) -> dict[str, tuple[float | None, str, int, int]]:
    """Label → (value, unit, base, of): the figures flattened for one comparison."""
    return {figure.label: (figure.value, figure.unit, figure.base, figure.of) for figure in section.figures}


def campaign_status(district: District, year: int, arrivals: dict[str, tuple[str, dt.datetime] | None]
                    ) -> CampaignStatus:
    """Status of *year*'s campaign for schools → (submission status, arrival), None for a school with no file."""
    schools = [School(code, NAMES.get(code, code), "Тестовый район", (), "lib@example.ru", None, None)
               for code in arrivals]
    facts = [SubmissionFact(code, status, arrived, f"{code}.xlsx", 0, 0)
             for code, arrival in arrivals.items() if arrival is not None for status, arrived in [arrival]]
    return build_status(schools, facts, district.campaign(year), dt.datetime(year, 11, 5, 9, 0))


# School A: 1.1 done after its due date 30.06.2024, 1.2 done, 1.3 in progress, 3.2 not required.
# School B: 1.1 not done, 1.2 done, 1.4а done earlier on time, 2 in progress, 3.2 not required.
ROADMAP = frame("items", [
    item(A, "1.1", "выполнено", dt.date(2024, 9, 1)),
    item(A, "1.2", "выполнено", dt.date(2025, 2, 1)),
    item(A, "1.3", "в работе"),
    item(A, "3.2", "не требуется"),
    item(B, "1.1", "не выполнено"),
    item(B, "1.2", "выполнено", dt.date(2025, 3, 10)),
    item(B, "1.4а", "выполнено ранее", dt.date(2024, 5, 20)),
    item(B, "2", "в работе"),
    item(B, "3.2", "не требуется"),
])


def test_status_counts_count_each_items_schools_per_status(district: District) -> None:
    counts = status_counts(item_statuses(ROADMAP, [A, B], district))
    assert list(counts.columns) == ["выполнено", "выполнено ранее", "в работе", "не выполнено", "не требуется"]
    assert counts.to_dict("index") == {
        "1.1": {"выполнено": 1, "выполнено ранее": 0, "в работе": 0, "не выполнено": 1, "не требуется": 0},
        "1.2": {"выполнено": 2, "выполнено ранее": 0, "в работе": 0, "не выполнено": 0, "не требуется": 0},
        "1.3": {"выполнено": 0, "выполнено ранее": 0, "в работе": 1, "не выполнено": 0, "не требуется": 0},
        "1.4а": {"выполнено": 0, "выполнено ранее": 1, "в работе": 0, "не выполнено": 0, "не требуется": 0},
        "1.4б": {"выполнено": 0, "выполнено ранее": 0, "в работе": 0, "не выполнено": 0, "не требуется": 0},
        "2": {"выполнено": 0, "выполнено ранее": 0, "в работе": 1, "не выполнено": 0, "не требуется": 0},
        "3.1": {"выполнено": 0, "выполнено ранее": 0, "в работе": 0, "не выполнено": 0, "не требуется": 0},
        "3.2": {"выполнено": 0, "выполнено ранее": 0, "в работе": 0, "не выполнено": 0, "не требуется": 2},
        "4.1": {"выполнено": 0, "выполнено ранее": 0, "в работе": 0, "не выполнено": 0, "не требуется": 0},
        "4.2": {"выполнено": 0, "выполнено ранее": 0, "в работе": 0, "не выполнено": 0, "не требуется": 0},
    }


def test_item_statuses_leave_an_unanswered_item_blank_and_keep_a_school_without_rows(district: District) -> None:
    matrix = item_statuses(ROADMAP, [A, B, C], district)
    assert list(matrix.index) == [A, B, C]
    assert (matrix.at[A, "1.4а"], matrix.at[B, "1.4а"]) == ("", "выполнено ранее")
    assert set(matrix.loc[C]) == {""}


def test_implementation_index_is_done_over_applicable(district: District) -> None:
    index = implementation_index(item_statuses(ROADMAP, [A, B, C], district)).set_index("school")
    # A: done 1.1, 1.2 of applicable 1.1, 1.2, 1.3 (3.2 not required, the rest unanswered) = 2/3.
    # B: done 1.2, 1.4а of applicable 1.1, 1.2, 1.4а, 2 = 2/4.
    assert index.loc[A, ["done", "applicable"]].tolist() == [2, 3]
    assert index.loc[B, ["done", "applicable"]].tolist() == [2, 4]
    assert index.loc[A, "index"] == pytest.approx(2 / 3)
    assert index.loc[B, "index"] == 0.5
    # C answered nothing: nothing applicable, so no index at all (not 0 %).
    assert index.loc[C, ["done", "applicable"]].tolist() == [0, 0]
    assert math.isnan(index.loc[C, "index"])


def test_build_roadmap_figures_ranking_and_done_share(district: District) -> None:
    section, _, _, index = build_roadmap(ROADMAP, titles(A, B), [A, B], district, district.campaign(2025),
                                         NAMES)
    # Mean of 2/3 and 1/2 = 7/12; neither school has done everything applicable.
    assert figures(section) == {
        "Средний индекс внедрения": (pytest.approx(7 / 12), "%", 2, 2),
        "ОО, выполнившие все применимые мероприятия": (0, "ОО", 2, 2),
    }
    ranking = section.tables["Индекс внедрения по ОО"]
    assert ranking[["Место", "Код ОО", "Наименование", "Выполнено", "Применимо"]].values.tolist() == [
        [1, A, NAMES[A], 2, 3], [2, B, NAMES[B], 2, 4]]
    assert index[["school", "name"]].values.tolist() == [[A, NAMES[A]], [B, NAMES[B]]]
    by_item = section.tables["Статусы мероприятий дорожной карты"].set_index("Код")["Выполнено из применимых, %"]
    # Done (either kind) over the schools the item applies to: 1.1 1/2, 1.2 2/2, 1.3 0/1, 1.4а 1/1, 2 0/1;
    # 3.2 is «не требуется» for both, so it applies to nobody (not 0 of 2), and nobody answered 1.4б.
    assert by_item[["1.1", "1.2", "1.3", "1.4а", "2", "3.2", "1.4б"]].tolist() == [
        Share(1, 2), Share(2, 2), Share(0, 1), Share(1, 1), Share(0, 1), Share(0, 0), Share(0, 0)]
    assert by_item["3.2"].value is None


def test_build_roadmap_status_shares_per_stage(district: District) -> None:
    section, *_ = build_roadmap(ROADMAP, titles(A, B), [A, B], district, district.campaign(2025), NAMES)
    stages = section.tables["Статусы по этапам"].set_index("Этап")
    # Stage I (1.1–2) holds 7 applicable marks: 3 done, 1 done earlier, 2 in progress, 1 not done.
    assert stages.loc["I"].tolist() == [7, Share(3, 7), Share(1, 7), Share(2, 7), Share(1, 7), 0]
    # Stage II (3.1–4.2) holds the two «не требуется» of 3.2 only: shown apart, no share of nothing.
    assert stages.loc["II"].tolist() == [0, Share(0, 0), Share(0, 0), Share(0, 0), Share(0, 0), 2]


def test_build_roadmap_counts_missed_deadlines(district: District) -> None:
    section, *_ = build_roadmap(ROADMAP, titles(A, B), [A, B], district, district.campaign(2025), NAMES)
    late = section.tables["Нарушения сроков"].set_index("Код")
    counted = late[["Выполнено с нарушением срока", "Просрочено (не выполнено)"]]
    # 1.1 (due 30.06.2024): A finished it on 01.09.2024; B has not, and filled the report in May 2025.
    # 1.3 and 2 (same due date) are still in progress; 1.4а was done before its due date.
    assert counted[counted.sum(axis=1) > 0].to_dict("index") == {
        "1.1": {"Выполнено с нарушением срока": 1, "Просрочено (не выполнено)": 1},
        "1.3": {"Выполнено с нарушением срока": 0, "Просрочено (не выполнено)": 1},
        "2": {"Выполнено с нарушением срока": 0, "Просрочено (не выполнено)": 1},
    }


def test_build_regulation_shares_of_schools_with_each_document(district: District) -> None:
    section = build_regulation(ROADMAP, [A, B], district, NAMES)
    # 1.1 done by A of A and B; 1.3 by nobody of A (B has no row); 1.4а by B of B alone; 1.4б answered by nobody.
    assert [figure.value for figure in section.figures] == [0.5, 0.0, 1.0, None]
    assert [figure.counts for figure in section.figures] == [Share(1, 2), Share(0, 1), Share(1, 1), Share(0, 0)]
    assert [figure.label for figure in section.figures] == [district.item(code).title
                                                           for code in ("1.1", "1.3", "1.4а", "1.4б")]
    details = section.tables["Реквизиты документов"]
    assert details[["Код ОО", "Мероприятие"]].values.tolist() == [[A, "1.1"], [B, "1.4а"]]


def test_build_informing_website_publications_and_links(district: District) -> None:
    rows = frame("items", [
        item(A, "2", "выполнено", dt.date(2024, 3, 1), links="https://a.example.ru/ibc"),
        item(A, "4.1", "выполнено", dt.date(2025, 4, 1), quantity=3,
             links="https://a.example.ru/news/1 https://a.example.ru/news/2"),
        item(B, "2", "не выполнено"),
        item(B, "4.1", "выполнено", dt.date(2025, 4, 2), quantity=2),
    ])
    values = indicators({A: {"P21": 4, "P22": 1}, B: {"P21": 6, "P22": 0}})
    section, links = build_informing(rows, values, [A, B, C], district, NAMES)
    # Three schools expected; C sent neither roadmap rows nor indicators, so item 2 applies to A and B.
    assert figures(section) == {
        "ОО с разделом «Школьные ИБЦ» на сайте (мероприятие 2)": (0.5, "%", 2, 3),
        "Раздел «Школьные ИБЦ» на сайте (по показателям библиотеки)": (0.5, "%", 2, 3),
        "Публикации о работе библиотекаря (мероприятие 4.1)": (5.0, "публикация", 2, 3),
        "Публикации о работе библиотеки на сайте ОО": (10.0, "публикация", 2, 3),
    }
    assert links[["Код ОО", "Мероприятие", "Ссылка"]].values.tolist() == [
        [A, "2", "https://a.example.ru/ibc"], [A, "4.1", "https://a.example.ru/news/1"],
        [A, "4.1", "https://a.example.ru/news/2"]]
    per_school = section.tables["Информирование по ОО"].set_index("Код ОО")
    assert per_school["Раздел на сайте"].tolist() == ["да", "нет", "нет"]
    columns = ["Публикаций о библиотекаре (4.1)", "Публикаций о библиотеке"]
    assert per_school.loc[[A, B], columns].values.tolist() == [[3, 4], [2, 6]]
    assert per_school.loc[C, columns].isna().all()


# A and B report everything the ratios need; C has no registered users (P02) and fewer indicators.
LIBRARY = indicators({
    A: {"P01": 500, "P02": 100, "P03": 90, "P05": 500, "P06": 2000, "P11": 90, "P17": 1, "P19.1": 1, "P19.2": 1},
    B: {"P01": 400, "P02": 300, "P03": 240, "P05": 900, "P06": 3000, "P11": 100, "P17": 0, "P19.1": 0, "P19.2": 1},
    C: {"P01": 100, "P05": 50, "P06": 1000, "P19.1": 1},
})


def test_ratios_per_school_leave_a_missing_or_zero_denominator_empty() -> None:
    wide = indicator_table(indicators({A: {"P02": 100, "P05": 500}, B: {"P02": 0, "P05": 30}, C: {"P05": 50}}),
                           [A, B, C])
    reading = ratios(wide)["Читаемость"]
    assert reading[A] == 5.0
    assert reading[[B, C]].isna().all()


def test_district_ratios_divide_totals_over_schools_having_both_values() -> None:
    values = district_ratios(indicator_table(LIBRARY, [A, B, C]))
    # Reading: (500 + 900) / (100 + 300) = 3.5 — C's 50 issues have no users to divide by, and the
    # district figure is not the mean of the school ratios (5 and 3 would give 4).
    assert values["Читаемость"] == 3.5
    assert values["Охват обучающихся, %"] == pytest.approx(330 / 900)  # (90 + 240) / (500 + 400)
    assert values["Обращаемость фонда"] == pytest.approx(1450 / 6000)  # every school has P05 and P06
    assert values["Обновляемость фонда, %"] is None  # nobody reported P09: no column, no ratio


def test_build_library_totals_and_figures(district: District) -> None:
    section, key, _, derived = build_library(LIBRARY, [A, B, C], district, NAMES)
    found = figures(section)
    assert found["Обучающихся"] == (1000.0, "чел.", 3, 3)
    assert found["Пользователей библиотек"] == (400.0, "чел.", 2, 3)
    assert found["Библиотечный фонд"] == (6000.0, "экз.", 3, 3)
    assert found["Читаемость"][0] == 3.5
    assert found["Охват обучающихся"][0] == pytest.approx(330 / 900)
    # Zones per school: A 2, B 1, C 1 → 4/3 on average.
    assert found["Среднее число зон ИБЦ в ОО"] == (pytest.approx(4 / 3), "зона", 3, 3)
    assert derived["Зон ИБЦ"].tolist() == [2.0, 1.0, 1.0]
    assert list(key.columns) == ["Читаемость", "Посещаемость", "Обращаемость фонда", "Книгообеспеченность"]
    totals = section.tables["Показатели библиотек по району"].set_index("Показатель")
    name = {indicator.code: indicator.name for indicator in district.indicators}
    # P17 is yes/no: the share of «да» among the two schools that answered, with its counts.
    assert totals.loc[name["P17"], ["Ед. изм.", "Значение", "Данные ОО"]].tolist() == ["доля ОО «да», %",
                                                                                        Share(1, 2), 2]
    # P11 is a percentage per school: the district shows the median, 95 %, as a share.
    assert totals.loc[name["P11"] + " (медиана по ОО)", ["Значение", "Данные ОО"]].tolist() == [0.95, 2]
    assert totals.loc[name["P01"], ["Значение", "Данные ОО"]].tolist() == [1000.0, 3]
    zones = section.tables["Зоны ИБЦ"].set_index("Зона")["Доля ОО с зоной, % (n из N)"]
    assert zones[["абонемент (зона выдачи)", "читальная зона"]].tolist() == [Share(2, 3), Share(2, 2)]
    # No column is headed by a format code: the per-school table speaks Russian.
    assert not [column for column in section.tables["Показатели по ОО"].columns if str(column).startswith("P")]


@pytest.mark.parametrize(("values", "flagged"), [
    # Median 11,5, MAD 1: 100 scores 0,6745 · 88,5 ≈ 59,7 > 3,5; 10 scores ≈ 1,0.
    pytest.param([10, 10, 11, 11, 12, 12, 13, 100], [False] * 7 + [True], id="a value 60 MADs off is flagged"),
    pytest.param([10, 10, 11, 11, 12, 12, 100], [False] * 7, id="seven schools are too few to judge"),
    pytest.param([5] * 7 + [50], [False] * 8, id="no spread (MAD 0) flags nothing"),
])
def test_robust_outliers(values: list[float], flagged: list[bool]) -> None:
    assert robust_outliers(pd.Series(values, dtype=float)).tolist() == flagged


def test_build_staff_counts_rates_and_training() -> None:
    staff = frame("staff", [
        {"school": A, "person": "Сотрудник 1", "position": "педагог-библиотекарь", "rate": 1.0,
         "employment": "основной работник", "education": "высшее педагогическое", "kpk": True},
        {"school": A, "person": "Сотрудник 2", "position": "библиотекарь", "rate": 0.5,
         "employment": "внутренний совместитель", "education": "высшее педагогическое", "kpk": False},
        {"school": B, "person": "Сотрудник 1", "position": "педагог-библиотекарь", "rate": 0.75,
         "employment": "основной работник", "education": "высшее библиотечное", "kpk": False},
    ])
    courses = frame("courses", [
        {"school": A, "person": "Сотрудник 1", "programme": "повышение квалификации", "organisation": "ТОИПКРО",
         "hours": 36},
        {"school": A, "person": "Сотрудник 1", "programme": "семинар (без документа)", "organisation": "ТОИПКРО",
         "hours": 16},
    ])
    section = build_staff(staff, courses, [A, B, C])
    assert figures(section) == {
        "Сотрудников библиотек": (3, "чел.", 2, 3),
        "Всего ставок": (2.25, "ставка", 2, 3),
        "Педагоги-библиотекари с КПК за последние 3 года": (0.5, "%", 2, 3),  # 1 of 2
        "Остальные сотрудники с КПК за последние 3 года": (0.0, "%", 1, 3),  # 0 of 1
        "Прошли обучение в отчётном периоде": (1, "чел.", 1, 3),  # one person, two courses
        "Часов обучения всего": (52.0, "ч", 1, 3),
        "Доля сотрудников, прошедших обучение в периоде": (pytest.approx(1 / 3), "%", 2, 3),
    }
    # A share of people rests on people: «1 из 2 чел.», found in two schools.
    kpk = next(figure for figure in section.figures if figure.label.startswith("Педагоги-библиотекари"))
    base_line = "1\u00a0из\u00a02\u00a0чел., по данным 2\u00a0из\u00a03\u00a0ОО"
    assert (kpk.counts, kpk.base_line) == (Share(1, 2, "чел."), base_line)
    rates = section.tables["Ставки по должностям"].set_index("Должность")["Ставок"]
    assert rates.to_dict() == {"библиотекарь": 0.5, "педагог-библиотекарь": 1.75}
    # Who the training recommendations concern, by school: A's librarian, B's pedagogue.
    untrained = build_staff(staff, courses, [A, B, C], {A: "Школа А", B: "Школа Б"}).tables[UNTRAINED_TABLE]
    assert untrained.values.tolist() == [[A, "Школа А", 1, 0], [B, "Школа Б", 1, 1]]
    positions = section.tables["Сотрудники по должностям и характеру работы"].set_index("Должность")
    assert positions.loc["педагог-библиотекарь"].to_dict() == {"внутренний совместитель": 0, "основной работник": 2,
                                                               "Всего": 2}
    assert positions.loc["Всего"].to_dict() == {"внутренний совместитель": 1, "основной работник": 2, "Всего": 3}


def test_build_awards_by_level_and_status() -> None:
    awards = frame("awards", [
        {"school": A, "person": "Сотрудник 1", "kind": "благодарность", "level": "муниципальный",
         "status": "представлен"},
        {"school": A, "person": "Сотрудник 1", "kind": "почётная грамота", "level": "региональный",
         "status": "получено"},
        {"school": B, "person": "Сотрудник 1", "kind": "благодарность", "level": "муниципальный",
         "status": "получено"},
    ])
    section = build_awards(awards, [A, B, C])
    assert figures(section) == {"Представлено к поощрению": (1, "представление", 2, 3),
                                "Получено": (2, "поощрение", 2, 3)}
    assert section.tables["Поощрения по уровням"].values.tolist() == [
        ["ОО", 0, 0], ["муниципальный", 1, 1], ["региональный", 0, 1], ["федеральный", 0, 0]]


def test_build_coverage_counts_states_and_cumulative_arrivals(district: District) -> None:
    status = campaign_status(district, 2025, {
        A: ("accepted", dt.datetime(2025, 5, 10, 9, 0)),
        B: ("accepted", dt.datetime(2025, 10, 2, 8, 0)),  # the day after the deadline 01.10
        C: ("rejected", dt.datetime(2025, 6, 1, 9, 0)),
        "70-004": None,
    })
    section, arrivals = build_coverage(status)
    assert figures(section) == {
        "Ожидалось отчётов": (4, "ОО", 4, 4),
        "Принято отчётов": (2, "ОО", 4, 4),
        "Доля принятых отчётов": (0.5, "%", 4, 4),
        "Приняты в срок": (0.25, "%", 4, 4),
        "Отчёт принят с опозданием": (1, "ОО", 4, 4),
        "Отчёт отклонён": (1, "ОО", 4, 4),
        "Отчёт не сдан": (1, "ОО", 4, 4),
    }
    assert section.tables["ОО без принятого отчёта"]["Код ОО"].tolist() == [C, "70-004"]
    assert arrivals.values.tolist() == [[dt.date(2025, 5, 10), 1], [dt.date(2025, 10, 2), 2]]


def test_build_dynamics_compares_key_figures_and_each_schools_indicators() -> None:
    current = [Figure("Принято отчётов", 13, "ОО", 15, 15), Figure("Читаемость", 3.5, "", 2, 3),
               Figure("Охват обучающихся", 0.4, "%", 2, 3), Figure("Ожидалось отчётов", 15, "ОО", 15, 15)]
    previous = [Figure("Принято отчётов", 14, "ОО", 15, 15), Figure("Читаемость", None, "", 0, 15),
                Figure("Ожидалось отчётов", 15, "ОО", 15, 15)]
    wide = pd.DataFrame({"P02": [110.0, 300.0]}, index=pd.Index([A, B], name="school"))
    previous_wide = pd.DataFrame({"P02": [100.0]}, index=pd.Index([A], name="school"))
    section, chart = build_dynamics(current, previous, wide, previous_wide, NAMES)
    # «Ожидалось отчётов» is not among the compared figures; «Охват обучающихся» has nothing to compare with.
    assert [(figure.label, figure.previous, figure.change) for figure in section.figures] == [
        ("Принято отчётов", 14, -1), ("Читаемость", None, None), ("Охват обучающихся", None, None)]
    assert section.tables["Ключевые показатели к прошлому году"].values.tolist() == [
        ["Принято отчётов", "ОО", 14, 13, Change(-1, "ОО", None, with_unit=False)]]
    assert chart.values.tolist() == [["Принято отчётов", 14, 13, "ОО"]]
    # A's users grew from 100 to 110, a change in people; B has no last year to compare with.
    section, _ = build_dynamics(current, previous, wide, previous_wide, NAMES, labels={"P02": "Пользователей"},
                                units={"P02": "чел."})
    assert section.tables["Показатели ОО к их прошлому году"].values.tolist() == [
        [A, NAMES[A], "Пользователей", 100.0, 110.0, Change(10.0, "чел.")]]


def test_build_dynamics_without_a_previous_campaign_says_so() -> None:
    section, chart = build_dynamics([Figure("Принято отчётов", 13, "ОО", 15, 15)], None, pd.DataFrame(), None, {})
    assert (section.figures, section.tables) == ([], {})
    assert section.notes == ["Данных прошлой кампании нет: динамику можно будет оценить со следующего года."]
    assert (list(chart.columns), len(chart)) == (["figure", "previous", "current", "unit"], 0)


def campaign_frames(items: pd.DataFrame, values: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A campaign's six frames: its items and indicators, no staff, courses or awards."""
    return {"title": titles(*sorted(set(items["school"]))), "items": items, "staff": frame("staff", []),
            "courses": frame("courses", []), "awards": frame("awards", []), "indicators": values}


def test_build_year_report_counts_only_expected_schools_and_compares_with_last_year(district: District) -> None:
    current = CampaignData(
        district.campaign(2025),
        campaign_status(district, 2025, {A: ("accepted", dt.datetime(2025, 5, 10, 9, 0)),
                                         B: ("accepted", dt.datetime(2025, 10, 2, 8, 0)), C: None}),
        # 70-099 closed before this campaign: its data is in the ledger but is nobody's report now.
        campaign_frames(ROADMAP, indicators({A: {"P01": 500}, B: {"P01": 400}, "70-099": {"P01": 1000}})),
    )
    previous = CampaignData(
        district.campaign(2024),
        campaign_status(district, 2024, {A: ("accepted", dt.datetime(2024, 5, 10, 9, 0)), B: None}),
        campaign_frames(frame("items", [item(A, "1.1", "выполнено", dt.date(2024, 3, 1))]),
                        indicators({A: {"P01": 480}})),
    )
    warnings = pd.DataFrame(columns=["Код ОО", "Наименование", "Код", "Лист", "Ячейка", "Замечание"])
    files = pd.DataFrame(columns=["path", "sha256", "school", "status", "arrived_at"])
    report = build_year_report(district, {}, current, previous, warnings, files, dt.datetime(2025, 11, 5, 9, 0))
    assert (report.year, report.expected, report.accepted, report.has_previous) == (2025, 3, 2, True)
    assert figures(report.library)["Обучающихся"] == (900.0, "чел.", 2, 2)  # 500 + 400, not 70-099's 1000
    compared = {figure.label: (figure.previous, figure.value) for figure in report.dynamics.figures}
    # The collection is compared as a whole; the data only over A, the one school accepted in both years.
    assert compared["Принято отчётов"] == (1, 2)
    assert compared["Доля принятых отчётов"] == (0.5, pytest.approx(2 / 3))
    assert compared["Обучающихся"] == (480.0, 500.0)
    notes = {figure.label: figure.note for figure in report.dynamics.figures}
    assert (notes["Принято отчётов"], notes["Обучающихся"]) == ("по кампании в целом",
                                                                "ОО, сдавшие отчёт в оба года: 1")
    assert report.appendix_schools[["Код ОО", "Отчёт", "Обучающихся"]].values.tolist()[:2] == [
        [A, "отчёт принят в срок", 500.0], [B, "отчёт принят с опозданием", 400.0]]
    assert report.appendix_schools.loc[2, "Отчёт"] == "отчёт не сдан"


def test_an_item_share_leaves_not_required_out_of_its_base(district: District) -> None:
    # Thirteen schools as in the demo's item 3.2: ten done, one in progress, two «не требуется» → 10 of 11.
    codes = [f"70-{number:03d}" for number in range(1, 14)]
    statuses = ["выполнено"] * 10 + ["в работе"] + ["не требуется"] * 2
    rows = frame("items", [item(code, "3.2", status) for code, status in zip(codes, statuses, strict=True)])
    section, *_ = build_roadmap(rows, titles(*codes), codes, district, district.campaign(2025), {})
    share_of_item = section.tables["Статусы мероприятий дорожной карты"].set_index("Код").at[
        "3.2", "Выполнено из применимых, %"]
    assert (share_of_item, share_of_item.value, str(share_of_item)) == (
        Share(10, 11), pytest.approx(10 / 11), "90,9\u00a0% (10\u00a0из\u00a011)")
    regulation = build_regulation(rows.assign(item="1.1"), codes, district, {})
    assert regulation.figures[0].base_line == "10\u00a0из\u00a011\u00a0ОО; не требуется: 2\u00a0ОО"


def test_a_school_with_nothing_applicable_is_outside_the_index_base(district: District) -> None:
    # A did 1.1 of 1.1; B said «не требуется» to everything it answered: B is said apart, not «all done».
    rows = frame("items", [item(A, "1.1", "выполнено"), item(B, "3.2", "не требуется")])
    section, *_ = build_roadmap(rows, titles(A, B), [A, B], district, district.campaign(2025), NAMES)
    assert figures(section) == {"Средний индекс внедрения": (1.0, "%", 1, 2),
                                "ОО, выполнившие все применимые мероприятия": (1, "ОО", 1, 2)}
    assert section.figures[1].base_line == "1\u00a0из\u00a01\u00a0ОО; без применимых мероприятий: 1\u00a0ОО"


def test_the_website_share_counts_schools_not_rows(district: District) -> None:
    # A gave item 2 on two rows (two links): still one school of two.
    rows = frame("items", [item(A, "2", "выполнено", links="https://a.example.ru/1"),
                           item(A, "2", "выполнено", links="https://a.example.ru/2"), item(B, "2", "не выполнено")])
    section, _ = build_informing(rows, indicators({}), [A, B], district, NAMES)
    assert section.figures[0].value == 0.5
