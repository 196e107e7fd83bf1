"""The product's persistent Prefect server: started on first use, reused, one for two commands at once,
replaced when killed, stopped on request; the temporary server when it cannot start."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT, good_report, write_district, write_xlsx

from eibm.prefect_server import (
    LOG_FILE,
    PID_FILE,
    START_TIMEOUT_SECONDS,
    STATE_FILE,
    Server,
    ServerStartError,
    ensure_server,
    is_alive,
    is_current,
    is_healthy,
    running_server,
    stop_server,
)

CYRILLIC = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Prefect home of this module's own; its server is stopped at the end."""
    folder = tmp_path_factory.mktemp("own-prefect-home")
    yield folder
    stop_server(folder)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, district) -> Path:
    return write_district(tmp_path_factory.mktemp("server-district") / "inputs", district, ["70-001"])


def environment(home: Path) -> dict[str, str]:
    """The analyst's case: no server configured, Prefect's home at *home*, any free port."""
    variables = {name: value for name, value in os.environ.items()
                 if name not in ("PREFECT_API_URL", "EIBM_PREFECT_SERVER")}
    return {**variables, "PREFECT_HOME": str(home), "PREFECT_SERVER_API_PORT": "0"}


def eibm(home: Path, *arguments: str, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *python, "-m", "eibm.cli", *arguments], cwd=PROJECT,
                          env=environment(home), capture_output=True, text=True, timeout=600)


def collect(home: Path, inputs: Path, outputs: Path, *options: str) -> subprocess.CompletedProcess:
    return eibm(home, "collect", "--year", "2025", "--inputs", str(inputs), "--outputs", str(outputs), *options)


