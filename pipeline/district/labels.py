"""Fold labels (sheet names, headers, list values) the way REPORT_FORMAT says they are matched."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_SPACES = re.compile(r"[\s\u00a0\u202f\u2007]+")
_QUOTES = str.maketrans("", "", "«»\"“”„'")


def fold(label: Any) -> str:
    """Case-insensitive, ё = е, spaces and NBSP collapsed, quotes «» "" ignored."""
    if label is None:
        return ""
    return _fold_text(str(label))


@lru_cache(maxsize=65536)
def _fold_text(text: str) -> str:
    # Cached: a report's cells repeat the same few hundred labels and list values (≈ 750 folds a file).
    folded = text.translate(_QUOTES).lower().replace("ё", "е")
    return _SPACES.sub(" ", folded).strip()
