"""Prefect flows, deployments and schedules: wiring only; every step is a plain, tested function in pipeline/."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Quiet, offline-safe defaults measured on this machine (MEASURED.md): no telemetry error, no INFO
# wall, no shutdown tracebacks from the temporary server (the heartbeat: run_flow). An operator's
# own settings (environment or Prefect profile) win. DO_NOT_TRACK: Prefect's client telemetry, which in
# a terminal prints an English notice and reports the first use; a district's server reports nothing.
PREFECT_DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def set_prefect_defaults() -> None:
    """PREFECT_DEFAULTS where the environment has no value; here before Prefect's import, and by the warm
    runner's child (eibm/runner.py) after it takes the command's environment."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


set_prefect_defaults()

from prefect import flow, serve, task  # noqa: E402
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.context import SettingsContext, get_settings_context, refresh_global_settings_context  # noqa: E402
from prefect.runtime import flow_run  # noqa: E402
from prefect.schedules import Cron  # noqa: E402
from prefect.settings import PREFECT_API_URL  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402

from eibm import prefect_server  # noqa: E402
from pipeline import ledger  # noqa: E402
from pipeline.collect import run as collection  # noqa: E402
from pipeline.collect.senders import HELD_LABEL, REFUSED_LABEL  # noqa: E402
from pipeline.collect.status import CampaignStatus  # noqa: E402
from pipeline.district.roadmap import load_district  # noqa: E402
from pipeline.district.setup import load_setup  # noqa: E402
from pipeline.lock import campaign_lock  # noqa: E402
from pipeline.mail import outgoing  # noqa: E402
from pipeline.mail.intake import poll_mailbox  # noqa: E402
from pipeline.mail.mailbox import MailboxError  # noqa: E402
from pipeline.mail.settings import MailPasswordError, MailSettings, load_mail_settings  # noqa: E402
from pipeline.statuses import SchoolState  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from pipeline.collect.plan import PlannedUnit
    from pipeline.district.setup import Setup
    from pipeline.judge.verdict import Rules

LOCAL_CLUSTER = "local"
TEMPORARY_SERVER = "temporary"  # EIBM_PREFECT_SERVER's value for Prefect's per-process temporary server
# Batches judged at once on a cluster, ahead of the recording: enough to keep its workers busy
# while this process records; each holds ≈ 500 typed reports in memory here.
CLUSTER_BATCHES_AHEAD = 8

# Prefect visits every element of a task's arguments to find upstream futures: for a batch's units or
# a register of 40,000 schools that is seconds per call (a 50,000-item list: 16 s). These tasks take no
# futures, so their arguments go in quote(), which Prefect passes on without walking it.
send_mail = task(name="send-mail", cache_policy=NO_CACHE)(outgoing.send_mail)


# The report's modules (pandas, Jinja2, WeasyPrint: ≈ 0.5 s) are imported by the report's own steps, not by
# every collection: a collection with nothing new must answer within 2 s (benchmarks/cli.py).
@task(name="aggregate", cache_policy=NO_CACHE)
def build_report(setup: Setup, engine: Engine, now: dt.datetime) -> Any:
    from pipeline.report import annual

    return annual.build_report(setup, engine, now)


@task(name="render", cache_policy=NO_CACHE)
def write_report(setup: Setup, report: Any) -> dict[str, Path]:
    from pipeline.report import annual

    return annual.write_report(setup, report)


def _year(year: int | None) -> int:
    return year or dt.date.today().year


def _run_name(title: str) -> Callable[[], str]:
    """A run's name in Prefect's web interface: «Сбор отчётов 2025», not a random pair of words."""
    def name() -> str:
        return f"{title} {_year(flow_run.parameters.get('year'))}"
    return name


class BatchOrder:
    """One batch to judge on a Dask worker, with its rules: a plain object, which Prefect does not walk.

    Not quote(): it is a named tuple, and Dask hands it to the worker as a bare tuple (prefect-dask
    0.3.7: the task got («tuple», «tuple») for quote(rules), quote(batch)).
    """

    __slots__ = ("batch", "rules")

    def __init__(self, rules: Rules, batch: list[PlannedUnit]):
        self.rules, self.batch = rules, batch


