"""Plan a collection pass: which units are new or changed, when they arrived, which repeat judged content."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.engine import Engine

from pipeline import ledger
from pipeline.district.setup import Setup
from pipeline.intake.discover import (
    UNRECOGNIZED,
    DroppedFile,
    Unit,
    group_units,
    hash_file,
    hash_unit,
    list_drop_folder,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 500
ARRIVALS_FOLDER = "arrivals"


@dataclass(frozen=True)
class PlannedUnit:
    """A new or changed unit: when it arrived, its files' (path, sha256, size, mtime), and its content hash."""

    unit: Unit
    arrived: dt.datetime
    facts: tuple[tuple[str, str, int, float], ...]
    sha256: str
    # False when the same content was judged before, in an earlier run or earlier in this plan:
    # the unit is recorded as a duplicate of that judgement, not judged again.
    judge: bool


@dataclass
class Plan:
    """What a run has to do: the new units in arrival order, and files to look at again next run."""

    new_units: list[PlannedUnit]
    present: set[str]
    unsettled: list[str] = field(default_factory=list)
    # Whether the set of present files differs from the ledger's (only then is it rewritten).
    present_changed: bool = True


def plan_collection(setup: Setup, engine: Engine, now: dt.datetime) -> Plan:
    """Find units with a file that is new or changed since the ledger last saw it (by size, time, hash)."""
    dropped = list_drop_folder(setup.drop_folder)
    with ledger.transaction(engine) as connection:
        known = ledger.known_files(connection, setup.year)
        judged = ledger.judged_hashes(connection, setup.year)
        first_run = not ledger.has_runs(connection, setup.year)
    arrivals = load_arrivals(setup.inputs, setup.year) if first_run else {}
    hashes: dict[str, str] = {}
    changed: set[str] = set()
    unsettled: list[str] = []
    touched: list[tuple[str, str, float]] = []
    for file in dropped:
        previous = known.get(file.relative)
        if previous and previous.size == file.size and previous.mtime == file.mtime:
            hashes[file.relative] = previous.sha256
            continue
        sha = _stable_hash(file)
        if sha is None:
            unsettled.append(file.relative)
            continue
        hashes[file.relative] = sha
        if previous is None or previous.sha256 != sha:
            changed.add(file.relative)
        else:
            touched.append((file.relative, sha, file.mtime))
    if touched:
        with ledger.transaction(engine) as connection:
            ledger.touch_files(connection, setup.year, touched)
    settled = [file for file in dropped if file.relative in hashes]
    # Only a changed file's own unit is new: group just the files that may share one with it.
    groups = {_group_of(path) for path in changed}
    new_units = []
    for unit in group_units([file for file in settled if _group_of(file.relative) in groups]):
        if not any(file.relative in changed for file in unit.files):
            continue
        arrived = max(_arrival(file, first_run, arrivals, now) for file in unit.files)
        facts = tuple((file.relative, hashes[file.relative], file.size, file.mtime) for file in unit.files)
        sha = hash_unit([(Path(path).name, file_sha) for path, file_sha, *_ in facts])
        new_units.append(PlannedUnit(unit, arrived, facts, sha, judge=True))
    new_units.sort(key=lambda planned: (planned.arrived, planned.unit.key))
    for index, planned in enumerate(new_units):
        if planned.unit.kind != UNRECOGNIZED:
            new_units[index] = replace(planned, judge=planned.sha256 not in judged)
            judged.add(planned.sha256)
    present = {file.relative for file in settled}
    present_changed = bool(new_units) or present != {path for path, item in known.items() if item.present}
    return Plan(new_units, present, unsettled, present_changed)


def _group_of(relative: str) -> tuple[str, str]:
    """Files that may form one unit (CSV parts: folder and the prefix before «_», as group_units groups
    them; any other file: itself), told from the name alone: grouping looks at every file's type."""
    folder, _, name = relative.rpartition("/")
    if name.lower().endswith(".csv"):
        return folder, (name.split("_", 1)[0] if "_" in name else name[:-4]).casefold()
    return relative, ""


def _stable_hash(file: DroppedFile) -> str | None:
    """Hash a file, or None if it changed while we looked (still being written: judge it next run)."""
    try:
        if file.path.is_symlink():  # never followed: its identity is where it points
            sha = hashlib.sha256(f"symlink:{os.readlink(file.path)}".encode()).hexdigest()
        else:
            sha = hash_file(file.path)
        after = file.path.lstat()
    except OSError:
        return None
    if after.st_size != file.size or after.st_mtime != file.mtime:
        return None
    return sha


def _arrival(file: DroppedFile, first_run: bool, arrivals: dict[str, dt.datetime], now: dt.datetime) -> dt.datetime:
    """A file arrives when a run first sees it; on a campaign's first run, when it was last modified."""
    if not first_run:
        return now
    if file.relative in arrivals:
        return arrivals[file.relative]
    # A file cannot have arrived after the run that sees it (clocks and copied mtimes can lie).
    return min(dt.datetime.fromtimestamp(file.mtime).replace(microsecond=0), now)


def load_arrivals(inputs: Path, year: int) -> dict[str, dt.datetime]:
    """Arrival times carried over from before the pipeline (e-mail receipts): inputs/arrivals/<year>.csv.

    Columns «Файл;Получен» (path relative to the drop folder; ДД.ММ.ГГГГ ЧЧ:ММ). Used only on the first
    run of a campaign, for files already in the folder; git does not keep modification times.
    """
    path = inputs / ARRIVALS_FOLDER / f"{year}.csv"
    if not path.exists():
        return {}
    result = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            try:
                result[row["Файл"].strip()] = dt.datetime.strptime(row["Получен"].strip(), "%d.%m.%Y %H:%M")
            except (KeyError, ValueError, AttributeError):
                log.warning("%s: строка с неверной датой пропущена: %s", path, row)
    return result


def batches(plan: Plan, size: int = BATCH_SIZE) -> Iterator[list[PlannedUnit]]:
    """The plan's new units in arrival order, *size* at a time."""
    for start in range(0, len(plan.new_units), size):
        yield plan.new_units[start:start + size]


