"""What a school reads: subjects, the dry run's .eml files, and headers no outside text can reach."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import tomllib
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
from conftest import campaign_setup, good_report, set_cell, write_xlsx
from mail_servers import SmtpServer
from test_mail_loop import DISTRICT, NOW, SCHOOL_1, XLSX

from pipeline import ledger
from pipeline.collect.run import collect
from pipeline.district.roadmap import load_district
from pipeline.district.setup import Setup
from pipeline.mail.compose import Attachment, build_message, safe_attachment_name, usable_address, usable_message_id
from pipeline.mail.letters import reply_subject
from pipeline.mail.outgoing import send_mail
from pipeline.mail.send import DRAFTS_FOLDER
from pipeline.mail.settings import SMTP_PASSWORD, MailSettings
from pipeline.statuses import SubmissionStatus

REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            f"70-001;МБОУ «Первая СОШ»;Тест;school-1.example.test;{SCHOOL_1};;\n"
            "70-002;МБОУ «Вторая СОШ»;Тест;school-2.example.test;lib@school-2.example.test;;\n")
# A file name a school's computer may really produce: Cyrillic, spaces, a right-to-left override and a line break.
ODD_NAME = "Отчёт\u202e школы №1\nпринят.xlsx"


def settings_for(smtp_host: str = "127.0.0.1", smtp_port: int = 9, cafile: Path | None = None,
                 dry_run: bool = False) -> MailSettings:
    # Port 9 (discard) is closed here: a dry run that connected anywhere would fail.
    return MailSettings(imap_host="127.0.0.1", imap_port=9, smtp_host=smtp_host, smtp_port=smtp_port,
                        smtp_security="ssl", user="district@example.test", from_address=DISTRICT, reply_to=DISTRICT,
                        poll_minutes=10, poll_hours=(8, 18), max_attachment_bytes=10 * 1024 * 1024,
                        max_messages_per_poll=500, reminder_days_before=(7, 1), reminder_days_after=(1, 7),
                        dry_run=dry_run, cafile=cafile)


@pytest.mark.parametrize(("status", "errors", "warnings", "subject"), [
    pytest.param(SubmissionStatus.ACCEPTED, 0, 0, "Отчёт ИБЦ 2026: принят", id="accepted without remarks"),
    pytest.param(SubmissionStatus.ACCEPTED, 0, 2, "Отчёт ИБЦ 2026: принят с замечаниями (предупреждений: 2)",
                 id="accepted with two warnings"),
    pytest.param(SubmissionStatus.REJECTED, 3, 1, "Отчёт ИБЦ 2026: отклонён, ошибок: 3",
                 id="rejected with three errors"),
])
def test_reply_subject_says_the_status_in_our_words(status: SubmissionStatus, errors: int, warnings: int,
                                                    subject: str) -> None:
    assert reply_subject(2026, status, errors, warnings) == subject


def faulty_campaign(root: Path) -> Setup:
    setup = campaign_setup(root, REGISTER)
    report = good_report(load_district(setup.inputs))
    set_cell(report, "Дорожная карта", "E3", "")
    set_cell(report, "Показатели", "D4", 999)  # P03 above P02: L01, a second error
    write_xlsx(report, setup.drop_folder / ODD_NAME)
    return setup


def test_dry_run_writes_eml_files_a_librarian_can_read_and_a_real_run_later_sends_them(
        tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = faulty_campaign(tmp_path)
    status = collect(setup, now=NOW).status

    dry = send_mail(setup, settings_for(dry_run=True), status, now=NOW, dry_run=True)

    assert [path.name for path in dry.drafts] == ["70-001_reply_1.eml"]
    assert dry.drafts[0].parent == setup.outputs / "2025" / DRAFTS_FOLDER
    letter = email.message_from_bytes(dry.drafts[0].read_bytes(), policy=email.policy.default)
    assert (letter["From"].addresses[0].addr_spec, letter["To"], letter["Reply-To"]) == (DISTRICT, SCHOOL_1, DISTRICT)
    assert letter["Subject"] == "Отчёт ИБЦ 2025: отклонён, ошибок: 2"
    body = letter.get_body(("plain",)).get_content()
    lines = body.splitlines()
    assert lines[:6] == ["Здравствуйте!", "", "Школа: МБОУ «Первая СОШ» (код ОО 70-001)",
                         "Файл: Отчёт⟨U+202E⟩ школы №1⟨U+000A⟩принят.xlsx", "Получен: 02.06.2025 09:00",
                         "Результат проверки: отклонён (2\u00a0ошибки, 1\u00a0предупреждение)"]
    errors_at = body.index("Ошибки (из-за них отчёт отклонён")
    assert errors_at < body.index("1. Лист «Дорожная карта», ячейка E3") < body.index("2. Лист «Показатели», ячейка D4")
    assert "Как исправить: " in body and "Срок сдачи отчёта: 01.10.2025." in body
    office = tomllib.loads((setup.inputs / "district.toml").read_text(encoding="utf-8"))["district"]
    assert f"{office['executor_name']}, тел. {office['executor_phone']}" in " ".join(body.split())
    names = [part.get_filename() for part in letter.iter_attachments()]
    assert len(names) == 2 and all("\n" not in name and "\u202e" not in name for name in names)
    workbook = next(part for part in letter.iter_attachments() if part.get_content_type() == "/".join(XLSX))
    assert "Дорожная карта" in openpyxl.load_workbook(io.BytesIO(workbook.get_payload(decode=True))).sheetnames
    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:
        assert connection.execute(ledger.outbox.select()).all() == []
    engine.dispose()

    monkeypatch.setenv(SMTP_PASSWORD, smtp_server.password)
    real = send_mail(setup, settings_for(smtp_server.host, smtp_server.port, smtp_server.cafile), status,
                     now=NOW + dt.timedelta(hours=1))

    assert real.sent == 1
    assert smtp_server.messages[0].message["Subject"] == "Отчёт ИБЦ 2025: отклонён, ошибок: 2"


def test_a_dry_run_writes_each_letter_once_as_a_real_run_sends_it_once(tmp_path: Path) -> None:
    setup = faulty_campaign(tmp_path)
    status = collect(setup, now=NOW).status
    week_before = dt.datetime(2025, 9, 24, 9, 0)  # the deadline is 01.10.2025: reminders go out today
    settings = settings_for(dry_run=True)

    first = send_mail(setup, settings, status, now=week_before, dry_run=True)
    again = send_mail(setup, settings, status, now=week_before + dt.timedelta(hours=1), dry_run=True)

    written = sorted(path.name for path in first.drafts)
    assert written == ["70-001_reminder_2025-09-24.eml", "70-001_reply_1.eml", "70-002_reminder_2025-09-24.eml"]
    assert again.drafts == [] and again.line().startswith("Пробный запуск: писем не отправлено, новых нет")
    folder = setup.outputs / "2025" / DRAFTS_FOLDER
    (folder / "70-002_reminder_2025-09-24.eml").unlink()
    (folder / "70-001_reply_1.eml").unlink()
    rewritten = send_mail(setup, settings, status, now=week_before + dt.timedelta(hours=2), dry_run=True)
    assert sorted(path.name for path in rewritten.drafts) == ["70-001_reply_1.eml", "70-002_reminder_2025-09-24.eml"]
    assert sorted(path.name for path in folder.iterdir()) == written


def test_no_outside_text_reaches_a_header() -> None:
    settings = settings_for()
    assert usable_address("lib@school.ru\r\nBcc: all@example.test") is None
    assert usable_address("Библиотека <lib@school.ru>") is None
    assert usable_address(" LIB@School.RU ") == "lib@school.ru"
    assert usable_message_id("<a@b>\r\nBcc: all@example.test") is None
    assert usable_message_id("<report-1@school.example.test>") == "<report-1@school.example.test>"
    long_name = "Отчёт\r\nBcc: x@example.test " + "я" * 240 + ".xlsx"
    assert safe_attachment_name(long_name).endswith(".xlsx") and len(safe_attachment_name(long_name)) <= 80
    with pytest.raises(ValueError, match="not one bare address"):
        build_message(settings, "ИБЦ", "a@school.ru\nBcc: x@example.test", "Тема", "Текст", [], NOW)

    raw = build_message(settings, "ИБЦ\r\nBcc: x@example.test", "a@school.ru", "Тема\nBcc: y@example.test", "Текст",
                        [Attachment(long_name, b"PK", *XLSX)], NOW, in_reply_to="<x@y>\r\nBcc: z@example.test")

    message: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[assignment]
    assert message["Bcc"] is None and message["In-Reply-To"] is None
    assert [line for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n") if line.startswith(b"Bcc")] == []
    assert message["Subject"] == "Тема Bcc: y@example.test"
