"""The test session's own Prefect home: every `eibm` command the tests start shares one background server
there, and no server a test started outlives the session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from eibm.prefect_server import STATE_FILE, stop_server

# PREFECT_SERVER_API_PORT=0: any free port, so the tests never take 4200 from the analyst's own server.
SESSION_ENVIRONMENT = ("PREFECT_HOME", "PREFECT_SERVER_API_PORT")


@pytest.fixture(scope="session", autouse=True)
def session_prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """PREFECT_HOME for the commands the tests start; at the end, every server started under the session's
    temporary folder (here, or in a PREFECT_HOME a test chose, as tests/test_distributed.py does) is stopped."""
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
