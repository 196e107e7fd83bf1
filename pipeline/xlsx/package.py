"""The .xlsx package being annotated: its parts, relationships and sheets read, and the zip written back."""

from __future__ import annotations

import io
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

from openpyxl.utils.cell import column_index_from_string

from pipeline.intake.preflight import MAX_UNCOMPRESSED_BYTES, MAX_ZIP_MEMBERS
from pipeline.xlsx.markup import (
    DOC_REL_NS,
    MAIN_NS,
    PACKAGE_REL_NS,
    TYPES_NS,
    XML_DECLARATION,
    AnnotationError,
    attributes_of,
    check_main_root,
    check_xml,
    parse_xml,
    rich_text,
    root_close,
    root_tag,
    split_cell,
    start_tag,
)

WORKSHEET_REL = f"{DOC_REL_NS}/worksheet"
CHARTSHEET_REL = f"{DOC_REL_NS}/chartsheet"
STYLES_REL = f"{DOC_REL_NS}/styles"
SHARED_STRINGS_REL = f"{DOC_REL_NS}/sharedStrings"
COMMENTS_REL = f"{DOC_REL_NS}/comments"
VML_REL = f"{DOC_REL_NS}/vmlDrawing"
OFFICE_DOCUMENT_REL = f"{DOC_REL_NS}/officeDocument"
WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"


@dataclass
class SheetPart:
    """A sheet of the workbook: its tab name, its part and whether it is a worksheet (else a chartsheet)."""

    name: str
    path: str
    is_worksheet: bool


