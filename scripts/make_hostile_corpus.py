"""Write the corpus of hostile, broken and odd files that tests/test_hostile.py judges, with its manifest."""

# .venv/bin/python scripts/make_hostile_corpus.py                # the small files, into tests/data/hostile/
# .venv/bin/python scripts/make_hostile_corpus.py --big --out D  # only the big ones (the tests do this)
#
# Every file is built from the correct report of tests/conftest.py (school 70-001, campaign 2025) and
# then broken on purpose, byte for byte the same on every run: zip entries carry a fixed date, and
# document properties a fixed time. The manifest (expected.csv: file;status;code) says what judging each
# file must give: its status, and the code of its first finding (none for a clean accepted file). A CSV
# part is judged with the other parts of its group, so all parts of a group share one verdict.

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import re
import struct
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT / "tests"), str(PROJECT)]

import pandas as pd  # noqa: E402
import xlwt  # noqa: E402
from conftest import good_report, set_cell, write_csv_parts, write_xlsx  # noqa: E402

from pipeline.district.roadmap import District, load_district  # noqa: E402

CORPUS = PROJECT / "tests" / "data" / "hostile"
MANIFEST = "expected.csv"
ACCEPTED, REJECTED, UNRECOGNIZED = "accepted", "rejected", "unrecognized"
Report = dict[str, list[list[Any]]]
Row = tuple[str, str, str]

_DATE = (2025, 5, 15, 12, 0, 0)  # every zip entry's time: the corpus must not change when regenerated
_STAMP = b"2025-05-15T12:00:00"
# openpyxl's sheet parts, in the order of good_report()
TITLE, ROADMAP, AWARDS, INDICATORS = (f"xl/worksheets/sheet{number}.xml" for number in (1, 2, 5, 6))
MIB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CORPUS)
    parser.add_argument("--big", action="store_true", help="write only the big files (generated at test time)")
    args = parser.parse_args(argv)
    district = load_district(PROJECT / "inputs")
    rows = write_big_files(args.out, district) if args.big else write_corpus(args.out, district)
    print(f"{len(rows)} files in {args.out}")
    return 0


