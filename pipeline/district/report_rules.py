"""The district's rules for the report's conclusions and recommendations: thresholds and text templates."""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# What the report can measure for a rule (REPORT_RULES in district.toml names them). Each is a share
# part / whole of schools or people, with the schools concerned (those that lack what is measured).
MEASURES = {
    "item": "доля ОО, выполнивших мероприятие, среди ОО, к которым оно относится",
    "reports_accepted": "доля ожидаемых ОО с принятым отчётом",
    "reports_on_time": "доля ожидаемых ОО, отчёт которых принят в срок",
    "training_pedagogues": "доля педагогов-библиотекарей с КПК за последние 3 года",
    "training_staff": "доля сотрудников библиотек с КПК за последние 3 года",
}
# The placeholders a template may use; the report fills them from the measure that triggered the rule.
PLACEHOLDERS = ("share", "part", "whole", "unit", "item", "title", "schools", "year", "next_year")


@dataclass(frozen=True)
class Rule:
    """One recommendation or management decision: when a measure is below a share, say what to do and why."""

    measure: str
    items: tuple[str, ...]  # for measure «item»: the items it watches (all items when empty)
    below: float | None  # fires when the share is below this; None: whenever the measure has a base
    to: str  # the addressee («Руководителям ОО») or, for a decision, who is responsible
    because: str  # template: the figure that triggered it
    action: str  # template: what to do
    due: str = ""  # template, decisions only: by when


@dataclass(frozen=True)
class ReportRules:
    """Thresholds of the conclusions, the recommendations by addressee, and the management decisions."""

    item_lags_below: float  # an item done by a smaller share of the schools it applies to lags
    school_support_below: float  # a school whose implementation index is smaller needs support
    notable_change_pp: float  # an item's share that moved by at least this many п. п. on last year is named
    addressees: tuple[str, ...]  # the order recommendations are grouped in
    recommendations: tuple[Rule, ...]
    decisions: tuple[Rule, ...]


Fail = Callable[[str, str], Exception]


def load_report_rules(data: dict[str, Any], fail: Fail, item_codes: tuple[str, ...]) -> ReportRules:
    """Read the [report_rules] table; *fail(key, problem)* makes the error that names the file and key."""
    addressees = _texts(data, "addressees", fail)
    rules = ReportRules(
        item_lags_below=_share(data, "item_lags_below", fail),
        school_support_below=_share(data, "school_support_below", fail),
        notable_change_pp=_number(data, "notable_change_pp", fail),
        addressees=addressees,
        recommendations=tuple(_rule(raw, f"recommendations[{index}]", fail, item_codes)
                              for index, raw in enumerate(_tables(data, "recommendations", fail))),
        decisions=tuple(_rule(raw, f"decisions[{index}]", fail, item_codes, decision=True)
                        for index, raw in enumerate(_tables(data, "decisions", fail))),
    )
    for index, rule in enumerate(rules.recommendations):
        if rule.to not in addressees:
            raise fail(f"report_rules.recommendations[{index}].to",
                       f"«{rule.to}» нет в списке report_rules.addressees")
    return rules


def _rule(raw: Any, key: str, fail: Fail, item_codes: tuple[str, ...], decision: bool = False) -> Rule:
    prefix = f"report_rules.{key}"
    if not isinstance(raw, dict):
        raise fail(prefix, "ожидается таблица")
    measure = _text(raw, "measure", fail, prefix)
    if measure not in MEASURES:
        raise fail(f"{prefix}.measure", f"«{measure}» — неизвестная мера; допустимы: {', '.join(MEASURES)}")
    items = _texts(raw, "items", fail, prefix, default=())
    for code in items:
        if code not in item_codes:
            raise fail(f"{prefix}.items", f"неизвестный код мероприятия «{code}»")
    below = _share(raw, "below", fail, prefix) if "below" in raw else None
    return Rule(measure=measure, items=items, below=below, to=_text(raw, "to", fail, prefix),
                because=_template(raw, "because", fail, prefix), action=_template(raw, "action", fail, prefix),
                due=_template(raw, "due", fail, prefix) if decision else "")


def _template(raw: dict[str, Any], key: str, fail: Fail, prefix: str) -> str:
    text = _text(raw, key, fail, prefix)
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:  # string.Formatter's own words are English («Single '}' encountered …»)
        raise fail(f"{prefix}.{key}", "шаблон не разобран: подстановка пишется в фигурных скобках, например "
                                      "{share}, а скобка как текст — двойная: {{ или }}") from None
    for name in fields:
        if name not in PLACEHOLDERS:
            raise fail(f"{prefix}.{key}", f"неизвестная подстановка «{{{name}}}»; допустимы: "
                                          + ", ".join(f"{{{known}}}" for known in PLACEHOLDERS))
    return text


def _text(raw: dict[str, Any], key: str, fail: Fail, prefix: str = "report_rules") -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise fail(f"{prefix}.{key}", "ожидается непустая строка")
    return value


def _texts(raw: dict[str, Any], key: str, fail: Fail, prefix: str = "report_rules",
           default: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if key not in raw and default is not None:
        return default
    values = raw.get(key)
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise fail(f"{prefix}.{key}", "ожидается список строк")
    return tuple(values)


def _tables(raw: dict[str, Any], key: str, fail: Fail) -> list[Any]:
    values = raw.get(key, [])
    if not isinstance(values, list):
        raise fail(f"report_rules.{key}", "ожидается массив таблиц [[report_rules." + key + "]]")
    return values


def _number(raw: dict[str, Any], key: str, fail: Fail, prefix: str = "report_rules") -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(f"{prefix}.{key}", "ожидается число")
    return float(value)


def _share(raw: dict[str, Any], key: str, fail: Fail, prefix: str = "report_rules") -> float:
    value = _number(raw, key, fail, prefix)
    if not 0 <= value <= 1:
        raise fail(f"{prefix}.{key}", f"{value} — ожидается доля от 0 до 1 (0.8 — это 80 %)")
    return value
