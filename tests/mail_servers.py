"""The real mail servers tests run against: fixtures for a private dovecot (IMAPS) and an aiosmtpd (SMTP)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from dovecot_server import Dovecot, StoredMessage, find_dovecot
from smtp_server import ReceivedMessage, SmtpServer

__all__ = ["Dovecot", "ReceivedMessage", "SmtpServer", "StoredMessage", "dovecot", "smtp_server",
           "starttls_smtp_server"]

MISSING = ("dovecot для тестов почты не найден (нет /usr/sbin/dovecot). Установите пакет: "
           "`apt-get install dovecot-imapd` (или запустите `bash scripts/setup.sh --tests` от root).")


@pytest.fixture()
def dovecot() -> Iterator[Dovecot]:
    """A fresh dovecot for one test (about 0.1 s to start): an empty INBOX, IMAPS on a free port.

    Skipped when dovecot is not installed on a developer's machine; in CI (CI set), where setup.sh --tests
    installs it, a missing dovecot fails the test instead.
    """
    binary = find_dovecot()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)
    with Dovecot(binary) as server:
        yield server


@pytest.fixture()
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server for one test with implicit TLS (as on port 465), AUTH required, every message kept."""
    with SmtpServer(tls="implicit") as server:
        yield server


@pytest.fixture()
def starttls_smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server for one test that greets in plain text and requires STARTTLS before AUTH (port 587 style)."""
    with SmtpServer(tls="starttls") as server:
        yield server
