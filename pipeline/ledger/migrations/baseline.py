"""The ledger's tables as commit 83789a2 created them, frozen: revision 0001 creates them on a new ledger."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# A copy, not an import of pipeline/ledger/tables.py: those tables follow the code, these stay what every
# ledger written before migrations holds (tests/data/ledger_83789a2_create_all.*.sql is their DDL).
metadata = MetaData()

Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("year", Integer, nullable=False, index=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("new_submissions", Integer),
)
Table(
    "submissions", metadata,
    Column("id", Integer, primary_key=True),
    Column("year", Integer, nullable=False, index=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("school", String(32), index=True),
    Column("status", String(16), nullable=False),
    Column("arrived_at", DateTime, nullable=False),
    Column("processed_at", DateTime, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("warnings", Integer, nullable=False),
    Column("duplicate_of", Integer, ForeignKey("submissions.id")),
    Column("archive", Text, nullable=False),
    Column("paths", Text, nullable=False),
    Column("feedback_at", DateTime),
)
Table(
    "files", metadata,
    Column("id", Integer, primary_key=True),
    Column("year", Integer, nullable=False, index=True),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("mtime", Float, nullable=False),
    Column("first_seen", DateTime, nullable=False),
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
    Column("present", Boolean, nullable=False),
    Index("ix_files_year_path", "year", "path"),
)
Table(
    "findings", metadata,
    Column("id", Integer, primary_key=True),
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
    Column("code", String(8), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("sheet", Text, nullable=False),
    Column("cell", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("hint", Text, nullable=False),
)


def _data_table(name: str, *columns: Column) -> Table:
    return Table(
        name, metadata,
        Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
        Column("year", Integer, nullable=False),
        Column("school", String(32), nullable=False),
        *columns,
    )


_data_table(
    "title_data",
    Column("school_name", Text), Column("version", Text), Column("respondent", Text), Column("position", Text),
    Column("phone", Text), Column("email", Text), Column("filled_on", Date), Column("library", Text),
)
_data_table(
    "item_data",
    Column("item", String(8), nullable=False), Column("status", Text, nullable=False), Column("done_on", Date),
    Column("document", Text), Column("document_details", Text), Column("quantity", Integer),
    Column("links", Text), Column("comment", Text),
)
_data_table(
    "staff_data",
    Column("row", Integer, nullable=False), Column("person", Text), Column("position", Text), Column("rate", Float),
    Column("employment", Text), Column("education", Text), Column("years", Integer), Column("kpk", Boolean),
)
_data_table(
    "course_data",
    Column("row", Integer, nullable=False), Column("person", Text), Column("programme", Text), Column("title", Text),
    Column("organisation", Text), Column("hours", Integer), Column("finished_on", Date), Column("document", Text),
)
_data_table(
    "award_data",
    Column("row", Integer, nullable=False), Column("person", Text), Column("kind", Text), Column("level", Text),
    Column("status", Text), Column("date", Date),
)
_data_table(
    "indicator_data",
    Column("code", String(8), nullable=False), Column("value", Float),
)
