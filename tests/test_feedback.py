"""Tests for pipeline.collect.feedback: the school's HTML page and the annotated copy of its workbook."""

from __future__ import annotations

import datetime
import hashlib
import html
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from conftest import good_report, judge_one, set_cell, write_xlsx
from package_checks import check_package

from pipeline import findings as catalogue
from pipeline.collect.annotated_copy import to_excel_cell
from pipeline.collect.feedback import FeedbackInput, count_summary, feedback_folder, safe_stem, write_feedback
from pipeline.findings import Finding
from pipeline.intake.read import RawSheet
from pipeline.judge.verdict import Rules

SHA = hashlib.sha256(b"school file").hexdigest()
PERIOD = "01.09.2024–31.08.2025"
HOSTILE = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x")'
ROADMAP_HEADER = [
    "Код",
    "Мероприятие",
    "Срок",
    "Статус",
    "Дата выполнения",
    "Документ",
    "Реквизиты документа",
    "Количество",
    "Ссылки",
    "Комментарий",
]


def make_workbook(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    title = workbook.active
    title.title = "Титул"
    title.append(["Поле", "Значение"])
    title.append(["Версия шаблона", "ИБЦ-2024.1"])
    roadmap = workbook.create_sheet("Дорожная карта")
    roadmap.append(ROADMAP_HEADER)
    roadmap.append(["1.1", "Нормативная база", "30.06.2024", "выполнено ранее", "15.05.2024"])
    roadmap.append(["1.2", "Разъяснительная работа", "ежегодно", "выполнено", "12.12.2030"])
    roadmap.append(["1.3", "Дорожная карта ОО", "30.06.2024", "сделал", ""])
    workbook.save(path)
    return path


def roadmap_findings() -> list[Finding]:
    return [
        catalogue.build("S06", "Титул", "B2", value="ИБЦ-2024.1", found="ИБЦ-2024.1", current="ИБЦ-2025.1"),
        catalogue.build("R01", "Дорожная карта", "E3", value="12.12.2030", period=PERIOD),
        catalogue.build("V04", "Дорожная карта", "D4", value="сделал", allowed="выполнено; в работе"),
        catalogue.build("V02", "Дорожная карта", "E3", value=HOSTILE),
        catalogue.build("V06", "Дорожная карта", "I3", value=FORMULA),
        catalogue.build("S09", "(файл)", "", variant="sheet", name="Черновик"),
    ]


def make_item(**changes: object) -> FeedbackInput:
    item = FeedbackInput(
        file_name="входящие/70-012 ИБЦ 2025 (итог).xlsx",
        sha256=SHA,
        year=2025,
        status="rejected",
        processed_at=datetime.datetime(2025, 9, 3, 14, 7),
        findings=roadmap_findings(),
        school_code="70-012",
        school_name="МБОУ «Пудовская СОШ»",
        school_state="rejected",
        deadline=datetime.date(2025, 10, 1),
        workbook=None,
        sheets=None,
    )
    return replace(item, **changes)


def annotated(paths: list[Path]) -> openpyxl.Workbook:
    [copy] = [path for path in paths if path.suffix == ".xlsx"]
    check_package(copy)
    return openpyxl.load_workbook(copy)


def feedback_rows(workbook: openpyxl.Workbook) -> list[tuple]:
    return [tuple(cell.value for cell in row) for row in workbook["Замечания"].iter_rows(min_row=2)]


def test_feedback_folder_by_school_code(tmp_path: Path) -> None:
    assert feedback_folder(tmp_path, 2025, "70-012", SHA) == tmp_path / "2025" / "feedback" / "70-012"


def test_feedback_folder_without_code_goes_under_sha12(tmp_path: Path) -> None:
    assert feedback_folder(tmp_path, 2025, None, SHA) == tmp_path / "2025" / "feedback" / "_без_кода" / SHA[:12]


@pytest.mark.parametrize("code", ["../70-012", "70/012", "", "a\\b"])
def test_feedback_folder_refuses_unsafe_code(tmp_path: Path, code: str) -> None:
    with pytest.raises(ValueError):
        feedback_folder(tmp_path, 2025, code, SHA)


@pytest.mark.parametrize(
    ("file_name", "stem"),
    [
        pytest.param("входящие/70-012 ИБЦ 2025 (итог).xlsx", "70-012_ИБЦ_2025_итог", id="spaces and brackets fold"),
        pytest.param("../../etc/passwd", "passwd", id="folders are dropped"),
        pytest.param("..\\..\\отчёт.xlsm", "отчёт", id="windows folders are dropped"),
        pytest.param("<script>.csv", "script", id="markup is dropped"),
        pytest.param("....xlsx", "файл", id="nothing left becomes файл"),
        pytest.param("Ж" * 100 + ".xlsx", "Ж" * 60, id="cut at 60 characters"),
    ],
)
def test_safe_stem(file_name: str, stem: str) -> None:
    assert safe_stem(file_name) == stem


@pytest.mark.parametrize(
    ("errors", "warnings", "text"),
    [
        pytest.param(3, 1, "3 ошибки, 1 предупреждение", id="few and one"),
        pytest.param(5, 0, "5 ошибок", id="many, no warnings"),
        pytest.param(0, 2, "2 предупреждения", id="only warnings"),
        pytest.param(21, 11, "21 ошибка, 11 предупреждений", id="21 is one, 11 is many"),
        pytest.param(0, 0, "Замечаний нет.", id="nothing found"),
    ],
)
def test_count_summary_plural_forms(errors: int, warnings: int, text: str) -> None:
    assert count_summary(errors, warnings).replace("\u00a0", " ") == text


@pytest.mark.parametrize(
    ("cell", "address"),
    [
        pytest.param("D7", "D7", id="an Excel address stays"),
        pytest.param("$e$3", "E3", id="absolute and lower case"),
        pytest.param("стр. 5, «Статус»", "D5", id="CSV line and column name"),
        pytest.param("стр. 5, «статус »", "D5", id="column name matched as the form folds it"),
        pytest.param("стр. 2, столбец 3", "C2", id="CSV line and column number"),
        pytest.param("стр. 5, «Нет такого»", None, id="unknown column"),
        pytest.param("", None, id="whole-sheet finding"),
        pytest.param("весь лист", None, id="not an address"),
    ],
)
def test_to_excel_cell(cell: str, address: str | None) -> None:
    assert to_excel_cell(cell, ROADMAP_HEADER) == address


def test_write_feedback_html_for_rejected_file(tmp_path: Path) -> None:
    paths = write_feedback(tmp_path, make_item())
    assert paths == [tmp_path / "2025" / "feedback" / "70-012" / f"70-012_ИБЦ_2025_итог_{SHA[:8]}.html"]
    page = paths[0].read_text(encoding="utf-8")
    text = html.unescape(page).replace("\u00a0", " ")
    assert "Результат проверки отчёта ИБЦ" in text
    assert "отклонён" in text
    assert "отправьте файл заново до 01.10.2025" in text
    assert "03.09.2025 14:07" in text
    assert "МБОУ «Пудовская СОШ»" in text
    assert "отчёт отклонён" in text  # the school's state, in the words of the status page
    assert "4 ошибки, 2 предупреждения" in text
    for finding in roadmap_findings():
        assert finding.code in text
        assert finding.message in text
        assert finding.hint in text
        assert finding.cell in text
    # errors come first: the S06 warning (first in the input) is listed after every error
    assert text.index("R01") < text.index("V06") < text.index("S06")


def test_rejected_file_of_a_school_with_an_accepted_report_is_not_to_be_fixed(tmp_path: Path) -> None:
    page = write_feedback(tmp_path, make_item(school_state="on_time"))[0].read_text(encoding="utf-8")
    text = html.unescape(page).replace("\u00a0", " ")
    assert "уже принят другой отчёт: исправлять этот файл не нужно" in text
    assert "отправьте файл заново" not in text
    assert "отчёт принят в срок" in text


def test_write_feedback_html_escapes_school_text(tmp_path: Path) -> None:
    item = make_item(file_name="{{ 7*7 }}<b>.xlsx", school_name=HOSTILE)
    page = write_feedback(tmp_path, item)[0].read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ 7*7 }}" in page


