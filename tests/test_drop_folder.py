"""The drop folder is open to every school: whatever one file is or does, it ends with a status, and the run goes on."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import threading
import unicodedata
from pathlib import Path

import pytest
from conftest import PROJECT, campaign_setup, good_report, set_cell, write_csv_parts, write_xlsx

from pipeline import ledger
from pipeline.archive import ARCHIVE_FOLDER
from pipeline.collect.plan import plan_collection, read_listing
from pipeline.collect.record import record_batch
from pipeline.collect.run import collect, file_statuses, finish_collection, judge_batch, judging_rules
from pipeline.district.setup import Setup

REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru test-r70.gosweb.gosuslugi.ru;a@test-school.ru;;\n")
NOW = dt.datetime(2025, 6, 1, 10, 0)
LATER = dt.datetime(2025, 6, 2, 10, 0)
# «отчёт» in Windows-1251: what a Windows share hands over for a Russian name; not UTF-8.
CP1251_NAME = "отчёт".encode("cp1251") + b".xlsx"
SECRET = b"root:x:0:0:secret outside the drop folder\n"


@pytest.fixture()
def setup(tmp_path: Path) -> Setup:
    return campaign_setup(tmp_path, REGISTER)


@pytest.fixture()
def report(setup: Setup) -> dict:
    return good_report(setup.district)


def statuses(setup: Setup) -> dict[str, str]:
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        return {item["path"]: item["status"] for item in file_statuses(setup, engine)}
    finally:
        engine.dispose()


def archive_is_content_addressed(outputs: Path) -> bool:
    """Every archived copy is named by the sha256 of its own bytes."""
    copies = [path for path in (outputs / ARCHIVE_FOLDER).rglob("*") if path.is_file()]
    return all(path.name.split(".")[0] == hashlib.sha256(path.read_bytes()).hexdigest() for path in copies)


def archived_contents(outputs: Path) -> list[bytes]:
    return [path.read_bytes() for path in (outputs / ARCHIVE_FOLDER).rglob("*") if path.is_file()]


def written_text(outputs: Path) -> str:
    """Everything the run wrote that a person reads: pages, JSON-able ledger paths, status."""
    return "\n".join(path.read_text(encoding="utf-8") for path in outputs.rglob("*.html"))


def judge_and_record(setup: Setup, plan, now: dt.datetime) -> None:
    """The rest of a pass after plan_collection: judge and record its one batch, then finish."""
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        with ledger.transaction(engine) as connection:
            run_id = ledger.start_run(connection, setup.year, now)
        verdicts = judge_batch(judging_rules(setup, engine, now), plan.new_units)
        processed = len(record_batch(setup, engine, plan.new_units, verdicts, now))
        finish_collection(setup, engine, plan, processed, run_id, now)
    finally:
        engine.dispose()


def plan_after(setup: Setup, between) -> object:
    """List the drop folder, do *between* to it, then plan: the file changes after the listing, before it is read."""
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        listing = read_listing(setup, engine)
        between()
        return plan_collection(setup, engine, NOW, listing)
    finally:
        engine.dispose()


def plan_now(setup: Setup) -> object:
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        return plan_collection(setup, engine, NOW)
    finally:
        engine.dispose()


def test_undecodable_name_is_collected_once_and_shown_escaped(setup: Setup, report: dict) -> None:
    drop = os.fsencode(setup.drop_folder)
    write_xlsx(report, Path(os.fsdecode(drop + b"/" + CP1251_NAME)))
    (Path(os.fsdecode(drop + b"/\xcf\xe0\xef\xea\xe0"))).mkdir()  # «Папка» in Windows-1251
    (Path(os.fsdecode(drop + b"/\xcf\xe0\xef\xea\xe0/\xff.txt"))).write_bytes(b"not a report")
    (setup.drop_folder / "\\xee.txt").write_bytes(b"a name that spells an escape")

    first = collect(setup, now=NOW)
    second = collect(setup, now=LATER)

    shown = "2025/\\xee\\xf2\\xf7\\xb8\\xf2.xlsx"
    assert statuses(setup) == {shown: "accepted", "2025/\\xcf\\xe0\\xef\\xea\\xe0/\\xff.txt": "unrecognized",
                               "2025/\\\\xee.txt": "unrecognized"}
    assert (first.processed, second.processed) == (3, 0)  # a re-run knows every file again
    assert first.unsettled == second.unsettled == []
    printed = json.dumps(second.to_json(), ensure_ascii=False)  # what `collect --json` prints
    assert shown in {item["path"] for item in json.loads(printed)["files"]}
    assert "\\xee\\xf2\\xf7\\xb8\\xf2.xlsx" in (setup.outputs / "2025" / "status.html").read_text(encoding="utf-8")
    page = next((setup.outputs / "2025" / "feedback" / "70-001").glob("*.html")).read_text(encoding="utf-8")
    assert "\\xee\\xf2\\xf7\\xb8\\xf2.xlsx" in page
    assert archive_is_content_addressed(setup.outputs)


COLLECT_TWICE = """
import json, sys, datetime as dt
from pathlib import Path
from pipeline.district.setup import load_setup
from pipeline.collect.run import collect
if __name__ == "__main__":
    setup = load_setup(Path(sys.argv[1]), Path(sys.argv[2]), 2025)
    for day in (1, 2):
        print(json.dumps(collect(setup, now=dt.datetime(2025, 6, day, 10)).to_json(), ensure_ascii=False))
