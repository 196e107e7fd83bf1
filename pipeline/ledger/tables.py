"""The ledger's tables as the code reads and writes them today (SQLAlchemy Core), and its submission statuses."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# A change here needs a revision in migrations/versions/ that makes it on existing ledgers:
# tests/test_ledger_migrations.py compares these tables with the schema the migrations build.
metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("year", Integer, nullable=False, index=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("new_submissions", Integer),
)

submissions = Table(
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
    Column("archive", Text, nullable=False),  # JSON list of archived copies (relative to outputs/)
    Column("paths", Text, nullable=False),  # JSON list of relative paths in the drop folder
    # Set once the school's feedback is written: a run killed in between writes it next time.
    Column("feedback_at", DateTime),
)

files = Table(
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

findings = Table(
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


# Every message taken from the district's mailbox, once: (UIDVALIDITY, UID) names it on its server, the
# Message-ID across a mailbox rebuilt with a new UIDVALIDITY. outcome: taken | no_attachment | auto_reply | refused.
mail_messages = Table(
    "mail_messages", metadata,
    Column("id", Integer, primary_key=True),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("message_id", Text, index=True),  # None when the message has none
    Column("sender", Text),  # the bare address, lower-case; None when the message names none
    Column("received_at", DateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text),  # why a message was refused, in Russian, for the refusal reply
    UniqueConstraint("uidvalidity", "uid", name="uq_mail_messages_uidvalidity_uid"),
)

# The attachments saved into the drop folder, by their path relative to it.
mail_files = Table(
    "mail_files", metadata,
    Column("id", Integer, primary_key=True),
    Column("message", Integer, ForeignKey("mail_messages.id"), nullable=False, index=True),
    Column("path", Text, nullable=False),
    UniqueConstraint("path", name="uq_mail_files_path"),
)

# Every e-mail the product sends, recorded before it is sent with its exact bytes, marked once the server took it.
# kind: reply | reminder | no_attachment | refusal; key names what it answers, so each is sent once.
outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("year", Integer, nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("key", Text, nullable=False),
    Column("school", String(32)),
    Column("recipient", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("message", LargeBinary, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Column("refused", Text),  # the server's 5xx code and text: this address does not take mail
    Column("attempts", Integer, nullable=False, default=0),
    UniqueConstraint("key", name="uq_outbox_key"),
)


def _data_table(name: str, *columns: Column) -> Table:
    return Table(
        name, metadata,
        Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
        Column("year", Integer, nullable=False),
        Column("school", String(32), nullable=False),
        *columns,
    )


title_data = _data_table(
    "title_data",
    Column("school_name", Text), Column("version", Text), Column("respondent", Text), Column("position", Text),
    Column("phone", Text), Column("email", Text), Column("filled_on", Date), Column("library", Text),
)
item_data = _data_table(
    "item_data",
    Column("item", String(8), nullable=False), Column("status", Text, nullable=False), Column("done_on", Date),
    Column("document", Text), Column("document_details", Text), Column("quantity", Integer),
    Column("links", Text), Column("comment", Text),
)
staff_data = _data_table(
    "staff_data",
    Column("row", Integer, nullable=False), Column("person", Text), Column("position", Text), Column("rate", Float),
    Column("employment", Text), Column("education", Text), Column("years", Integer), Column("kpk", Boolean),
)
course_data = _data_table(
    "course_data",
    Column("row", Integer, nullable=False), Column("person", Text), Column("programme", Text), Column("title", Text),
    Column("organisation", Text), Column("hours", Integer), Column("finished_on", Date), Column("document", Text),
)
award_data = _data_table(
    "award_data",
    Column("row", Integer, nullable=False), Column("person", Text), Column("kind", Text), Column("level", Text),
    Column("status", Text), Column("date", Date),
)
indicator_data = _data_table(
    "indicator_data",
    Column("code", String(8), nullable=False), Column("value", Float),
)

# Sheet → (table, {ledger column: sheet column}) for the accepted data (and a rejected file's «Титул»).
DATA_TABLES: dict[str, tuple[Table, dict[str, str]]] = {
    "Титул": (title_data, {
        "school_name": "Наименование ОО", "version": "Версия шаблона", "respondent": "ФИО ответственного",
        "position": "Должность ответственного", "phone": "Телефон", "email": "E-mail",
        "filled_on": "Дата заполнения", "library": "Библиотека"}),
    "Дорожная карта": (item_data, {
        "item": "Код", "status": "Статус", "done_on": "Дата выполнения", "document": "Документ",
        "document_details": "Реквизиты документа", "quantity": "Количество", "links": "Ссылки",
        "comment": "Комментарий"}),
    "Сотрудники": (staff_data, {
        "person": "Сотрудник", "position": "Должность", "rate": "Ставка", "employment": "Характер работы",
        "education": "Образование", "years": "Стаж в должности, лет", "kpk": "КПК за последние 3 года"}),
    "Курсы": (course_data, {
        "person": "Сотрудник", "programme": "Вид программы", "title": "Название программы",
        "organisation": "Организация", "hours": "Объём, часов", "finished_on": "Дата окончания",
        "document": "Документ"}),
    "Поощрения": (award_data, {
        "person": "Сотрудник", "kind": "Вид поощрения", "level": "Уровень", "status": "Статус", "date": "Дата"}),
}
