"""Mail intake against a real dovecot: reports land in the drop folder at their receipt time, each message once."""

from __future__ import annotations

import datetime as dt
import email.policy
import os
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import PROJECT, campaign_setup
from mail_servers import Dovecot

from pipeline import ledger
from pipeline.collect.run import collect
from pipeline.district.roadmap import DistrictDataError
from pipeline.district.setup import Setup
from pipeline.mail.attachments import MAX_NAME_BYTES, safe_name
from pipeline.mail.intake import MAIL_FOLDER, PollSummary, poll_mailbox
from pipeline.mail.mailbox import MailboxError
from pipeline.mail.settings import IMAP_PASSWORD, MailPasswordError, MailSettings, load_mail_settings

SCHOOL_ADDRESS = "lib@test-school.ru"
REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            f"70-001;МБОУ «Тестовая СОШ»;Тестовый район;test-school.ru;{SCHOOL_ADDRESS};;\n")
WORKBOOK = PROJECT / "inputs" / "2025" / "70-001_ИБЦ_2025.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOMSK = dt.timezone(dt.timedelta(hours=7))
RECEIVED = dt.datetime(2025, 5, 13, 8, 15, tzinfo=TOMSK)
BEFORE_MAIL = dt.datetime(2025, 5, 1, 12, 0)
AFTER_MAIL = dt.datetime(2025, 6, 1, 12, 0)
MB = 1024 * 1024


def local(moment: dt.datetime) -> dt.datetime:
    """*moment* as the ledger keeps times: local, without a zone."""
    return moment.astimezone().replace(tzinfo=None)


def school_mail(attachments: list[tuple[str, bytes, str]], sender: str = SCHOOL_ADDRESS,
                message_id: str = "<report-1@test-school.ru>", headers: dict[str, str] | None = None,
                content_type: str | None = None) -> bytes:
    """A school's message: a line of text and *attachments* as (file name, bytes, content type)."""
    message = EmailMessage()
    message["From"] = f"Иванова Ирина <{sender}>"
    message["To"] = "ibc@example.test"
    message["Subject"] = "Отчёт ИБЦ 2025"
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content("Добрый день! Отчёт во вложении.")
    for name, data, kind in attachments:
        maintype, subtype = kind.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    if content_type:
        message.replace_header("Content-Type", content_type)
    return message.as_bytes(policy=email.policy.SMTP)


@pytest.fixture()
def setup(tmp_path: Path) -> Setup:
    return campaign_setup(tmp_path, REGISTER)


def settings_for(server: Dovecot, **changes: object) -> MailSettings:
    """The demo's [mail], pointed at *server* and not a dry run."""
    settings = load_mail_settings(PROJECT / "inputs")
    assert settings is not None
    return replace(settings, **{"imap_host": server.host, "imap_port": server.port, "user": server.user,
                                "cafile": server.cafile, "dry_run": False, **changes})


def poll(setup: Setup, server: Dovecot, **changes: object) -> PollSummary:
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        return poll_mailbox(setup, settings_for(server, **changes), engine, password=server.password, now=AFTER_MAIL)
    finally:
        engine.dispose()


def mail_rows(setup: Setup) -> list[tuple[int, str, str | None, str | None]]:
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(ledger.mail_messages.select().order_by(ledger.mail_messages.c.uid)).all()
    finally:
        engine.dispose()
    return [(row.uid, row.outcome, row.sender, row.detail) for row in rows]


