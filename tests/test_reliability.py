"""Reliability as the district sees it: a hostile drop folder through `eibm collect`, output errors, kills."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import PROJECT

CORPUS = PROJECT / "tests" / "data" / "hostile"
REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru test-r70.gosweb.gosuslugi.ru;a@test-school.ru;;\n")


def eibm(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eibm.cli", *arguments], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def workspace(tmp_path: Path) -> Path:
    inputs = tmp_path / "inputs"
    (inputs / "2025").mkdir(parents=True)
    shutil.copy(PROJECT / "inputs" / "district.toml", inputs)
    (inputs / "schools.csv").write_text(REGISTER, encoding="utf-8")
    return tmp_path


def test_hostile_corpus_through_eibm_collect_every_file_one_status(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    drop = root / "inputs" / "2025"
    with (CORPUS / "expected.csv").open(encoding="utf-8") as handle:
        expected = {row["file"]: row for row in csv.DictReader(handle, delimiter=";")}
    for name in expected:
        source = CORPUS / name
        if source.is_symlink():
            (drop / name).symlink_to(source.readlink())
        else:
            shutil.copy(source, drop / name)

    result = eibm("collect", "--year", "2025", "--json", cwd=root)

    assert result.returncode == 0, result.stderr
    files = {item["path"].removeprefix("2025/"): item for item in json.loads(result.stdout)["files"]}
    assert sorted(files) == sorted(expected)  # count of files in equals count of statuses out
    for name, row in expected.items():
        found = files[name]
        if row["status"] == "accepted":
            # Several correct reports of the one test school: the latest counts, the rest are replaced.
            assert found["status"] in ("accepted", "superseded", "duplicate"), name
        else:
            assert found["status"] == row["status"], name
            assert found["findings"][0]["code"] == row["code"], name
    assert not any("root:x:0" in path.read_text(errors="ignore")
                   for path in (root / "outputs").rglob("*.html"))


def test_unwritable_output_is_a_clear_error_and_leaves_nothing_half_written(tmp_path: Path, district) -> None:
    from conftest import good_report, write_xlsx

    root = workspace(tmp_path)
    write_xlsx(good_report(district), root / "inputs" / "2025" / "70-001.xlsx")
    (root / "outputs" / "2025").mkdir(parents=True)
    (root / "outputs" / "2025" / "feedback").write_text("a file where a folder must be")  # as root, chmod is moot

    result = eibm("collect", "--year", "2025", cwd=root)

    assert result.returncode == 2
    assert "не удалось записать" in result.stderr
    assert not list((root / "outputs").rglob("*.tmp"))


KILL_DURING_RENDER = """
import datetime as dt, sys
from pathlib import Path
from pipeline import ledger
from pipeline.report.annual import build_report, write_report
from pipeline.district.setup import load_setup
if __name__ == "__main__":
    setup = load_setup(Path(sys.argv[1]), Path(sys.argv[2]), 2025)
    engine = ledger.open_ledger(setup.ledger_url)
    write_report(setup, build_report(setup, engine, dt.datetime(2025, 11, 5, 9)))
"""


@pytest.mark.parametrize("attempt", range(int(os.environ.get("EIBM_KILL_REPEATS", "1"))))
def test_render_killed_midway_leaves_the_previous_report_intact(tmp_path: Path, attempt: int) -> None:
    from pipeline import ledger
    from pipeline.collect.run import collect
    from pipeline.district.setup import load_setup
    from pipeline.report.annual import build_report, write_report

    shutil.copytree(PROJECT / "inputs", tmp_path / "inputs")
    inputs, outputs = tmp_path / "inputs", tmp_path / "outputs"
    setup = load_setup(inputs, outputs, 2025)
    collect(setup, now=dt.datetime(2025, 11, 5, 9))
    engine = ledger.open_ledger(setup.ledger_url)
    write_report(setup, build_report(setup, engine, dt.datetime(2025, 11, 5, 9)))
    engine.dispose()
    folder = outputs / "2025"
    documents = [folder / name for name in ("report.pdf", "report.html", "svod.xlsx")]
    before = {path: path.read_bytes() for path in documents}
    written = {path: path.stat().st_mtime_ns for path in documents}

    def replaced(name: str) -> bool:
        return (folder / name).stat().st_mtime_ns != written[folder / name]

    # write_report writes svod.xlsx, then report.html, then report.pdf (seconds of layout, into a
    # temporary file). The kill lands at one of those moments, never during the seconds of imports
    # and aggregation before them, when there is nothing yet to leave half-written.
    moments = {"svod.xlsx written": lambda: replaced("svod.xlsx"),
               "report.html written": lambda: replaced("report.html"),
               "report.pdf begun": lambda: bool(list(folder.glob(".report.pdf.*.tmp")))}
    reached = moments[random.Random(attempt).choice(sorted(moments))]
    script = tmp_path / "render.py"
    script.write_text(KILL_DURING_RENDER, encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script), str(inputs), str(outputs)], cwd=PROJECT)
    deadline = time.monotonic() + 300
    while child.poll() is None and not reached():
        assert time.monotonic() < deadline, "the report was not written in 5 minutes"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()

    # The kill landed mid-run: the child died of it after svod.xlsx and before report.pdf was replaced.
    assert child.returncode == -signal.SIGKILL
    assert replaced("svod.xlsx")
    assert not replaced("report.pdf")
    for path in documents:  # the old document or a complete new one, never half of one
        data = path.read_bytes()
        if data != before[path]:
            assert path.suffix != ".pdf" or data.rstrip().endswith(b"%%EOF")
    pdf = (outputs / "2025" / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    # The next run completes the work and clears what the killed one left.
    subprocess.run([sys.executable, str(script), str(inputs), str(outputs)], cwd=PROJECT, check=True, timeout=600)
    assert not list((outputs / "2025").glob(".*.tmp"))
