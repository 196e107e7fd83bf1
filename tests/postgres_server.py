"""A throwaway PostgreSQL server for tests: Debian's binaries, a temporary cluster on a private unix socket."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

# Debian installs every major version side by side and puts none of them on PATH.
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
SUPERUSER = "postgres"
# A test server, not a durable one: no fsync, and enough connections for a Dask cluster's pools.
SETTINGS = """
listen_addresses = ''
unix_socket_directories = '{socket}'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
"""
MISSING = ("PostgreSQL для тестов не найден ({what}). Установите пакет: `apt-get install postgresql` "
           "(или запустите `bash scripts/setup.sh --tests` от root).")


def find_bindir() -> Path:
    """The newest Debian PostgreSQL bin folder (or the one with initdb on PATH); fail the test if none."""
    candidates = sorted(Path("/").glob(DEBIAN_BINARIES.lstrip("/")),
                        key=lambda path: int(re.sub(r"\D", "", path.parent.name) or 0))
    candidates = [path for path in candidates if (path / "initdb").exists() and (path / "pg_ctl").exists()]
    if candidates:
        return candidates[-1]
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    pytest.fail(MISSING.format(what=f"нет {DEBIAN_BINARIES}/initdb"), pytrace=False)


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, reachable only through a unix socket in that folder.

    initdb and postgres refuse to run as root, so as root the cluster runs as Debian's `postgres` user
    (created by the package) and the folder is handed to it; otherwise it runs as the current user.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        # Directly under /tmp: pytest's own tmp folders are 0700 root-only, the postgres user cannot enter
        # them, and a unix socket path must stay under ~100 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="eibm-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "socket"
        self.log = self.root / "server.log"
        self.socket.mkdir()
        if self.as_root:
            try:
                shutil.chown(self.root, SUPERUSER, SUPERUSER)
                shutil.chown(self.socket, SUPERUSER, SUPERUSER)
            except LookupError:
                shutil.rmtree(self.root)
                pytest.fail(MISSING.format(what="нет системного пользователя postgres"), pytrace=False)

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.bindir / program), *arguments]
        if self.as_root:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        result = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n"
                               f"{result.stderr}\n{log}")

    def start(self) -> None:
        # C locale: text sorts by code point, as SQLite does, so ORDER BY on Cyrillic paths matches the default ledger.
        self._run("initdb", "--pgdata", str(self.data), "--username", SUPERUSER, "--auth", "trust",
                  "--encoding", "UTF8", "--no-locale", "--no-sync")
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(SETTINGS.format(socket=self.socket))
        self._run("pg_ctl", "--pgdata", str(self.data), "--log", str(self.log), "--wait", "--timeout", "60", "start")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "--pgdata", str(self.data), "--mode", "immediate", "--wait", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, driver: str = "psycopg") -> str:
        """SQLAlchemy URL of *database*; the socket folder goes in the `host` query parameter."""
        return f"postgresql+{driver}://{SUPERUSER}@/{database}?host={self.socket}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(host=str(self.socket), user=SUPERUSER, dbname="postgres", autocommit=True)

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (a fresh name unless given); return its SQLAlchemy URL."""
        name = name or f"test_{uuid.uuid4().hex[:12]}"
        with self.admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session; fails (never skips) when PostgreSQL is not installed."""
    server = PostgresServer(find_bindir())
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL (postgresql+psycopg) of one database shared by the session."""
    return postgres_server.create_database("eibm")


@pytest.fixture()
def fresh_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a new empty database for one test, dropped after it."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)