def test_write_feedback_html_is_self_contained(tmp_path: Path) -> None:
    page = write_feedback(tmp_path, make_item())[0].read_text(encoding="utf-8")
    assert '<html lang="ru">' in page
    assert '<meta charset="utf-8">' in page
    for external in ("src=", "href=", "url(", "@import", "<link", "<script", "<img"):
        assert external not in page


@pytest.mark.parametrize(
    ("status", "findings", "words"),
    [
        pytest.param("accepted", [], ["принят", "Отчёт принят.", "Замечаний нет."], id="accepted, nothing found"),
        pytest.param("superseded", [], ["заменён", "более поздним файлом"], id="superseded"),
        pytest.param("duplicate", [], ["дубликат", "точно таким же содержимым"], id="duplicate"),
        pytest.param("unrecognized", [], ["не распознан", "не является отчётом", ".xlsx"], id="unrecognized"),
    ],
)
def test_write_feedback_html_explains_status(tmp_path: Path, status: str, findings: list, words: list[str]) -> None:
    item = make_item(status=status, findings=findings, school_code=None, school_name=None, school_state=None)
    text = html.unescape(write_feedback(tmp_path, item)[0].read_text(encoding="utf-8"))
    assert "школа не определена" in text
    for word in words:
        assert word in text


def test_write_feedback_late_rejection_does_not_say_before_a_past_deadline(tmp_path: Path) -> None:
    item = make_item(processed_at=datetime.datetime(2025, 10, 20, 9, 0))
    text = html.unescape(write_feedback(tmp_path, item)[0].read_text(encoding="utf-8"))
    assert "срок сдачи 01.10.2025 прошёл" in text
    assert "заново до 01.10.2025" not in text