def write_corpus(folder: Path, district: District) -> list[Row]:
    """Write the small files and their manifest into *folder* (emptied first); return the manifest rows."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file() or old.is_symlink():
            old.unlink()
    rows: list[Row] = []
    for name, status, code, build in _small_files(district):
        (folder / name).write_bytes(build())
        rows.append((name, status, code))
    os.symlink("/etc/passwd", folder / "ссылка_за_пределы_папки.xlsx")
    rows.append(("ссылка_за_пределы_папки.xlsx", UNRECOGNIZED, "S01"))
    for name in _write_csv_group(folder, district):
        rows.append((name, ACCEPTED, ""))
    rows.sort()
    with (folder / MANIFEST).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(("file", "status", "code"))
        writer.writerows(rows)
    return rows


def write_big_files(folder: Path, district: District) -> list[Row]:
    """Write the files too big to keep in git into *folder*; return their manifest rows."""
    folder.mkdir(parents=True, exist_ok=True)
    over_limit = folder / "больше_10_МБ.xlsx"
    with over_limit.open("wb") as handle:
        handle.truncate(11 * MIB)
    # 9 M random letters: deflate gets them only to ≈ 5.5 MB, under both the file size and ratio limits.
    letters = random.Random(9).randbytes(9 * MIB).translate(bytes(97 + byte % 26 for byte in range(256)))
    (folder / "одна_строка_9_млн_случайных_букв.xlsx").write_bytes(_with_shared_string(district, letters))
    return [("больше_10_МБ.xlsx", REJECTED, "S07"), ("одна_строка_9_млн_случайных_букв.xlsx", REJECTED, "S07")]


def read_manifest(folder: Path) -> list[Row]:
    with (folder / MANIFEST).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        return [(name, status, code) for name, status, code in reader]


def _small_files(district: District) -> list[tuple[str, str, str, Callable[[], bytes]]]:
    """(file name, status, first code, builder) for every file that is not a CSV part or a symlink."""
    # Broken copies of these differ from each other; whole copies get their own comment, so that no two
    # files of the corpus are identical (a collection would judge the second one a duplicate).
    good = _xlsx(district)
    ods = _ods(district)
    xls = _xls(district)

    def far(cell: bytes) -> Callable[[], bytes]:
        return lambda: _patch(good, AWARDS, lambda xml: xml.replace(b"</sheetData>", cell + b"</sheetData>"))

    def with_doctype(member: str, doctype: bytes, source: bytes = good) -> Callable[[], bytes]:
        return lambda: _patch(source, member, lambda xml: _before_root(xml, doctype))

    long_name = ("Отчёт ИБЦ МБОУ Тестовая СОШ 70-001 за 2025 год, окончательная редакция, "
                 "согласовано с директором школы.xlsx")
    assert len(long_name.encode()) <= 255, "a longer name cannot exist on ext4"
    return [
        # Correct reports in every format and under awkward names: accepted, nothing to say.
        ("70-001_ИБЦ_2025.xlsx", ACCEPTED, "", lambda: _xlsx(district, "базовый")),
        (long_name, ACCEPTED, "", lambda: _xlsx(district, "длинное имя")),
        ("отчёт школы 70-001 (копия 2).xlsx", ACCEPTED, "", lambda: _xlsx(district, "пробелы в имени")),
        ("70-001_ИБЦ_2025.xls", ACCEPTED, "", lambda: _xls(district, "xls")),
        ("70-001_ИБЦ_2025.ods", ACCEPTED, "", lambda: _ods(district, "ods")),
        ("текст_с_DOCTYPE_и_script_в_ячейке.xlsx", ACCEPTED, "", lambda: _xlsx(
            district, '<!DOCTYPE x [<!ENTITY a "b">]> <script>alert(1)</script> {{ 7*7 }} =cmd|\' /C calc\'!A0')),
        ("формула_со_значением.xlsx", ACCEPTED, "", lambda: _patch(good, INDICATORS, _cached_formula)),
        ("5000_строк_ровно_по_пределу.xlsx", ACCEPTED, "", lambda: _xlsx_with_awards(district, 4999)),
        ("пустая_строка_1048576.xlsx", ACCEPTED, "", far(b'<row r="1048576"/>')),
        ("пустая_ячейка_с_форматом_XFD1048576.xlsx", ACCEPTED, "",
         far(b'<row r="1048576"><c r="XFD1048576" s="0"/></row>')),
        ("libreoffice_хвост_пустых_строк.ods", ACCEPTED, "", lambda: _patch(ods, "content.xml", _ods_row(
            b'<table:table-row table:number-rows-repeated="1048570">'
            b'<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'))),
        # Not a readable workbook: S01.
        ("пустой.xlsx", REJECTED, "S01", lambda: b""),
        ("текст_под_именем.xlsx", REJECTED, "S01", lambda: "это не книга: текст под именем .xlsx\n".encode()),
        ("текст_под_именем.xls", REJECTED, "S01", lambda: "это не книга: текст под именем .xls\n".encode()),
        ("текст_под_именем.ods", REJECTED, "S01", lambda: "это не книга: текст под именем .ods\n".encode()),
        ("обрезан_наполовину.xlsx", REJECTED, "S01", lambda: good[:len(good) // 2]),
        ("обрезан_наполовину.xls", REJECTED, "S01", lambda: xls[:len(xls) // 2]),
        ("обрезан_наполовину.ods", REJECTED, "S01", lambda: ods[:len(ods) // 2]),
        ("xls_под_именем.xlsx", REJECTED, "S01", lambda: _xls(district, "xls под именем xlsx")),
        ("xlsx_под_именем.xls", REJECTED, "S01", lambda: _xlsx(district, "xlsx под именем xls")),
        ("xlsx_под_именем.ods", REJECTED, "S01", lambda: _xlsx(district, "xlsx под именем ods")),
        ("ods_под_именем.xlsx", REJECTED, "S01", lambda: _ods(district, "ods под именем xlsx")),
        ("zip_без_книги.xlsx", REJECTED, "S01", lambda: _zip({"readme.txt": "пусто".encode()})),
        ("пароль_ooxml_EncryptedPackage.xlsx", REJECTED, "S01", _encrypted_ooxml),
        ("пароль_rc4.xls", REJECTED, "S01", lambda: _xls_filepass(xls, rc4=True)),
        ("пароль_xor.xls", REJECTED, "S01", lambda: _xls_filepass(xls, rc4=False)),
        ("zip_с_шифрованной_частью.xlsx", REJECTED, "S01", lambda: _zip_flag_encrypted(good, AWARDS)),
        ("zip_размер_занижен.xlsx", REJECTED, "S01", lambda: _zip_declare_size(good, ROADMAP, 100)),
        ("entity_bomb_billion_laughs.xlsx", REJECTED, "S01", with_doctype("xl/workbook.xml", _BILLION_LAUGHS)),
        ("external_entity_xxe.xlsx", REJECTED, "S01", with_doctype(TITLE, _XXE)),
        ("doctype_в_rels.xlsx", REJECTED, "S01", with_doctype("_rels/.rels", _XXE)),
        ("doctype_после_комментария_1_МБ.xlsx", REJECTED, "S01", lambda: _patch(good, TITLE, _doctype_at_chunk_edge)),
        ("лист_в_utf16.xlsx", REJECTED, "S01", lambda: _patch(good, AWARDS, _to_utf16)),
        ("entity_bomb_billion_laughs.ods", REJECTED, "S01", with_doctype("content.xml", _BILLION_LAUGHS, ods)),
        ("external_entity_xxe.ods", REJECTED, "S01", with_doctype("content.xml", _XXE, ods)),
        ("utf16_Титул.csv", REJECTED, "S01", lambda: _utf16_csv(district)),
        ("книга_под_именем.csv", REJECTED, "S01", lambda: _xlsx(district, "xlsx под именем csv")),
        ("формула_без_значения.xlsx", REJECTED, "V09", lambda: _xlsx_formula(district)),
        # Over the limits, or a trap for the parser's memory: S07, decided before any parser runs.
        ("A1_и_XFD1048576.xlsx", REJECTED, "S07", far(b'<row r="1048576">' + _CELL % b"XFD1048576" + b"</row>")),
        ("ссылка_строчными_xfd1048576.xlsx", REJECTED, "S07", far(b'<row r="3">' + _CELL % b"xfd1048576" + b"</row>")),
        ("ссылка_в_одинарных_кавычках.xlsx", REJECTED, "S07", far(
            b"<row r='3'><c r='XFD1048576' t='inlineStr'><is><t>x</t></is></c></row>")),
        ("ячейка_без_r_в_строке_1048576.xlsx", REJECTED, "S07", far(b'<row r="1048576"><c><v>1</v></c></row>')),
        ("столбец_ZZZZ.xlsx", REJECTED, "S07", far(b'<row r="3">' + _CELL % b"ZZZZ3" + b"</row>")),
        ("5001_строка.xlsx", REJECTED, "S07", lambda: _xlsx_with_awards(district, 5000)),
        # 48 MB of empty elements: under every size limit, caught by the compression ratio.
        ("zip_bomb_48_МБ_пустых_тегов.xlsx", REJECTED, "S07", lambda: _patch(
            good, AWARDS, lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + b"<x/>" * (12 * MIB)))),
        ("zip_заявлено_200_МБ.xlsx", REJECTED, "S07", lambda: _zip_declare_size(good, ROADMAP, 200 * MIB)),
        ("zip_300_частей.xlsx", REJECTED, "S07", lambda: _with_members(good, 300)),
        ("одна_строка_50_МБ.xlsx", REJECTED, "S07", lambda: _with_shared_string(district, b"a" * (50 * MIB))),
        ("ods_ячейка_повторена_16384_раз.ods", REJECTED, "S07", lambda: _patch(ods, "content.xml", _ods_row(
            b"<table:table-row>" + _ODS_CELL % b' table:number-columns-repeated="16384"' + b"</table:table-row>"))),
        ("ods_строка_повторена_1048570_раз.ods", REJECTED, "S07", lambda: _patch(ods, "content.xml", _ods_row(
            b'<table:table-row table:number-rows-repeated="1048570">' + _ODS_CELL % b"" + b"</table:table-row>"))),
        ("ods_5001_строка_повтором.ods", REJECTED, "S07", lambda: _patch(ods, "content.xml", _ods_row(
            b'<table:table-row table:number-rows-repeated="5000">' + _ODS_CELL % b"" + b"</table:table-row>"))),
        # Never opened: lock files, hidden files, other documents.
        ("~$70-001_ИБЦ_2025.xlsx", UNRECOGNIZED, "S01", lambda: b"\x0bIvanova I.I." + b"\x00" * 153),
        (".~lock.70-001_ИБЦ_2025.ods#", UNRECOGNIZED, "S01", lambda: b"Ivanova,school-pc,ivanova,15.05.2025 12:00;"),
        (".скрытый.xlsx", UNRECOGNIZED, "S01", lambda: _xlsx(district, "скрытый")),
        ("инструкция.pdf", UNRECOGNIZED, "S01", lambda: b"%PDF-1.4\n%%EOF\n"),
    ]


_CELL = b'<c r="%s" t="inlineStr"><is><t>x</t></is></c>'
_ODS_CELL = (b'<table:table-cell office:value-type="string" office:string-value="x"%s>'
             b"<text:p>x</text:p></table:table-cell>")
# Each entity is ten of the one before: «&lol9;» would expand to 10⁹ «lol»s.
_BILLION_LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
                   + b"".join(b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10)
                              for level in range(1, 10))
                   + b"]>")
_XXE = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _report(district: District, comment: str = "") -> Report:
    report = good_report(district)
    if comment:
        # A distinct comment gives every correct file its own content (identical ones would be duplicates).
        set_cell(report, "Дорожная карта", "J2", comment)
    return report


def _xlsx(district: District, comment: str = "") -> bytes:
    return _to_bytes(lambda path: write_xlsx(_report(district, comment), path), ".xlsx")


def _xlsx_with_awards(district: District, extra: int) -> bytes:
    report = _report(district, f"{extra} строк")
    for number in range(extra):
        report["Поощрения"].append([f"Сотрудник {number % 2 + 1}", "благодарность", "ОО", "получено", "01.03.2025"])
    return _to_bytes(lambda path: write_xlsx(report, path), ".xlsx")


def _xlsx_formula(district: District) -> bytes:
    report = _report(district)
    set_cell(report, "Показатели", "D2", "=400+100")  # openpyxl writes a formula with no cached value
    return _to_bytes(lambda path: write_xlsx(report, path), ".xlsx")


def _ods(district: District, comment: str = "") -> bytes:
    def write(path: Path) -> None:
        with pd.ExcelWriter(path, engine="odf") as writer:
            for name, rows in _report(district, comment).items():
                pd.DataFrame(rows[1:], columns=rows[0]).to_excel(writer, sheet_name=name, index=False)
    return _to_bytes(write, ".ods")


def _xls(district: District, comment: str = "") -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    for name, rows in _report(district, comment).items():
        sheet = book.add_sheet(name)
        for row_number, row in enumerate(rows):
            for column, value in enumerate(row):
                if value != "":
                    sheet.write(row_number, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _to_bytes(write: Callable[[Path], Any], suffix: str) -> bytes:
    """Run a writer that wants a path; return what it wrote, made reproducible."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"book{suffix}"
        write(path)
        return _rezip(path.read_bytes())


