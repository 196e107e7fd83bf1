"""Open a ledger: the database engine, SQLite's settings, transactions, and the schema brought to HEAD."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

from pipeline.ledger.version import HEAD, current_revisions

WAL_ATTEMPTS = 100  # 2 s at most; the switch itself takes milliseconds


def default_url(outputs: Path) -> str:
    return f"sqlite:///{(outputs / 'ledger.sqlite').resolve()}"


def open_ledger(url: str) -> Engine:
    """Connect, upgrading the schema if it is not at HEAD; SQLite gets WAL and a busy timeout for concurrent readers.

    Raises LedgerVersionError (Russian message) for a ledger written by a newer program, leaving it untouched.
    """
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect() as connection:
            at_head = current_revisions(connection) == (HEAD,)
        if not at_head:
            # Imported here: Alembic costs ≈ 0.2 s of import, and a ledger at HEAD (every open but the
            # first after an install or an upgrade) needs none of it.
            from pipeline.ledger.migrate import upgrade

            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Put the database in WAL mode (kept in the file, so only a new ledger really changes).

    Two processes switching a new file at once both hold a shared lock and want an exclusive one: SQLite
    answers one of them "database is locked" at once, without the busy timeout, to break the deadlock. Its
    remedy is to try again; by then the other has switched the file and the pragma has nothing to do.
    """
    for attempt in range(WAL_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or attempt == WAL_ATTEMPTS - 1:
                raise
            time.sleep(0.02)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as connection:
        yield connection
