"""The warm runner (eibm/runner.py): the `eibm` command's collect and report run in a child of a background
process that has Prefect imported; what the analyst sees is what the command's own process shows.

Ctrl+C and SIGTERM through the runner: tests/test_interrupt.py (both ways of running a command).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import PROJECT, good_report, is_running, write_district, write_xlsx
from test_interrupt import wait_until_running

from eibm import runner
from eibm.interrupt import descendants
from eibm.prefect_server import Server, running_server
from pipeline.lock import CampaignBusyError, check_campaign_free

REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru;a@test-school.ru;;\n")
GONE_WITHIN = 5.0  # seconds from a killed command to the end of its run in the runner


@pytest.fixture()
def workspace(tmp_path: Path, district) -> Path:
    inputs = tmp_path / "inputs"
    (inputs / "2025").mkdir(parents=True)
    shutil.copy(PROJECT / "inputs" / "district.toml", inputs)
    (inputs / "schools.csv").write_text(REGISTER, encoding="utf-8")
    write_xlsx(good_report(district), inputs / "2025" / "70-001.xlsx")
    return tmp_path


def command(workspace: Path, module: str, *arguments: str) -> subprocess.CompletedProcess:
    """`python -m eibm.cli` runs in its own process; `python -m eibm` is the `eibm` command (the runner)."""
    return subprocess.run([sys.executable, "-m", module, *arguments], cwd=workspace, capture_output=True, text=True,
                          timeout=300)


def runner_log(home: Path) -> str:
    return (home / runner.LOG_FILE).read_text(encoding="utf-8", errors="replace")


def test_a_command_in_the_runner_answers_as_in_its_own_process(workspace: Path, warm_runner: int,
                                                                session_prefect_home: Path) -> None:
    own = command(workspace, "eibm.cli", "collect", "--year", "2025", "--json")
    assert own.returncode == 0, own.stderr

    warm = command(workspace, "eibm", "collect", "--year", "2025", "--json")
    missing = command(workspace, "eibm", "collect", "--year", "2031")

    assert warm.returncode == 0, warm.stderr
    first, again = json.loads(own.stdout), json.loads(warm.stdout)
    assert (first["processed"], again["processed"]) == (1, 0)
    assert again["files"] == first["files"] and again["schools"] == first["schools"]
    # Its output reached this process's pipes, and its exit code came back: the child had the command's terminal.
    assert missing.returncode == 2
    assert "нет папки отчётов школ inputs/2031" in missing.stderr
    log = runner_log(session_prefect_home)
    assert "eibm collect --year 2025 --json: код 0" in log and "eibm collect --year 2031: код 2" in log
    assert runner.running_runner(session_prefect_home) == warm_runner
    # The child's last events reached the server: its tasks are recorded as done, as in the command's own process.
    assert latest_task_states(session_prefect_home) == {"poll-mailbox": "COMPLETED", "send-mail": "COMPLETED"}


def test_the_commands_umask_applies_in_the_runner(workspace: Path, warm_runner: int,
                                                  session_prefect_home: Path) -> None:
    """An analyst whose umask is 077 gets private outputs, whoever started the runner."""
    done = subprocess.run([sys.executable, "-m", "eibm", "collect", "--year", "2025"], cwd=workspace,
                          capture_output=True, text=True, timeout=300, preexec_fn=lambda: os.umask(0o077))

    assert done.returncode == 0, done.stderr
    assert "eibm collect --year 2025: код 0" in runner_log(session_prefect_home)
    assert (workspace / "outputs" / "2025" / "status.html").stat().st_mode & 0o777 == 0o600


def latest_task_states(home: Path) -> dict[str, str]:
    """The task runs of the server's newest flow run, by task name, once the server has recorded them."""
    server = running_server(home)
    assert server is not None
    deadline = time.monotonic() + 30
    while True:
        latest = post(server, "/flow_runs/filter", {"sort": "EXPECTED_START_TIME_DESC", "limit": 1})[0]
        tasks = post(server, "/task_runs/filter", {"flow_runs": {"id": {"any_": [latest["id"]]}}})
        states = {task["name"].rsplit("-", 1)[0]: task["state_type"] for task in tasks}
        if (set(states.values()) == {"COMPLETED"} and len(states) == 2) or time.monotonic() > deadline:
            return states
        time.sleep(0.2)


