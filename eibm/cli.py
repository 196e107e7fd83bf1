"""The `eibm` command line: Russian help and messages, exit codes, JSON output; no work of its own."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from eibm.interrupt import run_interruptible
from eibm.os_errors import describe_os_error
from eibm.usage import CommandsFormatter, RussianParser
from pipeline.atomic import OutputError
from pipeline.district.register import RegisterError
from pipeline.district.roadmap import DistrictDataError
from pipeline.ledger.version import LedgerVersionError
from pipeline.lock import CampaignBusyError, check_campaign_free
from pipeline.statuses import SubmissionStatus

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a program the pipe's reader left
YEAR_HELP = "год кампании — учебный год, который она закрывает, например 2026 (за 2025/2026 учебный год)"
DRAFT_MARK = "Черновик"
_YEAR = re.compile(r"^\d{4}$")


def campaign_year(text: str) -> int:
    """--year's value: a year of four digits."""
    if not _YEAR.match(text):
        raise argparse.ArgumentTypeError(f"«{text}» — не год; нужен год кампании из четырёх цифр, например 2026")
    return int(text)


def _add_command(commands: Any, name: str, parents: list[argparse.ArgumentParser], summary: str) -> Any:
    return commands.add_parser(name, parents=parents, help=summary, description=summary[:1].upper() + summary[1:] + ".")


