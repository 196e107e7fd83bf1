"""Fold labels (sheet names, headers, list values) the way REPORT_FORMAT says they are matched."""

from __future__ import annotations

import re
from typing import Any

_SPACES = re.compile(r"[\s\u00a0\u202f\u2007]+")
_QUOTES = str.maketrans("", "", "«»\"“”„'")


def fold(label: Any) -> str:
    """Case-insensitive, ё = е, spaces and NBSP collapsed, quotes «» "" ignored."""
    if label is None:
        return ""
    text = str(label).translate(_QUOTES).lower().replace("ё", "е")
    return _SPACES.sub(" ", text).strip()
