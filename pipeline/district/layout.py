"""The workbook layout of format ИБЦ-2025.1: its sheets, their columns and the fields of «Титул»."""

from __future__ import annotations

from dataclasses import dataclass

TITLE = "Титул"
ROADMAP = "Дорожная карта"
STAFF = "Сотрудники"
COURSES = "Курсы"
AWARDS = "Поощрения"
INDICATORS = "Показатели"
LISTS_SHEET = "Справочники"  # hidden sheet with the dropdown lists; ignored when reading
FEEDBACK_SHEET = "Замечания"  # added to the annotated copy returned to the school; ignored too
INSTRUCTION_SHEET = "Инструкция"  # the template's first sheet: how to fill and send; ignored too

SHEETS = (TITLE, ROADMAP, STAFF, COURSES, AWARDS, INDICATORS)
IGNORED_SHEETS = (LISTS_SHEET, FEEDBACK_SHEET, INSTRUCTION_SHEET)


@dataclass(frozen=True)
class Column:
    """One column of a sheet (or one field of «Титул»), with how its values are read and checked.

    kind: text | list | date | whole | number | yes_no | links | email | phone | code.
    """

    name: str
    kind: str
    required: bool = False
    list_name: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    max_length: int | None = None
    min_length: int | None = None
    width: int = 18  # column width in generated workbooks


@dataclass(frozen=True)
class SheetLayout:
    name: str
    columns: tuple[Column, ...]
    key: str | None = None  # the column that identifies a row (Код), if rows are fixed

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


# «Титул» is a two-column list of fields; each field is read like a column of the other sheets.
TITLE_COLUMNS = ("Поле", "Значение")
TITLE_FIELDS = (
    Column("Версия шаблона", "text", required=True),
    Column("Код ОО", "code", required=True),
    Column("Наименование ОО", "text", required=True, max_length=500),
    Column("Отчётный год", "whole", required=True),
    Column("ФИО ответственного", "text", required=True, min_length=3, max_length=100),
    Column("Должность ответственного", "list", required=True, list_name="responsible_position"),
    Column("Телефон", "phone"),
    Column("E-mail", "email", required=True),
    Column("Дата заполнения", "date", required=True),
    Column("Библиотека", "list", required=True, list_name="library"),
)

ROADMAP_LAYOUT = SheetLayout(
    ROADMAP,
    (
        Column("Код", "code", required=True, width=8),
        Column("Мероприятие", "text", width=60),
        Column("Срок", "text", width=12),
        Column("Статус", "list", required=True, list_name="item_status", width=18),
        Column("Дата выполнения", "date", width=14),
        Column("Документ", "list", list_name="item_document", width=18),
        Column("Реквизиты документа", "text", max_length=300, width=24),
        Column("Количество", "whole", minimum=0, width=12),
        Column("Ссылки", "links", width=40),
        Column("Комментарий", "text", max_length=500, width=40),
    ),
    key="Код",
)

STAFF_LAYOUT = SheetLayout(
    STAFF,
    (
        Column("Сотрудник", "text", required=True, max_length=100, width=20),
        Column("Должность", "list", required=True, list_name="staff_position", width=24),
        Column("Ставка", "number", required=True, minimum=0.25, maximum=2.0, step=0.25, width=10),
        Column("Характер работы", "list", required=True, list_name="employment", width=24),
        Column("Образование", "list", required=True, list_name="education", width=36),
        Column("Стаж в должности, лет", "whole", minimum=0, maximum=60, width=12),
        Column("КПК за последние 3 года", "yes_no", required=True, width=14),
    ),
)

COURSES_LAYOUT = SheetLayout(
    COURSES,
    (
        Column("Сотрудник", "text", required=True, max_length=100, width=20),
        Column("Вид программы", "list", required=True, list_name="programme", width=30),
        Column("Название программы", "text", required=True, max_length=300, width=50),
        Column("Организация", "text", required=True, max_length=300, width=24),
        Column("Объём, часов", "whole", required=True, minimum=1, width=12),
        Column("Дата окончания", "date", required=True, width=14),
        Column("Документ", "list", list_name="course_document", width=16),
    ),
)

AWARDS_LAYOUT = SheetLayout(
    AWARDS,
    (
        Column("Сотрудник", "text", required=True, max_length=100, width=20),
        Column("Вид поощрения", "list", required=True, list_name="award_kind", width=22),
        Column("Уровень", "list", required=True, list_name="award_level", width=18),
        Column("Статус", "list", required=True, list_name="award_status", width=14),
        Column("Дата", "date", required=True, width=14),
    ),
)

INDICATORS_LAYOUT = SheetLayout(
    INDICATORS,
    (
        Column("Код", "code", required=True, width=8),
        Column("Показатель", "text", width=60),
        Column("Ед. изм.", "text", width=10),
        Column("Значение", "text", width=14),  # read per row by the indicator's own kind
        Column("Пояснение", "text", max_length=500, width=40),
    ),
    key="Код",
)

TITLE_LAYOUT = SheetLayout(TITLE, (Column("Поле", "text", width=28), Column("Значение", "text", width=60)), key="Поле")

LAYOUTS = {
    layout.name: layout
    for layout in (TITLE_LAYOUT, ROADMAP_LAYOUT, STAFF_LAYOUT, COURSES_LAYOUT, AWARDS_LAYOUT, INDICATORS_LAYOUT)
}
