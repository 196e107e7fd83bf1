"""One collection or report at a time per campaign: an exclusive lock file, released if the process dies."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.atomic import output_error

LOCK_NAME = ".lock"


class CampaignBusyError(Exception):
    """Another run holds the campaign's lock."""


@contextmanager
def campaign_lock(outputs: Path, year: int, wait: bool = False) -> Iterator[None]:
    """Hold outputs/<year>/.lock exclusively; raise CampaignBusyError at once if it is taken (unless *wait*)."""
    folder = outputs / str(year)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:  # read-only or missing outputs: the same clear error as a failed write mid-run
        raise output_error(folder / LOCK_NAME, error) from error
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CampaignBusyError(
                f"Кампания {year} уже обрабатывается другим запуском; повторите позже.") from None
        yield
    finally:
        os.close(descriptor)


def check_campaign_free(outputs: Path, year: int) -> None:
    """Raise now, before a long start-up, if the campaign is busy or its outputs cannot be written."""
    with campaign_lock(outputs, year):
        pass
