"""Crashes and concurrent runs with real processes: kill -9 mid-collection, two collections at once."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_district

from pipeline import ledger
from pipeline.collect.run import collect
from pipeline.district.setup import load_setup

SCHOOLS = 120
# Locally: EIBM_KILL_REPEATS=20 pytest tests/test_crash.py (the issue asks for 20 runs; CI runs it once).
REPEATS = int(os.environ.get("EIBM_KILL_REPEATS", "1"))
CHILD = """
import sys, datetime as dt
from pathlib import Path
from pipeline.collect.run import collect
from pipeline.district.setup import load_setup
collect(load_setup(Path(sys.argv[1]), Path(sys.argv[2]), 2025), now=dt.datetime(2025, 6, 1), batch_size=5)
"""


@pytest.fixture(scope="module")
def district_inputs(tmp_path_factory: pytest.TempPathFactory, district) -> Path:
    """A drop folder with SCHOOLS workbooks (a fifth of them with an error) and a few junk files."""
    codes = [f"K-{number:03d}" for number in range(SCHOOLS)]
    inputs = write_district(tmp_path_factory.mktemp("crash") / "inputs", district, codes, set(codes[::5]))
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


def wait_for_feedback_pages(outputs: Path, child: subprocess.Popen, pages: int) -> None:
    """Wait until *child* has written *pages* feedback pages (so recorded a batch), or has ended."""
    folder = outputs / "2025" / "feedback"
    deadline = time.monotonic() + 300
    while child.poll() is None and len(list(folder.rglob("*.html"))) < pages:
        assert time.monotonic() < deadline, "the collection wrote no feedback in 5 minutes"
        time.sleep(0.02)


def assert_killed_mid_run(child: subprocess.Popen, inputs: Path, outputs: Path) -> None:
    """The kill landed: the child died of it, and the ledger holds an unfinished run and part of the files."""
    assert child.returncode == -signal.SIGKILL  # not an exit of its own, before or after the kill
    engine = ledger.open_ledger(load_setup(inputs, outputs, 2025).ledger_url)
    with ledger.transaction(engine) as connection:
        unfinished = ledger.last_run_unfinished(connection, 2025)
        recorded = len(ledger.campaign_submissions(connection, 2025))
    engine.dispose()
    assert unfinished
    assert 0 < recorded < len(list((inputs / "2025").iterdir()))


@pytest.mark.parametrize("attempt", range(REPEATS))
def test_collection_killed_at_any_moment_is_completed_by_the_next_run(district_inputs: Path, tmp_path: Path,
                                                                     attempt: int) -> None:
    outputs = tmp_path / "outputs"
    # A session of its own, so that the reader processes the killed run leaves behind can be ended after.
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(district_inputs), str(outputs)],
                             start_new_session=True)
    try:
        # Killed once it has written 1 to SCHOOLS / 2 pages: after a first batch of 5, anywhere in the first half.
        wait_for_feedback_pages(outputs, child, random.Random(attempt).randint(1, SCHOOLS // 2))
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    assert_killed_mid_run(child, district_inputs, outputs)
    check_consistent(district_inputs, outputs)


@pytest.mark.parametrize("attempt", range(REPEATS))
def test_two_collections_at_once_one_waits_its_turn_or_says_so(district_inputs: Path, tmp_path: Path,
                                                                attempt: int) -> None:
    outputs = tmp_path / "outputs"
    command = [sys.executable, "-m", "eibm.cli", "collect", "--year", "2025", "--inputs", str(district_inputs),
               "--outputs", str(outputs), "--json"]
    # Started together, so that one reaches the campaign lock while the other holds it. Which one
    # wins is up to the two start-ups (the lock is taken inside the Prefect flow), not to the order
    # of Popen: a head start of 0.5 s for one of them lost the race twice in three runs.
    runs = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [run.communicate(timeout=600)[1] for run in runs]
    (winner, winner_err), (loser, loser_err) = sorted(zip([run.returncode for run in runs], errors, strict=True))
    assert winner == 0, winner_err
    assert loser == 2, loser_err
    assert "уже обрабатывается" in loser_err
    check_consistent(district_inputs, outputs)
