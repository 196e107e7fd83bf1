"""The e-mail loop against real servers: dovecot in, collect, aiosmtpd out; held, refused, down, reminders, kill −9."""

from __future__ import annotations

import datetime as dt
import email.policy
import html.parser
import io
import os
import pickle
import signal
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
from conftest import PROJECT, campaign_setup, good_report, set_cell, write_xlsx
from mail_servers import Dovecot, SmtpServer

from pipeline import ledger
from pipeline.collect.run import collect
from pipeline.collect.status import CampaignStatus
from pipeline.district.roadmap import load_district
from pipeline.district.setup import Setup
from pipeline.ledger.outgoing_mail import unsent_letters
from pipeline.mail.intake import MAIL_FOLDER, poll_mailbox
from pipeline.mail.outgoing import MailSummary, send_mail
from pipeline.mail.send import MAX_TEMPORARY_REFUSALS
from pipeline.mail.settings import IMAP_PASSWORD, SMTP_PASSWORD, MailSettings

SCHOOL_1 = "lib@school-1.example.test"
SCHOOL_2 = "lib@school-2.example.test"
SCHOOL_3 = "lib@school-3.example.test"
REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            f"70-001;МБОУ «Первая СОШ»;Тест;school-1.example.test;{SCHOOL_1};;\n"
            f"70-002;МБОУ «Вторая СОШ»;Тест;school-2.example.test;{SCHOOL_2};;\n"
            f"70-003;МБОУ «Третья СОШ»;Тест;school-3.example.test;{SCHOOL_3};;\n")
DISTRICT = "ibc@district.example.test"
RECEIVED = dt.datetime(2025, 5, 20, 10, 0)
NOW = dt.datetime(2025, 6, 2, 9, 0)
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@pytest.fixture()
def setup(tmp_path: Path) -> Setup:
    return campaign_setup(tmp_path, REGISTER)


@pytest.fixture()
def passwords(monkeypatch: pytest.MonkeyPatch, dovecot: Dovecot, smtp_server: SmtpServer) -> None:
    monkeypatch.setenv(IMAP_PASSWORD, dovecot.password)
    monkeypatch.setenv(SMTP_PASSWORD, smtp_server.password)


def mail_settings(dovecot: Dovecot, smtp: SmtpServer, **changes: object) -> MailSettings:
    """The district's [mail] pointing at the test servers, their throwaway certificate trusted."""
    values = dict(imap_host=dovecot.host, imap_port=dovecot.port, smtp_host=smtp.host, smtp_port=smtp.port,
                  smtp_security="ssl", user=dovecot.user, from_address=DISTRICT, reply_to=DISTRICT, poll_minutes=10,
                  poll_hours=(8, 18), max_attachment_bytes=10 * 1024 * 1024, max_messages_per_poll=500,
                  reminder_days_before=(7, 1), reminder_days_after=(1, 7), dry_run=False, cafile=smtp.cafile)
    values.update(changes)
    return MailSettings(**values)  # type: ignore[arg-type]


def report_message(sender: str, faulty: bool = True, code: str = "70-001",
                   name: str = "Отчёт ИБЦ школы № 1.xlsx", message_id: str = "<report-1@school-1.example.test>",
                   folder: Path | None = None) -> bytes:
    """A school's message with a Cyrillic-named workbook; *faulty*: item 1.1 without its date (R01, rejected)."""
    report = good_report(load_district(PROJECT / "inputs"))
    set_cell(report, "Титул", "B3", code)
    if faulty:
        set_cell(report, "Дорожная карта", "E3", "")
    path = write_xlsx(report, (folder or Path("/tmp")) / f"eibm-mail-{os.getpid()}-{code}.xlsx")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = DISTRICT
    message["Subject"] = "Отчёт ИБЦ"
    message["Message-ID"] = message_id
    message.set_content("Добрый день! Отчёт во вложении.")
    message.add_attachment(path.read_bytes(), maintype=XLSX[0], subtype=XLSX[1], filename=name)
    path.unlink()
    return message.as_bytes(policy=email.policy.SMTP)


