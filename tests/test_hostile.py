"""Hostile, broken and odd files: each gets exactly its status and finding, and none harms another file."""

from __future__ import annotations

import csv
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import python_calamine

from pipeline.district.roadmap import District
from pipeline.intake.discover import Unit, group_units, list_drop_folder
from pipeline.intake.isolation import TOO_BIG, TOO_SLOW, IsolatedReader, read_unit, read_units_isolated
from pipeline.intake.read import RawSheet, RawSubmission

# Worker processes import this module to unpickle the test readers below, so everything heavy (pandas,
# pandera, the corpus script) is imported inside the tests, not here.
CORPUS = Path(__file__).resolve().parent / "data" / "hostile"
MANIFEST = "expected.csv"
# calamine aborts the process on this file (calamine #693); preflight keeps it from calamine.
DEADLY = "A1_и_XFD1048576.xlsx"
# A test reader treats files whose name holds a marker specially; every other file is read as usual.
UNCHECKED, HANGS, GREEDY = "без_проверки", "зависает", "жадный"


def _manifest() -> list[tuple[str, str, str]]:
    with (CORPUS / MANIFEST).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        return [(name, status, code) for name, status, code in reader]


EXPECTED = _manifest()
ACCEPTED_FILES = [name for name, status, _ in EXPECTED if status == "accepted"]
# Small correct workbooks to stand next to a faulty one (a CSV part needs its group; 5,000 rows are slow).
INNOCENT = [name for name in ACCEPTED_FILES if not name.endswith(".csv") and not name.startswith("5000")]


def read_without_preflight(unit: Unit, district: District) -> RawSubmission:
    """Hand a workbook marked UNCHECKED straight to calamine, as if preflight had missed it."""
    path = unit.files[0].path
    if UNCHECKED not in path.name:
        return read_unit(unit, district)
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    return RawSubmission([RawSheet(name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))
                          for name in workbook.sheet_names], [])


def hang_on_marker(unit: Unit, district: District) -> RawSubmission:
    if HANGS in unit.files[0].path.name:
        time.sleep(600)
    return read_unit(unit, district)


def hang_deaf_to_alarm(unit: Unit, district: District) -> RawSubmission:
    """Hang with SIGALRM blocked: only the parent's own guard can stop this worker."""
    if HANGS in unit.files[0].path.name:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(600)
    return read_unit(unit, district)


def allocate_on_marker(unit: Unit, district: District) -> RawSubmission:
    if GREEDY in unit.files[0].path.name:
        bytearray(4 * 1024 ** 3)
    return read_unit(unit, district)


@dataclass
class Judged:
    """The corpus judged once through the isolated reader, with the parent's peak memory around it."""

    verdicts: dict[str, Any]  # file name → Verdict
    big: list[tuple[str, str, str]]
    seconds: float
    peak_before_mb: float
    peak_after_mb: float


def _units(folder: Path) -> list[Unit]:
    return group_units([dropped for dropped in list_drop_folder(folder) if dropped.relative != MANIFEST])


def _by_file(verdicts: list[Any]) -> dict[str, Any]:
    return {dropped.path.name: verdict for verdict in verdicts for dropped in verdict.unit.files}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rules(district: District, register: dict) -> Any:
    from conftest import TODAY, YEAR

    from pipeline.judge.verdict import Rules
    return Rules(district, register, district.campaign(YEAR), TODAY)


def _judge(units: list[Unit], district: District, register: dict, isolated: IsolatedReader) -> dict[str, Any]:
    from pipeline.judge.verdict import judge_units
    return _by_file(judge_units(units, _rules(district, register), reader=isolated.read_ahead(units, district)))


def _status_and_code(verdict: Any) -> tuple[str, str]:
    return verdict.status, verdict.findings[0].code if verdict.findings else ""


def _drop(tmp_path: Path, names: list[str], extra: dict[str, str]) -> Path:
    """A drop folder with corpus files *names*, and copies of corpus files under new names (*extra*)."""
    drop = tmp_path / "drop"
    drop.mkdir()
    for name in names:
        shutil.copy(CORPUS / name, drop / name)
    for new, old in extra.items():
        shutil.copy(CORPUS / old, drop / new)
    return drop


@pytest.fixture(scope="module")
def judged(district: District, register: dict, tmp_path_factory: pytest.TempPathFactory) -> Judged:
    from scripts.make_hostile_corpus import write_big_files

    big_folder = tmp_path_factory.mktemp("big")
    big = write_big_files(big_folder, district)
    units = _units(CORPUS) + _units(big_folder)
    before = _peak_rss_mb()
    started = time.monotonic()
    with IsolatedReader() as isolated:
        verdicts = _judge(units, district, register, isolated)
    return Judged(verdicts, big, time.monotonic() - started, before, _peak_rss_mb())


