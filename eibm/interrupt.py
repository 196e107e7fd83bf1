"""Stop a run at once on SIGINT or SIGTERM, with a Russian message: nothing it recorded is lost.

A run may be stopped at any moment: the ledger commits a batch in one transaction, archive copies
are flushed before the commit that names them, output files are replaced atomically, and the next
run removes a stopped run's temporary files and writes its missing feedback (tests/test_crash.py
proves all of it with SIGKILL). So stopping does not wait for anything: it ends this process and
its children (worker processes, Prefect's temporary server) within a moment. Prefect's own SIGTERM
handling waits for the API and took 30–65 s, or never ended when the server had gone with the
terminal's Ctrl-C; the run therefore goes in a thread of its own, where Prefect installs no
handler, and the main thread keeps ours.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")

MESSAGES = {
    signal.SIGINT: "Прервано (Ctrl+C).",
    signal.SIGTERM: "Остановлено по сигналу завершения.",
}
AFTERWARDS = ("Принятое до остановки сохранено; следующий запуск той же команды продолжит работу "
              "с этого места.")


def run_interruptible(work: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """Run *work* in a thread; SIGINT/SIGTERM stop the process at once; its result or error comes back."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = work(*args, **kwargs)
        except BaseException as error:  # handed to the main thread, which reports it
            outcome["error"] = error

    previous = {number: signal.signal(number, _stop) for number in MESSAGES}
    try:
        runner = threading.Thread(target=target, name="eibm-run", daemon=True)
        runner.start()
        while runner.is_alive():
            runner.join(0.2)  # short waits: the main thread must be free to take a signal
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _stop(number: int, frame: Any) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"\n{MESSAGES[signal.Signals(number)]} {AFTERWARDS}\n")
    sys.stderr.flush()
    for child in descendants(os.getpid()):
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os._exit(128 + number)


def descendants(root: int) -> list[int]:
    """Every process below *root* (children, grandchildren …), from /proc; deepest first."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                # «pid (comm) state ppid …»: comm may hold spaces and parentheses, so split after the last «)».
                parent = int(stat.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # ended while we looked
        children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found[::-1]
