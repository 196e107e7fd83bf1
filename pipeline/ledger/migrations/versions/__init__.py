"""Revision files, one per schema change, found by Alembic's ScriptDirectory (it skips this file)."""
