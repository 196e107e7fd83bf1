"""Distributed mode: a collection judged on a real Dask cluster, with the ledger and Prefect's server on a
real PostgreSQL, gives exactly what the single-machine collection gives."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import PROJECT
from distributed import get_task_stream
from postgres_server import SUPERUSER, PostgresServer
from test_postgres_ledger import ledger_content

from pipeline import ledger
from pipeline.collect.run import collect
from pipeline.district.setup import load_setup
from pipeline.statuses import SubmissionStatus

YEARS = (2024, 2025)  # 2025's L05 compares against 2024's accepted indicators
# Moments of the run, not of the submissions: they differ between any two runs.
RUN_TIMES = ("processed_at", "feedback_at")


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    """A local Dask cluster of two worker processes, started here (as `dask scheduler`/`dask worker` would)."""
    import dask
    from distributed import Client, LocalCluster

    # Workers judge in reading processes of their own: a daemonic worker may not start them.
    with dask.config.set({"distributed.worker.daemon": False, "logging.distributed": "error"}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()


def without_run_times(content: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {name: sorted((tuple(pair for pair in row if pair[0] not in RUN_TIMES) for row in rows), key=repr)
            for name, rows in content.items() if name != "runs"}


def tree(folder: Path) -> list[str]:
    """Every file under *folder* but the ledger, the campaign locks (the command line takes one) and the
    demo's dry-run letters (the command's mail stage writes them; `collect()` alone sends no mail)."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")
                  if path.is_file() and path.name != ".lock" and not path.name.startswith("ledger.sqlite")
                  and path.parent.name != "outbox")


def collection_only(summary: dict[str, Any]) -> dict[str, Any]:
    """`eibm collect --json` without its mail stage's part, which `collect()` alone does not have."""
    return {key: value for key, value in summary.items() if key != "mail"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer,
         dask_cluster: Any) -> dict[str, Any]:
    """The demo district collected on one machine (SQLite), and through `eibm collect --cluster` (PostgreSQL)."""
    root = tmp_path_factory.mktemp("distributed")
    inputs = root / "inputs"
    shutil.copytree(PROJECT / "inputs", inputs)  # copy2 keeps the mtimes that set first-run arrival times
    single = [collect(load_setup(inputs, root / "single", year)).to_json() for year in YEARS]

    ledger_url = postgres_server.create_database("ledger_cluster")
    prefect_url = postgres_server.create_database("prefect").replace("postgresql+psycopg", "postgresql+asyncpg")
    environment = {**os.environ, "PREFECT_HOME": str(root / "prefect-home"),
                   "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_url}
    environment.pop("PREFECT_API_URL", None)  # the run starts its own server, on PostgreSQL
    address = dask_cluster.scheduler.address
    clustered = []
    with get_task_stream(client=dask_cluster) as stream:  # every task the scheduler runs meanwhile
        for year in YEARS:
            result = subprocess.run(
                [sys.executable, "-m", "eibm.cli", "collect", "--year", str(year), "--json", "--inputs",
                 str(inputs), "--outputs", str(root / "cluster"), "--ledger", ledger_url, "--cluster", address],
                cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, result.stderr
            clustered.append(json.loads(result.stdout))
    return {"single": single, "clustered": clustered, "root": root, "ledger_url": ledger_url,
            "tasks": list(stream.data), "workers": set(dask_cluster.scheduler_info()["workers"]),
            "postgres": postgres_server}


def test_cluster_run_reports_the_same_files_findings_and_states(runs: dict[str, Any]) -> None:
    assert [collection_only(summary) for summary in runs["clustered"]] == runs["single"]
    assert all(summary["mail"]["dry_run"] and summary["mail"]["drafts"] for summary in runs["clustered"])
    statuses = {item["status"] for summary in runs["single"] for item in summary["files"]}
    assert statuses == set(SubmissionStatus)  # every path of the flow was taken


def test_cluster_ledger_on_postgres_holds_what_the_single_machine_ledger_holds(runs: dict[str, Any]) -> None:
    single = without_run_times(ledger_content(ledger.default_url(runs["root"] / "single")))
    clustered = without_run_times(ledger_content(runs["ledger_url"]))
    assert clustered == single
    assert len(single["submissions"]) > 20 and len(single["findings"]) > 0


def test_cluster_run_writes_the_same_feedback_archive_and_status_files(runs: dict[str, Any]) -> None:
    single, clustered = runs["root"] / "single", runs["root"] / "cluster"
    assert tree(clustered) == tree(single)
    for name in tree(single / "archive"):
        assert (clustered / "archive" / name).read_bytes() == (single / "archive" / name).read_bytes()


def test_batches_were_judged_by_the_dask_workers(runs: dict[str, Any]) -> None:
    judged = [task for task in runs["tasks"] if str(task["key"]).startswith("judge")]
    assert len(judged) >= len(YEARS), [task["key"] for task in runs["tasks"]]
    assert {task["worker"] for task in judged} <= runs["workers"]
    assert all(task["status"] == "OK" for task in judged)


def test_prefect_server_kept_its_runs_in_postgres(runs: dict[str, Any]) -> None:
    server: PostgresServer = runs["postgres"]
    with psycopg.connect(host=str(server.socket), user=SUPERUSER, dbname="prefect") as connection:
        flows = connection.execute("SELECT f.name, r.state_type FROM flow_run r JOIN flow f ON f.id = r.flow_id"
                                   ).fetchall()
        tasks = connection.execute("SELECT name, state_type FROM task_run WHERE name LIKE 'judge-batch%'").fetchall()
    assert [(name, str(state)) for name, state in flows].count(("collect", "COMPLETED")) == len(YEARS)
    assert len(tasks) >= len(YEARS) and all(str(state) == "COMPLETED" for _, state in tasks)
