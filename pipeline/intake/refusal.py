"""The refusal of a file before any parser: why it must not be parsed (S01) or is over the limits (S07)."""

from __future__ import annotations


class PreflightError(Exception):
    """The file must not be parsed. *code* is S01 (unreadable) or S07 (over the limits)."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason
