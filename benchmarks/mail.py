"""Mail benchmark: N school messages (one xlsx each) in a real dovecot, then one poll, collection and replies."""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import shutil
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT / "benchmarks"), str(PROJECT / "tests"), str(PROJECT)]

import generate  # noqa: E402  (benchmarks/generate.py, run as a file)
from mail_servers import Dovecot, SmtpServer, find_dovecot  # noqa: E402  (tests/: the real servers)

from pipeline import ledger  # noqa: E402
from pipeline.collect.run import collect  # noqa: E402
from pipeline.district.register import load_register  # noqa: E402
from pipeline.district.roadmap import load_district  # noqa: E402
from pipeline.district.setup import load_setup  # noqa: E402
from pipeline.mail.intake import poll_mailbox  # noqa: E402
from pipeline.mail.outgoing import send_mail  # noqa: E402
from pipeline.mail.settings import load_mail_settings  # noqa: E402

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
DISTRICT_ADDRESS = "district@example.test"
CA_FILE = "mail-ca.pem"
MAIL_SETTINGS = """
[mail]
imap_host = "{imap_host}"
imap_port = {imap_port}
smtp_host = "{smtp_host}"
smtp_port = {smtp_port}
smtp_security = "ssl"
user = "{user}"
from_address = "{user}"
reply_to = "{user}"
max_messages_per_poll = {messages}
dry_run = false
cafile = "{cafile}"
"""


def collection_time(inputs: Path, year: int) -> dt.datetime:
    """The benchmark's «now»: the morning the collection window closes (as benchmarks/run.py uses)."""
    return dt.datetime.combine(load_district(inputs).campaign(year).window_close, dt.time(6, 0))


def school_messages(inputs: Path, year: int) -> list[bytes]:
    """One message per report in the drop folder, from the school's register address; the folder is emptied."""
    register = load_register(inputs)
    messages = []
    for path in sorted((inputs / str(year)).glob("*.xlsx")):
        code = path.name.split("_", 1)[0]
        school = register[code]
        message = EmailMessage()
        message["From"] = school.email
        message["To"] = DISTRICT_ADDRESS
        message["Subject"] = f"Отчёт ИБЦ {year}, {school.name}"
        message["Message-ID"] = f"<{code}.{year}@school.example.test>"
        message.set_content(f"Добрый день! Направляем отчёт ИБЦ за {year} год.\n\n{school.name}")
        message.add_attachment(path.read_bytes(), *XLSX_TYPE, filename=f"Отчёт ИБЦ {year} {code}.xlsx")
        messages.append(message.as_bytes())
        path.unlink()
    return messages


def configure_mail(inputs: Path, dovecot: Dovecot, smtp: SmtpServer, messages: int) -> None:
    """Point [mail] of the generated district.toml at the two servers; passwords go in the environment."""
    shutil.copyfile(dovecot.cafile, inputs / CA_FILE)
    district = inputs / "district.toml"
    text = district.read_text(encoding="utf-8")
    text = text[:text.index("[mail]")] if "[mail]" in text else text
    district.write_text(text + MAIL_SETTINGS.format(
        imap_host=dovecot.host, imap_port=dovecot.port, smtp_host=smtp.host, smtp_port=smtp.port,
        user=dovecot.user, messages=messages, cafile=CA_FILE), encoding="utf-8")
    os.environ["EIBM_IMAP_PASSWORD"] = dovecot.password
    os.environ["EIBM_SMTP_PASSWORD"] = smtp.password


def run_loop(work: Path, year: int, now: dt.datetime) -> dict[str, float | int]:
    """What flows.collect does with [mail], without Prefect: poll, collect, send; seconds and counts of each."""
    inputs = work / "inputs"
    setup = load_setup(inputs, work / "outputs", year)
    settings = load_mail_settings(inputs)
    assert settings is not None
    started = time.perf_counter()
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        polled = poll_mailbox(setup, settings, engine, now=now)
    finally:
        engine.dispose()
    poll_done = time.perf_counter()
    summary = collect(setup, now=now)
    collect_done = time.perf_counter()
    mail = send_mail(setup, settings, summary.status, now=now)
    finished = time.perf_counter()
    return {"poll_s": poll_done - started, "collect_s": collect_done - poll_done, "send_s": finished - collect_done,
            "total_s": finished - started, "taken": polled.taken, "refused_in": polled.refused,
            "sent": mail.sent, "unsent": mail.unsent, "refused_out": mail.refused}


def check_replies(smtp: SmtpServer, inputs: Path) -> dict[str, int]:
    """How many replies went to a register address, carry the feedback page, and the annotated workbook
    (written only for a file with findings)."""
    addresses = {school.email for school in load_register(inputs).values()}
    names = [[part.get_filename() or "" for part in received.message.iter_attachments()]
             for received in smtp.messages]
    return {"replies": len(smtp.messages),
            "to_register_address": sum(set(received.rcpt_tos) <= addresses for received in smtp.messages),
            "with_page": sum(any(name.endswith(".html") for name in files) for files in names),
            "with_workbook": sum(any(name.endswith(".xlsx") for name in files) for files in names)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500, help="schools, one message each (500)")
    parser.add_argument("--year", type=int, default=2025, help="campaign year (default 2025)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for generating")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (printed)")
    parser.add_argument("--profile", action="store_true", help="run the loop under cProfile; print the top 30")
    args = parser.parse_args(argv)
    binary = find_dovecot()
    if binary is None:
        print("dovecot не найден: bash scripts/setup.sh --tests", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="eibm-mail-bench-"))
    try:
        started = time.perf_counter()
        generate.generate(work, generate.Options(args.messages, args.year, csv_share=0.0), args.jobs)
        inputs = work / "inputs"
        messages = school_messages(inputs, args.year)
        generated = time.perf_counter() - started
        now = collection_time(inputs, args.year)
        with Dovecot(binary, user=DISTRICT_ADDRESS) as dovecot, SmtpServer(user=DISTRICT_ADDRESS) as smtp:
            started = time.perf_counter()
            dovecot.append_all(messages, received=now - dt.timedelta(days=1))
            appended = time.perf_counter() - started
            configure_mail(inputs, dovecot, smtp, len(messages))
            size_mb = sum(len(message) for message in messages) / 1024 / 1024
            print(f"{len(messages)} messages ({size_mb:.1f} MB) generated in {generated:.1f} s, "
                  f"appended to dovecot in {appended:.1f} s; load average {os.getloadavg()[0]:.2f}")
            profiler = cProfile.Profile() if args.profile else None
            numbers = profiler.runcall(run_loop, work, args.year, now) if profiler else run_loop(work, args.year, now)
            checks = check_replies(smtp, inputs)
        print(f"poll {numbers['poll_s']:.1f} s + collect {numbers['collect_s']:.1f} s + replies "
              f"{numbers['send_s']:.1f} s = {numbers['total_s']:.1f} s (target 120 s on 2 cores)")
        print(f"taken {numbers['taken']} (refused {numbers['refused_in']}), sent {numbers['sent']} "
              f"(unsent {numbers['unsent']}, refused {numbers['refused_out']}); the SMTP server got "
              f"{checks['replies']}, {checks['to_register_address']} to register addresses, "
              f"{checks['with_page']} with the feedback page, {checks['with_workbook']} also with the annotated "
              f"workbook")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        return 0 if numbers["sent"] == checks["replies"] == len(messages) else 1
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