def test_write_feedback_annotates_the_school_workbook(tmp_path: Path) -> None:
    source = make_workbook(tmp_path / "archive.xlsx")
    original = source.read_bytes()
    paths = write_feedback(tmp_path / "out", make_item(workbook=source))
    assert [path.name for path in paths] == [
        f"70-012_ИБЦ_2025_итог_{SHA[:8]}.html",
        f"70-012_ИБЦ_2025_итог_{SHA[:8]}_замечания.xlsx",
    ]
    assert source.read_bytes() == original
    workbook = annotated(paths)
    assert workbook.sheetnames == ["Замечания", "Титул", "Дорожная карта"]
    assert workbook.active.title == "Замечания"

    links = {cell.hyperlink.location for cell in workbook["Замечания"]["D"] if cell.hyperlink}
    assert links == {"'Дорожная карта'!E3", "'Дорожная карта'!D4", "'Дорожная карта'!I3", "'Титул'!B2"}
    rows = feedback_rows(workbook)
    assert [(row[1], row[3]) for row in rows] == [
        ("ошибка", "E3"),
        ("ошибка", "D4"),
        ("ошибка", "E3"),
        ("ошибка", "I3"),
        ("предупреждение", "B2"),
        ("предупреждение", None),
    ]
    assert workbook["Замечания"].freeze_panes == "A2"
    assert workbook["Замечания"]["A1"].font.bold

    roadmap = workbook["Дорожная карта"]
    assert roadmap["E3"].fill.fgColor.rgb.endswith("FFC7CE")
    assert roadmap["E3"].comment.author == "Проверка ИБЦ"
    assert roadmap["E3"].comment.text.startswith("R01: Для статуса «выполнено»")
    assert "\nV02: " in roadmap["E3"].comment.text
    assert workbook["Титул"]["B2"].fill.fgColor.rgb.endswith("FFEB9C")
    assert roadmap["A3"].comment is None


def test_write_feedback_keeps_formula_looking_values_as_text(tmp_path: Path) -> None:
    source = make_workbook(tmp_path / "archive.xlsx")
    workbook = annotated(write_feedback(tmp_path / "out", make_item(workbook=source)))
    [value_cell] = [cell for cell in workbook["Замечания"]["E"] if cell.value == FORMULA]
    assert value_cell.data_type == "s"


