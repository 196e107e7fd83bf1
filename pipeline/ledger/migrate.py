"""Bring a ledger's schema to HEAD with Alembic: create a new ledger, adopt one written before migrations, upgrade."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection, Engine

from pipeline.ledger.migrations import baseline
from pipeline.ledger.version import HEAD, TOO_NEW, LedgerVersionError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# The revision whose tables a ledger written before migrations (commit 83789a2 and earlier) already has.
BASELINE = "0001"
# pg_advisory_xact_lock's key, the same in every process that opens the ledger ("eibm" in ASCII).
POSTGRES_SCHEMA_LOCK = 0x6569626D


@cache
def revisions() -> ScriptDirectory:
    """The revision files in migrations/versions/, read once a process."""
    return ScriptDirectory(str(MIGRATIONS))


def upgrade(engine: Engine) -> None:
    """Bring the ledger to HEAD, holding the schema alone: a process doing the same waits, then finds it done."""
    script = revisions()
    with _schema_transaction(engine) as connection:
        context = MigrationContext.configure(connection, opts={
            "script": script,
            # What alembic.command.upgrade passes: the steps from the ledger's revisions up to HEAD.
            "fn": lambda heads, _context: script._upgrade_revs(HEAD, heads),
        })
        current = context.get_current_heads()
        known = {revision.revision for revision in script.walk_revisions()}
        unknown = [revision for revision in current if revision not in known]
        if unknown:
            raise LedgerVersionError(TOO_NEW.format(found=", ".join(unknown), head=HEAD))
        if not current and _has_ledger_tables(connection):
            log.info("Ledger written before migrations: stamping revision %s", BASELINE)
            # What open_ledger did on every open before migrations: create any table missing (a first open
            # killed halfway through create_all), so the ledger has every table of the baseline it is stamped with.
            baseline.metadata.create_all(connection)
            context.stamp(script, BASELINE)
        with Operations.context(context):
            context.run_migrations()


def _has_ledger_tables(connection: Connection) -> bool:
    return bool(set(inspect(connection).get_table_names()) & set(baseline.metadata.tables))


@contextmanager
def _schema_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction around the whole upgrade, taken before the version is read, so only one process migrates.

    Both databases roll DDL back with the transaction, so a failed upgrade leaves the ledger as it was.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so CREATE TABLE would commit on
            # its own; with the driver kept out, BEGIN IMMEDIATE takes SQLite's write lock (waiting out the
            # busy timeout) and holds it over DDL and version row alike.
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.exec_driver_sql("ROLLBACK")
                raise
            connection.exec_driver_sql("COMMIT")
        else:
            with connection.begin():
                # PostgreSQL's DDL is transactional; the lock makes a second process wait instead of failing on
                # CREATE TABLE, and is released with the transaction.
                if engine.dialect.name == "postgresql":
                    connection.execute(select(func.pg_advisory_xact_lock(POSTGRES_SCHEMA_LOCK)))
                yield connection
