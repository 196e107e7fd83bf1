"""Crashes and concurrent runs with real processes: kill -9 mid-collection, two collections at once."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import PROJECT, good_report, set_cell, write_xlsx

from pipeline import ledger
from pipeline.collect.run import collect, load_setup

SCHOOLS = 120
# Locally: EIBM_KILL_REPEATS=20 pytest tests/test_crash.py (the issue asks for 20 runs; CI runs it once).
REPEATS = int(os.environ.get("EIBM_KILL_REPEATS", "1"))
CHILD = """
import sys, datetime as dt
from pathlib import Path
from pipeline.collect.run import collect, load_setup
collect(load_setup(Path(sys.argv[1]), Path(sys.argv[2]), 2025), now=dt.datetime(2025, 6, 1), batch_size=5)
"""


@pytest.fixture(scope="module")
def district_inputs(tmp_path_factory: pytest.TempPathFactory, district) -> Path:
    """A drop folder with SCHOOLS workbooks (a fifth of them with an error) and a few junk files."""
    inputs = tmp_path_factory.mktemp("crash") / "inputs"
    (inputs / "2025").mkdir(parents=True)
    shutil.copy(PROJECT / "inputs" / "district.toml", inputs)
    lines = ["Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта"]
    for number in range(SCHOOLS):
        code = f"K-{number:03d}"
        lines.append(f"{code};Школа {number};Тест;test-school.ru;a@test-school.ru;;")
        report = good_report(district)
        set_cell(report, "Титул", "B3", code)
        if number % 5 == 0:
            set_cell(report, "Дорожная карта", "E3", "")
        write_xlsx(report, inputs / "2025" / f"{code}.xlsx")
    (inputs / "schools.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (inputs / "2025" / "notes.txt").write_text("junk", encoding="utf-8")
    (inputs / "2025" / "~$K-001.xlsx").write_bytes(b"lock")
    return inputs


def check_consistent(inputs: Path, outputs: Path) -> None:
    """Every file one status, every submission recorded once, every submission's feedback written."""
    summary = collect(load_setup(inputs, outputs, 2025))
    files = sorted(path.name for path in (inputs / "2025").iterdir())
    assert sorted(item["path"].removeprefix("2025/") for item in summary.files) == files
    counts = summary.counts
    assert counts == {"accepted": SCHOOLS - SCHOOLS // 5, "rejected": SCHOOLS // 5, "unrecognized": 2}
    setup = load_setup(inputs, outputs, 2025)
    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        stored = ledger.campaign_submissions(connection, 2025)
        pending = ledger.pending_feedback(connection, 2025)
    engine.dispose()
    assert len(stored) == len(files)  # none counted twice
    assert pending == []
    pages = list((outputs / "2025" / "feedback").rglob("*.html"))
    assert len(pages) == len(files)
    assert not list(outputs.rglob("*.tmp"))  # what the killed run was writing is swept


@pytest.mark.parametrize("attempt", range(REPEATS))
def test_collection_killed_at_any_moment_is_completed_by_the_next_run(district_inputs: Path, tmp_path: Path,
                                                                     attempt: int) -> None:
    outputs = tmp_path / "outputs"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(district_inputs), str(outputs)])
    time.sleep(random.Random(attempt).uniform(1.0, 3.0))
    child.send_signal(signal.SIGKILL)
    child.wait()
    check_consistent(district_inputs, outputs)


@pytest.mark.parametrize("attempt", range(REPEATS))
def test_two_collections_at_once_one_waits_its_turn_or_says_so(district_inputs: Path, tmp_path: Path,
                                                                attempt: int) -> None:
    outputs = tmp_path / "outputs"
    command = [sys.executable, "-m", "eibm.cli", "collect", "--year", "2025", "--inputs", str(district_inputs),
               "--outputs", str(outputs), "--json"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    second = subprocess.run(command, capture_output=True, text=True, timeout=600)
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    assert second.returncode == 2
    assert "уже обрабатывается" in second.stderr
    check_consistent(district_inputs, outputs)
