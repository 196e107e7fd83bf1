"""Name the worksheets of an .xlsx archive: the workbook's sheet list joined to its relationships."""

# Read only after preflight has scanned every part (small, DTD-free), with regular expressions: the
# parts are the school's, and no XML parser sees them before calamine does.

from __future__ import annotations

import re
import zipfile
from pathlib import PurePosixPath

_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_SHEET_ALT = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]*)"[^>]*?\bname="([^"]*)"')
_REL = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
_REL_ALT = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')


def sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Map each worksheet's XML path in the archive to the sheet's name."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    ids = {rid: name for name, rid in _SHEET.findall(workbook)}
    ids.update({rid: name for rid, name in _SHEET_ALT.findall(workbook)})
    targets = {rid: target for target, rid in _REL.findall(rels)}
    targets.update({rid: target for rid, target in _REL_ALT.findall(rels)})
    paths = {}
    for rid, name in ids.items():
        target = targets.get(rid)
        if target is None:
            continue
        text = target.decode("utf-8", "replace")
        path = text.lstrip("/") if text.startswith("/") else str(PurePosixPath("xl") / text)
        paths[path] = _unescape(name.decode("utf-8", "replace"))
    return paths


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))