def api(server: Server, path: str) -> Any:
    request = urllib.request.Request(f"{server.api_url}{path}", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def english_lines(text: str) -> list[str]:
    """Lines of *text* without a Russian letter: Prefect's own log lines, tracebacks."""
    return [line for line in text.splitlines() if line.strip() and not CYRILLIC & set(line)]


def test_first_collect_starts_the_server_the_next_reuses_it_and_stop_ends_it(
        home: Path, inputs: Path, tmp_path: Path) -> None:
    stop_server(home)
    first = collect(home, inputs, tmp_path / "outputs")
    assert first.returncode == 0, first.stderr
    server = running_server(home)
    assert server is not None
    assert "Запускаю сервер Prefect" in first.stdout and f"работает в фоне: {server.url}" in first.stdout

    second = collect(home, inputs, tmp_path / "outputs", "--json")

    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["processed"] == 0
    assert "Запускаю" not in second.stdout + second.stderr
    assert running_server(home) == server  # the same process answered both
    runs = api(server, "/flow_runs/filter")
    assert [(run["name"], run["state_type"]) for run in runs] == [("Сбор отчётов 2025", "COMPLETED")] * 2
    assert [flow["name"] for flow in api(server, "/flows/filter")] == ["collect"]
    artifacts = {artifact["key"] for artifact in api(server, "/artifacts/filter")}
    assert {"collection-status-2025", "call-list-2025"} <= artifacts
    assert english_lines(first.stderr + second.stderr) == []
    with urllib.request.urlopen(f"{server.api_url}/admin/settings", timeout=30) as response:
        vacuum = json.loads(response.read())["server"]["services"]["db_vacuum"]
    assert set(vacuum["enabled"]) == {"events", "flow_runs"}
    assert vacuum["retention_period"] == "P1Y35D"  # 400 days, as Prefect writes them

    assert f"Сервер Prefect работает: {server.url}" in eibm(home, "server", "status").stdout
    stopped = eibm(home, "server", "stop")
    assert stopped.returncode == 0 and f"остановлен ({server.url})" in stopped.stdout
    assert not is_alive(server.pid) and running_server(home) is None
    assert not (home / PID_FILE).exists()
    assert "не запущен" in eibm(home, "server", "status").stdout


def test_two_commands_at_once_start_one_server(home: Path) -> None:
    stop_server(home)
    script = ("import sys; from pathlib import Path; from eibm.prefect_server import ensure_server; "
              "server = ensure_server(Path(sys.argv[1]), print); print('PID', server.pid)")
    both = [subprocess.Popen([sys.executable, "-c", script, str(home)], cwd=PROJECT, env=environment(home),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [child.communicate(timeout=600)[0] for child in both]

    assert [child.returncode for child in both] == [0, 0]
    pids = {line.split()[1] for output in outputs for line in output.splitlines() if line.startswith("PID ")}
    assert pids == {str(running_server(home).pid)}
    assert "".join(outputs).count("Запускаю сервер Prefect") == 1


def test_a_server_killed_with_sigkill_is_found_stale_and_replaced(home: Path) -> None:
    notes: list[str] = []
    killed = ensure_server(home, notes.append)
    os.kill(killed.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while is_alive(killed.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running_server(home) is None

    again = ensure_server(home, notes.append)

    assert again.pid != killed.pid and is_healthy(again)
    assert (home / PID_FILE).read_text() == str(again.pid)  # `prefect server stop` would stop this one
    assert any("Запускаю сервер Prefect" in note for note in notes)


def test_a_server_that_dies_while_starting_is_reported_without_waiting(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL",
                       f"sqlite+aiosqlite:///{tmp_path / 'no such folder' / 'prefect.db'}")
    monkeypatch.setenv("PREFECT_SERVER_API_PORT", "0")
    started = time.monotonic()
    with pytest.raises(ServerStartError, match="не запустился"):
        ensure_server(tmp_path / "home", lambda line: None)
    assert time.monotonic() - started < START_TIMEOUT_SECONDS
    assert not (tmp_path / "home" / STATE_FILE).exists()


def test_a_home_that_is_a_file_is_a_russian_start_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(ServerStartError, match=r"папка сервера Prefect .* недоступна"):
        ensure_server(home, lambda line: None)


def test_collect_falls_back_to_the_temporary_server_when_ours_cannot_start(inputs: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / LOG_FILE).mkdir(parents=True)  # the server's log cannot be opened: it cannot be started

    result = collect(home, inputs, tmp_path / "outputs", "--json")

    assert result.returncode == 0, result.stderr
    assert "Внимание:" in result.stderr and "временном сервере Prefect" in result.stderr
    assert english_lines(result.stderr) == []
    assert [item["status"] for item in json.loads(result.stdout)["files"]] == ["accepted"]
    assert running_server(home) is None


# Answers the health check and says it is Prefect 2.0.0; «prefect» in its command line, as a server's.
OLD_VERSION_SERVER = """
import http.server, json, sys
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"true" if self.path.endswith("/health") else json.dumps("2.0.0").encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *arguments):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Answer).serve_forever()
"""


def test_a_server_of_another_prefect_version_is_replaced(home: Path) -> None:
    stop_server(home)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    old = subprocess.Popen([sys.executable, "-c", OLD_VERSION_SERVER, str(port), "prefect-2.0.0"])
    try:
        (home / STATE_FILE).write_text(json.dumps({"pid": old.pid, "port": port}), encoding="utf-8")
        recorded = Server(old.pid, port, home)
        deadline = time.monotonic() + 30
        while not is_healthy(recorded) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert is_healthy(recorded) and not is_current(recorded)
        assert running_server(home) is None

        server = ensure_server(home, lambda line: None)

        assert server.pid != old.pid and is_current(server)
        assert old.wait(timeout=30) == -signal.SIGTERM
    finally:
        old.kill()


@pytest.mark.parametrize("arguments", [
    pytest.param(("status", "--year", "2025"), id="status"),
    pytest.param(("templates", "--year", "2025"), id="templates"),
    pytest.param(("validate", "--year", "2025", "GOOD"), id="validate"),
    pytest.param(("server", "status"), id="server status"),
])
def test_commands_without_a_flow_never_import_prefect(arguments: tuple[str, ...], inputs: Path, tmp_path: Path,
                                                      district) -> None:
    good = write_xlsx(good_report(district), tmp_path / "good.xlsx")
    arguments = tuple(str(good) if argument == "GOOD" else argument for argument in arguments)
    common = ("--inputs", str(inputs), "--outputs", str(tmp_path / "outputs")) if arguments[0] != "server" else ()

    result = eibm(tmp_path / "home", *arguments, *common, python=("-X", "importtime"))

    assert result.returncode in (0, 1), result.stderr
    imported = [line.rpartition("|")[2].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")]
    assert "pipeline" in imported  # the measure sees the imports
    assert [name for name in imported if name.split(".")[0] == "prefect"] == []
    assert not (tmp_path / "home" / STATE_FILE).exists()


def test_serve_uses_the_products_server_and_its_deployments_appear(home: Path, inputs: Path, tmp_path: Path) -> None:
    """`eibm serve` needs a lasting server: without one configured it starts the product's own and serves
    the schedules there, rather than refusing."""
    command = [sys.executable, "-m", "eibm.cli", "serve", "--inputs", str(inputs), "--outputs", str(tmp_path)]
    serving = subprocess.Popen(command, cwd=PROJECT, env=environment(home), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        names: list[str] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and serving.poll() is None:
            server = running_server(home)
            if server is not None:
                names = sorted(deployment["name"] for deployment in api(server, "/deployments/filter"))
                if {"сбор-отчётов", "итоговый-отчёт"} <= set(names):  # they are registered one by one
                    break
            time.sleep(1)
        assert serving.poll() is None, serving.communicate()
        assert "сбор-отчётов" in names and "итоговый-отчёт" in names
    finally:
        serving.send_signal(signal.SIGINT)
        try:
            serving.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serving.kill()
            serving.wait()


def test_server_status_names_a_server_set_in_the_active_prefect_profile(tmp_path: Path) -> None:
    """`prefect config set PREFECT_API_URL=…` writes the active profile, not the environment: that server is used."""
    (tmp_path / "profiles.toml").write_text(
        'active = "office"\n\n[profiles.office]\nPREFECT_API_URL = "http://prefect.district.local:4200/api"\n\n'
        '[profiles.other]\nPREFECT_API_URL = "http://elsewhere:4200/api"\n', encoding="utf-8")

    shown = eibm(tmp_path, "server", "status")

    assert shown.returncode == 0, shown.stderr
    assert "заданный в настройках (PREFECT_API_URL): http://prefect.district.local:4200/api" in shown.stdout
    assert not (tmp_path / STATE_FILE).exists()  # nothing of ours was started