@task(name="judge-batch", cache_policy=NO_CACHE)
def judge_batch(order: BatchOrder) -> list[Any]:
    """One task per batch of hundreds of files: a Prefect task costs ~5–50 ms here (MEASURED.md)."""
    return collection.judge_batch(order.rules, order.batch)


class ClusterJudging:
    """Judge batches as Prefect tasks on a Dask cluster (the flow's task runner), several at once.

    Each task starts a reading process of its own on its Dask worker: processes cannot be shared
    between machines.
    """

    ahead = CLUSTER_BATCHES_AHEAD

    def __init__(self, rules: Rules):
        self.rules = rules

    def submit(self, batch: list[PlannedUnit]) -> Any:
        return judge_batch.submit(BatchOrder(self.rules, batch))


@contextlib.contextmanager
def cluster_judging(rules: Rules) -> Iterator[ClusterJudging]:
    yield ClusterJudging(rules)


def _collect(setup: Any, cluster: str | None) -> collection.CollectionSummary:
    judging = cluster_judging if cluster else collection.local_judging
    return collection.collect(setup, judging, progress=_progress)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\rОбработано файлов: {done} из {total}" + ("\n" if done >= total else ""))


@task(name="poll-mailbox", cache_policy=NO_CACHE)
def poll_mail(setup: Any, settings: MailSettings) -> tuple[int, list[str]]:
    """Take new mail into the drop folder: (messages taken, warnings). A mailbox out of reach is a warning."""
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        return poll_mailbox(setup, settings, engine).taken, []
    except (MailboxError, MailPasswordError) as error:
        return 0, [f"Почтовый ящик не опрошен: {error}. Сбор идёт по папке; письма будут взяты при следующем запуске."]
    finally:
        engine.dispose()


def _mail_settings(inputs: Path, dry_run: bool) -> MailSettings | None:
    """[mail] of district.toml (None without it); --dry-run makes any a dry run."""
    settings = load_mail_settings(inputs)
    return replace(settings, dry_run=True) if settings is not None and dry_run else settings


def _collect_with_mail(setup: Any, cluster: str | None, settings: MailSettings | None) -> outgoing.MailedCollection:
    """Poll the mailbox, collect, then answer what was judged and remind who is due (without [mail]: collect)."""
    if settings is None:
        return outgoing.with_mail(_collect(setup, cluster), None)
    taken, warnings = poll_mail(quote(setup), quote(settings))
    summary = _collect(setup, cluster)
    mail = send_mail(quote(setup), quote(settings), quote(summary.status), dry_run=settings.dry_run)
    return outgoing.with_mail(summary, replace(mail, taken=taken, warnings=warnings + mail.warnings))


@flow(name="collect", flow_run_name=_run_name("Сбор отчётов"))
def collect(year: int | None = None, inputs: str = "inputs", outputs: str = "outputs",
            ledger_url: str | None = None, cluster: str | None = None,
            dry_run: bool = False) -> outgoing.MailedCollection:
    """Take new mail, ingest what is new in the year's drop folder; refresh ledger, feedback and status;
    send the replies and reminders (*dry_run*: write them as .eml files).

    *cluster*: run it with run_flow, which sets the task runner to match.
    """
    setup = load_setup(Path(inputs), Path(outputs), _year(year), ledger_url)
    settings = _mail_settings(setup.inputs, dry_run)
    with campaign_lock(setup.outputs, setup.year):
        summary = _collect_with_mail(setup, cluster, settings)
    publish_status(summary.status)
    return summary


@flow(name="annual-report", flow_run_name=_run_name("Итоговый отчёт"))
def annual_report(year: int | None = None, inputs: str = "inputs", outputs: str = "outputs",
                  ledger_url: str | None = None, cluster: str | None = None, dry_run: bool = False,
                  draft: bool = False) -> dict[str, Any]:
    """A last collection pass (mail included), then the consolidated report: svod.xlsx, report.pdf, report.html.

    Returns the paths, and under «mail» what went out (None without [mail]).
    """
    setup = load_setup(Path(inputs), Path(outputs), _year(year), ledger_url)
    settings = _mail_settings(setup.inputs, dry_run)
    with campaign_lock(setup.outputs, setup.year):
        summary = _collect_with_mail(setup, cluster, settings)
        engine = ledger.open_ledger(setup.ledger_url)
        try:
            report = build_report(quote(setup), quote(engine), dt.datetime.now().replace(microsecond=0))
        finally:
            engine.dispose()
        paths = write_report(quote(setup), quote(replace(report, draft=draft)))
    publish_status(summary.status)
    create_link_artifact(key=f"report-{setup.year}", link=paths["pdf"].resolve().as_uri(),
                         link_text=f"Итоговый отчёт {setup.year} (PDF)")
    return {**paths, "mail": summary.mail}