def _rezip(data: bytes, change: Callable[[str, bytes], bytes] | None = None,
           extra: dict[str, bytes] | None = None) -> bytes:
    """Copy a zip with fixed entry times and document dates; *change* may rewrite any member."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename in ("docProps/core.xml", "meta.xml"):
                content = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?", _STAMP, content)
            if change is not None:
                content = change(item.filename, content)
            target.writestr(zipfile.ZipInfo(item.filename, _DATE), content, compress_type=item.compress_type)
        for name, content in (extra or {}).items():
            target.writestr(zipfile.ZipInfo(name, _DATE), content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, content in members.items():
            target.writestr(zipfile.ZipInfo(name, _DATE), content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _patch(data: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    return _rezip(data, lambda name, content: change(content) if name == member else content)


def _before_root(xml: bytes, doctype: bytes) -> bytes:
    """Put *doctype* where XML allows it: after the declaration, before the root element."""
    declaration = re.match(rb"<\?xml[^>]*\?>\s*", xml)
    at = declaration.end() if declaration else 0
    return xml[:at] + doctype + xml[at:]


def _doctype_at_chunk_edge(xml: bytes) -> bytes:
    # preflight reads 1 MiB chunks: «<!DOCTYPE» starts 4 bytes before the edge, so it is cut in two.
    padding = MIB - 4 - len(b"<!--") - len(b"-->")
    return b"<!--" + b"x" * padding + b"-->" + _XXE + xml


def _to_utf16(xml: bytes) -> bytes:
    text = xml.decode("utf-8")
    text = re.sub(r"^<\?xml[^>]*\?>", "", text)
    return ('<?xml version="1.0" encoding="UTF-16"?>' + _XXE.decode() + text).encode("utf-16")


def _cached_formula(xml: bytes) -> bytes:
    # Показатели!D2 is P01 = 500: a formula with its cached value, as Excel and LibreOffice save it.
    cell = re.search(rb'<c r="D2"[^>]*?(/>|>.*?</c>)', xml, re.S)
    assert cell, "Показатели has a D2"
    return xml[:cell.start()] + b'<c r="D2"><f>400+100</f><v>500</v></c>' + xml[cell.end():]


def _ods_row(row: bytes) -> Callable[[bytes], bytes]:
    """Append *row* to the table «Поощрения» of content.xml."""
    def change(xml: bytes) -> bytes:
        start = xml.find('table:name="Поощрения"'.encode())
        end = xml.find(b"</table:table>", start)
        return xml[:end] + row + xml[end:]
    return change


def _with_shared_string(district: District, text: bytes) -> bytes:
    """A workbook whose «Поощрения» cites one shared string made of *text*."""
    base = _xlsx(district, f"общая строка {len(text)}")

    def change(name: str, content: bytes) -> bytes:
        if name == AWARDS:
            return content.replace(b"</sheetData>", b'<row r="3"><c r="A3" t="s"><v>0</v></c></row></sheetData>')
        if name == "[Content_Types].xml":
            return content.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                   b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        if name == "xl/_rels/workbook.xml.rels":
            return content.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats'
                                   b'.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                   b"</Relationships>")
        return content

    strings = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
               b"<si><t>" + text + b"</t></si></sst>")
    return _rezip(base, change, {"xl/sharedStrings.xml": strings})


def _with_members(data: bytes, count: int) -> bytes:
    return _rezip(data, extra={f"customXml/item{number}.xml": b"<x/>" for number in range(count)})


def _zip_entries(data: bytes, member: str) -> tuple[int, int]:
    """Offsets of *member*'s local header and central directory entry."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    central = struct.unpack_from("<I", data, data.rfind(b"PK\x05\x06") + 16)[0]
    while True:
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, central + 28)
        if data[central + 46:central + 46 + name_length] == member.encode():
            return info.header_offset, central
        central += 46 + name_length + extra_length + comment_length


