"""The conclusions part: a small campaign in, the sentences a methodologist reads out, by the rules in district.toml."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from test_aggregate import campaign_frames, frame, indicators, item
from test_status import CAMPAIGN, EARLY, NOW, fact, school

from pipeline.collect.status import SubmissionFact, build_status
from pipeline.district.register import School
from pipeline.district.roadmap import District, DistrictDataError, load_district
from pipeline.district.setup import Setup
from pipeline.report.aggregate import CampaignData, build_year_report
from pipeline.report.annual import AnalystTextError, load_analyst_text, place_in_words
from pipeline.report.assessment import Assessment, Conclusion
from pipeline.report.conclusions import build_assessment
from pipeline.report.recommendations import LISTED_SCHOOLS, school_list
from pipeline.report.render import _environment
from pipeline.typography import ru_number

PROJECT = Path(__file__).resolve().parents[1]
A, B, C, D = "70-001", "70-002", "70-003", "70-004"
NAMES = {A: "МБОУ «СОШ № 1»", B: "МБОУ «СОШ № 2»", C: "МБОУ «Лицей „Пример“»", D: "МКОУ «ООШ № 4»"}
ON_TIME, LATE = dt.datetime(2025, 5, 10, 9, 0), dt.datetime(2025, 10, 2, 8, 0)
# The rules the tests read: short texts, so that every sentence can be compared whole.
RULES = """
[report_rules]
item_lags_below = 0.8
school_support_below = 0.85
notable_change_pp = 5
addressees = ["Управлению образования", "Руководителям ОО"]

[[report_rules.recommendations]]
measure = "item"
below = 0.8
to = "Руководителям ОО"
because = "мероприятие {item} выполнено в {share} ОО ({part} из {whole})"
action = "выполнить мероприятие {item}: {schools}"

[[report_rules.recommendations]]
measure = "training_pedagogues"
below = 1.0
to = "Руководителям ОО"
because = "КПК прошли {share} педагогов-библиотекарей ({part} из {whole} {unit})"
action = "направить на КПК: {schools}"

[[report_rules.recommendations]]
measure = "reports_accepted"
below = 1.0
to = "Управлению образования"
because = "отчёты приняты от {part} из {whole} ОО"
action = "запросить отчёты: {schools}"

[[report_rules.decisions]]
measure = "reports_accepted"
to = "Управление образования"
because = "отчёты приняты от {part} из {whole} ОО"
action = "Провести мониторинг в {next_year} году"
due = "до 01.04.{next_year}"
"""


def district_with(tmp_path: Path, rules: str = RULES, **thresholds: float) -> District:
    """The project's district.toml with the [report_rules] of *rules*, thresholds replaced as given."""
    lines = (PROJECT / "inputs" / "district.toml").read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("[report_rules]\n")
    # The section runs to the next table that is not one of its own (later sections stay as they are).
    end = next((number for number, line in enumerate(lines) if number > start and line.startswith("[")
                and not line.lstrip("[").startswith("report_rules")), len(lines))
    text = "".join(lines[:start]) + rules + "\n" + "".join(lines[end:])
    for key, value in thresholds.items():
        line = next(line for line in text.splitlines() if line.startswith(f"{key} ="))
        text = text.replace(line, f"{key} = {value}")
    (tmp_path / "district.toml").write_text(text, encoding="utf-8")
    return load_district(tmp_path)


def status_of(district: District, year: int, arrivals: dict[str, dt.datetime | None]):
    schools = [School(code, NAMES[code], "Тестовый район", (), "lib@example.ru", None, None) for code in arrivals]
    facts = [SubmissionFact(code, "accepted", arrived, f"{code}.xlsx", 0, 0)
             for code, arrived in arrivals.items() if arrived is not None]
    return build_status(schools, facts, district.campaign(year), dt.datetime(year, 11, 5, 9, 0))