def run_flow(flow_: Any, cluster: str | None = None, **parameters: Any) -> Any:
    """Run *flow_* (collect or annual_report) with *parameters*: here, or with its batches judged on
    a Dask cluster. *cluster*: «local» starts one on this machine (a worker process per core), anything
    else is a scheduler's address (tcp://host:8786).

    With a cluster, the Dask workers must see the drop folder and outputs at the same paths (a shared
    file system) and import this project; they start reading processes of their own, so they must not
    be daemons (DASK_DISTRIBUTED__WORKER__DAEMON=False; set here for «local»). The ledger is written by
    this process only, so SQLite works; PostgreSQL (--ledger) is for a server shared by several people.
    """
    with _without_heartbeats():
        if not cluster:
            return flow_(**parameters, cluster=None)
        runner = _dask_runner(cluster)
        with _reachable_api():
            return flow_.with_options(task_runner=runner)(**parameters, cluster=cluster)


def _dask_runner(cluster: str) -> Any:
    # Dask's scheduler and workers log every start and stop; the analyst reads our lines only.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    import dask
    from prefect_dask import DaskTaskRunner

    logging.getLogger("distributed").setLevel(dask.config.get("logging.distributed", "error").upper())
    if cluster == LOCAL_CLUSTER:
        dask.config.set({"distributed.worker.daemon": False})
        return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs={
            "n_workers": os.cpu_count() or 1, "threads_per_worker": 1, "processes": True,
            "dashboard_address": None})
    return DaskTaskRunner(address=cluster)


@contextlib.contextmanager
def _without_heartbeats() -> Iterator[None]:
    """A flow run's heartbeat thread sleeps in 1 s steps and is joined at the end: ≈ 0.6 s of a 1.1 s
    no-op run here. Heartbeats only feed an automation that marks crashed runs, which nobody has set up
    (Prefect 3 «zombie flow runs»); an operator who has sets PREFECT_FLOWS_HEARTBEAT_FREQUENCY."""
    if "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" in os.environ:
        yield
        return
    # A shallow copy: temporary_settings() re-reads every settings source, 0.13 s of a no-op run.
    current = get_settings_context()
    flows_settings = current.settings.flows.model_copy(update={"heartbeat_frequency": None})
    with SettingsContext(profile=current.profile,
                         settings=current.settings.model_copy(update={"flows": flows_settings})):
        yield


def _say(line: str) -> None:
    print(line, flush=True)


def _silent(line: str) -> None:
    pass


def use_prefect_server(quiet: bool = False) -> None:
    """Send this process's runs to the operator's Prefect server (PREFECT_API_URL), else to the product's
    own, started in the background on first use (eibm/prefect_server.py), saying so on stdout unless
    *quiet* (--json); if it cannot start, to Prefect's temporary server, as before, with a warning on
    stderr: the run itself loses nothing.
    EIBM_PREFECT_SERVER=temporary keeps to the temporary server (no process left behind; 7–10 s a run)."""
    if PREFECT_API_URL.value() or os.environ.get("EIBM_PREFECT_SERVER") == TEMPORARY_SERVER:
        return
    try:
        server = prefect_server.ensure_server(prefect_server.prefect_home(), _silent if quiet else _say)
    except prefect_server.ServerStartError as error:
        print(f"Внимание: {error}. Этот запуск идёт на временном сервере Prefect: результаты те же, "
              "но в истории запусков его не будет.", file=sys.stderr, flush=True)
        return
    # As if the operator had set it: this process, its Dask workers and _reachable_api all see it.
    os.environ["PREFECT_API_URL"] = server.api_url
    refresh_global_settings_context()