def _zip_declare_size(data: bytes, member: str, size: int) -> bytes:
    """Make the zip directory lie about *member*'s uncompressed size."""
    local, central = _zip_entries(data, member)
    patched = bytearray(data)
    struct.pack_into("<I", patched, local + 22, size)
    struct.pack_into("<I", patched, central + 24, size)
    return bytes(patched)


def _zip_flag_encrypted(data: bytes, member: str) -> bytes:
    """Set the «encrypted» flag on *member*, as a zip made with a password has."""
    local, central = _zip_entries(data, member)
    patched = bytearray(data)
    for flags_at in (local + 6, central + 8):
        patched[flags_at] |= 0x1
    return bytes(patched)


def _xls_filepass(data: bytes, rc4: bool) -> bytes:
    """Put a FILEPASS record right after the workbook's BOF, replacing records of the same total size.

    xlwt writes BOF, INTERFACEHDR (2), MMS (2), INTERFACEEND (0), WRITEACCESS (112): the stream keeps
    its length, so the OLE container stays valid. The cells stay plain: only the flag is the point.
    """
    bof = data.find(b"\x09\x08\x10\x00\x00\x06\x05\x00")
    start = bof + 20
    if rc4:  # RC4 (wEncryptionType 1, 52 bytes of salt and verifier), then a shorter WRITEACCESS
        records = struct.pack("<HHHHH", 0x002F, 54, 1, 1, 1) + bytes(48) + struct.pack("<HH", 0x005C, 70) + b" " * 70
    else:  # XOR obfuscation (wEncryptionType 0, key, verifier), then INTERFACEHDR again
        records = struct.pack("<HHHHH", 0x002F, 6, 0, 0x1234, 0x5678) + struct.pack("<HHH", 0x00E1, 2, 0x04B0)
    patched = bytearray(data)
    patched[start:start + len(records)] = records
    return bytes(patched)


