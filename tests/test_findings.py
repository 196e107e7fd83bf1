"""The catalogue holds every text a school reads: a message per code and reason, none made at a call site."""

from __future__ import annotations

import re
import string

import pytest

from pipeline import findings as catalogue

# REPORT_FORMAT §6: every check code, and S10 (a file named after another school), which the product adds
# (docs/DECISIONS.md).
CODES = [f"S{n:02}" for n in range(1, 11)] + [f"V{n:02}" for n in range(1, 10)] + [
    f"R{n:02}" for n in range(1, 11)] + [f"K{n:02}" for n in range(1, 6)] + [f"L{n:02}" for n in range(1, 9)]


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_code_of_the_format_has_a_message() -> None:
    assert sorted({key.split(".")[0] for key in catalogue.CATALOGUE}) == sorted(CODES)


@pytest.mark.parametrize("key", sorted(catalogue.CATALOGUE))
def test_no_message_is_only_a_field_filled_at_the_call_site(key: str) -> None:
    entry = catalogue.CATALOGUE[key]
    for template in (entry.message, entry.hint):
        assert re.sub(r"\{[^}]*\}", "", template).strip(" .«»—:()") != ""


def test_only_the_reading_codes_take_a_reason_phrase() -> None:
    with_reason = sorted(key for key, entry in catalogue.CATALOGUE.items() if "reason" in fields(entry.message))
    assert with_reason == ["S01", "S07"]


def test_a_variant_picks_its_own_message() -> None:
    unknown = catalogue.build("S08", "Дорожная карта", "A5", value="9.9", variant="unknown", item="9.9")
    missing = catalogue.build("S08", "Дорожная карта", "", variant="missing", item="3.2")
    assert (unknown.message, missing.message) == ("Неизвестный код мероприятия «9.9».", "Нет строки мероприятия 3.2.")
    assert unknown.hint == missing.hint