def test_corpus_has_forty_files_and_each_gets_one_verdict(judged: Judged) -> None:
    names = sorted(name for name, *_ in EXPECTED + judged.big)
    assert len(names) >= 40
    assert sorted(judged.verdicts) == names


@pytest.mark.parametrize(("name", "status", "code"), [pytest.param(*row, id=row[0]) for row in EXPECTED])
def test_corpus_file_gets_its_status_and_first_code(judged: Judged, name: str, status: str, code: str) -> None:
    assert _status_and_code(judged.verdicts[name]) == (status, code)


@pytest.mark.parametrize(("name", "words"), [
    pytest.param("utf16_Титул.csv", "«CSV UTF-8", id="a UTF-16 CSV is told to be saved as CSV UTF-8"),
    pytest.param("пароль_ooxml_EncryptedPackage.xlsx", "паролем", id="an encrypted .xlsx is told it has a password"),
    pytest.param("пароль_xor.xls", "паролем", id="an XOR-obfuscated .xls is told it has a password"),
    pytest.param("xls_под_именем.xlsx", "(.xls) с расширением .xlsx", id="a renamed .xls is told what it is"),
    pytest.param("одна_строка_50_МБ.xlsx", "текст длиннее допустимого", id="a giant string is named as such"),
    pytest.param("A1_и_XFD1048576.xlsx", "более 5000 строк", id="a far cell is told the row limit"),
])
def test_first_finding_says_what_is_wrong(judged: Judged, name: str, words: str) -> None:
    assert words in judged.verdicts[name].findings[0].message


def test_big_files_get_their_status_and_first_code(judged: Judged) -> None:
    assert [(name, *_status_and_code(judged.verdicts[name])) for name, *_ in judged.big] == judged.big


def test_parent_memory_stays_bounded(judged: Judged) -> None:
    # The corpus inflates to gigabytes if parsed (a 50 MB string, a million repeated rows); only workers
    # and preflight's bounded chunks ever see that, so the run's own peak barely moves.
    growth = judged.peak_after_mb - judged.peak_before_mb
    print(f"\ncorpus of {len(judged.verdicts)} files judged in {judged.seconds:.1f} s; parent peak RSS "
          f"{judged.peak_before_mb:.0f} → {judged.peak_after_mb:.0f} MB (+{growth:.0f} MB)")
    assert growth < 100


def test_deadly_file_really_aborts_calamine() -> None:
    # Without this, the next test could pass on a file that merely fails.
    code = ("import sys, python_calamine; book = python_calamine.CalamineWorkbook.from_path(sys.argv[1]); "
            "[book.get_sheet_by_name(name).to_python() for name in book.sheet_names]")
    run = subprocess.run([sys.executable, "-c", code, str(CORPUS / DEADLY)], capture_output=True,
                         env={"RUST_BACKTRACE": "0"}, timeout=60)
    assert run.returncode == -signal.SIGABRT


def test_reader_crash_costs_only_its_own_file(tmp_path: Path, district: District, register: dict) -> None:
    deadly = f"{UNCHECKED}_{DEADLY}"
    drop = _drop(tmp_path, ACCEPTED_FILES, {deadly: DEADLY})
    with IsolatedReader(reader=read_without_preflight) as isolated:
        verdicts = _judge(_units(drop), district, register, isolated)
        rebuilds = isolated.rebuilds
    crashed = verdicts.pop(deadly)
    assert _status_and_code(crashed) == ("rejected", "S07")
    assert TOO_BIG in crashed.findings[0].message
    assert {name: _status_and_code(verdict) for name, verdict in verdicts.items()} == {
        name: ("accepted", "") for name in ACCEPTED_FILES}
    assert rebuilds >= 2  # once for the batch it broke, once more when it broke its pool alone


@pytest.mark.parametrize("reader", [
    pytest.param(hang_on_marker, id="a reader hanging in Python is stopped by its alarm"),
    pytest.param(hang_deaf_to_alarm, id="a reader blocking the alarm is killed by the parent"),
])
def test_hanging_reader_costs_only_its_own_file(tmp_path: Path, district: District, register: dict,
                                                reader: Any) -> None:
    hanging = f"{HANGS}.xlsx"
    innocent = INNOCENT[:4]
    drop = _drop(tmp_path, innocent, {hanging: "70-001_ИБЦ_2025.xlsx"})
    started = time.monotonic()
    with IsolatedReader(time_limit=1.0, grace=1.0, reader=reader) as isolated:
        verdicts = _judge(_units(drop), district, register, isolated)
    seconds = time.monotonic() - started
    stuck = verdicts.pop(hanging)
    assert _status_and_code(stuck) == ("rejected", "S07")
    assert TOO_SLOW in stuck.findings[0].message
    assert {name: _status_and_code(verdict) for name, verdict in verdicts.items()} == {
        name: ("accepted", "") for name in innocent}
    assert seconds < 20