def saved_files(setup: Setup) -> list[str]:
    folder = setup.drop_folder
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_poll_mailbox_takes_a_cyrillic_named_workbook_that_arrives_at_its_receipt_time(
        setup: Setup, dovecot: Dovecot) -> None:
    collect(setup, now=BEFORE_MAIL)  # the campaign's first run: later files arrive when a run sees them
    dovecot.append(school_mail([("Отчёт ИБЦ 2025 — школа № 1.xlsx", WORKBOOK.read_bytes(), XLSX)]),
                   received=RECEIVED)

    summary = poll(setup, dovecot)

    relative = f"{MAIL_FOLDER}/2025-05-13_1/Отчёт ИБЦ 2025 — школа № 1.xlsx"
    assert (summary.taken, summary.messages, summary.files) == (1, 1, (relative,))
    saved = setup.drop_folder / relative
    assert saved.read_bytes() == WORKBOOK.read_bytes()
    assert dt.datetime.fromtimestamp(saved.stat().st_mtime) == local(RECEIVED)
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        with engine.connect() as connection:
            assert ledger.mail_facts(connection, relative) == (SCHOOL_ADDRESS, local(RECEIVED),
                                                               "<report-1@test-school.ru>")
    finally:
        engine.dispose()

    collect(setup, now=AFTER_MAIL)

    engine = ledger.open_ledger(setup.ledger_url)
    try:
        with engine.connect() as connection:
            [submission] = ledger.campaign_submissions(connection, setup.year)
    finally:
        engine.dispose()
    assert (submission.paths, submission.school, submission.arrived_at) == ((relative,), "70-001", local(RECEIVED))


def test_poll_mailbox_again_takes_nothing(setup: Setup, dovecot: Dovecot) -> None:
    dovecot.append(school_mail([("отчёт.xlsx", WORKBOOK.read_bytes(), XLSX)]))
    dovecot.append(school_mail([("отчёт.xlsx", WORKBOOK.read_bytes(), XLSX)], message_id="<report-2@test-school.ru>"))
    first = poll(setup, dovecot)
    files = saved_files(setup)

    second = poll(setup, dovecot)

    assert (first.taken, second.messages, second.files) == (2, 0, ())
    assert saved_files(setup) == files
    assert [outcome for _, outcome, _, _ in mail_rows(setup)] == ["taken", "taken"]


def test_poll_mailbox_takes_a_message_id_once_across_uidvalidity_and_redelivery(
        setup: Setup, dovecot: Dovecot) -> None:
    engine = ledger.open_ledger(setup.ledger_url)
    with ledger.transaction(engine) as connection:  # taken from the mailbox before it was rebuilt
        ledger.record_mail(connection, ledger.MailMessage(1, 7, "<old@test-school.ru>", SCHOOL_ADDRESS,
                                                          local(RECEIVED), ledger.MailOutcome.TAKEN))
    engine.dispose()
    dovecot.append(school_mail([("отчёт.xlsx", WORKBOOK.read_bytes(), XLSX)], message_id="<old@test-school.ru>"))
    dovecot.append(school_mail([("отчёт.xlsx", WORKBOOK.read_bytes(), XLSX)], message_id="<new@test-school.ru>"))
    dovecot.append(school_mail([("отчёт.xlsx", WORKBOOK.read_bytes(), XLSX)], message_id="<new@test-school.ru>"))

    summary = poll(setup, dovecot)

    assert (summary.taken, summary.duplicates) == (1, 2)
    assert saved_files(setup) == [f"{MAIL_FOLDER}/{dt.date.today():%Y-%m-%d}_2/отчёт.xlsx"]


def test_poll_mailbox_makes_hostile_attachment_names_safe(setup: Setup, dovecot: Dovecot) -> None:
    long_name = "Отчёт библиотеки " * 20 + ".csv"  # 340 bytes of UTF-8
    hostile = "../../etc/\r\nX-Injected: yes\u202e\0 отчёт.xlsx"
    dovecot.append(school_mail([(long_name, "Поле;Значение\n".encode(), "text/csv"),
                                (hostile, WORKBOOK.read_bytes(), XLSX)]))

    summary = poll(setup, dovecot)

    names = [Path(relative).name for relative in summary.files]
    assert summary.taken == 1
    assert all(len(name.encode()) <= MAX_NAME_BYTES for name in names)
    assert names[0].startswith("Отчёт библиотеки Отчёт") and names[0].endswith(".csv")
    assert names[1] == "_.._etc_ X-Injected_ yes отчёт.xlsx"
    assert all((setup.drop_folder / relative).is_file() for relative in summary.files)
    assert [Path(relative).parent.name for relative in summary.files] == [f"{dt.date.today():%Y-%m-%d}_1"] * 2