def roadmap(district: District, open_items: dict[tuple[str, str], str], schools: list[str]) -> pd.DataFrame:
    """Every item «выполнено» at every school, except {(school, item): status}."""
    return frame("items", [item(code, entry.code, open_items.get((code, entry.code), "выполнено"))
                           for code in schools for entry in district.items])


def staff(*people: tuple[str, str, bool]) -> pd.DataFrame:
    return frame("staff", [{"school": code, "person": f"Сотрудник {number}", "position": position, "rate": 1.0,
                            "employment": "основной работник", "education": "высшее педагогическое", "kpk": kpk}
                           for number, (code, position, kpk) in enumerate(people, start=1)])


# This year: A and B on time, C late, D without a report. 4.2 is done at A only; 3.2 does not apply at B.
THIS_YEAR = {(B, "4.2"): "не выполнено", (C, "4.2"): "в работе", (B, "3.2"): "не требуется"}


def assess(district: District, previous: CampaignData | None = None) -> Assessment:
    schools = [A, B, C]
    values = indicators({code: {"P01": 500} for code in schools})
    frames = campaign_frames(roadmap(district, THIS_YEAR, schools), values)
    frames["staff"] = staff((A, "педагог-библиотекарь", True), (B, "педагог-библиотекарь", False),
                            (C, "библиотекарь", True))
    current = CampaignData(district.campaign(2025), status_of(district, 2025, {A: ON_TIME, B: ON_TIME, C: LATE,
                                                                             D: None}), frames)
    empty = pd.DataFrame(columns=["Код ОО", "Наименование", "Место", "Замечание"])
    files = pd.DataFrame(columns=["path", "sha256", "school", "status", "arrived_at"])
    report = build_year_report(district, {}, current, previous, empty, files, dt.datetime(2025, 11, 5, 9))
    assert report.conclusions == report.assessment.sentences
    return report.assessment


def conclusion(assessment: Assessment, lead: str) -> tuple[str, tuple[str, ...]]:
    found = next(entry for entry in assessment.conclusions if entry.text.startswith(lead))
    return found.text, found.points


def test_a_lagging_item_is_named_with_its_share_and_counts(tmp_path: Path) -> None:
    district = district_with(tmp_path)
    text, points = conclusion(assess(district), "Отстающие")
    # 4.2: done at A of A, B, C = 1 of 3.
    assert text == ("Отстающие мероприятия — выполнены менее чем в 80\u00a0% ОО, к которым относятся "
                    "(1\u00a0мероприятие):")
    assert points == (f"4.2 «{district.item('4.2').title}» — 33,3\u00a0% ОО (1 из 3)",)


def test_items_done_everywhere_are_said_so_with_not_required_apart(tmp_path: Path) -> None:
    district = district_with(tmp_path)
    text, points = conclusion(assess(district), "Полностью")
    assert text == "Полностью, во всех ОО, к которым относятся, выполнено 9\u00a0мероприятий:"
    # 3.2 does not apply at B: 2 of 2, and B is said apart, not counted as undone.
    assert f"3.2 «{district.item('3.2').title}» (2 из 2\u00a0ОО; не требуется — в 1\u00a0ОО)" in points
    assert not any(entry.text.startswith("Лучше всего") for entry in assess(district).conclusions)


def test_a_school_without_an_accepted_report_is_named(tmp_path: Path) -> None:
    assessment = assess(district_with(tmp_path))
    assert assessment.conclusions[0].text == ("Отчёты приняты от 3 из 4\u00a0ОО (75,0\u00a0%): в срок — 2, "
                                              "с опозданием — 1.")
    assert conclusion(assessment, "Нет принятого") == ("Нет принятого отчёта у 1\u00a0ОО:",
                                                       ("МКОУ «ООШ № 4» — отчёт не сдан",))


