"""Prefect flows: wiring only; every step is a plain, tested function in pipeline/."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

# Quiet, offline-safe defaults measured on this machine (MEASURED.md): no telemetry error, no INFO
# wall, no shutdown tracebacks from the temporary server. An operator's own settings win.
for _key, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}.items():
    os.environ.setdefault(_key, _value)

from prefect import flow, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact, create_table_artifact  # noqa: E402

from pipeline import collect as collection  # noqa: E402
from pipeline import ledger  # noqa: E402
from pipeline.lock import campaign_lock  # noqa: E402
from pipeline.status import STATE_RU, CampaignStatus  # noqa: E402

plan_collection = task(name="find-new-files")(collection.plan_collection)
# One task per batch of hundreds of files: a Prefect task costs ~5–50 ms here (MEASURED.md).
process_batch = task(name="judge-and-record-batch")(collection.process_batch)
finish_collection = task(name="write-status")(collection.finish_collection)


@flow(name="collect", log_prints=False)
def collect(year: int, inputs: str = "inputs", outputs: str = "outputs",
            ledger_url: str | None = None) -> dict[str, Any]:
    """Ingest what is new in the year's drop folder; refresh ledger, feedback and status."""
    setup = collection.load_setup(Path(inputs), Path(outputs), year, ledger_url)
    now = dt.datetime.now().replace(microsecond=0)
    with campaign_lock(setup.outputs, year):
        engine = ledger.open_ledger(setup.ledger_url)
        try:
            plan = plan_collection(setup, engine, now)
            with ledger.transaction(engine) as connection:
                run_id = ledger.start_run(connection, year, now)
            processed = sum(len(process_batch(setup, engine, batch, now)) for batch in collection.batches(plan))
            summary = finish_collection(setup, engine, plan, processed, run_id, now)
        finally:
            engine.dispose()
    publish_status(summary.status)
    return summary.to_json()


def publish_status(status: CampaignStatus) -> None:
    """The status table (keyed, so the UI keeps its history) and today's call list as artifacts."""
    year = status.campaign.year
    create_table_artifact(
        key=f"collection-status-{year}",
        table=[{"Код ОО": school.code, "Наименование": school.name, "Состояние": STATE_RU[school.state]}
               for school in status.schools],
        description=f"Ход сбора отчётов ИБЦ, кампания {year}",
    )
    to_call = [school for school in status.schools if school.state in ("missing", "rejected")]
    lines = [f"# Кому позвонить сегодня — кампания {year}", "",
             f"До срока сдачи ({status.campaign.deadline:%d.%m.%Y}): {status.days_left} дн.", ""]
    lines += [f"- {school.code} {school.name}: {STATE_RU[school.state]}" for school in to_call]
    if not to_call:
        lines.append("Все школы сдали отчёт.")
    create_markdown_artifact(key=f"call-list-{year}", markdown="\n".join(lines),
                             description="Школы без принятого отчёта")
