"""A real SMTP server for tests: aiosmtpd in the test process, TLS with the throwaway certificate, AUTH required."""

from __future__ import annotations

import email
import email.message
import email.policy
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from mail_tls import HOST, free_port, server_context, write_certificate

REFUSAL = "550 5.1.1 Mailbox unavailable"
# What the server calls itself in its greeting; a fixed name spares the reverse DNS lookup aiosmtpd would make.
SERVER_NAME = "smtp.example.test"
AUTH_REQUIRED = "530 5.7.0 Authentication required"
# aiosmtpd 1.4.6 logs a warning on every successful login (it sets its own deprecated Session.login_data);
# its errors (a session that broke) still show.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the server accepted: the envelope, who logged in to send it, and the bytes of DATA."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    login: str
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


class _Mailroom:
    """The aiosmtpd handler: mail only after AUTH, refuses chosen recipients, keeps every accepted message.

    AUTH is enforced here rather than with aiosmtpd's auth_required: aiosmtpd counts only STARTTLS as TLS,
    and on an implicit-TLS port auth_required would need auth_require_tls off, which it warns about.
    """

    def __init__(self) -> None:
        self.messages: list[ReceivedMessage] = []
        self.refused: dict[str, str] = {}  # address → the answer to its RCPT TO

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        if not session.authenticated:
            return AUTH_REQUIRED
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower() in self.refused:
            return self.refused[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        self.messages.append(ReceivedMessage(envelope.mail_from or "", tuple(envelope.rcpt_tos), login,
                                             bytes(envelope.original_content or b"")))
        return "250 2.0.0 OK: queued"


class SmtpServer:
    """aiosmtpd on a free port of 127.0.0.1 that accepts mail only from its one user, over TLS.

    tls="implicit" is TLS from the first byte, as Yandex 360 and Mail.ru serve port 465; tls="starttls" is
    a plain greeting that must be upgraded with STARTTLS before AUTH. stop() takes the server down (the
    port refuses connections) and start() brings it back on the same port, keeping `messages`.
    """

    def __init__(self, tls: Literal["implicit", "starttls"] = "implicit", user: str = "district@example.test",
                 password: str = "district-smtp-password") -> None:
        self.host = HOST
        self.port = free_port()
        self.tls = tls
        self.user = user
        self.password = password
        self.folder = Path(tempfile.mkdtemp(prefix="eibm-smtp-"))
        self.cafile, self.keyfile = write_certificate(self.folder)
        self.mailroom = _Mailroom()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Every message accepted so far, in arrival order."""
        return self.mailroom.messages

    def refuse(self, address: str, answer: str = REFUSAL) -> None:
        """Answer RCPT TO:<address> with *answer* (550 unless told, e.g. a 450 greylisting) from now on."""
        self.mailroom.refused[address.lower()] = answer

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: object) -> AuthResult:
        accepted = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user.encode()
                    and auth_data.password == self.password.encode())
        # handled=False: aiosmtpd itself answers 235 or 535 (with handled=True a refusal would get no answer).
        return AuthResult(success=accepted, handled=False, auth_data=auth_data if accepted else None)

    def start(self) -> SmtpServer:
        if self.controller is not None:
            return self
        context = server_context(self.cafile, self.keyfile)
        if self.tls == "implicit":
            # The whole connection is TLS; aiosmtpd only knows STARTTLS as "TLS", hence auth_require_tls off.
            settings = {"ssl_context": context, "auth_require_tls": False}
        else:
            settings = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        controller = Controller(self.mailroom, hostname=self.host, port=self.port, server_hostname=SERVER_NAME,
                                authenticator=self._authenticate, **settings)
        controller.start()
        self.controller = controller
        return self

    def stop(self) -> None:
        """Take the server down: the port closes, nothing more is accepted."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def close(self) -> None:
        """Stop and remove the certificate folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> SmtpServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.close()
