"""A run stopped by SIGTERM or Ctrl+C ends at once with a Russian message; the next run completes the work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import is_running, write_district

from eibm.interrupt import descendants
from pipeline import ledger
from pipeline.district.setup import load_setup
from pipeline.lock import check_campaign_free

SCHOOLS = 150
STOP_WITHIN = 5.0  # seconds from the signal to the end of the process


@pytest.fixture(scope="module")
def district_inputs(tmp_path_factory: pytest.TempPathFactory, district) -> Path:
    """A drop folder with SCHOOLS workbooks: enough that judging them takes a while."""
    codes = [f"T-{number:03d}" for number in range(SCHOOLS)]
    return write_district(tmp_path_factory.mktemp("interrupt") / "inputs", district, codes)


def eibm(*arguments: str, cwd: Path, module: str = "eibm.cli") -> subprocess.Popen:
    """The command in its own process (eibm.cli), or as the `eibm` command runs it (eibm: the warm runner)."""
    return subprocess.Popen([sys.executable, "-m", module, *arguments], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run_unfinished(outputs: Path) -> bool:
    """Whether the ledger holds a started, unfinished collection run of 2025."""
    path = outputs / "ledger.sqlite"
    if not path.exists():
        return False
    engine = ledger.open_ledger(f"sqlite:///{path}")
    try:
        with ledger.transaction(engine) as connection:
            return ledger.last_run_unfinished(connection, 2025)
    except Exception:  # the child is creating the ledger right now: look again
        return False
    finally:
        engine.dispose()


def wait_until_running(child: subprocess.Popen, outputs: Path) -> None:
    deadline = time.monotonic() + 600
    while not run_unfinished(outputs):
        assert child.poll() is None, f"the collection ended before it could be stopped: {child.communicate()}"
        assert time.monotonic() < deadline, "the collection did not start in 10 minutes"
        time.sleep(0.05)


@pytest.mark.parametrize("module", ["eibm.cli", "eibm"], ids=["own process", "warm runner"])
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl+C (SIGINT)"])
def test_a_stopped_collection_ends_at_once_and_the_next_run_completes(
        tmp_path: Path, district_inputs: Path, number: signal.Signals, module: str,
        request: pytest.FixtureRequest) -> None:
    inputs, outputs = district_inputs, tmp_path / "outputs"
    runner_pid = request.getfixturevalue("warm_runner") if module == "eibm" else None
    child = eibm("collect", "--year", "2025", "--inputs", str(inputs), "--outputs", str(outputs), cwd=tmp_path,
                 module=module)
    wait_until_running(child, outputs)
    # Worker processes (and in the runner, the forked child that runs the command): none may outlive the stop.
    family = descendants(runner_pid if runner_pid else child.pid)
    assert family or runner_pid is None  # the runner's child is running the command

    sent = time.monotonic()
    child.send_signal(number)
    out, err = child.communicate(timeout=60)
    took = time.monotonic() - sent

    # The signal landed mid-run: the run is recorded unfinished, and the process ended by our handler.
    assert child.returncode == 128 + number, err
    assert run_unfinished(outputs)
    assert took < STOP_WITHIN, f"stopping took {took:.1f} s"
    assert "следующий запуск той же команды продолжит" in err
    assert "Traceback" not in err and "Непредвиденная" not in err
    time.sleep(0.5)  # the children's ends are reaped by init
    alive = [pid for pid in family if is_running(pid)]
    assert alive == []
    check_campaign_free(outputs, 2025)  # the lock went with the process

    again = eibm("collect", "--year", "2025", "--json", "--inputs", str(inputs), "--outputs", str(outputs),
                 cwd=tmp_path)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    files = json.loads(out)["files"]
    assert len(files) == SCHOOLS and {item["status"] for item in files} == {"accepted"}
    assert not run_unfinished(outputs)
    setup = load_setup(inputs, outputs, 2025)
    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        assert len(ledger.campaign_submissions(connection, 2025)) == SCHOOLS  # none recorded twice
    engine.dispose()
    assert not list(outputs.rglob("*.tmp"))


def test_outputs_that_cannot_be_written_are_a_clear_error_before_the_run(tmp_path: Path, district_inputs: Path) -> None:
    outputs = tmp_path / "read-only"
    outputs.mkdir()
    outputs.chmod(0o500)
    try:
        if os.access(outputs, os.W_OK):
            pytest.skip("root ignores directory permissions here; a file in the way stands in for them")
        child = eibm("collect", "--year", "2025", "--inputs", str(district_inputs), "--outputs", str(outputs),
                     cwd=tmp_path)
        _, err = child.communicate(timeout=120)
    finally:
        outputs.chmod(0o700)
    assert child.returncode == 2
    assert "нет прав на запись" in err and "Непредвиденная" not in err


def test_an_output_path_that_is_a_file_is_a_clear_error_before_the_run(tmp_path: Path, district_inputs: Path) -> None:
    outputs = tmp_path / "outputs"
    outputs.write_text("not a folder", encoding="utf-8")
    started = time.monotonic()
    child = eibm("report", "--year", "2025", "--inputs", str(district_inputs), "--outputs", str(outputs),
                 cwd=tmp_path)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 2
    assert f"не удалось записать {outputs / '2025' / '.lock'}" in err
    assert "в пути вместо папки файл" in err and "Непредвиденная" not in err
    assert "Итоговый отчёт" not in out  # refused before anything started
    assert time.monotonic() - started < 30