def run_loop(setup: Setup, settings: MailSettings, now: dt.datetime = NOW) -> tuple[CampaignStatus, MailSummary]:
    """What flows.collect does with [mail]: poll, collect, send."""
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        poll_mailbox(setup, settings, engine, now=now)
    finally:
        engine.dispose()
    summary = collect(setup, now=now)
    mail = send_mail(setup, settings, summary.status, now=now)
    return mail.status or summary.status, mail


def attachments(message: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


def test_mailed_report_gets_exactly_one_reply_with_both_attachments_and_a_rerun_sends_nothing(
        setup: Setup, dovecot: Dovecot, smtp_server: SmtpServer, passwords: None) -> None:
    dovecot.append(report_message(SCHOOL_1, folder=setup.outputs.parent), received=RECEIVED)

    _, mail = run_loop(setup, mail_settings(dovecot, smtp_server))

    assert (mail.sent, mail.held, mail.unsent) == (1, 0, 0)
    [received] = smtp_server.messages
    reply = received.message
    assert received.rcpt_tos == (SCHOOL_1,) and reply["To"] == SCHOOL_1
    assert reply["Subject"] == "Отчёт ИБЦ 2025: отклонён, ошибок: 1"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == "<report-1@school-1.example.test>"
    assert reply["Message-ID"].endswith("@district.example.test>")
    body = reply.get_body(("plain",)).get_content()
    assert "МБОУ «Первая СОШ» (код ОО 70-001)" in body and "Файл: Отчёт ИБЦ школы № 1.xlsx" in body
    assert "Лист «Дорожная карта», ячейка E3" in body and "Срок сдачи отчёта: 01.10.2025." in body
    files = attachments(reply)
    [page] = [content for name, content in files.items() if name.endswith(".html")]
    parser = html.parser.HTMLParser()
    parser.feed(page.decode("utf-8"))
    parser.close()
    assert "70-001" in page.decode("utf-8")
    [annotated] = [content for name, content in files.items() if name.endswith(".xlsx")]
    assert "Дорожная карта" in openpyxl.load_workbook(io.BytesIO(annotated)).sheetnames

    _, again = run_loop(setup, mail_settings(dovecot, smtp_server), NOW + dt.timedelta(minutes=10))

    assert again.sent == 0 and len(smtp_server.messages) == 1


def test_a_run_for_a_past_campaign_takes_no_mail_and_sends_nothing(
        setup: Setup, dovecot: Dovecot, smtp_server: SmtpServer, passwords: None) -> None:
    """The mailbox serves this year's campaign: `collect --year 2025` run in 2026 must not file 2026's mail
    under 2025, nor answer 2025's files a year late; it writes what it would send, and says so."""
    dovecot.append(report_message(SCHOOL_1, folder=setup.outputs.parent), received=RECEIVED)
    write_xlsx(good_report(load_district(PROJECT / "inputs")), setup.drop_folder / "70-001.xlsx")

    _, mail = run_loop(setup, mail_settings(dovecot, smtp_server), dt.datetime(2026, 5, 4, 9, 0))

    assert not (setup.drop_folder / MAIL_FOLDER).exists() and smtp_server.messages == []
    assert mail.dry_run and [path.name for path in mail.drafts] == ["70-001_reply_1.eml"]
    assert mail.warnings == ["кампания 2025 — не текущая (сейчас 2026 год): почтовый ящик не опрашивается, "
                             "письма не отправляются, а записываются файлами .eml в папку outputs/2025/outbox/"]


def test_report_from_another_address_is_held_and_only_the_school_in_it_is_told(
        setup: Setup, dovecot: Dovecot, smtp_server: SmtpServer, passwords: None) -> None:
    dovecot.append(report_message("someone@elsewhere.example.test", faulty=False, folder=setup.outputs.parent),
                   received=RECEIVED)

    status, mail = run_loop(setup, mail_settings(dovecot, smtp_server))

    assert (mail.sent, mail.held) == (1, 1)
    [received] = smtp_server.messages
    assert received.rcpt_tos == (SCHOOL_1,)
    assert received.message["Subject"] == "Отчёт ИБЦ 2025: прислан не с адреса школы, на проверке"
    assert "с адреса someone@elsewhere.example.test" in received.message.get_body(("plain",)).get_content()
    assert [(item.school, item.sender) for item in status.held] == [("70-001", "someone@elsewhere.example.test")]
    page = (setup.outputs / "2025" / "status.html").read_text(encoding="utf-8")
    assert "на проверке: отправитель не совпадает" in page and "someone@elsewhere.example.test" in page


def test_address_answering_550_is_recorded_shown_and_never_retried(
        setup: Setup, dovecot: Dovecot, smtp_server: SmtpServer, passwords: None) -> None:
    smtp_server.refuse(SCHOOL_1)
    dovecot.append(report_message(SCHOOL_1, folder=setup.outputs.parent), received=RECEIVED)

    status, mail = run_loop(setup, mail_settings(dovecot, smtp_server))

    assert (mail.sent, mail.refused, mail.unsent) == (0, 1, 0)
    assert [(item.school, item.answer) for item in status.refused_mail] == [
        ("70-001", "550 5.1.1 Mailbox unavailable")]
    assert "адрес не принимает почту" in (setup.outputs / "2025" / "status.html").read_text(encoding="utf-8")
    _, again = run_loop(setup, mail_settings(dovecot, smtp_server), NOW + dt.timedelta(minutes=10))
    assert (again.sent, again.refused, again.unsent) == (0, 0, 0)
    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        attempts = connection.execute(ledger.outbox.select()).mappings().one()["attempts"]
    engine.dispose()
    assert attempts == 1


def test_a_temporary_refusal_is_retried_and_becomes_final_after_so_many(
        setup: Setup, dovecot: Dovecot, smtp_server: SmtpServer, passwords: None) -> None:
    smtp_server.refuse(SCHOOL_1, "450 4.2.0 Greylisted, try again later")
    dovecot.append(report_message(SCHOOL_1, folder=setup.outputs.parent), received=RECEIVED)
    settings = mail_settings(dovecot, smtp_server)

    status, first = run_loop(setup, settings)

    assert (first.sent, first.refused, first.unsent) == (0, 0, 1)  # greylisted: next run
    later = [send_mail(setup, settings, status, now=NOW + dt.timedelta(minutes=10 * run))
             for run in range(1, MAX_TEMPORARY_REFUSALS)]
    assert [(mail.refused, mail.unsent) for mail in later] == [(0, 1)] * (MAX_TEMPORARY_REFUSALS - 2) + [(1, 0)]
    shown = later[-1].status or status
    assert [(item.school, item.answer) for item in shown.refused_mail] == [
        ("70-001", f"450 4.2.0 Greylisted, try again later (временный отказ {MAX_TEMPORARY_REFUSALS} раз подряд)")]
    assert send_mail(setup, settings, status, now=NOW + dt.timedelta(days=1)).unsent == 0  # never retried again
    assert smtp_server.messages == []


def test_smtp_down_leaves_the_reply_unsent_and_the_next_run_sends_it(
        setup: Setup, dovecot: Dovecot, smtp_server: SmtpServer, passwords: None) -> None:
    dovecot.append(report_message(SCHOOL_1, folder=setup.outputs.parent), received=RECEIVED)
    smtp_server.stop()

    _, down = run_loop(setup, mail_settings(dovecot, smtp_server))

    assert (down.sent, down.unsent) == (0, 1)
    assert "недоступен" in down.warnings[0] and "следующем запуске" in down.warnings[0]
    smtp_server.start()
    _, back = run_loop(setup, mail_settings(dovecot, smtp_server), NOW + dt.timedelta(minutes=10))
    assert (back.sent, back.unsent) == (1, 0)
    assert [message.rcpt_tos for message in smtp_server.messages] == [(SCHOOL_1,)]


# The child records what is owed, exactly as send_mail does before it connects, and is killed at once.
KILLED_CHILD = """
import os, pickle, signal, sys
from pipeline import ledger
from pipeline.collect.status import current_status
from pipeline.mail.outgoing import record_owed
setup, settings, now = pickle.loads(open(sys.argv[1], "rb").read())
engine = ledger.open_ledger(setup.ledger_url)
record_owed(setup, settings, engine, current_status(setup, engine, now), now)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_run_killed_between_recording_and_sending_sends_that_message_once(
        setup: Setup, dovecot: Dovecot, smtp_server: SmtpServer, passwords: None, tmp_path: Path) -> None:
    settings = mail_settings(dovecot, smtp_server)
    dovecot.append(report_message(SCHOOL_1, folder=tmp_path), received=RECEIVED)
    engine = ledger.open_ledger(setup.ledger_url)
    poll_mailbox(setup, settings, engine, now=NOW)
    engine.dispose()
    collected = collect(setup, now=NOW)
    arguments = tmp_path / "child.pickle"
    arguments.write_bytes(pickle.dumps((setup, settings, collected.status.generated_at)))

    child = subprocess.run([sys.executable, "-c", KILLED_CHILD, str(arguments)], cwd=PROJECT, timeout=120,
                           capture_output=True)

    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        assert [row.recipient for row in unsent_letters(connection, 2025)] == [SCHOOL_1]
    engine.dispose()
    assert smtp_server.messages == []
    first = send_mail(setup, settings, collected.status, now=NOW + dt.timedelta(minutes=10))
    second = send_mail(setup, settings, collected.status, now=NOW + dt.timedelta(minutes=20))
    assert (first.sent, second.sent) == (1, 0)
    assert [message.rcpt_tos for message in smtp_server.messages] == [(SCHOOL_1,)]


def reminders_sent(smtp: SmtpServer) -> list[tuple[str, ...]]:
    return sorted(message.rcpt_tos for message in smtp.messages
                  if message.message["Auto-Submitted"] == "auto-generated")


def test_reminders_go_on_their_days_once_and_only_to_schools_without_an_accepted_report(
        setup: Setup, dovecot: Dovecot, smtp_server: SmtpServer, passwords: None) -> None:
    district = load_district(setup.inputs)
    accepted, rejected = good_report(district), good_report(district)
    set_cell(rejected, "Титул", "B3", "70-002")
    set_cell(rejected, "Дорожная карта", "E3", "")
    write_xlsx(accepted, setup.drop_folder / "70-001.xlsx")
    write_xlsx(rejected, setup.drop_folder / "70-002.xlsx")
    settings = mail_settings(dovecot, smtp_server)
    week_before = dt.datetime(2025, 9, 24, 9, 0)  # the deadline is 01.10.2025; reminders 7 and 1 days before

    run_loop(setup, settings, dt.datetime(2025, 9, 23, 9, 0))  # the replies; no reminder day yet
    assert reminders_sent(smtp_server) == []
    run_loop(setup, settings, week_before)
    assert reminders_sent(smtp_server) == [(SCHOOL_2,), (SCHOOL_3,)]
    run_loop(setup, settings, week_before + dt.timedelta(hours=6))
    run_loop(setup, settings, week_before + dt.timedelta(days=1))
    assert len(reminders_sent(smtp_server)) == 2  # not twice a day, and not on a day that is not chosen
    run_loop(setup, settings, dt.datetime(2025, 9, 30, 9, 0))
    assert len(reminders_sent(smtp_server)) == 4

    reminder = next(message.message for message in smtp_server.messages if message.rcpt_tos == (SCHOOL_3,))
    assert reminder["Subject"] == "Отчёт ИБЦ 2025: напоминание, срок сдачи 01.10.2025"
    [(name, template)] = attachments(reminder).items()
    assert name == "Шаблон_ИБЦ_2025_70-003.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(template))
    assert "70-003" in [cell.value for row in workbook["Титул"].iter_rows() for cell in row]
    instruction = " ".join(str(cell.value) for row in workbook["Инструкция"].iter_rows() for cell in row if cell.value)
    assert DISTRICT in instruction  # the template says where to send it


def test_message_without_a_report_is_answered_only_at_a_register_address(
        setup: Setup, dovecot: Dovecot, smtp_server: SmtpServer, passwords: None) -> None:
    for number, sender in enumerate((SCHOOL_2, "stranger@elsewhere.example.test")):
        message = EmailMessage()
        message["From"] = sender.upper() if number == 0 else sender
        message["To"] = DISTRICT
        message["Subject"] = "Вопрос"
        message["Message-ID"] = f"<question-{number}@example.test>"
        message.set_content("Куда присылать отчёт?")
        dovecot.append(message.as_bytes(policy=email.policy.SMTP), received=RECEIVED)

    status, mail = run_loop(setup, mail_settings(dovecot, smtp_server))

    assert [message.rcpt_tos for message in smtp_server.messages] == [(SCHOOL_2,)]
    assert smtp_server.messages[0].message["Subject"] == "Отчёт ИБЦ 2025: в письме нет файла отчёта"
    assert mail.unanswerable == 1
    assert [item.sender for item in status.unanswered_mail] == ["stranger@elsewhere.example.test"]


def test_refused_attachment_gets_a_refusal_at_the_register_address_and_the_run_goes_on(
        setup: Setup, dovecot: Dovecot, smtp_server: SmtpServer, passwords: None) -> None:
    big = EmailMessage()
    big["From"], big["To"], big["Subject"] = SCHOOL_2, DISTRICT, "Отчёт"
    big["Message-ID"] = "<big@school-2.example.test>"
    big.set_content("Отчёт во вложении.")
    big.add_attachment(os.urandom(300_000), maintype=XLSX[0], subtype=XLSX[1], filename="Отчёт.xlsx")
    dovecot.append(big.as_bytes(policy=email.policy.SMTP), received=RECEIVED)
    dovecot.append(report_message(SCHOOL_1, folder=setup.outputs.parent), received=RECEIVED)

    _, mail = run_loop(setup, mail_settings(dovecot, smtp_server, max_attachment_bytes=100_000))

    subjects = {message.rcpt_tos: message.message["Subject"] for message in smtp_server.messages}
    assert subjects == {(SCHOOL_1,): "Отчёт ИБЦ 2025: отклонён, ошибок: 1",
                        (SCHOOL_2,): "Отчёт ИБЦ 2025: файл не принят"}
    refusal = next(message.message for message in smtp_server.messages if message.rcpt_tos == (SCHOOL_2,))
    assert refusal["In-Reply-To"] == "<big@school-2.example.test>"
    assert "Причина:" in refusal.get_body(("plain",)).get_content()
    assert mail.sent == 2


def test_starttls_server_is_used_when_the_settings_say_so(
        setup: Setup, dovecot: Dovecot, starttls_smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IMAP_PASSWORD, dovecot.password)
    monkeypatch.setenv(SMTP_PASSWORD, starttls_smtp_server.password)
    dovecot.append(report_message(SCHOOL_1, folder=setup.outputs.parent), received=RECEIVED)

    _, mail = run_loop(setup, mail_settings(dovecot, starttls_smtp_server, smtp_security="starttls"))

    assert mail.sent == 1 and [message.rcpt_tos for message in starttls_smtp_server.messages] == [(SCHOOL_1,)]
