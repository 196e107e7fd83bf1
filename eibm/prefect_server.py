"""The product's own Prefect server: started in the background on first use, found again, stopped.

Standard library only: `eibm server status|stop` answer at once, without importing Prefect (≈ 1 s).
The server lives in Prefect's home folder (PREFECT_HOME, by default ~/.prefect): one server per user,
whatever folder a command runs in, keeping its database where Prefect's temporary server kept the
history so far. Its files there: eibm-server.json (pid and port), server.pid (Prefect's own name, so
`prefect server stop` stops it too), eibm-server.log (its output) and eibm-server.lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_PORT = 4200  # Prefect's own default: the address its documentation shows
STATE_FILE = "eibm-server.json"
PID_FILE = "server.pid"
LOG_FILE = "eibm-server.log"
LOCK_FILE = "eibm-server.lock"
# A fresh home migrates the database first: 13–19 s here (MEASURED.md), more on a busy CI machine.
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 15.0
# The server's own lines go to its log file; these keep that file short and the server offline-safe.
# Run history older than HISTORY_DAYS (a campaign and the next one's comparison) is deleted with its logs:
# with mail, a collection runs every 10 minutes, ≈ 9,000 runs a campaign; the ledger is the record.
HISTORY_DAYS = 400
SERVER_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD": str(HISTORY_DAYS * 24 * 3600),
}
# Starts the server in a session of its own and exits at once: the server is then nobody's child, so
# neither a Ctrl+C in the terminal nor eibm's stop (which ends the run's descendants) reaches it.
DETACH = """
import subprocess, sys
log = open(sys.argv[1], "ab")
child = subprocess.Popen(sys.argv[3:], cwd=sys.argv[2], stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True)
print(child.pid)
"""


class ServerStartError(Exception):
    """The background server did not start; the message says why, in Russian."""


@dataclass(frozen=True)
class Server:
    """A background Prefect server: its process, port and home folder."""

    pid: int
    port: int
    home: Path

    @property
    def url(self) -> str:
        """The address of its web interface."""
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"


def prefect_home() -> Path:
    """Prefect's home folder: PREFECT_HOME, or ~/.prefect as Prefect itself defaults."""
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def configured_api_url(home: Path) -> str | None:
    """The Prefect server an operator chose: PREFECT_API_URL in the environment, else in the active profile
    of Prefect's profiles file (where `prefect config set PREFECT_API_URL=…` writes it); None: ours is used."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or document.get("active") or "ephemeral"  # Prefect's default
    profile = document.get("profiles", {}).get(active, {})
    value = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    return value if isinstance(value, str) and value else None


def running_server(home: Path) -> Server | None:
    """The server recorded in *home* if its process lives and its API answers, else None."""
    server = _recorded(home)
    if server is None or not is_alive(server.pid) or not is_healthy(server) or not is_current(server):
        return None
    return server


def ensure_server(home: Path, notify: Callable[[str], None]) -> Server:
    """The running server of *home*, or a new one started in the background and ready (*notify* hears
    a line before the wait). Two commands at once start one server: the second waits on a lock."""
    found = running_server(home)
    if found is not None:
        return found
    try:
        home.mkdir(parents=True, exist_ok=True)
        with _locked(home):
            return _start_or_wait(home, notify)
    except BrokenPipeError:  # *notify*'s reader has gone (`eibm collect | head -1`): not the folder's fault
        raise
    except OSError as error:
        raise ServerStartError(f"папка сервера Prefect {home} недоступна: нет прав на запись, "
                               "или на её месте файл") from error


def _start_or_wait(home: Path, notify: Callable[[str], None]) -> Server:
    """Under the home's lock: the server another command has just started, or a new one."""
    recorded = _recorded(home)
    # Another command may have started it a moment ago. A process that never answers, or a server of
    # another Prefect version (installed since it started, which its clients refuse), is replaced.
    if recorded is not None and is_alive(recorded.pid):
        if _wait_until_healthy(recorded, START_TIMEOUT_SECONDS) and is_current(recorded):
            return recorded
        _terminate(recorded.pid)
    _forget(home)  # a stale record: the server was killed, or the machine restarted
    port = _free_port(int(os.environ.get("PREFECT_SERVER_API_PORT") or DEFAULT_PORT))
    notify(f"Запускаю сервер Prefect в фоне (только при первом запуске, до 20 с): http://{HOST}:{port}")
    server = _launch(home, port)
    if not _wait_until_healthy(server, START_TIMEOUT_SECONDS):
        _terminate(server.pid)
        _forget(home)
        raise ServerStartError(f"сервер Prefect не запустился за {START_TIMEOUT_SECONDS:.0f} с "
                               f"(журнал сервера: {home / LOG_FILE})")
    notify(f"Сервер Prefect работает в фоне: {server.url} — история запусков и артефакты; "
           "остановить: eibm server stop")
    return server


