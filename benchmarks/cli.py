"""Time a no-op `eibm collect` on the demo: a temporary Prefect server, the persistent one, the warm runner."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eibm import runner

PROJECT = Path(__file__).resolve().parents[1]
YEAR = "2025"
PHASES = """
import os, sys, time
started = time.perf_counter()
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
import eibm.cli
cli = time.perf_counter()
flows = eibm.cli.import_flows()
imported = time.perf_counter()
flows.use_prefect_server(lambda line: None)
connected = time.perf_counter()
flows.run_flow(flows.collect, None, year=int(sys.argv[1]), inputs=sys.argv[2], outputs=sys.argv[3])
ran = time.perf_counter()
print(f"{cli - started:.2f} {imported - cli:.2f} {connected - imported:.2f} {ran - connected:.2f}")
"""


def eibm(*arguments: str, environment: dict[str, str], module: str = "eibm.cli") -> float:
    """Wall seconds of one command (it must succeed): in its own process (eibm.cli), or as the `eibm`
    command runs it (eibm: through the warm runner once it is there)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", module, *arguments], cwd=PROJECT, env=environment, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def wait_for_runner(home: Path) -> None:
    deadline = time.monotonic() + 120
    while runner.running_runner(home) is None:
        if time.monotonic() > deadline:
            raise SystemExit("the warm runner did not start: see eibm-runner.log")
        time.sleep(0.1)


def timed(label: str, runs: list[float]) -> str:
    runs = sorted(runs)
    return f"| {label} | {statistics.median(runs):.2f} | {runs[0]:.2f} | {runs[-1]:.2f} | {len(runs)} |"


def phases(outputs: Path, environment: dict[str, str]) -> list[float]:
    """Seconds of: import eibm.cli, import flows, finding the server, the no-op flow run (one process)."""
    done = subprocess.run([sys.executable, "-c", PHASES, YEAR, str(PROJECT / "inputs"), str(outputs)], cwd=PROJECT,
                          env=environment, check=True, capture_output=True, text=True)
    return [float(value) for value in done.stdout.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eibm-cli-bench-") as folder:
        root = Path(folder)
        outputs = root / "outputs"
        collect = ("collect", "--year", YEAR, "--outputs", str(outputs))
        base = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
        temporary = {**base, "EIBM_PREFECT_SERVER": "temporary"}
        persistent = {**base, "PREFECT_HOME": str(root / "prefect-home"), "PREFECT_SERVER_API_PORT": "0"}
        print(f"load average at start: {os.getloadavg()[0]:.2f}; {arguments.repeats} runs each", flush=True)
        eibm(*collect, environment=temporary)  # the demo's files are taken: every later run is a no-op
        rows = [timed("`eibm status` (no Prefect)",
                      [eibm("status", "--year", YEAR, "--outputs", str(outputs), environment=base)
                       for _ in range(arguments.repeats)]),
                timed("no-op `eibm collect`, temporary server (before)",
                      [eibm(*collect, environment=temporary) for _ in range(arguments.repeats)])]
        try:
            rows.append(timed("no-op `eibm collect`, first use: starts the server (fresh PREFECT_HOME)",
                              [eibm(*collect, environment=persistent)]))
            rows.append(timed("no-op collect in its own process, persistent server running (`python -m eibm.cli`)",
                              [eibm(*collect, environment=persistent) for _ in range(arguments.repeats)]))
            eibm(*collect, environment=persistent, module="eibm")  # no runner yet: runs here, then starts it
            wait_for_runner(root / "prefect-home")
            rows.append(timed("no-op `eibm collect` through the warm runner (the `eibm` command)",
                              [eibm(*collect, environment=persistent, module="eibm")
                               for _ in range(arguments.repeats)]))
            parts = [phases(outputs, persistent) for _ in range(arguments.repeats)]
        finally:
            subprocess.run([sys.executable, "-m", "eibm.cli", "server", "stop"], cwd=PROJECT, env=persistent,
                           check=True, stdout=subprocess.DEVNULL)
        print("\n| wall seconds | median | min | max | runs |\n|---|---|---|---|---|")
        print("\n".join(rows))
        names = ("import eibm.cli", "import flows (eibm.cli.import_flows)", "find the running server", "no-op flow run")
        print("\nOne process with the persistent server running, by phase (median s):")
        for name, values in zip(names, zip(*parts, strict=True), strict=True):
            print(f"- {name}: {statistics.median(values):.2f}")


if __name__ == "__main__":
    main()
