"""Alembic revisions of the ledger's schema (versions/), run by pipeline/ledger/migrate.py without an env.py.

To change the schema: change pipeline/ledger/tables.py, add versions/000N_<what it does>.py whose
down_revision is the previous head and whose upgrade() makes the change with alembic.op (on SQLite, ALTER
needs op.batch_alter_table), and set HEAD in pipeline/ledger/version.py. tests/test_ledger_migrations.py
checks that a ledger upgraded from every earlier schema ends with exactly the tables of tables.py.
"""