"""
NOT_A_FILE = "Файл не удалось прочитать: это не файл, а"


def collect_twice_in_a_process(setup: Setup, tmp_path: Path) -> tuple[dict, dict]:
    """Two collections in a process of their own, so that a file that blocks the run fails the test
    (timeout) instead of hanging it; their --json output."""
    script = tmp_path / "collect_twice.py"
    script.write_text(COLLECT_TWICE, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script), str(setup.inputs), str(setup.outputs)], capture_output=True,
                            text=True, timeout=180, cwd=PROJECT, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    return first, second


def first_errors(summary: dict) -> dict[str, tuple[str, str]]:
    """Per file of a --json summary: its status and its first error's message («» if none)."""
    errors = {item["path"]: [finding["message"] for finding in item["findings"] if finding["severity"] == "error"]
              for item in summary["files"]}
    return {item["path"]: (item["status"], next(iter(errors[item["path"]]), "")) for item in summary["files"]}


def test_fifo_and_socket_are_unrecognized_and_never_opened(setup: Setup, report: dict, tmp_path: Path) -> None:
    drop = setup.drop_folder
    write_xlsx(report, drop / "70-001.xlsx")
    os.mkfifo(drop / "pipe.xlsx")  # opening it would wait for a writer for ever
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(drop / "socket.csv"))  # opening it fails (ENXIO): it used to wait on every run
        first, second = collect_twice_in_a_process(setup, tmp_path)

    assert first_errors(first) == {"2025/70-001.xlsx": ("accepted", ""),
                                     "2025/pipe.xlsx": ("unrecognized", f"{NOT_A_FILE} именованный канал (FIFO)."),
                                     "2025/socket.csv": ("unrecognized", f"{NOT_A_FILE} сокет.")}
    assert first["pending"] == second["pending"] == []
    assert second["processed"] == 0


def test_character_device_is_unrecognized_and_never_opened(setup: Setup, tmp_path: Path) -> None:
    device = setup.drop_folder / "zero.xlsx"
    try:
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero: reading it never ends
    except PermissionError:
        pytest.skip("creating a device needs root")

    first, second = collect_twice_in_a_process(setup, tmp_path)

    assert first_errors(first) == {"2025/zero.xlsx": ("unrecognized", f"{NOT_A_FILE} устройство.")}
    assert first["pending"] == second["pending"] == [] and second["processed"] == 0


def test_file_swapped_for_a_fifo_after_listing_waits_without_blocking(setup: Setup, report: dict) -> None:
    path = setup.drop_folder / "70-001.xlsx"
    write_xlsx(report, path)

    def swap() -> None:
        path.unlink()
        os.mkfifo(path)

    planned: list = []
    planning = threading.Thread(target=lambda: planned.append(plan_after(setup, swap)), daemon=True)
    planning.start()
    planning.join(timeout=60)
    if planning.is_alive():
        with path.open("wb"):  # a writer releases the blocked open(), so the test ends
            pass
        pytest.fail("planning blocked opening a FIFO")
    assert planned[0].unsettled == ["70-001.xlsx"]


