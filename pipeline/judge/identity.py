"""Which schools a file's own name and folders point at, so a report sent under another school's name is told (S10)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from pipeline import findings as catalogue
from pipeline.district.register import School
from pipeline.findings import Finding
from pipeline.intake.read import FILE_SHEET

# Spans of the characters a Код ОО is made of, apart from «_», which file names use as a separator
# (REPORT_FORMAT §3 suggests «<Код ОО>_ИБЦ_<N>.xlsx»); a code with «_» is still found as a whole part.
_CODE_SPAN = re.compile(r"[0-9A-Za-zА-Яа-яЁё-]+")


def named_schools(relative: str, register: dict[str, School]) -> set[str]:
    """Codes of the register that a path relative to the drop folder names in a folder or in the file name."""
    candidates: set[str] = set()
    for part in PurePosixPath(relative).parts:
        stem = PurePosixPath(part).stem
        candidates.update((stem, *stem.split("_"), *_CODE_SPAN.findall(stem)))
    return {candidate for candidate in candidates if candidate in register}


def check_named_school(paths: list[str], school: str | None, register: dict[str, School]) -> list[Finding]:
    """S10: the file names another school than the one its «Титул» gives (the content decides; both are told)."""
    if school is None:
        return []
    others = sorted(set().union(*(named_schools(path, register) for path in paths)) - {school})
    if not others:
        return []
    return [catalogue.build("S10", FILE_SHEET, "", value=", ".join(paths), named=", ".join(others), school=school)]
