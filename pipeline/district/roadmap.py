"""Load the district data file (roadmap, campaign calendar, lists, limits) into typed objects."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pipeline.district.report_rules import ReportRules, load_report_rules
from pipeline.district.toml_syntax import describe_toml_error

DISTRICT_FILE = "district.toml"
ANNUAL = "ежегодно"

# "01.09.N-1": day, month, and the year relative to the campaign year N.
_RELATIVE_DATE = re.compile(r"^(\d{2})\.(\d{2})\.N([+-]\d+)?$")
RELATIVE_DATE_FORM = "нужна форма ДД.ММ.N (N — год кампании), например 20.05.N или 01.09.N-1"
DATE_FORM = "нужна форма ДД.ММ.ГГГГ, например 20.05.2026"
# What a TOML value is, in the words of the one who typed it (a type error names both sides).
_KINDS = {bool: "true или false", int: "целое число", float: "число", str: "текст в кавычках",
          list: "список [ … ]", dict: "раздел (таблица)", dt.date: "дата", dt.datetime: "дата и время",
          dt.time: "время"}


class DistrictDataError(Exception):
    """The district data file is missing or broken; the message names the file and the key."""


@dataclass(frozen=True)
class Item:
    """One roadmap item a school reports on."""

    code: str
    title: str
    source: str
    stage: str
    due: dt.date | None  # None means «ежегодно»: by the end of the reporting period
    one_off: bool
    quantity: str | None

    @property
    def due_label(self) -> str:
        return self.due.strftime("%d.%m.%Y") if self.due else ANNUAL


@dataclass(frozen=True)
class Indicator:
    """One library indicator row of sheet «Показатели»."""

    code: str
    name: str
    unit: str
    kind: str  # whole | number | yes_no
    optional: bool = False
    always_required: bool = False
    positive: bool = False
    max: float | None = None


@dataclass(frozen=True)
class Campaign:
    """The dates that govern one year's collection."""

    year: int
    period_start: dt.date
    period_end: dt.date
    window_open: dt.date
    window_close: dt.date
    deadline: dt.date


@dataclass(frozen=True)
class ItemRules:
    """Which roadmap items need what (rules R05–R09)."""

    may_be_not_required: tuple[str, ...]
    needs_document: tuple[str, ...]
    needs_quantity: tuple[str, ...]
    needs_link: tuple[str, ...]
    needs_course: tuple[str, ...]
    needs_award: tuple[str, ...]
    website_item: str
    publications_item: str


@dataclass(frozen=True)
class Schedule:
    """When the scheduled flows run (cron expressions in *timezone*)."""

    timezone: str
    collect_cron: str
    report_cron: str


@dataclass(frozen=True)
class Office:
    """The education department that issues the final report: who it is, who approves, who wrote it.
    An empty field is printed as a blank line to fill in by hand."""

    full_name: str = ""  # «Управление образования Администрации …»
    name_locative: str = ""  # the district after «в»: «Демонстрационном районе»
    basis: str = ""  # the district's own act: «приказ Управления образования от 15.01.2024 № 12»
    approver_position: str = ""
    approver_name: str = ""  # initials and surname: «И. И. Иванова»
    executor_name: str = ""
    executor_position: str = ""
    executor_phone: str = ""
    executor_email: str = ""


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: loaded once per run
class District:
    """Everything the district decides in data: roadmap, calendar, lists and limits."""

    name: str
    demo: bool
    format_version: str
    older_versions: tuple[str, ...]
    max_file_bytes: int
    max_rows_per_sheet: int
    model_start: dt.date
    first_campaign: int
    items: tuple[Item, ...]
    indicators: tuple[Indicator, ...]
    lists: dict[str, tuple[str, ...]]
    synonyms: dict[str, dict[str, str]]
    yes_words: tuple[str, ...]
    no_words: tuple[str, ...]
    missing_words: tuple[str, ...]
    min_hours: dict[str, int]
    document_optional: tuple[str, ...]
    item_rules: ItemRules
    schedule: Schedule
    _calendar: dict[str, str]
    _overrides: dict[int, dict[str, dt.date]]
    office: Office
    report_rules: ReportRules

    def item(self, code: str) -> Item:
        return next(item for item in self.items if item.code == code)

    def campaign(self, year: int) -> Campaign:
        """Return the dates of campaign *year*: defaults from [calendar], then the year's overrides."""
        dates = {key: _resolve_relative(value, year) for key, value in self._calendar.items()}
        dates.update(self._overrides.get(year, {}))
        return Campaign(year=year, **dates)

    def date_key(self, year: int, name: str) -> str:
        """Where campaign *year*'s date *name* is set: «[campaigns.2026] deadline» or «[calendar] deadline»."""
        return f"[campaigns.{year}] {name}" if name in self._overrides.get(year, {}) else f"[calendar] {name}"