def test_file_rewritten_after_listing_waits_and_archive_keeps_only_what_was_read(setup: Setup, report: dict) -> None:
    path = setup.drop_folder / "70-001.xlsx"
    write_xlsx(report, path)

    def upload_in_progress() -> None:
        path.write_bytes(path.read_bytes()[:1000])  # the school's client is still writing it

    plan = plan_after(setup, upload_in_progress)

    assert plan.unsettled == ["70-001.xlsx"]
    assert plan.new_units == [] and "70-001.xlsx" not in plan.present
    assert archived_contents(setup.outputs) == []  # nothing judged, nothing archived
    write_xlsx(report, path)  # the upload finishes
    summary = collect(setup, now=LATER)
    assert statuses(setup) == {"2025/70-001.xlsx": "accepted"} and summary.unsettled == []
    assert archived_contents(setup.outputs) == [path.read_bytes()]


def test_file_rewritten_after_planning_is_judged_and_archived_as_read(setup: Setup, report: dict) -> None:
    path = setup.drop_folder / "70-001.xlsx"
    write_xlsx(report, path)
    genuine = path.read_bytes()
    plan = plan_now(setup)
    path.write_bytes(b"PK\x03\x04 garbage written over the report while the run judges it")

    judge_and_record(setup, plan, NOW)

    assert statuses(setup) == {"2025/70-001.xlsx": "accepted"}  # what was read is what was judged
    assert archived_contents(setup.outputs) == [genuine]
    assert archive_is_content_addressed(setup.outputs)
    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        assert ledger.known_files(connection, 2025)["70-001.xlsx"].sha256 == hashlib.sha256(genuine).hexdigest()
    engine.dispose()

    collect(setup, now=LATER)  # the garbage is a version of its own, judged as such
    path.write_bytes(genuine)  # and when the genuine bytes come back, they are the accepted report's
    os.utime(path, (LATER.timestamp() + 60,) * 2)
    summary = collect(setup, now=LATER + dt.timedelta(hours=1))
    assert statuses(setup) == {"2025/70-001.xlsx": "duplicate"}
    assert summary.to_json()["schools"] == [{"school": "70-001", "state": "on_time"}]
    assert archive_is_content_addressed(setup.outputs)


def test_file_deleted_after_listing_is_not_in_the_folder_this_run(setup: Setup, report: dict) -> None:
    path = setup.drop_folder / "70-001.xlsx"
    write_xlsx(report, path)
    write_xlsx(report, setup.drop_folder / "копия.xlsx")

    plan = plan_after(setup, path.unlink)

    assert [planned.unit.key for planned in plan.new_units] == ["копия.xlsx"]
    assert plan.present == {"копия.xlsx"} and plan.unsettled == []
    judge_and_record(setup, plan, NOW)
    assert statuses(setup) == {"2025/копия.xlsx": "accepted"}


def test_file_deleted_after_planning_is_recorded_as_read_and_gone_next_run(setup: Setup, report: dict) -> None:
    path = setup.drop_folder / "70-001.xlsx"
    write_xlsx(report, path)
    plan = plan_now(setup)
    path.unlink()

    judge_and_record(setup, plan, NOW)  # reads the archived copy: nothing to miss

    assert statuses(setup) == {"2025/70-001.xlsx": "accepted"}
    assert collect(setup, now=LATER).processed == 0
    assert statuses(setup) == {}


def test_file_swapped_for_a_symlink_is_never_followed(setup: Setup, report: dict, tmp_path: Path) -> None:
    path = setup.drop_folder / "70-001_Титул.csv"
    write_csv_parts(report, setup.drop_folder)
    # The same size and time as the part it replaces: only O_NOFOLLOW tells them apart.
    secret = tmp_path / "secret.csv"
    secret.write_bytes(SECRET.ljust(path.stat().st_size, b"#"))
    os.utime(secret, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))

    def swap() -> None:
        path.unlink()
        os.symlink(secret, path)

    plan = plan_after(setup, swap)  # swapped between the listing and the read

    assert plan.unsettled == ["70-001_Титул.csv"]
    summary = collect(setup, now=LATER)  # the next run sees a link, and does not follow it
    assert statuses(setup)["2025/70-001_Титул.csv"] == "unrecognized"
    assert summary.unsettled == []
    assert SECRET not in b"".join(archived_contents(setup.outputs))
    assert b"secret outside" not in written_text(setup.outputs).encode()


