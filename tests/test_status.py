"""Tests for the campaign collection status: judging schools, the HTML/XLSX outputs and the console table."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from pipeline.collect.status import (
    CampaignStatus,
    SubmissionFact,
    build_status,
    format_status,
    status_json,
    write_status,
)
from pipeline.district.register import School
from pipeline.district.roadmap import Campaign
from pipeline.statuses import SchoolState

CAMPAIGN = Campaign(
    year=2025,
    period_start=dt.date(2024, 9, 1),
    period_end=dt.date(2025, 8, 31),
    window_open=dt.date(2025, 4, 1),
    window_close=dt.date(2025, 10, 31),
    deadline=dt.date(2025, 10, 1),
)
NOW = dt.datetime(2025, 9, 26, 14, 30)
ON_DEADLINE = dt.datetime(2025, 10, 1, 23, 59)
DAY_AFTER = dt.datetime(2025, 10, 2, 0, 1)
EARLY = dt.datetime(2025, 5, 10, 9, 0)


def school(code: str, name: str = "МБОУ «Тестовая СОШ»") -> School:
    return School(
        code=code, name=name, municipality="Тестовый район", domains=(), email="school@example.ru",
        opened=None, closed=None,
    )


def fact(
    code: str | None, status: str, arrived_at: dt.datetime, *, path: str = "", errors: int = 0, warnings: int = 0
) -> SubmissionFact:
    return SubmissionFact(
        school=code, status=status, arrived_at=arrived_at, path=path or f"{code}_{arrived_at:%m%d%H%M}.xlsx",
        errors=errors, warnings=warnings,
    )


def states(status: CampaignStatus) -> dict[str, str]:
    return {school.code: school.state for school in status.schools}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param([fact("A", "accepted", ON_DEADLINE)], "on_time", id="accepted on the deadline day is on time"),
        pytest.param([fact("A", "accepted", DAY_AFTER)], "late", id="accepted the day after the deadline is late"),
        pytest.param([fact("A", "rejected", EARLY, errors=3)], "rejected", id="only a rejected file is rejected"),
        pytest.param([], "missing", id="nothing at all is missing"),
        pytest.param([fact("A", "unrecognized", EARLY)], "missing", id="an unrecognized file alone is missing"),
        pytest.param(
            [fact("A", "rejected", EARLY), fact("A", "accepted", ON_DEADLINE)], "on_time",
            id="accepted on time after a rejected file is on time",
        ),
        pytest.param(
            [fact("A", "rejected", EARLY), fact("A", "accepted", DAY_AFTER)], "late",
            id="accepted late after a rejected file is late",
        ),
        pytest.param(
            [fact("A", "accepted", DAY_AFTER), fact("A", "accepted", EARLY)], "late",
            id="of two accepted the latest arrival counts, whatever the ledger order",
        ),
        pytest.param(
            [fact("A", "accepted", EARLY), fact("A", "rejected", DAY_AFTER)], "on_time",
            id="a rejected file after an accepted one keeps the accepted report",
        ),
    ],
)
def test_build_status_state(facts: list[SubmissionFact], expected: str) -> None:
    status = build_status([school("A")], facts, CAMPAIGN, NOW)
    assert states(status) == {"A": expected}


def test_build_status_details_of_current_accepted_and_latest_rejected() -> None:
    facts = [
        fact("A", "rejected", dt.datetime(2025, 5, 1, 10, 0), errors=7),
        fact("A", "rejected", dt.datetime(2025, 5, 3, 10, 0), errors=2),
        fact("A", "superseded", dt.datetime(2025, 5, 4, 10, 0), path="A/old.xlsx", warnings=9),
        fact("A", "accepted", dt.datetime(2025, 5, 5, 10, 0), path="A/new.xlsx", warnings=1),
        fact("A", "duplicate", dt.datetime(2025, 5, 6, 10, 0)),
    ]
    [result] = build_status([school("A")], facts, CAMPAIGN, NOW).schools
    assert (result.accepted_at, result.accepted_path, result.warnings) == (
        dt.datetime(2025, 5, 5, 10, 0), "A/new.xlsx", 1,
    )
    assert (result.rejected_files, result.last_errors, result.last_arrival) == (2, 2, dt.datetime(2025, 5, 6, 10, 0))


def test_build_status_missing_school_has_no_dates() -> None:
    [result] = build_status([school("A")], [], CAMPAIGN, NOW).schools
    assert (result.state, result.accepted_at, result.accepted_path, result.last_arrival, result.rejected_files,
            result.last_errors, result.warnings) == ("missing", None, None, None, 0, 0, 0)


def test_build_status_counts_unattributed_and_ignores_unexpected_schools() -> None:
    facts = [
        fact("A", "accepted", EARLY),
        fact(None, "unrecognized", EARLY, path="junk.pdf"),
        fact(None, "rejected", EARLY, path="no_code.xlsx"),
        fact("Z", "accepted", EARLY),  # a school that is not expected in this campaign
    ]
    status = build_status([school("B"), school("A")], facts, CAMPAIGN, NOW)
    assert [result.code for result in status.schools] == ["A", "B"]
    assert states(status) == {"A": "on_time", "B": "missing"}
    assert status.unattributed == 3


def test_build_status_counts_and_days_left() -> None:
    expected = [school(code) for code in ("A", "B", "C", "D", "E")]
    facts = [
        fact("A", "accepted", EARLY),
        fact("B", "accepted", EARLY),
        fact("C", "accepted", DAY_AFTER),
        fact("D", "rejected", EARLY),
    ]
    status = build_status(expected, facts, CAMPAIGN, NOW)
    assert status.counts == {"on_time": 2, "late": 1, "rejected": 1, "missing": 1}
    assert status.days_left == 5
    assert build_status(expected, facts, CAMPAIGN, dt.datetime(2025, 10, 3)).days_left == -2


def test_build_status_counts_has_every_state_when_empty() -> None:
    status = build_status([], [], CAMPAIGN, NOW)
    assert status.counts == {"on_time": 0, "late": 0, "rejected": 0, "missing": 0}


def test_build_status_unknown_submission_status_is_a_program_error() -> None:
    with pytest.raises(ValueError, match="unknown submission status"):
        build_status([school("A")], [fact("A", "approved", EARLY)], CAMPAIGN, NOW)


@pytest.mark.parametrize(
    ("count", "text"),
    [
        pytest.param(1, "1 школа", id="1 is one"),
        pytest.param(3, "3 школы", id="3 is few"),
        pytest.param(5, "5 школ", id="5 is many"),
        pytest.param(11, "11 школ", id="11 is many"),
        pytest.param(21, "21 школа", id="21 is one"),
        pytest.param(0, "0 школ", id="0 is many"),
    ],
)
def test_ru_count_school_forms(count: int, text: str) -> None:
    from pipeline.typography import count as ru_count

    assert ru_count(count, "школа", "школы", "школ").replace("\u00a0", " ") == text


@pytest.fixture
def mixed_status() -> CampaignStatus:
    expected = [
        school("70-001", "МБОУ «Пудовская СОШ»"),
        school("70-002", "<script>x</script>"),
        school("70-003", "=HYPERLINK(\"http://evil\")"),
        school("70-004", "МАОУ «Лицей № 4»"),
    ]
    facts = [
        fact("70-001", "accepted", ON_DEADLINE, warnings=2),
        fact("70-002", "rejected", EARLY, errors=4),
        fact("70-003", "accepted", DAY_AFTER),
        fact(None, "unrecognized", EARLY, path="photo.jpg"),
    ]
    return build_status(expected, facts, CAMPAIGN, NOW)


EXPECTED_STATES = {"70-001": "on_time", "70-002": "rejected", "70-003": "late", "70-004": "missing"}


def test_write_status_writes_both_files_under_the_year(tmp_path: Path, mixed_status: CampaignStatus) -> None:
    paths = write_status(tmp_path, mixed_status)
    assert paths == [tmp_path / "2025" / "status.html", tmp_path / "2025" / "status.xlsx"]
    assert all(path.is_file() for path in paths)
    assert sorted(path.name for path in (tmp_path / "2025").iterdir()) == ["status.html", "status.xlsx"]


def test_write_status_xlsx_has_the_state_of_every_school(tmp_path: Path, mixed_status: CampaignStatus) -> None:
    _, xlsx = write_status(tmp_path, mixed_status)
    workbook = openpyxl.load_workbook(xlsx)
    assert workbook.sheetnames == ["Статус", "Сводка"]
    sheet = workbook["Статус"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert {row["Код ОО"]: row["Состояние"] for row in rows} == {
        code: SchoolState(state).label for code, state in EXPECTED_STATES.items()
    }
    # Missing and rejected first, then late, then on time.
    assert [row["Код ОО"] for row in rows] == ["70-004", "70-002", "70-003", "70-001"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:J5"
    assert all(cell.font.b for cell in sheet[1])


def test_write_status_xlsx_dates_are_real_dates(tmp_path: Path, mixed_status: CampaignStatus) -> None:
    _, xlsx = write_status(tmp_path, mixed_status)
    sheet = openpyxl.load_workbook(xlsx)["Статус"]
    header = [cell.value for cell in sheet[1]]
    column = header.index("Дата приёма")
    accepted = {row[0].value: row[column] for row in sheet.iter_rows(min_row=2)}
    assert accepted["70-001"].value == dt.datetime(2025, 10, 1)
    assert accepted["70-001"].number_format == "DD.MM.YYYY"
    assert accepted["70-004"].value is None


def test_write_status_xlsx_text_that_looks_like_a_formula_stays_text(
    tmp_path: Path, mixed_status: CampaignStatus
) -> None:
    _, xlsx = write_status(tmp_path, mixed_status)
    sheet = openpyxl.load_workbook(xlsx)["Статус"]
    [name] = [row[1] for row in sheet.iter_rows(min_row=2) if row[0].value == "70-003"]
    assert (name.value, name.data_type) == ("=HYPERLINK(\"http://evil\")", "s")


def test_write_status_xlsx_summary_has_counts_and_dates(tmp_path: Path, mixed_status: CampaignStatus) -> None:
    _, xlsx = write_status(tmp_path, mixed_status)
    summary = {row[0]: row[1] for row in openpyxl.load_workbook(xlsx)["Сводка"].iter_rows(values_only=True) if row[0]}
    assert [summary[SchoolState(state).label] for state in ("on_time", "late", "rejected", "missing")] == [1, 1, 1, 1]
    assert summary["Файлов без школы из списка"] == 1
    assert summary["Срок сдачи"] == dt.datetime(2025, 10, 1)


class _TextAndScripts(HTMLParser):
    """Collect the page's visible text and count <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.external += [value for name, value in attrs if name in ("src", "href") and value]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_write_status_html_has_codes_states_and_escapes_names(tmp_path: Path, mixed_status: CampaignStatus) -> None:
    html, _ = write_status(tmp_path, mixed_status)
    page = html.read_text(encoding="utf-8")
    parser = _TextAndScripts()
    parser.feed(page)
    text = " ".join(" ".join(parser.text).split())
    for code, state in EXPECTED_STATES.items():
        assert code in text
        assert SchoolState(state).label in text
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x</script>" in text  # shown to the reader as text …
    assert parser.scripts == 0  # … never run
    assert parser.external == []  # self-contained
    assert '<html lang="ru">' in page
    assert "Ход сбора отчётов ИБЦ — кампания 2025" in text
    assert "1 школа" in text
    assert "срок сдачи: 01.10.2025 (до срока 5 дней)" in text