def stop_server(home: Path) -> Server | None:
    """Stop the server of *home*; the stopped server, or None when none was running."""
    if not (home / STATE_FILE).exists():
        return None
    with _locked(home):
        server = _recorded(home)
        running = server is not None and is_alive(server.pid)
        if running:
            _terminate(server.pid)
        _forget(home)
    return server if running else None


def is_alive(pid: int, marker: bytes = b"prefect") -> bool:
    """Whether *pid* is a live process whose command line holds *marker* (by default a Prefect process):
    not a zombie, not a stranger that reused the number."""
    proc = Path(f"/proc/{pid}")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: not ours
        return False
    if not proc.exists():  # no /proc (macOS): the signal test is all there is
        return True
    try:
        state = (proc / "stat").read_text(encoding="ascii", errors="replace").rpartition(")")[2].split()[0]
        command = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    return state != "Z" and marker in command


def is_healthy(server: Server) -> bool:
    """Whether the server's API answers its health check."""
    try:
        with urllib.request.urlopen(f"{server.api_url}/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"true"
    except (urllib.error.URLError, OSError, ValueError):
        return False


def is_current(server: Server) -> bool:
    """Whether the server runs the Prefect version installed here."""
    try:
        with urllib.request.urlopen(f"{server.api_url}/admin/version", timeout=2) as response:
            running = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return running == importlib.metadata.version("prefect")


def _recorded(home: Path) -> Server | None:
    try:
        state = json.loads((home / STATE_FILE).read_text(encoding="utf-8"))
        return Server(int(state["pid"]), int(state["port"]), home)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _forget(home: Path) -> None:
    for name in (STATE_FILE, PID_FILE):
        (home / name).unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Hold the home's start lock; the kernel releases it if the process dies."""
    with (home / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_port(preferred: int) -> int:
    """*preferred* if nothing listens there, else any free port the system gives."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise ServerStartError("нет свободного порта для сервера Prefect")


def _launch(home: Path, port: int) -> Server:
    """Start `prefect server start` detached, with its output in the home's log; record it at once, so a
    command that comes while it starts waits for it instead of starting another."""
    environment = {**SERVER_DEFAULTS, **os.environ, "PREFECT_HOME": str(home),
                   "PREFECT_SERVER_API_HOST": HOST, "PREFECT_SERVER_API_PORT": str(port)}
    environment.pop("PREFECT_API_URL", None)  # the web interface would call that address instead of its own
    command = [sys.executable, "-m", "prefect", "server", "start"]
    try:
        launched = subprocess.run([sys.executable, "-c", DETACH, str(home / LOG_FILE), str(home), *command],
                                  env=environment, capture_output=True, text=True, timeout=60, check=True)
        pid = int(launched.stdout.strip())
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        raise ServerStartError(f"не удалось запустить процесс сервера Prefect (журнал: {home / LOG_FILE})") from error
    server = Server(pid, port, home)
    (home / STATE_FILE).write_text(json.dumps({"pid": pid, "port": port}), encoding="utf-8")
    (home / PID_FILE).write_text(str(pid), encoding="ascii")
    return server


def _wait_until_healthy(server: Server, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_healthy(server):
            return True
        if not is_alive(server.pid):
            return False
        time.sleep(0.2)
    return False


def _terminate(pid: int) -> None:
    """SIGTERM, and SIGKILL if it is still there after STOP_TIMEOUT_SECONDS."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if is_alive(pid):
            os.kill(pid, signal.SIGKILL)