@pytest.mark.parametrize(("given", "suffix", "expected"), [
    pytest.param("отчёт.xlsx", ".xlsx", "отчёт.xlsx", id="a plain Cyrillic name is kept"),
    pytest.param("C:\\Users\\lib\\отчёт.xlsx", ".xlsx", "C__Users_lib_отчёт.xlsx", id="separators are no folders"),
    pytest.param("..", ".csv", "вложение.csv", id="dots alone become the fallback"),
    pytest.param("", ".ods", "вложение.ods", id="no name becomes the fallback"),
    pytest.param(".hidden.xlsx", ".xlsx", "hidden.xlsx", id="a leading dot goes"),
    pytest.param("отчёт", ".xlsx", "отчёт.xlsx", id="the suffix of the content type is added"),
    pytest.param("a\r\nb\tc\0.csv", ".csv", "a b c.csv", id="line breaks and tabs are spaces, NUL goes"),
    pytest.param("я" * 200 + ".xlsx", ".xlsx", "я" * 118 + ".xlsx",
                 id="241 bytes at most (the atomic write's temporary name is 14 more), the suffix kept"),
])
def test_safe_name(given: str, suffix: str, expected: str) -> None:
    assert safe_name(given, suffix) == expected


def zip_bomb() -> bytes:
    return (PROJECT / "tests" / "data" / "hostile" / "zip_заявлено_200_МБ.xlsx").read_bytes()


def test_poll_mailbox_refuses_a_30_mb_attachment_and_a_zip_bomb_and_goes_on(setup: Setup, dovecot: Dovecot) -> None:
    dovecot.append(school_mail([("большой.xlsx", os.urandom(30 * MB), XLSX)], message_id="<big@test-school.ru>"))
    dovecot.append(school_mail([("бомба.xlsx", zip_bomb(), XLSX)], message_id="<bomb@test-school.ru>"))
    dovecot.append(school_mail([("отчёт.xlsx", WORKBOOK.read_bytes(), XLSX)]))

    summary = poll(setup, dovecot)

    assert (summary.refused, summary.taken) == (2, 1)
    assert saved_files(setup) == [f"{MAIL_FOLDER}/{dt.date.today():%Y-%m-%d}_3/отчёт.xlsx"]
    rows = mail_rows(setup)
    assert [(uid, outcome) for uid, outcome, _, _ in rows] == [(1, "refused"), (2, "refused"), (3, "taken")]
    assert "больше допустимых 30,0 МБ" in rows[0][3]
    assert rows[1][3] == "вложение «бомба.xlsx» не принято: после распаковки книга заняла бы 200 МБ"


def nested_mail(depth: int) -> bytes:
    """A message of *depth* multiparts one inside the other: Python's parser recurses once a level."""
    opening = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (level, level)
                       for level in range(depth))
    closing = b"".join(b"--b%d--\r\n" % level for level in reversed(range(depth)))
    return (b"From: lib@test-school.ru\r\nMessage-ID: <nested@test-school.ru>\r\nMIME-Version: 1.0\r\n"
            + opening + b"Content-Type: text/plain\r\n\r\nx\r\n" + closing)


def test_poll_mailbox_refuses_a_message_it_cannot_parse_and_goes_on(setup: Setup, dovecot: Dovecot) -> None:
    dovecot.append(nested_mail(5000))
    dovecot.append(school_mail([("отчёт.xlsx", WORKBOOK.read_bytes(), XLSX)]))

    summary = poll(setup, dovecot)

    assert (summary.refused, summary.taken) == (1, 1)
    assert mail_rows(setup)[0][1:] == ("refused", SCHOOL_ADDRESS, "письмо не удалось разобрать: его структура (MIME) "
                                                                   "нарушена")


