"""The warm runner: `eibm collect` and `eibm report` without importing Prefect and the pipeline each time.

Those imports are ≈ 1.6 s of a 2.4 s command (benchmarks/RESULTS.md). The runner is a background process,
one per Prefect home beside the product's Prefect server, that has imported them once. A command (the
`eibm` launcher, eibm/launcher.py) connects to its socket and hands over its terminal (stdin, stdout and
stderr), folder, environment and arguments; the runner forks a child that runs the command exactly as it
runs in its own process (`eibm.cli.main`), and reports the child's exit code back. The command passes
Ctrl+C, SIGTERM and SIGHUP on to the child; if the command itself dies (kill -9), the runner kills the
child's whole tree, as it would have died with the command.

The command's side (`run_in_runner`, `start_runner`) uses the standard library only: that is what makes it
quick. Whenever the runner is absent, was started from other code (a file of the project or a package
changed since: `code_fingerprint`) or answers wrongly, the command runs in its own process, as before.
Only the user who started the runner may connect (SO_PEERCRED), and its socket is 0600 in Prefect's home.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eibm.interrupt import AFTERWARDS, descendants
from eibm.prefect_server import is_alive

SOCKET_FILE = "eibm-runner.sock"
STATE_FILE = "eibm-runner.json"
LOCK_FILE = "eibm-runner.lock"
LOG_FILE = "eibm-runner.log"
PROJECT = Path(__file__).resolve().parents[1]
CONNECT_TIMEOUT_SECONDS = 2.0
START_TIMEOUT_SECONDS = 10.0  # from the request to the child's pid: milliseconds, unless the machine is stuck
MAX_REQUEST_BYTES = 1 << 20  # arguments and environment; anything larger is not a command of ours
_LENGTH = struct.Struct("!I")
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class RunnerUnavailable(Exception):
    """The runner cannot take this command: it runs in its own process instead."""


def code_fingerprint(roots: Sequence[Path] = (PROJECT / "eibm", PROJECT / "pipeline", PROJECT / "flows.py")) -> str:
    """What the runner's imports were made of: the project's Python files (name, size, time) and the
    interpreter with its installed packages (the folder's time changes when a package is installed)."""
    parts = [sys.executable, sys.version]
    for root in roots:
        paths = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in paths:
            with contextlib.suppress(OSError):
                stat = path.stat()
                parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    with contextlib.suppress(OSError):
        parts.append(str(os.stat(sysconfig.get_paths()["purelib"]).st_mtime_ns))
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


# --- the command's side -----------------------------------------------------------------------------------


def run_in_runner(home: Path, arguments: list[str]) -> int:
    """Run `eibm *arguments*` in the runner of *home*; its exit code. RunnerUnavailable when the command
    has not started there and will not (the caller then runs it itself)."""
    umask = os.umask(0o022)
    os.umask(umask)
    connection = _connect(home)
    replies = connection.makefile("rb")
    try:
        request = json.dumps({"arguments": arguments, "cwd": os.getcwd(), "environment": dict(os.environ),
                              "umask": umask, "fingerprint": code_fingerprint()}).encode("utf-8", "surrogateescape")
        socket.send_fds(connection, [_LENGTH.pack(len(request))], [0, 1, 2])
        connection.sendall(request)
        # The runner answers at once; if it does not, closing the connection below makes it kill whatever
        # it started for us (_start, _watch), so that running the command here never runs it twice.
        connection.settimeout(START_TIMEOUT_SECONDS)
        started = _reply(replies)
        if "pid" not in started:
            raise RunnerUnavailable(started.get("refused", "no pid"))
        child = int(started["pid"])
    except (OSError, ValueError, RunnerUnavailable) as error:
        replies.close()
        connection.close()
        raise RunnerUnavailable(str(error)) from error
    return _wait_for(connection, replies, child)


def _connect(home: Path) -> socket.socket:
    path = home / SOCKET_FILE
    if not path.exists():
        raise RunnerUnavailable("no runner")
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(CONNECT_TIMEOUT_SECONDS)
    try:
        connection.connect(str(path))
    except OSError as error:
        connection.close()
        raise RunnerUnavailable(str(error)) from error
    return connection


def _reply(replies: Any) -> dict:
    line = replies.readline()
    if not line:
        raise RunnerUnavailable("the runner closed the connection")
    return json.loads(line)


def _wait_for(connection: socket.socket, replies: Any, child: int) -> int:
    """Wait for the command's exit code; pass our signals on to the child running it."""
    def forward(number: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, number)

    previous = {number: signal.signal(number, forward) for number in _FORWARDED}
    connection.settimeout(None)
    try:
        while True:
            try:
                finished = _reply(replies)
            except RunnerUnavailable:
                sys.stderr.write(f"Ошибка: фоновый процесс eibm остановился, и команда прервана вместе с ним. "
                                 f"{AFTERWARDS}\n")
                return 1
            if "exit" in finished:
                code = int(finished["exit"])
                return 128 - code if code < 0 else code  # killed by a signal: the shell's 128 + N
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        replies.close()
        connection.close()


def start_runner(home: Path) -> None:
    """Start the runner of *home* in the background, detached (it imports for ≈ 2 s; the command does not wait)."""
    with contextlib.suppress(OSError):
        home.mkdir(parents=True, exist_ok=True)
        log = open(home / LOG_FILE, "ab")  # the runner keeps it: its output
        with log:
            subprocess.Popen([sys.executable, "-m", "eibm.runner", str(home)], cwd=PROJECT, stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                             env={**os.environ, "PREFECT_LOGGING_LEVEL": "CRITICAL"})


def running_runner(home: Path) -> int | None:
    """The pid of *home*'s runner if it is running, else None."""
    try:
        pid = int(json.loads((home / STATE_FILE).read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if is_alive(pid, marker=b"eibm.runner") else None


def stop_runner(home: Path) -> bool:
    """Stop the runner of *home*; whether one ran. It takes no new command; those it runs finish first."""
    pid = running_runner(home)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    return True


# --- the runner's side ------------------------------------------------------------------------------------


_LOG_LOCK = threading.Lock()


def serve(home: Path) -> None:
    """Import everything once, then run each command that connects in a forked child, until SIGTERM, or
    until a command comes from other code (then the next command starts a fresh runner)."""
    lock = open(home / LOCK_FILE, "a")  # held for the runner's life: one runner a home
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another runner of this home is serving
    fingerprint = code_fingerprint()
    import eibm.cli

    eibm.cli.import_flows()
    import fastapi.encoders  # noqa: F401 — Prefect imports it for the first flow run's parameters (0.12 s)
    import prefect.task_engine  # noqa: F401

    # No watcher may be writing the log when the runner forks: the child would inherit a held stdout lock.
    os.register_at_fork(before=_LOG_LOCK.acquire, after_in_parent=_LOG_LOCK.release,
                        after_in_child=_LOG_LOCK.release)
    listener = _listen(home)
    (home / STATE_FILE).write_text(json.dumps({"pid": os.getpid(), "fingerprint": fingerprint}), encoding="utf-8")
    signal.signal(signal.SIGTERM, lambda number, frame: _close(listener, home))
    watchers: list[threading.Thread] = []
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            break  # closed: SIGTERM, or a command from other code
        started = _start(connection, fingerprint, listener, home)
        if started is None:
            connection.close()
            continue
        watcher = threading.Thread(target=_watch, args=(connection, *started), daemon=True)
        watcher.start()
        watchers.append(watcher)
        watchers = [item for item in watchers if item.is_alive()]
    lock.close()  # a fresh runner may start while this one's commands finish
    for watcher in watchers:
        watcher.join()


def _listen(home: Path) -> socket.socket:
    path = home / SOCKET_FILE
    path.unlink(missing_ok=True)  # a dead runner's: we hold the lock
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o077)
    try:
        listener.bind(str(path))
    finally:
        os.umask(previous)
    listener.listen(16)
    return listener


def _close(listener: socket.socket, home: Path) -> None:
    with contextlib.suppress(OSError):
        (home / SOCKET_FILE).unlink()
    with contextlib.suppress(OSError):
        (home / STATE_FILE).unlink()
    listener.close()
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)


def _start(connection: socket.socket, fingerprint: str, listener: socket.socket,
           home: Path) -> tuple[int, list[str]] | None:
    """Take one command and fork the child that runs it; its pid and arguments, or None when it is refused."""
    descriptors: list[int] = []
    try:
        connection.settimeout(CONNECT_TIMEOUT_SECONDS)
        uid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        header, descriptors, _, _ = socket.recv_fds(connection, _LENGTH.size, 3)
        if uid != os.getuid() or len(header) != _LENGTH.size or len(descriptors) != 3:
            return None
        (length,) = _LENGTH.unpack(header)
        if length > MAX_REQUEST_BYTES:
            return None
        body = b""
        while len(body) < length:
            chunk = connection.recv(length - len(body))
            if not chunk:
                return None
            body += chunk
        request = json.loads(body.decode("utf-8", "surrogateescape"))
        if request.get("fingerprint") != fingerprint:
            connection.sendall(b'{"refused": "other code"}\n')
            _close(listener, home)
            return None
        # A signal between the fork and the child's own handlers would run the runner's (its SIGTERM
        # closes the runner's socket): blocked until each side has its handlers.
        signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)
        try:
            child = os.fork()
            if child == 0:
                _run_child(request, descriptors)  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
        try:
            connection.sendall(json.dumps({"pid": child}).encode() + b"\n")
        except OSError:  # the command is gone (or gave up waiting): nobody would ever see this run
            _kill_tree(child)
            os.waitpid(child, 0)
            raise
        return child, list(request["arguments"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        _log(f"команда не принята: {error!r}")
        return None
    finally:
        for descriptor in descriptors:
            with contextlib.suppress(OSError):
                os.close(descriptor)


def _run_child(request: dict, descriptors: list[int]) -> None:
    """In the forked child: become the command (its terminal, folder, environment), run it, exit with its code."""
    code = 1
    try:
        for number in _FORWARDED:
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
        _die_with_the_runner()
        os.setpgid(0, 0)  # the run's processes in one group: what outlives an abnormal end is killed (_watch)
        for target, descriptor in enumerate(descriptors):
            os.dup2(descriptor, target)
        # Nothing of the runner's stays open here: not its socket, not other commands' connections, not
        # its lock (which a fresh runner must be able to take while this command still runs).
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        _take_standard_streams()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["environment"])
        time.tzset()
        from prefect.context import refresh_global_settings_context

        import eibm.cli
        import flows
        from pipeline.atomic import use_umask

        use_umask(int(request["umask"]))
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")  # as eibm.cli.main does without --debug
        flows.set_prefect_defaults()
        refresh_global_settings_context()
        if os.environ["PREFECT_LOGGING_LEVEL"] != "CRITICAL":  # the command's own level: not the runner's
            from prefect.logging.configuration import setup_logging

            setup_logging()
        sys.argv = ["eibm", *request["arguments"]]
        code = eibm.cli.main(request["arguments"])
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    except BaseException:  # printed, as the command's own process would have
        import traceback

        traceback.print_exc()
    finally:
        _exit(code)


def _die_with_the_runner() -> None:
    """PR_SET_PDEATHSIG: if the runner is killed, this child is too (it would hold the campaign's lock
    with nobody waiting for it)."""
    import ctypes

    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(128 + signal.SIGKILL)


def _take_standard_streams() -> None:
    """New stdin/stdout/stderr objects on the command's descriptors, buffered as Python buffers a terminal
    or a pipe; the runner's own may have been locked by a thread at the fork."""
    sys.stdin = open(0, encoding="utf-8", errors="surrogateescape", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", buffering=1 if os.isatty(1) else -1, closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)


def _exit(code: int) -> None:
    """End the child as the interpreter's exit would, without tearing down the imported modules: Prefect's
    services send their last events and logs in the thread and atexit hooks, then the streams are flushed."""
    import atexit

    with contextlib.suppress(Exception):
        threading._shutdown()  # type: ignore[attr-defined]  # what Py_Finalize does first: Prefect drains here
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _watch(connection: socket.socket, child: int, arguments: list[str]) -> None:
    """Report the child's exit code to its command; kill the child's tree if the command goes away first.
    Each command leaves a line in the runner's log (eibm-runner.log): when, what, its exit code."""
    started = time.monotonic()
    command = " ".join(["eibm", *arguments])

    status_descriptor = os.pidfd_open(child)
    try:
        while True:
            ready, _, _ = select.select([connection, status_descriptor], [], [])
            if status_descriptor in ready:
                _, status = os.waitpid(child, 0)
                code = os.waitstatus_to_exitcode(status)
                if code < 0:  # killed (SIGHUP, SIGKILL): its workers must not run on
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(child, signal.SIGKILL)
                seconds = f"{time.monotonic() - started:.1f}".replace(".", ",")
                _log(f"{command}: код {code}, {seconds} с")
                with contextlib.suppress(OSError):
                    connection.sendall(json.dumps({"exit": code}).encode() + b"\n")
                return
            try:
                gone = not connection.recv(1)
            except OSError:  # reset: gone as well
                gone = True
            if gone:  # the command is gone (killed): its run goes with it
                _kill_tree(child)
                os.waitpid(child, 0)
                _log(f"{command}: команда прервана (её процесс завершён), остановлена и её работа")
                return
    finally:
        os.close(status_descriptor)
        connection.close()


def _kill_tree(root: int) -> None:
    """SIGKILL *root* and every process below it. Each is stopped first, until the tree stops growing: a
    process forked between looking and killing would live on, holding the campaign's lock."""
    stopped: list[int] = []
    while fresh := [pid for pid in [root, *descendants(root)] if pid not in stopped]:
        for pid in fresh:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        stopped += fresh
    for pid in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _log(line: str) -> None:
    with _LOG_LOCK:
        print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {line}", flush=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
