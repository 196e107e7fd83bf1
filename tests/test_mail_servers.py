"""The test mail servers are real: dovecot over verified TLS, aiosmtpd with AUTH, refusals and downtime."""

from __future__ import annotations

import datetime as dt
import email.policy
import imaplib
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from mail_servers import Dovecot, SmtpServer

PROJECT = Path(__file__).resolve().parents[1]
SCHOOL_ADDRESS = "lib@school-1.example.test"


def school_message(subject: str = "Отчёт ИБЦ 2025") -> EmailMessage:
    """A school's message with a Cyrillic-named xlsx attachment, as a mail client would write it."""
    message = EmailMessage()
    message["From"] = SCHOOL_ADDRESS
    message["To"] = "district@example.test"
    message["Subject"] = subject
    message["Message-ID"] = "<report-1@school-1.example.test>"
    message.set_content("Добрый день! Отчёт во вложении.")
    workbook = next((PROJECT / "inputs" / "2025").glob("*.xlsx")).read_bytes()
    message.add_attachment(workbook, maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           filename="Отчёт школы № 1.xlsx")
    return message


def test_dovecot_gives_back_an_appended_message_over_verified_tls(dovecot: Dovecot) -> None:
    raw = school_message().as_bytes(policy=email.policy.SMTP)
    dovecot.append(raw)
    context = ssl.create_default_context(cafile=str(dovecot.cafile))
    with imaplib.IMAP4_SSL(dovecot.host, dovecot.port, ssl_context=context) as client:
        client.login(dovecot.user, dovecot.password)
        client.select("INBOX", readonly=True)
        _, numbers = client.uid("SEARCH", None, "ALL")
        _, data = client.uid("FETCH", numbers[0].decode(), "(BODY.PEEK[])")
    assert numbers == [b"1"]
    assert data[0][1] == raw
    [stored] = dovecot.list_messages()
    attachment = next(stored.message.iter_attachments())
    assert (stored.uid, attachment.get_filename(), stored.message["Subject"]) == (1, "Отчёт школы № 1.xlsx",
                                                                                  "Отчёт ИБЦ 2025")


def test_dovecot_keeps_the_receipt_time_given(dovecot: Dovecot) -> None:
    received = dt.datetime(2025, 5, 20, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    dovecot.append(school_message().as_bytes(), received=received)
    with dovecot.connect() as client:
        client.select("INBOX", readonly=True)
        _, data = client.uid("FETCH", "1", "(INTERNALDATE)")
    # imaplib turns INTERNALDATE into local time; compare instants.
    assert time.mktime(imaplib.Internaldate2tuple(data[0])) == received.timestamp()


def test_dovecot_append_all_keeps_the_order_of_many_messages(dovecot: Dovecot) -> None:
    subjects = [f"Отчёт {number}" for number in range(1, 4)]
    assert dovecot.append_all(school_message(subject).as_bytes() for subject in subjects) == 3
    assert [(stored.uid, stored.message["Subject"]) for stored in dovecot.list_messages()] == [
        (1, "Отчёт 1"), (2, "Отчёт 2"), (3, "Отчёт 3")]


def test_dovecot_is_not_trusted_without_its_certificate(dovecot: Dovecot) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(dovecot.host, dovecot.port, ssl_context=ssl.create_default_context(), timeout=5)


def test_dovecot_refuses_a_wrong_password(dovecot: Dovecot) -> None:
    context = ssl.create_default_context(cafile=str(dovecot.cafile))
    with imaplib.IMAP4_SSL(dovecot.host, dovecot.port, ssl_context=context) as client:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.login(dovecot.user, "not-the-password")


def test_dovecot_stop_closes_the_port_and_removes_its_folder(dovecot: Dovecot) -> None:
    dovecot.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((dovecot.host, dovecot.port), timeout=2)
    assert not dovecot.root.exists()


def send(server: SmtpServer, message: EmailMessage, recipients: list[str], password: str | None = None) -> None:
    context = ssl.create_default_context(cafile=str(server.cafile))
    with smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=10) as client:
        client.login(server.user, password or server.password)
        client.send_message(message, to_addrs=recipients)


def test_smtp_server_keeps_a_message_sent_over_tls_with_login(smtp_server: SmtpServer) -> None:
    send(smtp_server, school_message("Отчёт ИБЦ 2025: принят"), [SCHOOL_ADDRESS])
    [received] = smtp_server.messages
    assert (received.mail_from, received.rcpt_tos, received.login) == (SCHOOL_ADDRESS, (SCHOOL_ADDRESS,),
                                                                       smtp_server.user)
    assert received.message["Subject"] == "Отчёт ИБЦ 2025: принят"
    assert next(received.message.iter_attachments()).get_filename() == "Отчёт школы № 1.xlsx"


def test_smtp_server_answers_550_for_a_refused_recipient(smtp_server: SmtpServer) -> None:
    smtp_server.refuse("gone@school-2.example.test")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_server, school_message(), ["gone@school-2.example.test"])
    assert refused.value.recipients == {"gone@school-2.example.test": (550, b"5.1.1 Mailbox unavailable")}
    send(smtp_server, school_message(), ["Gone@school-2.example.test", SCHOOL_ADDRESS])
    assert [received.rcpt_tos for received in smtp_server.messages] == [(SCHOOL_ADDRESS,)]


def test_smtp_server_refuses_a_wrong_password(smtp_server: SmtpServer) -> None:
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        send(smtp_server, school_message(), [SCHOOL_ADDRESS], password="not-the-password")
    assert refused.value.smtp_code == 535
    assert smtp_server.messages == []


def test_smtp_server_refuses_mail_without_login(smtp_server: SmtpServer) -> None:
    context = ssl.create_default_context(cafile=str(smtp_server.cafile))
    with smtplib.SMTP_SSL(smtp_server.host, smtp_server.port, context=context, timeout=10) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.send_message(school_message(), to_addrs=[SCHOOL_ADDRESS])
    assert refused.value.smtp_code == 530


def test_smtp_server_is_not_trusted_without_its_certificate(smtp_server: SmtpServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(smtp_server.host, smtp_server.port, context=ssl.create_default_context(), timeout=5)


def test_smtp_server_down_refuses_connections_and_comes_back_on_the_same_port(smtp_server: SmtpServer) -> None:
    smtp_server.stop()
    with pytest.raises(ConnectionRefusedError):
        send(smtp_server, school_message(), [SCHOOL_ADDRESS])
    smtp_server.start()
    send(smtp_server, school_message(), [SCHOOL_ADDRESS])
    assert len(smtp_server.messages) == 1


def test_starttls_smtp_server_takes_a_login_only_after_starttls(starttls_smtp_server: SmtpServer) -> None:
    server = starttls_smtp_server
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPException):
            client.login(server.user, server.password)
        client.starttls(context=ssl.create_default_context(cafile=str(server.cafile)))
        client.login(server.user, server.password)
        client.send_message(school_message(), to_addrs=[SCHOOL_ADDRESS])
    assert [received.rcpt_tos for received in server.messages] == [(SCHOOL_ADDRESS,)]
