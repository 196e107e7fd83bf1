"""A private dovecot for tests: Debian's binary, IMAP over implicit TLS on a free port, one passwd-file user."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.message
import email.policy
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mail_tls import HOST, client_context, free_port, write_certificate

DOVECOT_BINARIES = ("/usr/sbin/dovecot",)
STARTUP_TIMEOUT = 10.0
LOG_LINES_SHOWN = 20
# Debian's dovecot-core creates these: its login processes refuse to run as root, and mail
# processes refuse uid 0, so a root test run hands those jobs to the package's own users.
DEBIAN_LOGIN_USER = "dovenull"
DEBIAN_INTERNAL_USER = "dovecot"

# Only the IMAPS listener exists (the plain one has port 0): like Yandex 360 and Mail.ru on 993.
DOVECOT_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = eibm-test-{port}
protocols = imap
listen = {host}
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
# Debian's dovecot user is a system user (uid ~100), below the default floor of 500 for mail owners.
first_valid_uid = 1
auth_mechanisms = plain login
# A wrong password is answered at once: the tests try one on purpose.
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""


@dataclass(frozen=True)
class StoredMessage:
    """One message in a dovecot folder: its UID, IMAP flags and the bytes as stored."""

    uid: int
    flags: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


def find_dovecot() -> Path | None:
    """Debian's dovecot binary (or the one on PATH); None when it is not installed."""
    for candidate in DOVECOT_BINARIES:
        if Path(candidate).exists():
            return Path(candidate)
    on_path = shutil.which("dovecot")
    return Path(on_path) if on_path else None


class Dovecot:
    """Debian's dovecot with a private config in a temporary folder: one passwd-file user, IMAPS on a free port.

    Nothing outside the folder is touched (base_dir, state_dir and the log live in it). The server runs in
    its own process group, so stop() ends the master and every child it forked.
    """

    def __init__(self, binary: Path, user: str = "district@example.test",
                 password: str = "district-app-password") -> None:
        self.binary = binary
        self.host = HOST
        self.port = 0
        self.user = user
        self.password = password
        # Directly under /tmp: dovecot's unix sockets need short paths, and its own users must enter the folder.
        self.root = Path(tempfile.mkdtemp(prefix="eibm-dovecot-"))
        self.root.chmod(0o755)
        self.cafile, _ = write_certificate(self.root)
        self.log = self.root / "dovecot.log"
        self.stderr = self.root / "stderr.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dovecot:
        """Start dovecot and return once it greets over TLS; on failure leave nothing behind and raise."""
        try:
            self._start()
        except BaseException as error:
            log = self._log_text()
            self.stop()
            if isinstance(error, Exception) and log:
                raise RuntimeError(f"dovecot did not start on {self.host}:{self.port}; the end of its log:\n"
                                   f"{log}") from error
            raise
        return self

    def _start(self) -> None:
        (self.root / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n", encoding="utf-8")
        mail = self.root / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            login_user, internal_user, mail_user = DEBIAN_LOGIN_USER, DEBIAN_INTERNAL_USER, DEBIAN_INTERNAL_USER
            shutil.chown(mail, mail_user, mail_user)
        else:
            login_user = internal_user = mail_user = pwd.getpwuid(os.geteuid()).pw_name
        config = self.root / "dovecot.conf"
        # A port picked free may be taken before dovecot binds it; dovecot then exits, and another port is tried.
        for _attempt in range(3):
            self.port = free_port()
            config.write_text(DOVECOT_CONFIG.format(
                root=self.root, host=self.host, port=self.port, login_user=login_user,
                internal_user=internal_user, internal_group=internal_user, mail_user=mail_user,
                mail_group=mail_user), encoding="utf-8")
            with self.stderr.open("ab") as stderr:
                self.process = subprocess.Popen([str(self.binary), "-F", "-c", str(config)], cwd=self.root,
                                                stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                                                start_new_session=True)
            if self._wait_for_tls():
                return
            if self.process.poll() is None:
                raise TimeoutError(f"dovecot gave no TLS greeting within {STARTUP_TIMEOUT} s")
            self._end_process()
        raise RuntimeError("dovecot exited at start three times")

    def _wait_for_tls(self) -> bool:
        """True once the port completes a TLS handshake and greets; False if dovecot exited or time ran out."""
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(OSError):
                with socket.create_connection((self.host, self.port), timeout=1) as raw, \
                        client_context(self.cafile).wrap_socket(raw, server_hostname=self.host) as tls:
                    if tls.recv(64).startswith(b"* OK"):
                        return True
            time.sleep(0.02)
        return False

    def _log_text(self) -> str:
        """The last lines dovecot wrote (its stderr, then its log file)."""
        lines = []
        for path in (self.stderr, self.log):
            if path.exists():
                lines += path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-LOG_LINES_SHOWN:])

    def _end_process(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Children the master forked share its group; any left behind go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def stop(self) -> None:
        """End the server (port closed) and remove its folder."""
        try:
            self._end_process()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def connect(self) -> Iterator[imaplib.IMAP4_SSL]:
        """A logged-in IMAP client, the server's certificate verified against cafile."""
        client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=client_context(self.cafile), timeout=10)
        try:
            client.login(self.user, self.password)
            yield client
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    def append(self, raw: bytes, folder: str = "INBOX", received: dt.datetime | None = None) -> None:
        """Deliver *raw* into *folder* (created if missing), received at *received* (now by default)."""
        self.append_all([raw], folder, received)

    def append_all(self, raws: Iterable[bytes], folder: str = "INBOX", received: dt.datetime | None = None) -> int:
        """Deliver every message of *raws* into *folder* over one connection; return how many.

        *received* becomes each message's INTERNALDATE; a naive time is taken as local time.
        """
        when = imaplib.Time2Internaldate(received.astimezone() if received else time.time())
        count = 0
        with self.connect() as client:
            if folder != "INBOX":
                client.create(_quoted(folder))
            for raw in raws:
                status, answer = client.append(_quoted(folder), None, when, raw)
                if status != "OK":
                    raise RuntimeError(f"APPEND to {folder} failed: {answer!r}")
                count += 1
        return count

    def list_messages(self, folder: str = "INBOX") -> list[StoredMessage]:
        """Every message in *folder*, in UID order, with its flags and bytes."""
        with self.connect() as client:
            status, _ = client.select(_quoted(folder), readonly=True)
            if status != "OK":
                return []
            _, data = client.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
        return _parse_fetch(data)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_fetch(data: list[object]) -> list[StoredMessage]:
    messages = []
    for item in data:
        # imaplib gives (b'1 (UID 7 FLAGS (\\Seen) BODY[] {123}', b'<bytes>') per message, then b')'.
        if not isinstance(item, tuple):
            continue
        head = item[0].decode()
        uid = int(head.split("UID ", 1)[1].split()[0].rstrip(")"))
        # \Recent belongs to the IMAP session that first sees a message, not to the message: left out.
        flags = tuple(flag for flag in head.split("FLAGS (", 1)[1].split(")", 1)[0].split() if flag != "\\Recent")
        messages.append(StoredMessage(uid, flags, item[1]))
    return sorted(messages, key=lambda message: message.uid)
