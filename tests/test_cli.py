"""The `eibm` command line as a user runs it: real processes, exit codes, JSON, Russian messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from conftest import PROJECT, good_report, set_cell, write_xlsx

REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru;a@test-school.ru;;\n"
            "70-002;МБОУ «Вторая СОШ»;Тест;second.ru;a@second.ru;;\n")


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    inputs = tmp_path / "inputs"
    (inputs / "2025").mkdir(parents=True)
    shutil.copy(PROJECT / "inputs" / "district.toml", inputs)
    (inputs / "schools.csv").write_text(REGISTER, encoding="utf-8")
    return tmp_path


def eibm(workspace: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eibm.cli", *arguments], cwd=workspace, capture_output=True,
                          text=True, timeout=300)


def test_validate_exit_codes_and_json(workspace: Path, district) -> None:
    good = write_xlsx(good_report(district), workspace / "good.xlsx")
    report = good_report(district)
    set_cell(report, "Дорожная карта", "E3", "")
    bad = write_xlsx(report, workspace / "bad.xlsx")

    ok = eibm(workspace, "validate", str(good), "--year", "2025")
    assert ok.returncode == 0, ok.stderr
    assert "без ошибок" in ok.stdout

    failed = eibm(workspace, "validate", str(good), str(bad), "--year", "2025", "--json")
    assert failed.returncode == 1
    document = json.loads(failed.stdout)
    by_path = {item["path"]: item for item in document["files"]}
    assert by_path[str(bad)]["findings"][0]["code"] == "R01"
    assert by_path[str(bad)]["findings"][0]["cell"] == "E3"
    assert by_path[str(good)]["findings"] == []
    assert not (workspace / "outputs").exists()  # validate stores nothing


def test_validate_usage_and_configuration_errors_exit_2(workspace: Path) -> None:
    assert eibm(workspace, "validate", "missing.xlsx", "--year", "2025").returncode == 2
    assert eibm(workspace, "frobnicate").returncode == 2
    data_file = workspace / "inputs" / "district.toml"
    data_file.write_text(data_file.read_text(encoding="utf-8").replace('name = "Демонстрационный район"', "name = 5"),
                         encoding="utf-8")
    broken = eibm(workspace, "status", "--year", "2025")
    assert broken.returncode == 2
    assert "district.toml" in broken.stderr and "district.name" in broken.stderr


def test_template_filled_in_passes_validation(workspace: Path, district) -> None:
    made = eibm(workspace, "templates", "--year", "2025")
    assert made.returncode == 0, made.stderr
    folder = workspace / "outputs" / "2025" / "templates"
    assert sorted(path.name for path in folder.glob("*.xlsx")) == ["70-001.xlsx", "70-002.xlsx"]

    # Fill 70-001's template the way a librarian would: type values into the unlocked cells.
    template = folder / "70-001.xlsx"
    workbook = openpyxl.load_workbook(template)
    instruction = " ".join(str(cell.value) for row in workbook["Инструкция"].iter_rows() for cell in row if cell.value)
    assert "ibc@example.test" in instruction  # where to send it: the district's [mail] reply_to
    filled = good_report(district)
    for name, rows in filled.items():
        sheet = workbook[name]
        for row_number, row in enumerate(rows[1:], start=2):
            for column_number, value in enumerate(row, start=1):
                if sheet.cell(row_number, column_number).value in (None, "") and value != "":
                    sheet.cell(row_number, column_number).value = value
    target = workspace / "inputs" / "2025" / "70-001_ИБЦ_2025.xlsx"
    workbook.save(target)

    checked = eibm(workspace, "validate", str(target), "--year", "2025", "--json")
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout)["files"][0]["findings"] == []

    collected = eibm(workspace, "collect", "--year", "2025", "--json")
    assert collected.returncode == 0, collected.stderr
    document = json.loads(collected.stdout)
    assert [(item["path"], item["status"]) for item in document["files"]] == [("2025/70-001_ИБЦ_2025.xlsx",
                                                                                "accepted")]
    states = {item["school"]: item["state"] for item in document["schools"]}
    assert states["70-002"] == "missing"

    status = eibm(workspace, "status", "--year", "2025", "--json")
    assert json.loads(status.stdout)["schools"] == document["schools"]
    assert "не сдан" in eibm(workspace, "status", "--year", "2025").stdout


def test_validate_shows_hidden_characters_of_a_file_name_written_out(workspace: Path, district) -> None:
    path = write_xlsx(good_report(district), workspace / "\u202e70-001\u200b.xlsx")
    shown = eibm(workspace, "validate", str(path), "--year", "2025")
    listed = json.loads(eibm(workspace, "validate", str(path), "--year", "2025", "--json").stdout)
    assert "⟨U+202E⟩70-001⟨U+200B⟩.xlsx" in shown.stdout
    assert listed["files"][0]["path"].endswith("⟨U+202E⟩70-001⟨U+200B⟩.xlsx")
    assert "\u202e" not in shown.stdout + json.dumps(listed, ensure_ascii=False)


# What a collection with nothing new must not import: judging's and the report's libraries cost ≈ 0.7 s of a
# command that should answer within 2 s (benchmarks/cli.py).
HEAVY_MODULES = ("pandas", "pandera", "openpyxl", "weasyprint", "numpy")
IMPORTED_AFTER = """
import json, sys
from eibm.cli import main
code = main(sys.argv[2:])
print(json.dumps({"code": code, "heavy": [name for name in sys.argv[1].split(",") if name in sys.modules]}))
"""


def collect_and_list_imports(workspace: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", IMPORTED_AFTER, ",".join(HEAVY_MODULES), "collect", "--year", "2025",
                           "--json"],
                          cwd=workspace, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    *_, last = done.stdout.strip().splitlines()
    return json.loads(last)


def test_a_collection_with_nothing_new_imports_no_judging_or_report_library(workspace: Path, district) -> None:
    write_xlsx(good_report(district), workspace / "inputs" / "2025" / "70-001.xlsx")
    first = collect_and_list_imports(workspace)  # judges the file, writes its feedback and the dry-run reply
    assert first["code"] == 0 and "pandas" in first["heavy"]

    again = collect_and_list_imports(workspace)

    assert again == {"code": 0, "heavy": []}
    assert sorted(path.name for path in (workspace / "outputs" / "2025" / "outbox").iterdir()) == ["70-001_reply_1.eml"]


def test_a_reader_that_leaves_early_ends_the_command_quietly(workspace: Path, district) -> None:
    """`eibm collect | head -1`: the rest has nobody to read it; no «Ошибка файловой системы EPIPE»."""
    write_xlsx(good_report(district), workspace / "inputs" / "2025" / "70-001.xlsx")
    child = subprocess.Popen([sys.executable, "-m", "eibm.cli", "collect", "--year", "2025"], cwd=workspace,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = child.stdout.readline()
    child.stdout.close()  # before the run's summary is printed
    errors = child.stderr.read()
    child.wait(timeout=300)

    assert first.startswith("Сбор отчётов 2025")
    assert (child.returncode, errors) == (141, "")