def _encrypted_ooxml() -> bytes:
    """An OLE container as Excel writes a password-protected .xlsx: EncryptionInfo and EncryptedPackage."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b'<?xml version="1.0"?><encryption/>'
    package = struct.pack("<Q", 8192) + random.Random(7).randbytes(8184)
    return _ole_container([("EncryptionInfo", info.ljust(4096, b"\0")), ("EncryptedPackage", package)])


def _ole_container(streams: list[tuple[str, bytes]]) -> bytes:
    """A minimal compound file (MS-CFB v3, 512-byte sectors); streams ≥ 4096 bytes, so no mini stream."""
    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    fat = [fat_sector, end]  # sector 0 holds the FAT, sector 1 the directory
    starts = []
    for _, content in streams:
        assert len(content) >= 4096 and len(content) % 512 == 0
        first = len(fat)
        count = len(content) // 512
        fat += [*range(first + 1, first + count), end]
        starts.append(first)
    assert len(fat) <= 128, "one FAT sector"
    header = (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(16)
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<109I", 0, *([free] * 108)))

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (encoded.ljust(64, b"\0") + struct.pack("<HBBIII", len(encoded), kind, 1, free, right, child)
                + bytes(16) + bytes(4) + bytes(16) + struct.pack("<IQ", start, size))

    # Siblings form a tree ordered by name length: each stream is the right sibling of the one before.
    directory = entry("Root Entry", 5, free, 1, end, 0)
    for index, ((name, content), start) in enumerate(zip(streams, starts, strict=True)):
        right = index + 2 if index + 1 < len(streams) else free
        directory += entry(name, 2, right, free, start, len(content))
    directory = directory.ljust(512, b"\0")
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat).ljust(512, b"\xff")
    return header + fat_bytes + directory + b"".join(content for _, content in streams)


def _utf16_csv(district: District) -> bytes:
    """The title part as Excel's «Unicode text» saves it: UTF-16 with a BOM, tab-separated."""
    rows = good_report(district)["Титул"]
    return "\r\n".join("\t".join(str(value) for value in row) for row in rows).encode("utf-16")


def _write_csv_group(folder: Path, district: District) -> list[str]:
    """A correct report as six CSV parts in Windows-1251 with «;», as Excel's «CSV (разделители — запятые)»."""
    paths = write_csv_parts(_report(district, "csv"), folder, encoding="cp1251", delimiter=";")
    return [path.name for path in paths]


if __name__ == "__main__":
    raise SystemExit(main())