def build_parser() -> argparse.ArgumentParser:
    parser = RussianParser(prog="eibm", description="Сбор и свод отчётов школ о внедрении единой "
                                                   "информационно-библиотечной модели (ИБЦ).",
                           epilog="Справка по команде: eibm КОМАНДА --help",
                           formatter_class=CommandsFormatter)
    # Parents are Russian too: their «параметры» group merges into each command's own.
    common = RussianParser(add_help=False)
    common.add_argument("--inputs", type=Path, default=Path("inputs"), metavar="ПАПКА",
                        help="папка входных данных: district.toml, schools.csv, папки годов (по умолчанию ./inputs)")
    common.add_argument("--outputs", type=Path, default=Path("outputs"), metavar="ПАПКА",
                        help="папка результатов (по умолчанию ./outputs)")
    common.add_argument("--ledger", default=os.environ.get("EIBM_LEDGER_URL"), metavar="АДРЕС",
                        help="адрес базы журнала (SQLAlchemy URL); по умолчанию outputs/ledger.sqlite")
    common.add_argument("--debug", action="store_true", help="показывать технические подробности ошибок")
    commands = parser.add_subparsers(title="команды", dest="command", required=True, metavar="КОМАНДА",
                                     parser_class=RussianParser)

    validate = _add_command(commands, "validate", [common], "проверить файлы, ничего не сохраняя")
    validate.add_argument("files", nargs="+", type=Path, metavar="ФАЙЛ",
                          help="файл отчёта школы (.xlsx, .xls, .ods или .csv); можно несколько")
    validate.add_argument("--year", type=campaign_year, metavar="ГОД",
                          help=YEAR_HELP + "; по умолчанию — текущий год")
    validate.add_argument("--json", action="store_true", help="вывести результат в формате JSON")

    cluster = RussianParser(add_help=False)
    cluster.add_argument("--cluster", default=os.environ.get("EIBM_DASK_CLUSTER"), metavar="АДРЕС",
                         help="проверять файлы на кластере Dask: адрес планировщика (tcp://хост:8786) или "
                              "local — кластер на этой машине; журнал тогда — PostgreSQL (--ledger)")

    mail = RussianParser(add_help=False)
    mail.add_argument("--dry-run", action="store_true",
                      help="не отправлять письма школам и не опрашивать почтовый ящик, а записать письма файлами "
                           ".eml в outputs/<год>/outbox/ (если в district.toml есть раздел [mail])")

    collect = _add_command(commands, "collect", [common, cluster, mail],
                           "принять новые файлы из inputs/<год>/ и почты, ответить школам")
    collect.add_argument("--year", type=campaign_year, required=True, metavar="ГОД", help=YEAR_HELP)
    collect.add_argument("--json", action="store_true", help="вывести результат в формате JSON")

    status = _add_command(commands, "status", [common], "показать ход сбора отчётов")
    status.add_argument("--year", type=campaign_year, required=True, metavar="ГОД", help=YEAR_HELP)
    status.add_argument("--json", action="store_true", help="вывести результат в формате JSON")

    templates = _add_command(commands, "templates", [common], "создать шаблоны отчётов для школ")
    templates.add_argument("--year", type=campaign_year, required=True, metavar="ГОД", help=YEAR_HELP)

    report = _add_command(commands, "report", [common, cluster, mail],
                          "итоговый отчёт за год: PDF, HTML и свод в Excel")
    report.add_argument("--year", type=campaign_year, required=True, metavar="ГОД", help=YEAR_HELP)
    report.add_argument("--force", action="store_true",
                        help="построить черновик, даже если сбор за этот год ещё не начался или папки "
                             "inputs/<год>/ нет: на каждой странице будет пометка «Черновик»")

    _add_command(commands, "serve", [common], "запустить расписание сбора, почты и отчёта (на сервере Prefect)")
    server = _add_command(commands, "server", [common],
                          "сервер Prefect с историей запусков (запускается сам при первом collect или report)")
    server.add_argument("action", choices=["status", "stop"], metavar="ДЕЙСТВИЕ",
                        help="status — работает ли сервер и его адрес в браузере; stop — остановить его")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    if not arguments.debug:
        # Prefect would print its own traceback of a failed task next to our Russian message.
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    if arguments.ledger and not _is_ledger_url(arguments.ledger):
        print("Ошибка: адрес журнала (--ledger или переменная EIBM_LEDGER_URL) не разобран: нужен адрес вида "
              "postgresql+psycopg://пользователь@сервер/база или sqlite:///путь/ledger.sqlite", file=sys.stderr)
        return EXIT_USAGE
    try:
        handler = {"validate": run_validate, "collect": run_collect, "status": run_status,
                   "templates": run_templates, "report": run_report, "serve": run_serve,
                   "server": run_server}[arguments.command]
        return handler(arguments)
    except (DistrictDataError, RegisterError) as error:
        print(f"Ошибка в данных района: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (CampaignBusyError, OutputError, LedgerVersionError) as error:
        print(f"Ошибка: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OperationalError:  # the ledger's server is down or refuses us; the driver's words are English
        if arguments.debug:
            raise
        shown = make_url(_setup_url(arguments)).render_as_string(hide_password=True)
        print(f"Ошибка: журнал {shown} недоступен: проверьте адрес (--ledger или EIBM_LEDGER_URL) и что сервер "
              "базы запущен и принимает подключения; подробности — с --debug", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (`eibm status | head -3`): nobody to tell, as `cat` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes it
        return EXIT_BROKEN_PIPE
    except OSError as error:  # a folder the system refuses: its path and what to do, not «Errno 13»
        if arguments.debug:
            raise
        print(f"Ошибка: {describe_os_error(error, arguments.inputs, arguments.outputs)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("Прервано.", file=sys.stderr)
        return 130
    except Exception as error:  # a program error: a message, and the traceback only with --debug
        if arguments.debug:
            raise
        print(f"Непредвиденная ошибка: {error}\nПовторите команду с --debug, чтобы увидеть подробности.",
              file=sys.stderr)
        return EXIT_FINDINGS


def _is_ledger_url(url: str) -> bool:
    try:
        make_url(url)
    except ArgumentError:
        return False
    return True


def _setup_url(arguments: argparse.Namespace) -> str:
    """The ledger's address this run uses: --ledger, else the SQLite file in the outputs folder."""
    from pipeline import ledger

    return arguments.ledger or ledger.default_url(arguments.outputs)


def _setup(arguments: argparse.Namespace, year: int) -> Any:
    from pipeline.district.setup import load_setup

    return load_setup(arguments.inputs, arguments.outputs, year, arguments.ledger)


def run_validate(arguments: argparse.Namespace) -> int:
    from pipeline.findings import to_visible
    from pipeline.judge.verdict import Rules, judge_paths

    year = arguments.year or dt.date.today().year
    setup = _setup(arguments, year)
    missing = [str(path) for path in arguments.files if not path.is_file()]
    if missing:
        print(f"Ошибка: файл не найден: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    rules = Rules(setup.district, setup.register, setup.campaign, dt.date.today())
    verdicts = judge_paths(list(arguments.files), rules)
    failed = any(finding.is_error for verdict in verdicts for finding in verdict.findings)
    if arguments.json:
        files = [{"path": to_visible(dropped.relative), "school": verdict.school,
                  "findings": [finding.to_dict() for finding in verdict.findings]}
                 for verdict in verdicts for dropped in verdict.unit.files]
        print(json.dumps({"year": year, "files": files}, ensure_ascii=False, indent=2))
    else:
        for verdict in verdicts:
            names = ", ".join(to_visible(dropped.relative) for dropped in verdict.unit.files)
            word = "без ошибок" if not verdict.errors else "есть ошибки — файл будет отклонён"
            print(f"{names}: {word} (ошибок: {verdict.errors}, предупреждений: {verdict.warnings})")
            for finding in verdict.findings:
                print(_finding_line(finding))
    return EXIT_FINDINGS if failed else EXIT_OK


def _finding_line(finding: Any) -> str:
    level = "ОШИБКА" if finding.is_error else "предупр."
    where = f"{finding.sheet}!{finding.cell}" if finding.cell else finding.sheet
    value = f" [{finding.value}]" if finding.value else ""
    return f"  {finding.code} {level} {where}{value}: {finding.message} → {finding.hint}"


def import_flows() -> Any:
    """The flows module, with Prefect and the pipeline: ≈ 1.3 s and 200,000 objects, all kept to the end.

    The garbage collector is paused while they import (nothing they create is garbage) and they are then
    frozen out of its sight: otherwise the run's first full collection and the interpreter's exit each walk
    them again, 0.4 s of a 2 s command (benchmarks/cli.py).
    """
    gc.disable()
    try:
        import flows
    finally:
        gc.enable()
    gc.freeze()
    return flows


def run_collect(arguments: argparse.Namespace) -> int:
    from pipeline.district.setup import drop_folder

    folder = drop_folder(arguments.inputs, arguments.year)
    if not folder.is_dir():
        print(f"Ошибка: нет папки отчётов школ {folder} — проверьте год и папку входных данных (--inputs)",
              file=sys.stderr)
        return EXIT_USAGE
    check_campaign_free(arguments.outputs, arguments.year)  # at once, not after Prefect's start-up
    started = time.monotonic()
    if not arguments.json:
        print(f"Сбор отчётов {arguments.year}: запускаю…", flush=True)
    flows = import_flows()
    flows.use_prefect_server(quiet=arguments.json)
    summary = run_interruptible(flows.run_flow, flows.collect, arguments.cluster, year=arguments.year,
                                inputs=str(arguments.inputs), outputs=str(arguments.outputs),
                                ledger_url=arguments.ledger, dry_run=arguments.dry_run)
    if arguments.json:
        print(json.dumps(summary.to_json(), ensure_ascii=False, indent=2))
        return EXIT_OK
    _print_collection(summary, time.monotonic() - started, arguments.outputs)
    return EXIT_OK


def run_report(arguments: argparse.Namespace) -> int:
    check_campaign_free(arguments.outputs, arguments.year)  # at once, not after Prefect's start-up
    nothing_yet = _nothing_to_report(arguments, dt.date.today())
    if nothing_yet and not arguments.force:
        print(f"Отчёт за {arguments.year} год не построен: {nothing_yet}.\n"
              f"Построить черновик с пометкой «{DRAFT_MARK}» на каждой странице: "
              f"eibm report --year {arguments.year} --force", file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    kind = f"{DRAFT_MARK} итогового отчёта" if arguments.force else "Итоговый отчёт"
    print(f"{kind} {arguments.year}: последний сбор, свод и вёрстка…", flush=True)
    flows = import_flows()
    flows.use_prefect_server()
    paths = run_interruptible(flows.run_flow, flows.annual_report, arguments.cluster, year=arguments.year,
                              inputs=str(arguments.inputs), outputs=str(arguments.outputs),
                              ledger_url=arguments.ledger, dry_run=arguments.dry_run, draft=arguments.force)
    print(f"Готово за {_seconds(time.monotonic() - started, 0)} с.")
    if arguments.force:
        print(f"Это черновик (--force): на каждой странице пометка «{DRAFT_MARK}».")
    print(f"Отчёт (PDF):   {Path(paths['pdf']).resolve()}")
    print(f"Отчёт (HTML):  {Path(paths['html']).resolve()}")
    print(f"Свод (Excel):  {Path(paths['svod']).resolve()}")
    _print_mail(paths.get("mail"))
    return EXIT_OK


def _nothing_to_report(arguments: argparse.Namespace, today: dt.date) -> str:
    """Why a report of campaign *year* would be a report of nothing (no folder, the window not yet open), or ""."""
    from pipeline.district.setup import drop_folder

    folder = drop_folder(arguments.inputs, arguments.year)
    if not folder.is_dir():
        return f"нет папки отчётов школ {folder} — проверьте год и папку входных данных (--inputs)"
    setup = _setup(arguments, arguments.year)
    if today < setup.campaign.window_open:
        return (f"сбор отчётов ещё не начался — он открывается {setup.campaign.window_open:%d.%m.%Y} "
                f"(district.toml, {setup.district.date_key(arguments.year, 'window_open')})")
    return ""


def _seconds(seconds: float, digits: int) -> str:
    """«11,3»: a duration with a decimal comma, as every number the analyst reads."""
    from pipeline.typography import ru_number

    return ru_number(seconds, digits)


def _print_mail(mail: Any) -> None:
    """What went out by mail, and why something could not (nothing without [mail])."""
    if mail is None:
        return
    for warning in mail.warnings:
        print(f"Внимание: {warning}", file=sys.stderr)
    if mail.taken:
        print(f"Из почты взято писем с отчётами: {mail.taken}")
    print(mail.line())


def run_serve(arguments: argparse.Namespace) -> int:
    flows = import_flows()
    flows.use_prefect_server()  # schedules need a lasting server: the product's own, unless one is configured
    try:
        flows.serve_deployments(arguments.inputs, arguments.outputs)
    except flows.ServeError as error:
        print(f"Ошибка: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def run_server(arguments: argparse.Namespace) -> int:
    from eibm import prefect_server, runner  # the standard library only: no Prefect import here

    home = prefect_server.prefect_home()
    if arguments.action == "stop":
        stopped = prefect_server.stop_server(home)
        print(f"Сервер Prefect остановлен ({stopped.url})." if stopped else "Сервер Prefect не был запущен.")
        if runner.stop_runner(home):
            print("Фоновый процесс eibm остановлен: следующая команда collect или report запустит его снова.")
        return EXIT_OK
    server = prefect_server.running_server(home)
    configured = prefect_server.configured_api_url(home)
    if configured:
        print(f"Запуски идут на сервер Prefect, заданный в настройках (PREFECT_API_URL): {configured}")
    elif server is None:
        print("Сервер Prefect не запущен; он запустится сам при следующем eibm collect или eibm report.")
    else:
        print(f"Сервер Prefect работает: {server.url} (история запусков и артефакты; процесс {server.pid}, "
              f"папка {home}). Остановить: eibm server stop")
    warm = runner.running_runner(home)
    if warm is not None:
        print(f"Фоновый процесс eibm (процесс {warm}) ускоряет команды collect и report; останавливается вместе "
              "с сервером: eibm server stop")
    return EXIT_OK


def _status(setup: Any) -> Any:
    from pipeline import ledger
    from pipeline.collect.status import current_status

    engine = ledger.open_ledger(setup.ledger_url)
    try:
        return current_status(setup, engine, dt.datetime.now().replace(microsecond=0))
    finally:
        engine.dispose()


def _print_collection(summary: Any, seconds: float, outputs: Path) -> None:
    counts = summary.counts
    print(f"Кампания {summary.year}: обработано новых отчётов — {summary.processed} за {_seconds(seconds, 1)} с.")
    files = ", ".join(f"{SubmissionStatus(key).label} — {value}" for key, value in sorted(counts.items()))
    print(f"Файлы в папке: {files}" if counts else "Файлы в папке: нет файлов.")
    if summary.unsettled:
        print(f"Ещё записываются (будут проверены при следующем запуске): {', '.join(summary.unsettled)}")
    from pipeline.collect.status import format_status

    print(format_status(summary.status))
    print(f"Статус сбора: {outputs / str(summary.year) / 'status.html'}")
    print(f"Ответы школам: {outputs / str(summary.year) / 'feedback'}")
    _print_mail(summary.mail)


def run_status(arguments: argparse.Namespace) -> int:
    from pipeline.collect.status import format_status, status_json

    setup = _setup(arguments, arguments.year)
    status = _status(setup)
    if arguments.json:
        print(json.dumps({"year": setup.year, "schools": status_json(status)}, ensure_ascii=False, indent=2))
    else:
        print(format_status(status))
    return EXIT_OK


def run_templates(arguments: argparse.Namespace) -> int:
    from pipeline.district.register import expected_schools
    from pipeline.mail.settings import load_mail_settings
    from pipeline.xlsx.templates import write_templates

    setup = _setup(arguments, arguments.year)
    schools = expected_schools(setup.register, setup.campaign)
    folder = setup.outputs / str(setup.year) / "templates"
    mail = load_mail_settings(setup.inputs)  # the instruction names the mailbox when the district has one
    written = write_templates(setup.district, schools, setup.year, folder, send_to=mail.reply_to if mail else None)
    print(f"Создано шаблонов: {len(written)} в папке {folder}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
