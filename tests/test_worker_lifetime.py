"""Reading workers end with the run that made them, even when the run is killed outright (SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import is_running

from eibm.interrupt import descendants

CHILD = """
import os, time
from pipeline.intake.isolation import IsolatedReader
if __name__ == "__main__":
    reader = IsolatedReader(max_workers=2)
    reader._warm()
    print("ready", flush=True)
    time.sleep(600)
"""


def test_workers_end_when_their_run_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, start_new_session=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        family = descendants(child.pid)  # the forkserver, its workers, the resource tracker
        assert len(family) >= 3
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(is_running(pid) for pid in family) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in family if is_running(pid)] == []
    finally:
        try:
            os.killpg(child.pid, signal.SIGKILL)  # whatever is left of the run's session
        except ProcessLookupError:
            pass