def test_write_feedback_replaces_an_old_feedback_sheet(tmp_path: Path) -> None:
    source = make_workbook(tmp_path / "archive.xlsx")
    workbook = openpyxl.load_workbook(source)
    workbook.create_sheet("Замечания").append(["старое"])
    workbook.save(source)
    copy = annotated(write_feedback(tmp_path / "out", make_item(workbook=source)))
    assert copy.sheetnames == ["Замечания", "Титул", "Дорожная карта"]
    assert copy["Замечания"]["A1"].value == "№"


def test_write_feedback_rebuilds_csv_parts(tmp_path: Path) -> None:
    roadmap = RawSheet(
        "Дорожная карта",
        [ROADMAP_HEADER, ["1.1", "Нормативная база", "30.06.2024", "сделал", "", "", "", "", "=1+1", ""]],
        csv_file="70-012_Дорожная карта.csv",
    )
    title = RawSheet("Титул", [["Поле", "Значение"], ["Код ОО", "70-012"]], csv_file="70-012_Титул.csv")
    finding = catalogue.build("V04", "Дорожная карта", roadmap.address(1, 3), value="сделал", allowed="выполнено")
    assert finding.cell == "стр. 2, «Статус»"
    item = make_item(file_name="70-012_Дорожная карта.csv", findings=[finding], sheets=[title, roadmap])
    workbook = annotated(write_feedback(tmp_path, item))
    assert workbook.sheetnames == ["Замечания", "Титул", "Дорожная карта"]
    rebuilt = workbook["Дорожная карта"]
    assert rebuilt["A1"].value == "Код"
    assert rebuilt["D2"].value == "сделал"
    assert rebuilt["D2"].comment.text.startswith("V04: Значения «сделал» нет в списке.")
    assert rebuilt["D2"].fill.fgColor.rgb.endswith("FFC7CE")
    assert rebuilt["I2"].value == "=1+1"
    assert rebuilt["I2"].data_type == "s"
    link = workbook["Замечания"]["D2"]
    assert link.hyperlink.location == "'Дорожная карта'!D2"
    assert link.value == "D2 (стр. 2, «Статус»)"