def test_file_swapped_for_a_symlink_after_planning_is_judged_as_read(setup: Setup, report: dict,
                                                                     tmp_path: Path) -> None:
    secret = tmp_path / "secret.xlsx"
    bad = {sheet: [list(row) for row in rows] for sheet, rows in report.items()}
    set_cell(bad, "Дорожная карта", "E3", "")
    write_xlsx(bad, secret)  # a rejected report outside the drop folder
    path = setup.drop_folder / "70-001.xlsx"
    write_xlsx(report, path)
    genuine = path.read_bytes()
    plan = plan_now(setup)
    path.unlink()
    os.symlink(secret, path)

    judge_and_record(setup, plan, NOW)

    assert statuses(setup) == {"2025/70-001.xlsx": "accepted"}
    assert archived_contents(setup.outputs) == [genuine]


def test_csv_parts_spelled_nfc_and_nfd_are_one_submission(setup: Setup, report: dict) -> None:
    composed = unicodedata.normalize("NFC", "Отчёт-й")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    for index, part in enumerate(sorted(write_csv_parts(report, setup.drop_folder))):
        prefix = composed if index % 2 else decomposed  # as a Mac and a Windows machine would write them
        part.rename(part.with_name(part.name.replace("70-001", prefix)))

    summary = collect(setup, now=NOW)

    assert summary.processed == 1
    assert sorted(set(statuses(setup).values())) == ["accepted"] and len(statuses(setup)) == 6


def test_thousands_of_junk_files_make_one_summary_line(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    drop = setup.drop_folder
    for index in range(5000):
        folder = drop / f"мусор {index % 10}"
        folder.mkdir(exist_ok=True)
        suffix = (".xlsx", ".txt", ".csv", ".jpg", ".ods")[index % 5]
        (folder / f"файл {index}{suffix}").write_bytes(index.to_bytes(4, "big") * 8)

    with caplog.at_level(logging.WARNING):
        summary = collect(setup, now=NOW)

    assert summary.processed == 5000
    assert sum(summary.counts.values()) == 5000
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings[:5]
    assert warnings[0].startswith("Новых файлов не распознано как отчёт: 2000 (")


def test_file_over_the_size_limit_is_s07_and_never_read(setup: Setup) -> None:
    path = setup.drop_folder / "огромный.xlsx"
    with path.open("wb") as handle:
        handle.truncate(setup.district.max_file_bytes + 1)  # sparse: costs no disk

    collect(setup, now=NOW)

    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        (submission,) = ledger.campaign_submissions(connection, 2025)
        found = ledger.submission_findings(connection, [submission.id])[submission.id]
    engine.dispose()
    assert (submission.status, [finding.code for finding in found]) == ("rejected", ["S07"])
    assert submission.archive == () and archived_contents(setup.outputs) == []


def test_csv_part_over_the_size_limit_is_s07_and_the_other_parts_are_read(setup: Setup, report: dict) -> None:
    parts = write_csv_parts(report, setup.drop_folder)
    staff = next(path for path in parts if "Сотрудники" in path.name)
    with staff.open("r+b") as handle:
        handle.truncate(setup.district.max_file_bytes + 1)

    collect(setup, now=NOW)

    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        (submission,) = ledger.campaign_submissions(connection, 2025)
        found = ledger.submission_findings(connection, [submission.id])[submission.id]
    engine.dispose()
    assert submission.status == "rejected"
    assert [(finding.code, finding.message) for finding in found if finding.is_error] == [
        ("S07", "Файл превышает допустимые размеры: 70-001_Сотрудники.csv: размер файла 10,0 МБ.")]
    assert sorted(archived_contents(setup.outputs)) == sorted(path.read_bytes() for path in parts if path != staff)