def test_poll_mailbox_refuses_an_attachment_over_the_limit_in_a_message_within_it(
        setup: Setup, dovecot: Dovecot) -> None:
    dovecot.append(school_mail([("отчёт.xlsx", os.urandom(MB + MB // 2), XLSX)]))

    summary = poll(setup, dovecot, max_attachment_bytes=MB)

    assert (summary.refused, saved_files(setup)) == (1, [])
    assert mail_rows(setup)[0][3] == "вложение «отчёт.xlsx» — 1,5 МБ, больше допустимых 1,0 МБ"


@pytest.mark.parametrize(("sender", "headers", "content_type"), [
    pytest.param(SCHOOL_ADDRESS, {"Auto-Submitted": "auto-replied"}, None, id="an out-of-office reply"),
    pytest.param(SCHOOL_ADDRESS, {"Precedence": "bulk"}, None, id="bulk mail"),
    pytest.param(SCHOOL_ADDRESS, {"X-Autoreply": "yes"}, None, id="an X-Autoreply"),
    pytest.param(SCHOOL_ADDRESS, {"Return-Path": "<>"}, None, id="an empty return path"),
    pytest.param("MAILER-DAEMON@mx.example.test", {}, None, id="a bounce from the mailer daemon"),
    pytest.param("postmaster@mx.example.test", {},
                 'multipart/report; report-type=delivery-status; boundary="==b=="', id="a delivery report"),
])
def test_poll_mailbox_never_takes_an_auto_reply_or_a_bounce(
        setup: Setup, dovecot: Dovecot, sender: str, headers: dict[str, str], content_type: str | None) -> None:
    dovecot.append(school_mail([("отчёт.xlsx", WORKBOOK.read_bytes(), XLSX)], sender=sender, headers=headers,
                               content_type=content_type))

    summary = poll(setup, dovecot)

    assert (summary.auto_replies, summary.taken, saved_files(setup)) == (1, 0, [])


def test_poll_mailbox_records_a_message_without_a_spreadsheet_and_what_it_had(setup: Setup, dovecot: Dovecot) -> None:
    dovecot.append(school_mail([("отчёт.pdf", b"%PDF-1.4", "application/pdf")]))
    dovecot.append(school_mail([], message_id="<empty@test-school.ru>"))

    summary = poll(setup, dovecot)

    assert (summary.no_attachment, saved_files(setup)) == (2, [])
    assert [detail for *_, detail in mail_rows(setup)] == ["во вложениях нет таблицы: «отчёт.pdf»",
                                                            "в письме нет вложений"]


def test_poll_mailbox_takes_at_most_the_limit_and_the_rest_next_time(setup: Setup, dovecot: Dovecot) -> None:
    dovecot.append_all(school_mail([("отчёт.xlsx", WORKBOOK.read_bytes(), XLSX)], message_id=f"<{number}@s.ru>")
                       for number in range(3))

    first = poll(setup, dovecot, max_messages_per_poll=2)
    second = poll(setup, dovecot, max_messages_per_poll=2)

    assert [(first.taken, first.left), (second.taken, second.left)] == [(2, 1), (1, 0)]


def test_poll_mailbox_with_the_server_down_is_a_russian_error(setup: Setup, dovecot: Dovecot) -> None:
    cafile = setup.inputs / "mail-ca.pem"
    cafile.write_bytes(dovecot.cafile.read_bytes())  # the server's folder goes with it
    settings = settings_for(dovecot, cafile=cafile)
    dovecot.stop()
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        with pytest.raises(MailboxError, match=rf"^почтовый сервер недоступен: 127\.0\.0\.1:{settings.imap_port}: "
                                               r"соединение отклонено"):
            poll_mailbox(setup, settings, engine, password="any", now=AFTER_MAIL)
    finally:
        engine.dispose()


def test_poll_mailbox_does_not_trust_a_server_whose_certificate_it_cannot_check(
        setup: Setup, dovecot: Dovecot) -> None:
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        with pytest.raises(MailboxError, match="сертификат сервера не прошёл проверку"):
            poll_mailbox(setup, replace(settings_for(dovecot), cafile=None), engine, password=dovecot.password,
                         now=AFTER_MAIL)
    finally:
        engine.dispose()


def test_poll_mailbox_takes_the_password_from_the_environment_only(
        setup: Setup, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        monkeypatch.delenv(IMAP_PASSWORD, raising=False)
        with pytest.raises(MailPasswordError, match=IMAP_PASSWORD):
            poll_mailbox(setup, settings_for(dovecot), engine, now=AFTER_MAIL)
        monkeypatch.setenv(IMAP_PASSWORD, "wrong")
        with pytest.raises(MailboxError, match="не принял вход"):
            poll_mailbox(setup, settings_for(dovecot), engine, now=AFTER_MAIL)
        monkeypatch.setenv(IMAP_PASSWORD, dovecot.password)
        assert poll_mailbox(setup, settings_for(dovecot), engine, now=AFTER_MAIL) == PollSummary()
    finally:
        engine.dispose()


def test_poll_mailbox_in_a_dry_run_connects_to_nothing(setup: Setup) -> None:
    settings = load_mail_settings(PROJECT / "inputs")
    assert settings is not None and settings.dry_run and settings.imap_host.endswith(".example.test")
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        assert poll_mailbox(setup, settings, engine, password="any") == PollSummary()
    finally:
        engine.dispose()


def district_with_mail(tmp_path: Path, mail: str) -> Path:
    """A copy of the demo's district.toml whose [mail] section is *mail* (none if empty)."""
    text = (PROJECT / "inputs" / "district.toml").read_text(encoding="utf-8")
    (tmp_path / "district.toml").write_text(text[:text.index("\n[mail]\n")] + "\n" + mail, encoding="utf-8")
    return tmp_path


def test_load_mail_settings_without_a_mail_section_is_none(tmp_path: Path) -> None:
    assert load_mail_settings(district_with_mail(tmp_path, "")) is None


def test_load_mail_settings_defaults(tmp_path: Path) -> None:
    inputs = district_with_mail(tmp_path, '[mail]\nimap_host = "imap.yandex.ru"\nsmtp_host = "smtp.yandex.ru"\n'
                                          'user = "ibc@rayon.ru"\nfrom_address = "ibc@rayon.ru"\n')
    settings = load_mail_settings(inputs)
    assert settings is not None
    assert (settings.imap_port, settings.smtp_port, settings.smtp_security, settings.reply_to, settings.dry_run,
            settings.max_attachment_bytes, settings.poll_cron) == (
        993, 465, "ssl", "ibc@rayon.ru", False, 10 * MB, "*/10 8-17 * * *")


@pytest.mark.parametrize(("mail", "key", "problem"), [
    pytest.param('[mail]\nimap_host = "imap.yandex.ru"\n', "mail.smtp_host", "отсутствует", id="a missing host"),
    pytest.param('[mail]\nimap_host = "imap.yandex.ru"\nsmtp_host = "s.ru"\nuser = "u"\n'
                 'from_address = "ibc@rayon.ru\\r\\nBcc: all@rayon.ru"\n', "mail.from_address",
                 "не адрес электронной почты", id="a line break in an address"),
    pytest.param('[mail]\nimap_host = "imap.yandex.ru"\nsmtp_host = "s.ru"\nuser = "u"\nfrom_address = "a@b.ru"\n'
                 'smtp_security = "tls"\n', "mail.smtp_security", "ожидается ssl", id="an unknown security"),
    pytest.param('[mail]\nimap_host = "imap.yandex.ru"\nsmtp_host = "s.ru"\nuser = "u"\nfrom_address = "a@b.ru"\n'
                 'poll_hours = "18-08"\n', "mail.poll_hours", "ожидаются часы", id="hours backwards"),
])
def test_load_mail_settings_names_the_file_and_key_of_a_problem(
        tmp_path: Path, mail: str, key: str, problem: str) -> None:
    with pytest.raises(DistrictDataError, match=rf"district\.toml: ключ «{key}»: .*{problem}"):
        load_mail_settings(district_with_mail(tmp_path, mail))