def test_a_threshold_changed_in_district_toml_changes_the_sentences(tmp_path: Path) -> None:
    before = assess(district_with(tmp_path))
    assert conclusion(before, "ОО с индексом") == ("ОО с индексом внедрения ниже 85\u00a0% нет.", ())
    after = assess(district_with(tmp_path, item_lags_below=0.3, school_support_below=0.95))
    # B: 8 of 9 applicable done (88,9 %), C: 9 of 10 (90 %); both below 95 %, lowest first, with what is open.
    assert conclusion(after, "Нужна поддержка") == (
        "Нужна поддержка ОО с индексом внедрения ниже 95\u00a0% (2\u00a0ОО):",
        ("МБОУ «СОШ № 2» — индекс 88,9\u00a0% (8 из 9); не выполнено: 4.2",
         "МБОУ «Лицей „Пример“» — индекс 90,0\u00a0% (9 из 10); в работе: 4.2"))
    assert conclusion(after, "Мероприятий") == (
        "Мероприятий, выполненных менее чем в 30\u00a0% ОО, к которым они относятся, нет.", ())
    assert "менее чем в 30\u00a0%" in after.thresholds and "ниже 95\u00a0%" in after.thresholds


def test_recommendations_are_addressed_and_tied_to_their_figures(tmp_path: Path) -> None:
    assessment = assess(district_with(tmp_path))
    assert [(group.to, group.sentences) for group in assessment.recommendations] == [
        ("Управлению образования", ("Отчёты приняты от 3 из 4 ОО — запросить отчёты: МКОУ «ООШ № 4».",)),
        ("Руководителям ОО", (
            "Мероприятие 4.2 выполнено в 33,3\u00a0% ОО (1 из 3) — выполнить мероприятие 4.2: МБОУ «СОШ № 2», "
            "МБОУ «Лицей „Пример“».",
            "КПК прошли 50,0\u00a0% педагогов-библиотекарей (1 из 2 чел.) — направить на КПК: МБОУ «СОШ № 2».")),
    ]
    assert [dataclasses.astuple(decision) for decision in assessment.decisions] == [
        ("Провести мониторинг в 2026 году", "Управление образования", "до 01.04.2026", "отчёты приняты от 3 из 4 ОО")]


def test_a_recommendation_below_its_threshold_is_not_given(tmp_path: Path) -> None:
    assessment = assess(district_with(tmp_path, rules=RULES.replace("below = 0.8", "below = 0.3")))
    sentences = [sentence for group in assessment.recommendations for sentence in group.sentences]
    assert not any(sentence.startswith("Мероприятие 4.2") for sentence in sentences)


def test_year_over_year_compares_only_schools_in_both_years(tmp_path: Path) -> None:
    district = district_with(tmp_path)
    # Last year A and B reported, 4.2 done at both; C did not report, so it is left out of the comparison.
    previous = CampaignData(district.campaign(2024), status_of(district, 2024, {A: EARLY.replace(year=2024),
                                                                               B: EARLY.replace(year=2024),
                                                                               C: None}),
                            campaign_frames(roadmap(district, {}, [A, B]), indicators({A: {"P01": 480}})))
    text, points = conclusion(assess(district, previous), "По сравнению")
    assert text == "По сравнению с 2024 годом (по 2\u00a0ОО, отчёт которых принят в оба года):"
    # Index of A and B: 100 % last year; now A 10/10, B 8/9 → mean 94,4 %.
    assert points == (
        "средний индекс внедрения — 100,0\u00a0% в 2024\u00a0г. и 94,4\u00a0% в 2025\u00a0г. "
        "(\u22125,6\u00a0п.\u00a0п.)",
        f"снизилась доля выполнения мероприятия 4.2 «{district.item('4.2').title}»: с 100,0\u00a0% (2 из 2) "
        "до 50,0\u00a0% (1 из 2), \u221250,0\u00a0п.\u00a0п.")


