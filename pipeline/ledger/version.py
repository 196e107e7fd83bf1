"""The schema revision this code writes (HEAD) and the one a ledger is at, read without importing Alembic."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

# The newest revision in migrations/versions/ (tests/test_ledger_migrations.py checks they agree).
HEAD = "0002"
# Alembic's default table, which its MigrationContext reads and writes in migrate.py.
VERSION_TABLE = "alembic_version"
TOO_NEW = ("Журнал обработки создан более новой версией программы (версия схемы журнала: {found}; "
           "эта программа знает версии до {head}). Обновите программу; журнал не изменён.")


class LedgerVersionError(Exception):
    """The ledger's schema is of a revision this code does not know: a newer program wrote it."""


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions the ledger records: () for a new ledger, or for one written before migrations."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return ()
    return tuple(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
