"""Inspect a file's container before any parser sees it: limits, zip bombs, DTDs, encryption, empty formulas."""

# A parser (python-calamine) can abort the whole process on a hostile workbook (a huge declared range
# or a huge string: calamine #693), so everything here uses only the standard library and reads the
# archive in bounded chunks. This is the first layer; parsing in a memory- and time-limited worker
# process (pipeline.intake.isolation) is the second, for whatever gets past it.

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.intake.refusal import PreflightError
from pipeline.intake.sheet_extent import CellBudget, OdsExtent, SheetExtent
from pipeline.intake.sheet_names import sheet_paths

# The parts of a workbook other than its worksheets (a report has about 15). Worksheets are not counted
# here: a sheet beyond the form is an S09 warning, and what sheets cost to read is bounded by sheet_extent.MAX_CELLS.
MAX_ZIP_MEMBERS = 200
# Every part at all bounds the zip directory and the per-part scan: ≈ 5,000 sheets, far past any workbook
# a person keeps (4,900 one-row sheets were checked and read in 1.3 s, measured).
MAX_ARCHIVE_MEMBERS = 10_000
WORKSHEETS_FOLDER = "xl/worksheets/"
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024  # the whole archive, as declared
# One XML part, as really inflated. A 5,000-row sheet of ten columns is ≈ 3 MB of XML (≈ 8 MB in .ods).
MAX_XML_MEMBER_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 150
# Excel keeps at most 32,767 characters in a cell (≤ 200 KB even fully escaped), and markup has a «<»
# every few dozen bytes: a longer run without one is a giant string (calamine aborts on 400 MB ones).
MAX_TEXT_RUN = 1024 * 1024
_CHUNK = 1024 * 1024

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_XML_SUFFIXES = (".xml", ".rels", ".vml", ".rdf")
# An encrypted OOXML workbook is an OLE container with this stream (MS-OFFCRYPTO §2.3.4); its name
# sits in the OLE directory in UTF-16LE.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
# BIFF8: the workbook globals start with BOF (0x0809, 16 bytes, version 0x0600, type 0x0005); a password
# puts FILEPASS (0x002F) right after it. calamine raises PasswordError for RC4 but read an XOR-obfuscated
# book as if it were plain (measured), so preflight looks itself.
_BIFF_GLOBALS_BOF = b"\x09\x08\x10\x00\x00\x06\x05\x00"
_BIFF_FILEPASS = b"\x2f\x00"

_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)
_DTD_OVERLAP = 16  # longer than «<!DOCTYPE»: a marker split between two chunks is still seen

PASSWORD = "книга защищена паролем"
_SAVE_AS_CSV = "сохраните его в Excel как «CSV UTF-8 (разделитель — запятая)»"


@dataclass
class WorkbookFacts:
    """What the container told us: per sheet name, the cells holding a formula with no cached value."""

    empty_formulas: dict[str, list[str]] = field(default_factory=dict)


def size_reason(size: int) -> str:
    """The S07 reason for a file of *size* bytes over the limit (also for files refused before preflight)."""
    return f"размер файла {size / 1024 / 1024:.1f} МБ".replace(".", ",")


def check_file(path: Path, max_bytes: int, max_rows: int) -> WorkbookFacts:
    """Raise PreflightError if *path* must not be parsed; return the facts learned on the way."""
    size = path.stat().st_size
    if size == 0:
        raise PreflightError("S01", "файл пустой")
    if size > max_bytes:
        raise PreflightError("S07", size_reason(size))
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(4096)
    if suffix in (".xlsx", ".xlsm", ".ods"):
        if head.startswith(OLE_MAGIC):
            _check_ole(path, suffix)
        return _check_zip(path, suffix, max_rows)
    if suffix == ".xls":
        if not head.startswith(OLE_MAGIC):
            raise PreflightError("S01", "файл не является книгой Excel 97–2003 (.xls)")
        _check_ole(path, suffix)
    if suffix == ".csv":
        _check_csv_head(head)
    return WorkbookFacts()


def _check_ole(path: Path, suffix: str) -> None:
    """An OLE container: an encrypted workbook of any age, or an .xls under another name."""
    data = path.read_bytes()  # at most max_bytes, checked above
    if _ENCRYPTED_PACKAGE in data:
        raise PreflightError("S01", PASSWORD)
    if suffix != ".xls":
        raise PreflightError("S01", f"это книга Excel 97–2003 (.xls) с расширением {suffix}")
    start = data.find(_BIFF_GLOBALS_BOF)
    while start != -1 and start % 512:  # a stream starts on a sector boundary
        start = data.find(_BIFF_GLOBALS_BOF, start + 1)
    if start != -1 and data[start + 20:start + 22] == _BIFF_FILEPASS:
        raise PreflightError("S01", PASSWORD)


def _check_csv_head(head: bytes) -> None:
    if head.startswith((ZIP_MAGIC, OLE_MAGIC)):
        raise PreflightError("S01", "это книга Excel, а не текстовый файл CSV; " + _SAVE_AS_CSV)
    # Excel's «Unicode text» and «CSV UTF-16» start with a byte order mark; read.py decodes only UTF-8
    # and Windows-1251, and would call the file binary.
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PreflightError("S01", "файл в кодировке UTF-16, а не UTF-8 или Windows-1251; " + _SAVE_AS_CSV)
    if b"\x00" in head:
        raise PreflightError("S01", "файл не является текстовым CSV; " + _SAVE_AS_CSV)