class XlsxPackage:
    """An .xlsx read for annotation: its parts as bytes and its sheets in tab order."""

    def __init__(self, path: Path):
        try:
            self.data = path.read_bytes()
            self.archive = zipfile.ZipFile(io.BytesIO(self.data))
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise AnnotationError(f"unreadable zip: {error}") from None
        self.members = self.archive.infolist()
        names = [member.filename for member in self.members]
        if len(names) > MAX_ZIP_MEMBERS or len(set(names)) != len(names):
            raise AnnotationError("too many or duplicate zip members")
        if sum(member.file_size for member in self.members) > MAX_UNCOMPRESSED_BYTES:
            raise AnnotationError("too large once unpacked")
        if any(member.flag_bits & 0x1 or member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
               for member in self.members):
            raise AnnotationError("an encrypted member or an unusual compression")
        self.names = set(names)
        self._parts: dict[str, bytes] = {}
        self._texts: dict[str, str] = {}
        self._relationship_lists: dict[str, list[ElementTree.Element]] = {}
        self.defaults, self.overrides = self._content_types()
        if any("macro" in kind.lower() or "vba" in kind.lower()
               for kind in (*self.defaults.values(), *self.overrides.values())):
            raise AnnotationError("macros")  # the copy is an .xlsx and must not carry them back
        root = {rel_type: target for _, rel_type, target in self.relationships("").values()}
        self.workbook_path = root.get(OFFICE_DOCUMENT_REL, "")
        if self.content_type(self.workbook_path) != WORKBOOK_TYPE:
            raise AnnotationError("not a plain .xlsx workbook")
        self.workbook_rels = self.relationships(self.workbook_path)
        workbook = self.tree(self.workbook_path, "workbook")
        self.sheets: list[SheetPart] = []
        for sheet in workbook.iterfind(f"{{{MAIN_NS}}}sheets/{{{MAIN_NS}}}sheet"):
            rel = self.workbook_rels.get(sheet.get(f"{{{DOC_REL_NS}}}id", ""))
            if rel is None or rel[1] not in (WORKSHEET_REL, CHARTSHEET_REL) or rel[2] not in self.names:
                raise AnnotationError("a sheet that is not a worksheet or chartsheet")
            self.sheets.append(SheetPart(sheet.get("name", ""), rel[2], rel[1] == WORKSHEET_REL))
        self.sheet_ids = [int(sheet.get("sheetId", "0")) for sheet in
                          workbook.iterfind(f"{{{MAIN_NS}}}sheets/{{{MAIN_NS}}}sheet")]
        self.sheet_titles = [sheet.name for sheet in self.sheets if sheet.is_worksheet]
        by_type = {rel_type: target for _, rel_type, target in self.workbook_rels.values()}
        self.styles_path = by_type.get(STYLES_REL, "")
        if self.styles_path not in self.names:
            raise AnnotationError("no styles part")
        self.shared_strings_path = by_type.get(SHARED_STRINGS_REL)
        self._shared_strings: list[str] | None = None

    def part(self, path: str) -> bytes:
        """Return a part's bytes, unpacked on first use (unchanged parts are copied still packed)."""
        if path not in self._parts:
            if path not in self.names:
                raise AnnotationError(f"no part {path}")
            try:
                self._parts[path] = self.archive.read(path)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError, zlib.error) as error:
                raise AnnotationError(f"unreadable part {path}: {error}") from None
        return self._parts[path]

    def packed(self, member: zipfile.ZipInfo) -> bytes:
        """Return a member's data as stored in the archive, found through its local header."""
        start = member.header_offset
        header = self.data[start:start + 30]
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise AnnotationError(f"no local header for {member.filename}")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        start += 30 + name_length + extra_length
        packed = self.data[start:start + member.compress_size]
        if len(packed) != member.compress_size:
            raise AnnotationError(f"{member.filename} is cut short")
        return packed

    def text(self, path: str) -> str:
        """Return a part as text, refusing DTDs, comments, CDATA and encodings other than UTF-8."""
        if path not in self._texts:
            self._texts[path] = check_xml(self.part(path))
        return self._texts[path]

    def tree(self, path: str, root: str, namespace: str = MAIN_NS) -> ElementTree.Element:
        """Parse a part (checked first) and make sure its root is *root* in the transitional namespace."""
        text = self.text(path)
        element = parse_xml(text)
        if element.tag != f"{{{namespace}}}{root}":
            raise AnnotationError(f"{path}: root {element.tag}, not {root}")
        if namespace == MAIN_NS:
            check_main_root(text, root)
        return element

    def content_type(self, path: str) -> str | None:
        override = self.overrides.get("/" + path.lower())
        if override is not None:
            return override
        return self.defaults.get(posixpath.splitext(path)[1].lstrip(".").lower())

    def relationships(self, part: str) -> dict[str, tuple[str, str, str]]:
        """Return Id → (Id, Type, target part path) of *part*'s internal relationships ("" is the package)."""
        folder = posixpath.dirname(part)
        return {rel.get("Id", ""): (rel.get("Id", ""), rel.get("Type", ""),
                                    resolve_target(folder, rel.get("Target", "")))
                for rel in self._relationship_elements(part) if rel.get("TargetMode", "Internal") == "Internal"}

    def relationship_ids(self, part: str) -> set[str]:
        """Every Id in *part*'s relationships, external ones (hyperlinks) included: a new Id must differ from all."""
        return {rel.get("Id", "") for rel in self._relationship_elements(part)}

    def _relationship_elements(self, part: str) -> list[ElementTree.Element]:
        rels_path = self.rels_path(part)
        if rels_path not in self.names:
            return []
        if rels_path not in self._relationship_lists:
            root = self.tree(rels_path, "Relationships", PACKAGE_REL_NS)
            elements = list(root.iterfind(f"{{{PACKAGE_REL_NS}}}Relationship"))
            if len({rel.get("Id", "") for rel in elements}) != len(elements):
                # Copied on, a repeated Id would leave the copy as invalid as the school's file (Excel repairs it).
                raise AnnotationError(f"{rels_path}: repeated relationship Ids")
            self._relationship_lists[rels_path] = elements
        return self._relationship_lists[rels_path]

    def rels_path(self, part: str) -> str:
        folder, name = posixpath.split(part)
        return posixpath.join(folder, "_rels", f"{name}.rels")

    def sheet(self, title: str) -> SheetPart:
        for sheet in self.sheets:
            if sheet.name == title:
                return sheet
        raise AnnotationError(f"no sheet {title!r}")

    def merged_ranges(self, title: str) -> list[str]:
        """The merged ranges of worksheet *title* («A1:C1»)."""
        text = self.text(self.sheet(title).path)
        return [attributes_of(match.group(1)).get("ref", "") for match in start_tag("mergeCell").finditer(text)]

    def header(self, title: str) -> list[Any]:
        """The values of row 1 of worksheet *title*, by column (None where empty)."""
        data = self.part(self.sheet(title).path)
        check_xml(data)
        values: dict[int, Any] = {}
        cell_tag, row_tag = f"{{{MAIN_NS}}}c", f"{{{MAIN_NS}}}row"
        try:
            for _, element in ElementTree.iterparse(io.BytesIO(data), events=("end",)):
                if element.tag == row_tag:
                    if element.get("r") != "1":
                        break
                    for cell in element.iterfind(cell_tag):
                        letters, _ = split_cell(cell.get("r", ""))
                        values[column_index_from_string(letters)] = self._cell_value(cell)
                    break
        except ElementTree.ParseError as error:
            raise AnnotationError(f"broken sheet XML: {error}") from None
        return [values.get(column) for column in range(1, max(values, default=0) + 1)]

    def _cell_value(self, cell: ElementTree.Element) -> Any:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            return "".join(rich_text(cell.find(f"{{{MAIN_NS}}}is")))
        value = cell.findtext(f"{{{MAIN_NS}}}v")
        if value is None:
            return None
        if kind == "s":
            strings = self.shared_strings()
            index = int(value) if value.strip().isdigit() else -1
            return strings[index] if 0 <= index < len(strings) else None
        if kind in ("str", "e"):
            return value
        if kind == "b":
            return value.strip() == "1"
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number

    def shared_strings(self) -> list[str]:
        if self._shared_strings is None:
            strings: list[str] = []
            if self.shared_strings_path in self.names:
                root = self.tree(self.shared_strings_path, "sst")
                strings = ["".join(rich_text(item)) for item in root.iterfind(f"{{{MAIN_NS}}}si")]
            self._shared_strings = strings
        return self._shared_strings

    def _content_types(self) -> tuple[dict[str, str], dict[str, str]]:
        root = self.tree("[Content_Types].xml", "Types", TYPES_NS)
        defaults = {item.get("Extension", "").lower(): item.get("ContentType", "")
                    for item in root.iterfind(f"{{{TYPES_NS}}}Default")}
        overrides = {item.get("PartName", "").lower(): item.get("ContentType", "")
                     for item in root.iterfind(f"{{{TYPES_NS}}}Override")}
        return defaults, overrides


