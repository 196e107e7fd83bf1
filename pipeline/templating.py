"""The one Jinja2 environment of every document: autoescaped, strict, with the Russian typography filters."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from pipeline import typography

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    """School text is always escaped (autoescape); a typo in a template is an error (StrictUndefined)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update({
        "ru_number": typography.ru_number,
        "ru_percent": typography.ru_percent,
        "ru_date": typography.ru_date,
        "ru_short_date": typography.ru_short_date,
        "ru_datetime": typography.ru_datetime,
        "plural": typography.plural,
        "count": typography.count,
        "base_text": typography.base_text,
        "tie": typography.tie_text,
    })
    return env
