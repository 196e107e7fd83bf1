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
from pipeline.archive import archive_bytes
from pipeline.district.setup import Setup
from pipeline.intake.capture import Captured, Changing, DropFolder, Gone, Unreadable
from pipeline.intake.discover import (
    CSV_GROUP,
    UNRECOGNIZED,
    DroppedFile,
    Unit,
    csv_group,
    group_units,
    hash_unit,
    is_read,
    list_drop_folder,
    unread_identity,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 500
ARRIVALS_FOLDER = "arrivals"
# How many of the new files that are not reports the run's one summary line names.
NAMED_IN_SUMMARY = 3
JUNK_WORTH_A_WARNING = 20


@dataclass(frozen=True)
class PlannedUnit:
    """A new or changed unit: when it arrived, its files' (path, sha256, size, mtime), and its content hash.

    The unit's files that were read are located at their archived copies (the judges read those bytes
    and no others); their names stay the drop folder's. *archive* lists those copies, relative to outputs.
    """

    unit: Unit
    arrived: dt.datetime
    facts: tuple[tuple[str, str, int, float], ...]
    sha256: str
    # False when the same content was judged before, in an earlier run or earlier in this plan:
    # the unit is recorded as a duplicate of that judgement, not judged again.
    judge: bool
    archive: tuple[str, ...] = ()


@dataclass
class Plan:
    """What a run has to do: the new units in arrival order, and files to look at again next run."""

    new_units: list[PlannedUnit]
    present: set[str]
    unsettled: list[str] = field(default_factory=list)
    # Whether the set of present files differs from the ledger's (only then is it rewritten).
    present_changed: bool = True


@dataclass(frozen=True)
class Listing:
    """The drop folder as listed at the start of a pass, beside what the ledger knew of it."""

    root: str  # the drop folder, resolved: every file's location is under it
    files: list[DroppedFile]
    known: dict[str, ledger.KnownFile]
    judged: set[str]
    first_run: bool


def read_listing(setup: Setup, engine: Engine) -> Listing:
    """List the drop folder (names, sizes, times, types: nothing is opened) and read what the ledger knew."""
    root = str(setup.drop_folder.resolve())
    files = list_drop_folder(Path(root))
    with ledger.transaction(engine) as connection:
        known = ledger.known_files(connection, setup.year)
        judged = ledger.judged_hashes(connection, setup.year)
        first_run = not ledger.has_runs(connection, setup.year)
    return Listing(root, files, known, judged, first_run)


def plan_collection(setup: Setup, engine: Engine, now: dt.datetime, listing: Listing | None = None) -> Plan:
    """Find units with a file that is new or changed since the ledger last saw it (by size, time, hash).

    The files of those units are read once here (intake.capture), hashed and archived: what is judged
    and kept is exactly what was read. A file that changes meanwhile waits for the next run; one that
    vanished is not in the folder this run. *listing*: read_listing's, if the caller listed already.
    """
    listing = listing or read_listing(setup, engine)
    known = listing.known
    files = {file.relative: file for file in listing.files}
    arrivals = load_arrivals(setup.inputs, setup.year) if listing.first_run else {}
    with _Reading(setup, listing.root) as reading:
        for file in listing.files:
            previous = known.get(file.relative)
            if previous is None or previous.size != file.size or previous.mtime != file.mtime:
                reading.identify(file)
        # A changed file's unit is judged again whole, so its unchanged files (the school's other CSV
        # parts) are read now too: the judges must see the bytes that are archived, not the ledger's word.
        groups = {_group_of(relative) for relative in reading.changed(known)}
        for file in listing.files if groups else ():
            if not reading.has_seen(file) and is_read(file, setup.district.max_file_bytes) and \
                    _group_of(file.relative) in groups:
                reading.identify(file)
    changed = reading.changed(known)
    touched = [(relative, sha, files[relative].mtime) for relative, sha in reading.hashes.items()
               if relative not in changed and known[relative].mtime != files[relative].mtime]
    if touched:
        with ledger.transaction(engine) as connection:
            ledger.touch_files(connection, setup.year, touched)
    present = {relative for relative in files if relative not in reading.absent}
    hashes = {relative: reading.hashes.get(relative) or known[relative].sha256 for relative in present}
    groups = {_group_of(relative) for relative in changed}
    members = [files[relative] for relative in sorted(present) if _group_of(relative) in groups] if groups else []
    units = [Unit(UNRECOGNIZED, (file,), reading.unreadable[file.relative])
             for file in members if file.relative in reading.unreadable]
    units += group_units([file for file in members if file.relative not in reading.unreadable])
    received = _mail_receipts(engine, [file.relative for unit in units for file in unit.files])
    new_units = []
    for unit in units:
        if not any(file.relative in changed for file in unit.files):
            continue
        arrived = max(_arrival(file, listing.first_run, arrivals, received, now) for file in unit.files)
        facts = tuple((file.relative, hashes[file.relative], file.size, file.mtime) for file in unit.files)
        sha = hash_unit([(file.name, hashes[file.relative]) for file in unit.files])
        located = tuple(reading.located(file) for file in unit.files)
        archive = tuple(reading.archived[file.relative] for file in unit.files if file.relative in reading.archived)
        new_units.append(PlannedUnit(replace(unit, files=located), arrived, facts, sha, judge=True, archive=archive))
    new_units.sort(key=lambda planned: (planned.arrived, planned.unit.key))
    judged = set(listing.judged)
    for index, planned in enumerate(new_units):
        if planned.unit.kind != UNRECOGNIZED:
            new_units[index] = replace(planned, judge=planned.sha256 not in judged)
            judged.add(planned.sha256)
    _log_not_reports(new_units)
    present_changed = bool(new_units) or present != {path for path, item in known.items() if item.present}
    return Plan(new_units, present, sorted(reading.unsettled), present_changed)


class _Reading:
    """The files of one plan identified: read once through a descriptor and archived, or, for what is
    never read (intake.discover.is_read), known by name, type and size."""

    def __init__(self, setup: Setup, root: str):
        self.setup = setup
        self.root = root
        self.outputs = Path(os.path.abspath(setup.outputs))  # judges may run elsewhere (a Dask worker)
        self.hashes: dict[str, str] = {}  # relative → sha256 of the bytes read, or unread_identity
        self.archived: dict[str, str] = {}  # relative → its archived copy, relative to outputs
        self.unreadable: dict[str, str] = {}  # relative → why it cannot be read
        self.unsettled: list[str] = []
        self.absent: set[str] = set()  # changing (unsettled) or gone: not in the folder this run
        self._folder: DropFolder | None = None
        self._folder_lost = False

    def __enter__(self) -> _Reading:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._folder is not None:
            self._folder.close()

    def has_seen(self, file: DroppedFile) -> bool:
        return file.relative in self.hashes or file.relative in self.absent

    def changed(self, known: dict[str, ledger.KnownFile]) -> set[str]:
        return {relative for relative, sha in self.hashes.items()
                if relative not in known or known[relative].sha256 != sha}

    def identify(self, file: DroppedFile) -> None:
        if not is_read(file, self.setup.district.max_file_bytes):
            self.hashes[file.relative] = unread_identity(file)
            return
        captured = self._capture(file)
        if isinstance(captured, Captured):
            sha = hashlib.sha256(captured.data).hexdigest()
            self.hashes[file.relative] = sha
            self.archived[file.relative] = archive_bytes(captured.data, sha, file.name, self.setup.outputs,
                                                         self.setup.year)
        elif isinstance(captured, Unreadable):
            self.hashes[file.relative] = unread_identity(file)
            self.unreadable[file.relative] = captured.reason
        else:
            self.absent.add(file.relative)
            if isinstance(captured, Changing):
                self.unsettled.append(file.relative)

    def located(self, file: DroppedFile) -> DroppedFile:
        """*file* as the judges see it: at its archived copy if it was read."""
        archived = self.archived.get(file.relative)
        return file if archived is None else replace(file, location=str(self.outputs / archived))

    def _capture(self, file: DroppedFile) -> Captured | Changing | Gone | Unreadable:
        if self._folder is None and not self._folder_lost:
            try:
                self._folder = DropFolder(self.root)
            except OSError:
                self._folder_lost = True  # the drop folder itself went away or became a link: next run
        if self._folder is None:
            return Changing()
        return self._folder.capture(file)


def _log_not_reports(new_units: list[PlannedUnit]) -> None:
    """One line for the new files that are not reports, however many: each has its page and its status."""
    names = [planned.unit.key for planned in new_units if planned.unit.kind == UNRECOGNIZED]
    if names:
        shown = ", ".join(f"«{name}»" for name in names[:NAMED_IN_SUMMARY])
        more = f" и ещё {len(names) - NAMED_IN_SUMMARY}" if len(names) > NAMED_IN_SUMMARY else ""
        # A lock file or two is daily life (the status counts them); a heap of them is worth a look.
        level = logging.WARNING if len(names) >= JUNK_WORTH_A_WARNING else logging.INFO
        log.log(level, "Новых файлов не распознано как отчёт: %d (%s%s); у каждого — страница ответа и статус "
                "«не распознан».", len(names), shown, more)


def _group_of(relative: str) -> tuple[str, ...]:
    """Files that may form one unit (CSV parts: csv_group, as group_units groups them; any other file:
    itself), told from the name alone: grouping looks at every file's type."""
    if relative.lower().endswith(".csv"):
        return (CSV_GROUP, *csv_group(relative))
    return (relative,)


def _mail_receipts(engine: Engine, paths: list[str]) -> dict[str, dt.datetime]:
    """When the messages that left any of *paths* in the drop folder were received (mail intake records it)."""
    if not paths:
        return {}
    with ledger.transaction(engine) as connection:
        return ledger.mail_arrivals(connection, paths)


def _arrival(file: DroppedFile, first_run: bool, arrivals: dict[str, dt.datetime],
             received: dict[str, dt.datetime], now: dt.datetime) -> dt.datetime:
    """A file arrives when a run first sees it; on a campaign's first run, when it was last modified.

    A mail attachment arrived when its message was received, whichever run sees it first.
    """
    if file.relative in received:
        return min(received[file.relative], now)
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