def test_write_feedback_falls_back_to_raw_sheets_for_a_broken_workbook(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    sheet = RawSheet("Дорожная карта", [ROADMAP_HEADER, ["1.2", "", "", "выполнено", "12.12.2030"]])
    finding = catalogue.build("R01", "Дорожная карта", "E2", value="12.12.2030", period=PERIOD)
    item = make_item(findings=[finding], workbook=broken, sheets=[sheet])
    workbook = annotated(write_feedback(tmp_path / "out", item))
    assert workbook["Дорожная карта"]["E2"].comment.text.startswith("R01:")


def test_write_feedback_unrecognized_file_gets_only_the_page(tmp_path: Path) -> None:
    source = make_workbook(tmp_path / "archive.xlsx")
    item = make_item(status="unrecognized", findings=[], workbook=source)
    paths = write_feedback(tmp_path / "out", item)
    assert [path.suffix for path in paths] == [".html"]


def test_write_feedback_unreadable_file_gets_only_the_page(tmp_path: Path) -> None:
    finding = catalogue.build("S01", "(файл)", "", reason="файл повреждён")
    paths = write_feedback(tmp_path, make_item(findings=[finding], workbook=None, sheets=None))
    assert [path.suffix for path in paths] == [".html"]
    assert list(paths[0].parent.iterdir()) == paths


# A Код ОО of another school as it reads once U+202E reverses it: «70-012»; U+200B hides inside.
REVERSED_CODE = "\u202e210-07\u200b"
SHOWN_CODE = "⟨U+202E⟩210-07⟨U+200B⟩"
HIDDEN = ("\u202e", "\u200b", "\u2066", "\u2069", "\u200e", "\ufeff", "\x07", "\x85")


def test_hidden_characters_are_written_out_on_the_page_and_in_the_copy(tmp_path: Path, rules: Rules) -> None:
    report = good_report(rules.district)
    set_cell(report, "Титул", "B3", REVERSED_CODE)
    set_cell(report, "Дорожная карта", "J2", "\u2066готово\u2069\u200e\ufeff")
    source = write_xlsx(report, tmp_path / "school.xlsx")
    verdict = judge_one([source], rules)
    [s04] = [finding for finding in verdict.findings if finding.code == "S04"]
    assert (s04.cell, s04.value) == ("B3", SHOWN_CODE)
    assert s04.message == f"Код ОО «{SHOWN_CODE}» не найден в реестре школ района."
    # C0 and C1 controls cannot be in an .xlsx, but a CSV part can hold them
    comment = catalogue.build("V08", "Дорожная карта", "J2", value="\u2066готово\u2069\u200e\ufeff\x07\x85",
                              limit=3, length=10)
    assert comment.value == "⟨U+2066⟩готово⟨U+2069⟩⟨U+200E⟩⟨U+FEFF⟩⟨U+0007⟩⟨U+0085⟩"

    item = make_item(file_name="входящие/\u202exslx.\u200bотчёт.xlsx", findings=[*verdict.findings, comment],
                     workbook=source)
    paths = write_feedback(tmp_path / "out", item)
    page = html.unescape(paths[0].read_text(encoding="utf-8"))
    assert f"Код ОО «{SHOWN_CODE}» не найден" in page
    assert "входящие/⟨U+202E⟩xslx.⟨U+200B⟩отчёт.xlsx" in page
    assert "⟨U+2066⟩готово⟨U+2069⟩⟨U+200E⟩⟨U+FEFF⟩⟨U+0007⟩⟨U+0085⟩" in page
    assert not [char for char in HIDDEN if char in page]

    copy = annotated(paths)
    listing = [str(value) for row in feedback_rows(copy) for value in row if value is not None]
    comments = [copy["Титул"]["B3"].comment.text, copy["Дорожная карта"]["J2"].comment.text]
    assert SHOWN_CODE in listing
    assert f"S04: Код ОО «{SHOWN_CODE}» не найден в реестре школ района." in listing
    assert comments[0].startswith(f"S04: Код ОО «{SHOWN_CODE}» не найден")
    assert comments[1].startswith("V08: Текст длиннее 3 символов (10).")
    assert not [char for text in listing + comments for char in HIDDEN if char in text]
    assert copy["Титул"]["B3"].value == REVERSED_CODE  # the school's own cell is the school's to fix


def _page_text(tmp_path: Path, **changes) -> str:
    return html.unescape(write_feedback(tmp_path, make_item(**changes))[0].read_text(encoding="utf-8"))


def test_feedback_wording_follows_the_state(tmp_path: Path) -> None:
    warning = catalogue.build("S06", "Титул", "B2", value="ИБЦ-2024.1", found="ИБЦ-2024.1", current="ИБЦ-2025.1")
    clean = _page_text(tmp_path / "clean", status="accepted", findings=[], school_state="on_time")
    assert "Замечаний нет, присылать файл заново не нужно" in clean
    assert "предупреждени" not in clean.lower()
    warned = _page_text(tmp_path / "warned", status="accepted", findings=[warning], school_state="on_time")
    assert "это не ошибки, из-за них отчёт не отклонён" in warned
    rejected = _page_text(tmp_path / "rejected")
    assert "Отчёт отклонён: исправьте ошибки" in rejected and "Отчёт принят." not in rejected


def test_feedback_says_a_late_file_is_late_and_an_after_window_file_is_after_the_window(tmp_path: Path) -> None:
    late = _page_text(tmp_path / "late", status="accepted", findings=[], school_state="late",
                      arrived_at=datetime.datetime(2025, 10, 14, 9, 0), window_close=datetime.date(2025, 10, 31))
    assert "принят с опозданием: файл получен 14.10.2025, после срока сдачи 01.10.2025" in late
    assert "после закрытия сбора" not in late
    after = _page_text(tmp_path / "after", status="accepted", findings=[], school_state="late",
                       arrived_at=datetime.datetime(2025, 11, 3, 9, 0), window_close=datetime.date(2025, 10, 31))
    assert "Файл получен 03.11.2025, после закрытия сбора отчётов (31.10.2025)" in after


def test_feedback_puts_the_code_after_the_message(tmp_path: Path) -> None:
    text = _page_text(tmp_path)
    message = roadmap_findings()[1].message
    assert text.index(message) < text.index("(R01)")