def test_memory_limit_turns_a_greedy_read_into_s07_and_keeps_the_pool(tmp_path: Path, district: District,
                                                                      register: dict) -> None:
    greedy = f"{GREEDY}.xlsx"
    drop = _drop(tmp_path, INNOCENT[:2], {greedy: "70-001_ИБЦ_2025.xlsx"})
    with IsolatedReader(memory_limit=512 * 1024 ** 2, reader=allocate_on_marker) as isolated:
        verdicts = _judge(_units(drop), district, register, isolated)
        assert isolated.rebuilds == 0  # a MemoryError is an exception in the worker, not a crash
    assert _status_and_code(verdicts[greedy]) == ("rejected", "S07")
    assert TOO_BIG in verdicts[greedy].findings[0].message


def test_isolated_reader_is_a_drop_in_reader_for_judge_units(district: District, register: dict) -> None:
    from pipeline.judge.verdict import judge_units

    names = ["70-001_ИБЦ_2025.xlsx", "пустой.xlsx", "A1_и_XFD1048576.xlsx", "формула_без_значения.xlsx"]
    units = [unit for unit in _units(CORPUS) if unit.key in names]
    with IsolatedReader() as isolated:
        verdicts = _by_file(judge_units(units, _rules(district, register), reader=isolated))
    expected = {name: (status, code) for name, status, code in EXPECTED if name in names}
    assert {name: _status_and_code(verdict) for name, verdict in verdicts.items()} == expected


def test_read_units_isolated_keeps_order_and_never_opens_unrecognized_units(district: District) -> None:
    by_key = {unit.key: unit for unit in _units(CORPUS)}
    units = [by_key[key] for key in ("пустой.xlsx", "ссылка_за_пределы_папки.xlsx", "70-001_ИБЦ_2025.xlsx")]
    empty, link, good = read_units_isolated(units, district)
    assert [finding.code for finding in empty.findings] == ["S01"]
    assert "symlink" in link.findings[0].message and not link.sheets
    assert [sheet.name for sheet in good.sheets][:2] == ["Титул", "Дорожная карта"] and not good.findings


def test_raw_submission_survives_pickling(district: District) -> None:
    # Workers send their results back pickled.
    by_key = {unit.key: unit for unit in _units(CORPUS)}
    for key in ("70-001_ИБЦ_2025.xlsx", "формула_без_значения.xlsx", "пустой.xlsx"):
        raw = read_unit(by_key[key], district)
        assert pickle.loads(pickle.dumps(raw)) == raw


SHEET = b'<worksheet><sheetData><row r="1">%s</row></sheetData></worksheet>'


@pytest.mark.parametrize(("cells", "refused"), [
    pytest.param(b'<c r="A1"><v>1</v></c><c r="CV1"><v>2</v></c>', False, id="cells within the limits pass"),
    pytest.param(b'<c r="A1"><v>1</v></c><c r="CW1"><v>2</v></c>', True, id="a placed cell past column CV"),
    pytest.param(b'<c r="A1"><v>1</v></c><c r="B99999"><v>2</v></c>', True, id="a placed cell past the rows"),
    pytest.param(b'<c r="A1"/><c r="XFD1048576"/>', False, id="empty far cells are skipped as calamine skips them"),
    pytest.param(b'<c r="CV1"><v>1</v></c><c><v>2</v></c>', True, id="an unplaced cell continues the row"),
    pytest.param(b'<c r="5" x="1" r="A1"><v>1</v></c>' * 101, True, id="a first r without column is sequential"),
    pytest.param(b"<c r='cw1'><v>1</v></c>", True, id="lowercase and single quotes as calamine reads them"),
])
def test_sheet_extent_at_a_glance_refuses_what_the_exact_pass_refuses(cells: bytes, refused: bool) -> None:
    from pipeline.intake.refusal import PreflightError
    from pipeline.intake.sheet_extent import SheetExtent

    for to_the_end in (True, False):  # the quick check, and the tag-by-tag pass alone
        extent = SheetExtent(max_rows=5000)
        if refused:
            with pytest.raises(PreflightError):
                extent.feed(SHEET % cells, to_the_end=to_the_end)
        else:
            extent.feed(SHEET % cells, to_the_end=to_the_end)
