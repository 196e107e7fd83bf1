"""The test session's own Prefect home: every `eibm` command the tests start shares one background server
there, and no server a test started outlives the session."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eibm import runner
from eibm.prefect_server import STATE_FILE, stop_server

# PREFECT_SERVER_API_PORT=0: any free port, so the tests never take 4200 from the analyst's own server.
SESSION_ENVIRONMENT = ("PREFECT_HOME", "PREFECT_SERVER_API_PORT")


@pytest.fixture(scope="session", autouse=True)
def session_prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """PREFECT_HOME for the commands the tests start; at the end, every server and warm runner started under the
    session's temporary folder (here, or in a PREFECT_HOME a test chose: tests/test_distributed.py) is stopped."""
    home = tmp_path_factory.mktemp("prefect-home")
    saved = {name: os.environ.get(name) for name in SESSION_ENVIRONMENT}
    os.environ.update({"PREFECT_HOME": str(home), "PREFECT_SERVER_API_PORT": "0"})
    try:
        yield home
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for state in sorted(tmp_path_factory.getbasetemp().rglob(STATE_FILE)):
            stop_server(state.parent)
        for state in sorted(tmp_path_factory.getbasetemp().rglob(runner.STATE_FILE)):
            runner.stop_runner(state.parent)


@pytest.fixture()
def warm_runner(session_prefect_home: Path) -> int:
    """The session's warm runner (eibm/runner.py), started if it is not running and ready: its pid."""
    pid = runner.running_runner(session_prefect_home)
    if pid is None:
        runner.start_runner(session_prefect_home)
        deadline = time.monotonic() + 120
        while (pid := runner.running_runner(session_prefect_home)) is None:
            assert time.monotonic() < deadline, (session_prefect_home / runner.LOG_FILE).read_text(errors="replace")
            time.sleep(0.1)
    return pid
