"""Prefect flows, deployments and schedules: wiring only; every step is a plain, tested function in pipeline/."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

# Quiet, offline-safe defaults measured on this machine (MEASURED.md): no telemetry error, no INFO
# wall, no shutdown tracebacks from the temporary server, no 1 s heartbeat per run. An operator's
# own settings (environment or Prefect profile) win.
for _key, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}.items():
    os.environ.setdefault(_key, _value)

from prefect import flow, serve, task  # noqa: E402
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.schedules import Cron  # noqa: E402
from prefect.settings import PREFECT_API_URL  # noqa: E402

from pipeline import annual, ledger  # noqa: E402
from pipeline import collect as collection  # noqa: E402
from pipeline.lock import campaign_lock  # noqa: E402
from pipeline.roadmap import load_district  # noqa: E402
from pipeline.status import STATE_RU, CampaignStatus  # noqa: E402

plan_collection = task(name="find-new-files", cache_policy=NO_CACHE)(collection.plan_collection)
# One task per batch of hundreds of files: a Prefect task costs ~5–50 ms here (MEASURED.md).
process_batch = task(name="judge-and-record-batch", cache_policy=NO_CACHE)(collection.process_batch)
finish_collection = task(name="write-status", cache_policy=NO_CACHE)(collection.finish_collection)
recover_feedback = task(name="recover-feedback", cache_policy=NO_CACHE)(collection.recover_feedback)
build_report = task(name="aggregate", cache_policy=NO_CACHE)(annual.build_report)
write_report = task(name="render", cache_policy=NO_CACHE)(annual.write_report)


def _year(year: int | None) -> int:
    return year or dt.date.today().year


@flow(name="collect")
def collect(year: int | None = None, inputs: str = "inputs", outputs: str = "outputs",
            ledger_url: str | None = None, lock: bool = True) -> dict[str, Any]:
    """Ingest what is new in the year's drop folder; refresh ledger, feedback and status.

    *lock* = False when the caller already holds the campaign lock (the command line takes it
    first, so a busy campaign is a clear message rather than a failed run).
    """
    setup = collection.load_setup(Path(inputs), Path(outputs), _year(year), ledger_url)
    with campaign_lock(setup.outputs, setup.year) if lock else contextlib.nullcontext():
        summary = _collect(setup)
    publish_status(summary.status)
    return summary.to_json()


def _collect(setup: collection.Setup) -> collection.CollectionSummary:
    steps = collection.Steps(recover=recover_feedback, plan=plan_collection, process=process_batch,
                             finish=finish_collection)
    return collection.collect(setup, progress=_progress, steps=steps)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\rОбработано файлов: {done} из {total}" + ("\n" if done >= total else ""))


@flow(name="annual-report")
def annual_report(year: int | None = None, inputs: str = "inputs", outputs: str = "outputs",
                  ledger_url: str | None = None, lock: bool = True) -> dict[str, str]:
    """A last collection pass, then the consolidated report: svod.xlsx, report.pdf, report.html."""
    setup = collection.load_setup(Path(inputs), Path(outputs), _year(year), ledger_url)
    with campaign_lock(setup.outputs, setup.year) if lock else contextlib.nullcontext():
        summary = _collect(setup)
        engine = ledger.open_ledger(setup.ledger_url)
        try:
            report = build_report(setup, engine, dt.datetime.now().replace(microsecond=0))
        finally:
            engine.dispose()
        paths = write_report(setup, report)
    publish_status(summary.status)
    create_link_artifact(key=f"report-{setup.year}", link=paths["pdf"].resolve().as_uri(),
                         link_text=f"Итоговый отчёт {setup.year} (PDF)")
    return {name: str(path) for name, path in paths.items()}


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
             f"Срок сдачи: {status.campaign.deadline:%d.%m.%Y}; осталось дней: {status.days_left}.", ""]
    lines += [f"- {school.code} {school.name}: {STATE_RU[school.state]}" for school in to_call]
    if not to_call:
        lines.append("Все школы сдали отчёт.")
    create_markdown_artifact(key=f"call-list-{year}", markdown="\n".join(lines),
                             description="Школы без принятого отчёта")


class ServeError(Exception):
    """Schedules cannot run here (no persistent Prefect server configured)."""


def deployments(inputs: Path, outputs: Path) -> list[Any]:
    """The scheduled collection (working days in the window) and the annual report after it closes."""
    schedule = load_district(inputs).schedule
    parameters = {"inputs": str(inputs.resolve()), "outputs": str(outputs.resolve())}
    return [
        collect.to_deployment(name="сбор-отчётов", parameters=parameters,
                              schedules=[Cron(schedule.collect_cron, timezone=schedule.timezone)],
                              description="Приём новых отчётов школ (рабочие дни апреля–октября)"),
        annual_report.to_deployment(name="итоговый-отчёт", parameters=parameters,
                                    schedules=[Cron(schedule.report_cron, timezone=schedule.timezone)],
                                    description="Итоговый отчёт после закрытия окна сбора"),
    ]


def serve_deployments(inputs: Path = Path("inputs"), outputs: Path = Path("outputs")) -> None:
    """Serve both deployments; refuse when only Prefect's temporary server is available."""
    if not PREFECT_API_URL.value():
        raise ServeError(
            "Расписание работает только с постоянным сервером Prefect. Запустите его в отдельном окне "
            "(`prefect server start`) и укажите адрес: `prefect config set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api`, затем повторите `eibm serve`.")
    serve(*deployments(inputs, outputs))


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        try:
            serve_deployments()
        except ServeError as error:
            print(f"Ошибка: {error}", file=sys.stderr)
            sys.exit(2)
    else:
        print("Использование: python flows.py serve", file=sys.stderr)
        sys.exit(2)
