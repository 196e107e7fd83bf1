"""Inspect a file's container before any parser sees it: limits, zip bombs, DTDs, empty formulas.

A parser (python-calamine) can abort the whole process on a hostile workbook (a huge declared range
or a huge string: calamine #693), so everything here uses only the standard library and reads the
archive in bounded chunks.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_ZIP_MEMBERS = 200
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 150
MAX_COLUMNS = 100  # the widest sheet has 10 columns; anything past column CV is not a report
_CHUNK = 1024 * 1024

_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"')
_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*?)(/>|>(.*?)</(?:\w+:)?c>)', re.S)
_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]")
_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_SHEET_ALT = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]*)"[^>]*?\bname="([^"]*)"')
_REL = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
_REL_ALT = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)


class PreflightError(Exception):
    """The file must not be parsed. *code* is S01 (unreadable) or S07 (over the limits)."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class WorkbookFacts:
    """What the container told us: per sheet name, the cells holding a formula with no cached value."""

    empty_formulas: dict[str, list[str]] = field(default_factory=dict)


def check_file(path: Path, max_bytes: int, max_rows: int) -> WorkbookFacts:
    """Raise PreflightError if *path* must not be parsed; return the facts learned on the way."""
    size = path.stat().st_size
    if size == 0:
        raise PreflightError("S01", "файл пустой")
    if size > max_bytes:
        raise PreflightError("S07", f"размер файла {size / 1024 / 1024:.1f} МБ")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".ods"):
        return _check_zip(path, suffix, max_rows)
    if suffix == ".xls":
        _check_ole(path)
    return WorkbookFacts()


def _check_ole(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if head != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise PreflightError("S01", "файл не является книгой Excel 97–2003 (.xls)")


def _check_zip(path: Path, suffix: str, max_rows: int) -> WorkbookFacts:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise PreflightError("S01", "файл повреждён или не является книгой Excel/LibreOffice") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise PreflightError("S07", f"в архиве книги {len(members)} частей")
        names = {member.filename for member in members}
        if "EncryptedPackage" in names or any(m.flag_bits & 0x1 for m in members):
            raise PreflightError("S01", "книга защищена паролем")
        declared = sum(member.file_size for member in members)
        if declared > MAX_UNCOMPRESSED_BYTES:
            raise PreflightError("S07", f"после распаковки книга заняла бы {declared // 1024 // 1024} МБ")
        if suffix == ".ods":
            if "content.xml" not in names:
                raise PreflightError("S01", "файл не является таблицей OpenDocument (.ods)")
            for member in members:
                _scan_member(archive, member, max_rows, None)
            return WorkbookFacts()
        if "xl/workbook.xml" not in names:
            raise PreflightError("S01", "файл не является книгой Excel (.xlsx)")
        sheet_names = _sheet_paths(archive)
        facts = WorkbookFacts()
        for member in members:
            sheet = sheet_names.get(member.filename)
            empty = _scan_member(archive, member, max_rows, sheet)
            if sheet is not None and empty:
                facts.empty_formulas[sheet] = empty
        return facts


def _scan_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, max_rows: int,
                 sheet: str | None) -> list[str]:
    """Read one member in chunks, checking its real size, ratio, DTDs and (for sheets) the extent."""
    real = 0
    empty_formulas: list[str] = []
    tail = b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                real += len(chunk)
                if real > MAX_UNCOMPRESSED_BYTES or (
                    real > 10 * _CHUNK and real > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
                ):
                    raise PreflightError("S07", "книга содержит сжатые данные недопустимого объёма")
                text = tail + chunk
                if _DTD.search(text):
                    raise PreflightError("S01", "книга содержит недопустимые XML-конструкции (DTD)")
                if member.filename.endswith(".xml"):
                    # Keep the last partial element so a tag split between chunks is still seen.
                    cut = text.rfind(b"<")
                    complete, tail = (text[:cut], text[cut:]) if cut > 0 else (text, b"")
                    if len(tail) > _CHUNK:  # one huge element (a giant string): nothing to look into
                        tail = b""
                    _check_extent(complete, max_rows)
                    if sheet is not None:
                        empty_formulas.extend(_empty_formula_cells(complete))
    except PreflightError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as error:
        reason = "книга защищена паролем" if "password" in str(error).lower() else "архив книги повреждён"
        raise PreflightError("S01", reason) from None
    return empty_formulas


def _check_extent(xml: bytes, max_rows: int) -> None:
    for match in _ROW.finditer(xml):
        if int(match.group(1)) > max_rows + 1:
            raise PreflightError("S07", f"на листе более {max_rows} строк")
    for match in _REF.finditer(xml):
        if int(match.group(2)) > max_rows + 1:
            raise PreflightError("S07", f"на листе более {max_rows} строк")
        if _column_number(match.group(1)) > MAX_COLUMNS:
            raise PreflightError("S07", f"на листе заполнены столбцы дальше {MAX_COLUMNS}-го")


def _empty_formula_cells(xml: bytes) -> list[str]:
    cells = []
    for match in _CELL.finditer(xml):
        body = match.group(3) or b""
        if _FORMULA.search(body) and not _VALUE.search(body):
            ref = _REF.search(match.group(1))
            if ref:
                cells.append((ref.group(1) + ref.group(2)).decode())
    return cells


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
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
