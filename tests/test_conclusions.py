"""The report's conclusions name the schools that need attention, and stay a paragraph for a whole region."""

from __future__ import annotations

import pandas as pd
from test_status import CAMPAIGN, EARLY, NOW, fact, school

from pipeline.collect.status import build_status
from pipeline.district.roadmap import District
from pipeline.report.conclusions import CONCLUSION_CODES, build_conclusions


def conclusions(district: District, missing: int) -> list[str]:
    codes = [f"B-{number:06d}" for number in range(missing + 1)]
    status = build_status([school(code) for code in codes], [fact(codes[0], "accepted", EARLY)], CAMPAIGN, NOW)
    item = district.items[0].code
    counts = pd.DataFrame({"выполнено": [1], "выполнено ранее": [0], "в работе": [0]}, index=[item])
    index = pd.DataFrame({"school": [codes[0]], "index": [0.9]})
    return build_conclusions(status, counts, index, pd.DataFrame({"Код ОО": []}), district)


def test_a_district_gets_every_school_without_a_report_by_code(district: District) -> None:
    sentence = next(line for line in conclusions(district, 3) if line.startswith("Требуют внимания"))
    assert sentence == "Требуют внимания ОО без принятого отчёта: B-000001, B-000002, B-000003."


def test_a_region_gets_a_count_the_first_codes_and_where_the_full_list_is(district: District) -> None:
    sentence = next(line for line in conclusions(district, 4012) if line.startswith("Требуют внимания"))
    assert sentence.startswith("Требуют внимания ОО без принятого отчёта: 4\u00a0012, в том числе B-000001, ")
    assert sentence.count("B-") == CONCLUSION_CODES
    assert sentence.endswith("(полный список — в своде svod.xlsx, лист «ОО без принятого отчёта»).")