def test_write_status_html_lists_problem_schools_first(tmp_path: Path, mixed_status: CampaignStatus) -> None:
    html, _ = write_status(tmp_path, mixed_status)
    page = html.read_text(encoding="utf-8")
    table = page[page.index("<tbody>"):]
    positions = [table.index(code) for code in ("70-004", "70-002", "70-003", "70-001")]
    assert positions == sorted(positions)


def test_write_status_html_of_a_big_campaign_lists_the_urgent_schools_and_points_to_the_xlsx(
        tmp_path: Path, mixed_status: CampaignStatus, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.collect.status

    monkeypatch.setattr(pipeline.collect.status, "HTML_ROW_LIMIT", 2)  # 2,000 in production: four schools here
    html, xlsx = write_status(tmp_path, mixed_status)
    table = html.read_text(encoding="utf-8").split("<tbody>")[1].split("</tbody>")
    assert [code for code in ("70-004", "70-002", "70-003", "70-001") if code in table[0]] == ["70-004", "70-002"]
    assert "ещё 2" in table[1] and "status.xlsx" in table[1]
    rows = openpyxl.load_workbook(xlsx).worksheets[0].max_row
    assert rows == 1 + len(mixed_status.schools)  # the workbook keeps every school


def test_format_status_has_counts_and_codes(mixed_status: CampaignStatus) -> None:
    text = format_status(mixed_status)
    lines = text.splitlines()
    assert lines[0] == "Кампания 2025: срок сдачи 01.10.2025, до срока 5 дней"
    for state in SchoolState:
        assert f"{state.label}: 1" in lines[1]
    assert "файлов без школы из списка: 1" in text
    for code in EXPECTED_STATES:
        assert code in text
    assert "01.10.2025" in next(line for line in lines if line.startswith("70-001"))
    assert all(len(line) <= 100 for line in lines)


def test_format_status_keeps_lines_short_for_long_codes_and_names() -> None:
    expected = [school("X" * 32, "Муниципальное бюджетное общеобразовательное учреждение " * 3)]
    text = format_status(build_status(expected, [], CAMPAIGN, NOW))
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "…" in text


def test_status_json_lists_codes_and_states(mixed_status: CampaignStatus) -> None:
    assert status_json(mixed_status) == [{"school": code, "state": state} for code, state in EXPECTED_STATES.items()]