def test_a_region_gets_a_count_the_first_names_and_where_the_full_list_is(district: District) -> None:
    codes = [f"B-{number:06d}" for number in range(4013)]
    status = build_status([school(code, f"ОО {code}") for code in codes], [fact(codes[0], "accepted", EARLY)],
                          CAMPAIGN, NOW)
    matrix = pd.DataFrame({entry.code: ["выполнено"] for entry in district.items}, index=[codes[0]])
    index = pd.DataFrame({"school": [codes[0]], "name": ["ОО"], "index": [1.0], "done": [10], "applicable": [10]})
    assessment = build_assessment(district, status, matrix, index, staff(), pd.DataFrame({"Код ОО": []}))
    text, points = conclusion(assessment, "Нет принятого")
    assert text == "Нет принятого отчёта у 4\u00a0012\u00a0ОО:"
    assert len(points) == LISTED_SCHOOLS + 1 and points[0] == "ОО B-000001 — отчёт не сдан"
    assert points[-1] == (f"и ещё {ru_number(4012 - LISTED_SCHOOLS)}\u00a0ОО (полный список — в своде svod.xlsx, "
                          "лист «ОО без принятого отчёта»)")


@pytest.mark.parametrize(("sheet", "cell", "message", "place"), [
    pytest.param("Дорожная карта", "D11", "Мероприятие 4.2 просрочено: срок 31.08.2025, статус «не выполнено».",
                 "лист «Дорожная карта», мероприятие 4.2", id="a roadmap row is named by its item"),
    pytest.param("Дорожная карта", "E5", "Мероприятие 1.4а выполнено с нарушением срока (30.06.2024).",
                 "лист «Дорожная карта», мероприятие 1.4а", id="an item code with a letter"),
    pytest.param("Дорожная карта", "I7", "Ссылка ведёт не на сайт ОО из реестра (a.ru).",
                 "лист «Дорожная карта», строка 7", id="a roadmap message naming no item gives the row"),
    pytest.param("Показатели", "D7", "Фонд не сходится с прошлогодним отчётом: 1 + 2 − 0 = 3, указано 4.",
                 "лист «Показатели», строка 7", id="an indicator row by its number"),
    pytest.param("Курсы", "H1", "Столбец «Примечание» — не входит в форму и не учитывается.",
                 "лист «Курсы», строка заголовков", id="row 1 is the header row"),
    pytest.param("Лишний", "", "Лист «Лишний» — не входит в форму и не учитывается.", "лист «Лишний»",
                 id="a whole sheet"),
    pytest.param("", "", "Имя файла указывает на другую ОО.", "файл отчёта", id="the file itself"),
])
def test_place_in_words_has_no_cell_address(sheet: str, cell: str, message: str, place: str,
                                            district: District) -> None:
    assert place_in_words(sheet, cell, message, {entry.code for entry in district.items}) == place


def analyst_setup(tmp_path: Path, district: District) -> Setup:
    return Setup(tmp_path, tmp_path / "outputs", 2025, district, {}, "sqlite://")


def test_the_analysts_text_is_read_by_paragraphs(tmp_path: Path, district: District) -> None:
    assert load_analyst_text(analyst_setup(tmp_path, district)) == ()
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "2025.txt").write_text("Первый абзац\nпродолжается.\r\n\r\n\nВторой <b>абзац</b>.\n",
                                                  encoding="utf-8")
    assert load_analyst_text(analyst_setup(tmp_path, district)) == ("Первый абзац продолжается.",
                                                                    "Второй <b>абзац</b>.")
    (tmp_path / "report" / "2025.txt").write_bytes("Текст в cp1251".encode("cp1251"))
    with pytest.raises(AnalystTextError, match=r"2025\.txt: текст специалиста должен быть в кодировке UTF-8"):
        load_analyst_text(analyst_setup(tmp_path, district))