_OFFICE_KEYS = tuple(field.name for field in fields(Office))
_CALENDAR_KEYS = ("period_start", "period_end", "window_open", "window_close", "deadline")


def _resolve_relative(text: str, year: int) -> dt.date:
    match = _RELATIVE_DATE.match(text)
    assert match, text  # checked when the file was loaded
    day, month, offset = match.groups()
    return dt.date(year + int(offset or 0), int(month), int(day))


class DistrictReader:
    """Typed access to the parsed TOML that names the file and key in every error."""

    def __init__(self, path: Path, data: dict[str, Any]):
        self.path = path
        self.data = data

    def fail(self, key: str, problem: str) -> DistrictDataError:
        return DistrictDataError(f"{self.path}: ключ «{key}»: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not ...:
                    return default
                raise self.fail(key, "отсутствует")
            node = node[part]
        if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
            expected = " или ".join(_kind_word(one) for one in (kind if isinstance(kind, tuple) else (kind,)))
            raise self.fail(key, f"неверный тип значения: записано {_kind_word(type(node))}, нужно {expected}")
        return node

    def text_list(self, key: str, default: Any = ...) -> tuple[str, ...]:
        values = self.get(key, list, default)
        if not all(isinstance(value, str) for value in values):
            raise self.fail(key, "ожидается список строк")
        return tuple(values)

    def date(self, key: str, text: str) -> dt.date:
        try:
            return dt.datetime.strptime(text, "%d.%m.%Y").date()
        except ValueError:
            raise self.fail(key, f"«{text}» — не дата; {DATE_FORM}") from None

    def iso_date(self, key: str) -> dt.date:
        text = self.get(key, str)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise self.fail(key, f"«{text}» — не дата; нужна форма ГГГГ-ММ-ДД, например 2024-09-01") from None

    def relative_date(self, key: str) -> str:
        """A calendar date «ДД.ММ.N», checked to be a day of every year (29.02 is not)."""
        text = self.get(key, str)
        match = _RELATIVE_DATE.match(text)
        if not match:
            raise self.fail(key, f"«{text}» — не дата; {RELATIVE_DATE_FORM}")
        day, month, _ = match.groups()
        if (day, month) == ("29", "02"):
            raise self.fail(key, f"«{text}» — 29 февраля бывает не каждый год; выберите 28.02 или 01.03")
        try:
            dt.date(2001, int(month), int(day))
        except ValueError:
            raise self.fail(key, f"«{text}» — не дата; {RELATIVE_DATE_FORM}") from None
        return text


def _kind_word(kind: type) -> str:
    return next((word for known, word in _KINDS.items() if issubclass(kind, known)), "значение другого вида")


def district_reader(inputs: Path) -> DistrictReader:
    """``inputs/district.toml`` parsed; DistrictDataError (Russian, naming the file) when it cannot be."""
    path = inputs / DISTRICT_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DistrictDataError(f"{path}: файл данных района не найден") from None
    except tomllib.TOMLDecodeError as error:
        raise DistrictDataError(f"{path}, {describe_toml_error(error)}") from None
    except UnicodeDecodeError:
        raise DistrictDataError(f"{path}: файл не в кодировке UTF-8 — сохраните его в UTF-8") from None
    return DistrictReader(path, data)


def load_district(inputs: Path) -> District:
    """Read ``inputs/district.toml``; raise DistrictDataError naming the file and key on any problem."""
    reader = district_reader(inputs)
    path = reader.path

    calendar = {key: reader.relative_date(f"calendar.{key}") for key in _CALENDAR_KEYS}

    overrides: dict[int, dict[str, dt.date]] = {}
    for year_text, values in reader.get("campaigns", dict, {}).items():
        key = f"campaigns.{year_text}"
        if not year_text.isdigit() or not isinstance(values, dict):
            raise reader.fail(key, "ожидается таблица [campaigns.ГГГГ]")
        for name, value in values.items():
            if name not in _CALENDAR_KEYS:
                raise reader.fail(f"{key}.{name}", f"неизвестный ключ; допустимы: {', '.join(_CALENDAR_KEYS)}")
            if isinstance(value, dt.date):
                overrides.setdefault(int(year_text), {})[name] = value
            elif isinstance(value, str):
                overrides.setdefault(int(year_text), {})[name] = reader.date(f"{key}.{name}", value)
            else:
                raise reader.fail(f"{key}.{name}", "ожидается дата ДД.ММ.ГГГГ")

    items = []
    for index, raw in enumerate(reader.get("items", list)):
        item = DistrictReader(path, raw)
        prefix = f"items[{index}]"
        due_text = _prefixed(item, prefix, "due", str)
        items.append(
            Item(
                code=_prefixed(item, prefix, "code", str),
                title=_prefixed(item, prefix, "title", str),
                source=_prefixed(item, prefix, "source", str),
                stage=_prefixed(item, prefix, "stage", str),
                due=None if due_text == ANNUAL else reader.date(f"{prefix}.due", due_text),
                one_off=_prefixed(item, prefix, "one_off", bool),
                quantity=_prefixed(item, prefix, "quantity", str, None),
            )
        )
    codes = [item.code for item in items]
    if len(set(codes)) != len(codes) or not codes:
        raise reader.fail("items", "коды мероприятий должны быть уникальны и не пусты")

    indicators = []
    for index, raw in enumerate(reader.get("indicators", list)):
        row = DistrictReader(path, raw)
        prefix = f"indicators[{index}]"
        kind = _prefixed(row, prefix, "kind", str)
        if kind not in ("whole", "number", "yes_no"):
            raise reader.fail(f"{prefix}.kind", "ожидается whole, number или yes_no")
        indicators.append(
            Indicator(
                code=_prefixed(row, prefix, "code", str),
                name=_prefixed(row, prefix, "name", str),
                unit=_prefixed(row, prefix, "unit", str),
                kind=kind,
                optional=_prefixed(row, prefix, "optional", bool, False),
                always_required=_prefixed(row, prefix, "always_required", bool, False),
                positive=_prefixed(row, prefix, "positive", bool, False),
                max=_prefixed(row, prefix, "max", (int, float), None),
            )
        )

    lists = {name: reader.text_list(f"lists.{name}") for name in reader.get("lists", dict)}
    synonyms: dict[str, dict[str, str]] = {}
    for name, table in reader.get("synonyms", dict, {}).items():
        if name not in lists or not isinstance(table, dict):
            raise reader.fail(f"synonyms.{name}", "синонимы для неизвестного списка")
        for word, value in table.items():
            if value not in lists[name]:
                raise reader.fail(f"synonyms.{name}.{word}", f"«{value}» нет в списке lists.{name}")
        synonyms[name] = dict(table)

    min_hours = reader.get("programme_rules.min_hours", dict)
    for name, hours in min_hours.items():
        if name not in lists.get("programme", ()) or not isinstance(hours, int):
            raise reader.fail(f"programme_rules.min_hours.{name}", "неизвестный вид программы или не целое число")

    rules = {key: reader.text_list(f"item_rules.{key}") for key in (
        "may_be_not_required", "needs_document", "needs_quantity", "needs_link", "needs_course", "needs_award")}
    for key, values in rules.items():
        for code in values:
            if code not in codes:
                raise reader.fail(f"item_rules.{key}", f"неизвестный код мероприятия «{code}»")

    return District(
        name=reader.get("district.name", str),
        demo=reader.get("district.demo", bool, False),
        format_version=reader.get("format.version", str),
        older_versions=reader.text_list("format.older_versions", ()),
        max_file_bytes=int(reader.get("format.max_file_mb", (int, float)) * 1024 * 1024),
        max_rows_per_sheet=reader.get("format.max_rows_per_sheet", int),
        model_start=reader.iso_date("format.model_start"),
        first_campaign=reader.get("calendar.first_campaign", int),
        items=tuple(items),
        indicators=tuple(indicators),
        lists=lists,
        synonyms=synonyms,
        yes_words=reader.text_list("yes_no.yes"),
        no_words=reader.text_list("yes_no.no"),
        missing_words=reader.text_list("yes_no.missing", ()),
        min_hours=dict(min_hours),
        document_optional=reader.text_list("programme_rules.document_optional", ()),
        item_rules=ItemRules(
            **rules,
            website_item=reader.get("item_rules.website_item", str),
            publications_item=reader.get("item_rules.publications_item", str),
        ),
        schedule=Schedule(
            timezone=reader.get("schedule.timezone", str, "Asia/Tomsk"),
            collect_cron=_cron(reader, "schedule.collect_cron", "0 6 * 4-10 1-5"),
            report_cron=_cron(reader, "schedule.report_cron", "0 7 1 11 *"),
        ),
        _calendar=calendar,
        _overrides=overrides,
        report_rules=load_report_rules(reader.get("report_rules", dict), reader.fail, tuple(codes)),
        office=Office(**{name: reader.get(f"district.{name}", str, "").strip() for name in _OFFICE_KEYS}),
    )


def _cron(reader: DistrictReader, key: str, default: str) -> str:
    value = reader.get(key, str, default)
    if len(value.split()) != 5:
        raise reader.fail(key, f"«{value}» — ожидается cron из пяти полей, например «0 6 * 4-10 1-5»")
    return value


def _prefixed(reader: DistrictReader, prefix: str, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    try:
        return reader.get(key, kind, default)
    except DistrictDataError as error:
        raise DistrictDataError(str(error).replace(f"«{key}»", f"«{prefix}.{key}»")) from None