def post(server: Server, path: str, body: dict) -> list[dict]:
    request = urllib.request.Request(f"{server.api_url}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_killed_command_takes_its_run_in_the_runner_with_it(tmp_path: Path, district, warm_runner: int,
                                                              session_prefect_home: Path) -> None:
    inputs = write_district(tmp_path / "inputs", district, [f"T-{number:03d}" for number in range(150)])
    outputs = tmp_path / "outputs"
    child = subprocess.Popen([sys.executable, "-m", "eibm", "collect", "--year", "2025", "--inputs", str(inputs),
                              "--outputs", str(outputs)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    wait_until_running(child, outputs)
    family = descendants(warm_runner)  # the child running the command, and its reading processes
    assert family

    child.kill()
    child.wait(timeout=10)
    killed = time.monotonic()
    while alive := [pid for pid in family if is_running(pid)]:
        assert time.monotonic() - killed < GONE_WITHIN, f"still running: {alive}"
        time.sleep(0.05)

    while True:  # the lock went with the run: the next command is not told the campaign is busy
        try:
            check_campaign_free(outputs, 2025)
            break
        except CampaignBusyError:
            assert time.monotonic() - killed < GONE_WITHIN, "the campaign is still locked"
            time.sleep(0.05)
    assert "команда прервана" in runner_log(session_prefect_home)
    assert runner.running_runner(session_prefect_home) == warm_runner  # the runner itself serves on


def test_a_runner_started_from_other_code_is_replaced(workspace: Path, warm_runner: int,
                                                      session_prefect_home: Path) -> None:
    source = PROJECT / "eibm" / "__init__.py"
    before = source.stat()
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))  # as an update would
    try:
        ran = command(workspace, "eibm", "collect", "--year", "2025")
        assert ran.returncode == 0, ran.stderr
        deadline = time.monotonic() + 120
        while runner.running_runner(session_prefect_home) in (None, warm_runner):
            assert time.monotonic() < deadline, runner_log(session_prefect_home)
            time.sleep(0.1)
        assert not is_running(warm_runner)
        fresh = runner.running_runner(session_prefect_home)
        assert json.loads((session_prefect_home / runner.STATE_FILE).read_text())["fingerprint"] == \
            runner.code_fingerprint()
    finally:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert runner.stop_runner(session_prefect_home)
    deadline = time.monotonic() + 30
    while is_running(fresh):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert runner.running_runner(session_prefect_home) is None


def test_the_fingerprint_follows_every_change_of_a_source_file(tmp_path: Path) -> None:
    package = tmp_path / "package"
    package.mkdir()
    module = package / "module.py"
    module.write_text("x = 1\n")
    first = runner.code_fingerprint([package])

    assert runner.code_fingerprint([package]) == first
    module.write_text("x = 12\n")
    grown = runner.code_fingerprint([package])
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    touched = runner.code_fingerprint([package])
    (package / "new.py").write_text("")
    added = runner.code_fingerprint([package])

    assert len({first, grown, touched, added}) == 4


def test_another_users_command_is_not_taken(session_prefect_home: Path, warm_runner: int) -> None:
    """Only the socket's owner can reach it: 0600 in Prefect's home (the runner also checks SO_PEERCRED)."""
    assert (session_prefect_home / runner.SOCKET_FILE).stat().st_mode & 0o077 == 0


def test_the_command_side_imports_nothing_heavy() -> None:
    """The `eibm` launcher reaches the runner with the standard library only: that is its whole point."""
    script = ("import sys; import eibm.launcher, eibm.runner, eibm.prefect_server; "
              "print(sorted(name for name in ('prefect', 'sqlalchemy', 'pandas', 'pipeline') if name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_help_and_debug_runs_stay_in_the_commands_own_process(workspace: Path, warm_runner: int,
                                                              session_prefect_home: Path) -> None:
    """--debug shows Prefect's own messages, which are set up when Prefect is imported: not in the runner."""
    before = runner_log(session_prefect_home)

    helped = command(workspace, "eibm", "collect", "--help")
    debugged = command(workspace, "eibm", "collect", "--year", "2025", "--debug")

    assert helped.returncode == 0 and "eibm collect" in helped.stdout
    assert debugged.returncode == 0, debugged.stderr
    assert runner_log(session_prefect_home) == before