@contextlib.contextmanager
def _reachable_api() -> Iterator[None]:
    """Dask workers report their task runs to Prefect's API. Prefect's temporary server is private to
    this process (each worker would start its own, and time out), so start one they can reach,
    unless a server is configured (PREFECT_API_URL)."""
    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import temporary_settings

    server = SubprocessASGIServer()
    server.start(timeout=int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield
    finally:
        server.stop()


def publish_status(status: CampaignStatus) -> None:
    """The status table (keyed, so the UI keeps its history) and today's call list as artifacts."""
    year = status.campaign.year
    held, refused = status.held_schools, status.refused_schools
    create_table_artifact(
        key=f"collection-status-{year}",
        table=[{"Код ОО": school.code, "Наименование": school.name,
                "Состояние": "; ".join([school.state.label] + [HELD_LABEL] * (school.code in held)
                                       + [REFUSED_LABEL] * (school.code in refused))}
               for school in status.schools],
        description=f"Ход сбора отчётов ИБЦ, кампания {year}",
    )
    to_call = [school for school in status.schools
               if school.state in (SchoolState.MISSING, SchoolState.REJECTED) or school.code in held | refused]
    lines = [f"# Кому позвонить сегодня — кампания {year}", "",
             f"Срок сдачи: {status.campaign.deadline:%d.%m.%Y}; осталось дней: {status.days_left}.", ""]
    for school in to_call:
        notes = [HELD_LABEL] * (school.code in held) + [REFUSED_LABEL] * (school.code in refused)
        lines.append(f"- {school.code} {school.name}: {'; '.join([school.state.label, *notes])}")
    if not to_call:
        lines.append("Все школы сдали отчёт.")
    create_markdown_artifact(key=f"call-list-{year}", markdown="\n".join(lines),
                             description="Школы без принятого отчёта")


class ServeError(Exception):
    """Schedules cannot run here (no persistent Prefect server configured)."""


def deployments(inputs: Path, outputs: Path) -> list[Any]:
    """The scheduled collection (working days in the window), the annual report after it closes, and with
    [mail] the mailbox polled every N minutes in working hours on the collection's days."""
    schedule = load_district(inputs).schedule
    parameters = {"inputs": str(inputs.resolve()), "outputs": str(outputs.resolve())}
    settings = load_mail_settings(inputs)
    polling = []
    if settings is not None:
        polling.append(collect.to_deployment(
            name="почта", parameters=parameters,
            schedules=[Cron(poll_cron(settings, schedule.collect_cron), timezone=schedule.timezone)],
            description=f"Приём отчётов из почтового ящика и ответы школам (каждые {settings.poll_minutes} мин)"))
    return [
        collect.to_deployment(name="сбор-отчётов", parameters=parameters,
                              schedules=[Cron(schedule.collect_cron, timezone=schedule.timezone)],
                              description="Приём новых отчётов школ (рабочие дни апреля–октября)"),
        annual_report.to_deployment(name="итоговый-отчёт", parameters=parameters,
                                    schedules=[Cron(schedule.report_cron, timezone=schedule.timezone)],
                                    description="Итоговый отчёт после закрытия окна сбора"),
        *polling,
    ]


def poll_cron(settings: MailSettings, collect_cron: str) -> str:
    """Every poll_minutes within poll_hours, on the days, months and weekdays of the scheduled collection."""
    minute, hour, *_ = settings.poll_cron.split()
    return " ".join([minute, hour, *collect_cron.split()[2:]])


def serve_deployments(inputs: Path = Path("inputs"), outputs: Path = Path("outputs")) -> None:
    """Serve both deployments; refuse when only Prefect's temporary server is available (use_prefect_server
    could not start the product's own and none is configured)."""
    if not PREFECT_API_URL.value():
        raise ServeError(
            "Расписание работает только с постоянным сервером Prefect, а запустить его не удалось (см. выше). "
            "Запустите его сами (`prefect server start`) и укажите адрес: `prefect config set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api`, затем повторите `eibm serve`.")
    serve(*deployments(inputs, outputs))


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        use_prefect_server()
        try:
            serve_deployments()
        except ServeError as error:
            print(f"Ошибка: {error}", file=sys.stderr)
            sys.exit(2)
    else:
        print("Использование: python flows.py serve", file=sys.stderr)
        sys.exit(2)