def open_package(path: Path) -> XlsxPackage:
    """Read the workbook at *path* for annotation; raise AnnotationError if this module cannot patch it."""
    return XlsxPackage(path)


def resolve_target(folder: str, target: str) -> str:
    """Turn a relationship target into a part name (no leading «/»), relative to the source part's folder."""
    target = unquote(target)
    path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
    return posixpath.normpath(path).lstrip("/")


def add_relationships(text: str | None, relationships: list[tuple[str, str, str]]) -> str:
    """Return a relationships part (*text*, or a new one if None) with (Id, Type, target part) added."""
    entries = "".join(f'<Relationship Id="{rel_id}" Type="{rel_type}" Target={quoteattr("/" + target)}/>'
                      for rel_id, rel_type, target in relationships)
    if text is None:
        return f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_REL_NS}">{entries}</Relationships>'
    return _append_to_root(text, "Relationships", PACKAGE_REL_NS, entries)


def add_content_types(text: str, types: dict[str, str]) -> str:
    """Return [Content_Types].xml with an override for each new part → its content type."""
    entries = "".join(f'<Override PartName={quoteattr("/" + path)} ContentType="{kind}"/>'
                      for path, kind in types.items())
    return _append_to_root(text, "Types", TYPES_NS, entries)


def _append_to_root(text: str, name: str, namespace: str, entries: str) -> str:
    root = root_tag(text)
    if root.group(1) != name or attributes_of(root.group(2)).get("xmlns") != namespace:
        raise AnnotationError(f"<{name}> with a prefix or another namespace")
    if root.group(3):
        return f"{text[:root.start()]}<{name}{root.group(2)}>{entries}</{name}>{text[root.end():]}"
    close = root_close(text)
    return text[:close] + entries + text[close:]


def free_name(package: XlsxPackage, added: dict[str, str], pattern: str) -> str:
    """The first part name of *pattern* («xl/comments{}.xml») taken neither in *package* nor by *added*."""
    taken = {name.lower() for name in (*package.names, *added)}
    number = 1
    while pattern.format(number).lower() in taken:
        number += 1
    return pattern.format(number)


def free_id(taken: Collection[str]) -> str:
    """The first «rIdN» not among the Ids *taken* (whatever their form: «rId7», «R3a…», «anysvml»)."""
    number = 1
    while f"rId{number}" in taken:
        number += 1
    return f"rId{number}"


def write_zip(package: XlsxPackage, replaced: dict[str, bytes], added: list[str]) -> bytes:
    """Every original member in its order, unchanged ones copied still packed, then the new ones.

    zipfile cannot copy a member without unpacking and packing it again, which was half the time of
    an annotation; the format is simple enough to write here (no ZIP64: members and sizes are bounded).
    """
    out = io.BytesIO()
    directory = []
    moment = package.members[0].date_time if package.members else (1980, 1, 1, 0, 0, 0)
    entries = [(member.filename, member.date_time, member.external_attr, member) for member in package.members]
    entries += [(path, moment, 0o600 << 16, None) for path in added]
    for name, date_time, external, member in entries:
        if member is None or name in replaced:
            data = replaced[name]
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            packed = packer.compress(data) + packer.flush()
            method, crc, size = zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data)
        else:
            packed = package.packed(member)
            method, crc, size = member.compress_type, member.CRC, member.file_size
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), 0x800
        year, month, day, hour, minute, second = date_time
        dos_time = hour << 11 | minute << 5 | second // 2
        dos_date = max(year - 1980, 0) << 9 | month << 5 | day
        offset = out.tell()
        common = struct.pack("<HHHHIII", flags, method, dos_time, dos_date, crc, len(packed), size)
        out.write(struct.pack("<IH", 0x04034B50, 20) + common + struct.pack("<HH", len(encoded), 0))
        out.write(encoded)
        out.write(packed)
        directory.append(struct.pack("<IHH", 0x02014B50, 0x0314, 20) + common
                         + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, external & 0xFFFFFFFF, offset)
                         + encoded)
    start = out.tell()
    out.write(b"".join(directory))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory), out.tell() - start,
                          start, 0))
    return out.getvalue()