def test_the_conclusions_part_shows_every_part_and_escapes_the_analysts_text(tmp_path: Path) -> None:
    assessment = assess(district_with(tmp_path))
    report = SimpleNamespace(assessment=assessment, conclusions=assessment.sentences,
                             analyst_text=("Второй <b>абзац</b>.",))
    html = _environment().get_template("report/conclusions.html").render(
        report=report, conclusions_number="10", conclusions_title="Выводы и рекомендации")
    headings = ["10.1 Выводы", "10.2 Комментарий специалиста", "10.3 Рекомендации",
                "10.4 Управленческие решения на следующий год"]
    assert [html.index(heading) for heading in headings] == sorted(html.index(heading) for heading in headings)
    assert "Второй &lt;b&gt;абзац&lt;/b&gt;." in html and "<b>" not in html
    assert "Ответственный: Управление образования; срок: до 01.04.2026." in html
    # Every sentence keeps «№» with its number at a line's end: recommendations name schools inline.
    assert "«ООШ № 4»" not in html and "«ООШ №\u00a04»" in html


def test_a_rule_with_an_unknown_placeholder_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(DistrictDataError, match=r"report_rules\.recommendations\[0\]\.action.*\{school\}"):
        district_with(tmp_path, rules=RULES.replace("выполнить мероприятие {item}: {schools}", "{school}"))


def test_a_recommendation_names_the_first_schools_of_a_long_list_and_where_the_rest_are() -> None:
    codes = [f"70-{number:03d}" for number in range(1, LISTED_SCHOOLS + 6)]
    text = school_list(codes, {code: f"ОО {code}" for code in codes}, "Статусы ОО по мероприятиям")
    assert text.startswith(f"{LISTED_SCHOOLS + 5}\u00a0ОО, в том числе ОО 70-001, ОО 70-002, ")
    assert text.count("ОО 70-") == LISTED_SCHOOLS
    assert text.endswith("(полный список — в своде svod.xlsx, лист «Статусы ОО по мероприятиям»)")
    assert school_list(codes[:2], {codes[0]: "МБОУ «СОШ № 1»"}, "") == "МБОУ «СОШ № 1», 70-002"


def test_a_campaign_without_accepted_reports_says_so_and_names_who_is_missing(tmp_path: Path) -> None:
    district = district_with(tmp_path)
    nothing = campaign_frames(frame("items", []), indicators({}))
    current = CampaignData(district.campaign(2025), status_of(district, 2025, {A: None, B: None}), nothing)
    empty = pd.DataFrame(columns=["Код ОО", "Наименование", "Место", "Замечание"])
    files = pd.DataFrame(columns=["path", "sha256", "school", "status", "arrived_at"])
    assessment = build_year_report(district, {}, current, None, empty, files, dt.datetime(2025, 11, 5, 9)).assessment
    assert [(entry.text, entry.points) for entry in assessment.conclusions] == [
        ("Принятых отчётов нет (ожидалось 2\u00a0ОО); выводы о выполнении дорожной карты сделать нельзя.", ()),
        ("Нет принятого отчёта у 2\u00a0ОО:", ("МБОУ «СОШ № 1» — отчёт не сдан", "МБОУ «СОШ № 2» — отчёт не сдан"))]
    assert [group.to for group in assessment.recommendations] == ["Управлению образования"]


def test_a_point_ending_on_an_abbreviation_closes_the_sentence_once() -> None:
    ending = Conclusion("Изменения:", ("выросла доля, +9,1\u00a0п.\u00a0п.",
                                       "снизилась доля, \u22122,0\u00a0п.\u00a0п."))
    assert ending.sentence == "Изменения: выросла доля, +9,1\u00a0п.\u00a0п.; снизилась доля, \u22122,0\u00a0п.\u00a0п."
    report = SimpleNamespace(assessment=Assessment("Пороги.", (ending,), (), ()), conclusions=[], analyst_text=())
    html = _environment().get_template("report/conclusions.html").render(report=report)
    assert "п.\u00a0п.;</li>" in html and "\u22122,0\u00a0п.\u00a0п.</li>" in html and "п.\u00a0п..</li>" not in html