def _check_zip(path: Path, suffix: str, max_rows: int) -> WorkbookFacts:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise PreflightError("S01", "файл повреждён или не является книгой Excel/LibreOffice") from None
    with archive:
        members = archive.infolist()
        others = sum(1 for member in members if not member.filename.startswith(WORKSHEETS_FOLDER))
        if len(members) > MAX_ARCHIVE_MEMBERS or others > MAX_ZIP_MEMBERS:
            raise PreflightError("S07", f"в архиве книги {len(members)} частей")
        names = {member.filename for member in members}
        if "EncryptedPackage" in names or any(m.flag_bits & 0x1 for m in members):
            raise PreflightError("S01", PASSWORD)
        declared = sum(member.file_size for member in members)
        if declared > MAX_UNCOMPRESSED_BYTES:
            raise PreflightError("S07", f"после распаковки книга заняла бы {declared // 1024 // 1024} МБ")
        budget = CellBudget()
        if suffix == ".ods":
            if "content.xml" not in names:
                raise PreflightError("S01", "файл не является таблицей OpenDocument (.ods)")
            for member in members:
                extent = OdsExtent(max_rows, budget) if member.filename == "content.xml" else None
                _scan_member(archive, member, extent)
            return WorkbookFacts()
        if "xl/workbook.xml" not in names:
            raise PreflightError("S01", "файл не является книгой Excel (.xlsx)")
        empty_formulas: dict[str, list[str]] = {}
        for member in members:
            # Every XML part is followed as a sheet: a worksheet can hide behind an odd relationship target.
            extent = SheetExtent(max_rows, budget) if member.filename.lower().endswith(_XML_SUFFIXES) else None
            _scan_member(archive, member, extent)
            if extent is not None and extent.empty_formulas:
                empty_formulas[member.filename] = extent.empty_formulas
        # Only now, with every part known to be small and DTD-free, are parts read whole.
        sheet_names = sheet_paths(archive)
        return WorkbookFacts({sheet_names[path]: cells for path, cells in empty_formulas.items()
                              if path in sheet_names})


def _scan_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, extent: SheetExtent | OdsExtent | None) -> None:
    """Read one member in chunks: real size and ratio, DTDs, encoding, giant strings, the cell extent."""
    is_xml = member.filename.lower().endswith(_XML_SUFFIXES)
    real = 0
    overlap = b""
    tail = b""  # an XML tag cut by the chunk boundary, carried to the next chunk
    run = 0  # bytes since the last «<»
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                if real == 0 and is_xml:
                    _check_xml_encoding(chunk)
                real += len(chunk)
                _check_size(member, real, is_xml)
                if _DTD.search(overlap + chunk):
                    raise PreflightError("S01", "книга содержит недопустимые XML-конструкции (DTD)")
                overlap = chunk[-_DTD_OVERLAP:]
                if not is_xml:
                    continue
                run = _check_text_run(chunk, run)
                text = tail + chunk
                cut = text.rfind(b"<")
                # A tag cannot grow without bound here: the text-run check above caps it at MAX_TEXT_RUN.
                complete, tail = (text[:cut], text[cut:]) if cut != -1 else (text, b"")
                if extent is not None:
                    extent.feed(complete, to_the_end=real == member.file_size)
            if extent is not None and tail:
                extent.feed(tail)
            if extent is not None:
                extent.finish()
    except PreflightError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError, NotImplementedError) as error:
        # RuntimeError is zipfile's «password required»; NotImplementedError an unknown compression.
        reason = PASSWORD if "password" in str(error).lower() else "архив книги повреждён"
        raise PreflightError("S01", reason) from None


def _check_size(member: zipfile.ZipInfo, real: int, is_xml: bool) -> None:
    # zipfile stops at the declared size and checks the CRC, so a member cannot inflate past what the
    # directory declares; the ratio catches bombs that declare honestly but stay under the total.
    limit = MAX_XML_MEMBER_BYTES if is_xml else MAX_UNCOMPRESSED_BYTES
    if real > limit:
        megabytes = limit // 1024 // 1024
        raise PreflightError("S07", f"часть книги «{member.filename}» после распаковки больше {megabytes} МБ")
    if real > 10 * _CHUNK and real > MAX_COMPRESSION_RATIO * max(member.compress_size, 1):
        raise PreflightError("S07", "книга содержит сжатые данные недопустимого объёма")


def _check_xml_encoding(first: bytes) -> None:
    # Office writes UTF-8 only; a UTF-16/32 part would hide a DTD from the byte-level search above.
    if first.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first[:4]:
        raise PreflightError("S01", "часть книги записана в недопустимой кодировке")


def _check_text_run(chunk: bytes, run: int) -> int:
    """Return the bytes since the last «<» after *chunk*; raise if a run is longer than MAX_TEXT_RUN."""
    # A run inside one chunk is at most _CHUNK = MAX_TEXT_RUN long, so only runs crossing a boundary count.
    first = chunk.find(b"<")
    if first == -1:
        run += len(chunk)
    else:
        if run + first > MAX_TEXT_RUN:
            raise PreflightError("S07", "в книге есть текст длиннее допустимого")
        run = len(chunk) - chunk.rfind(b"<") - 1
    if run > MAX_TEXT_RUN:
        raise PreflightError("S07", "в книге есть текст длиннее допустимого")
    return run
