"""Annotate an existing .xlsx at the XML level: fill and comment cells, add a listing sheet first; no openpyxl."""

# openpyxl needs ~100–160 ms to load and save a school's workbook; patching the few parts that change
# and copying the rest costs a few ms. Changed parts are edited as text, never re-serialised: a round
# trip through ElementTree renames namespace prefixes, which breaks «mc:Ignorable» lists and Excel.
# ElementTree is used only to prove a part well-formed and to read values, and only after the part is
# known to carry no DTD (so no entity can be declared, let alone expanded), as in pipeline.intake.preflight.
# Anything this module does not handle raises AnnotationError: the caller then uses openpyxl.

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from pipeline.district.labels import fold
from pipeline.intake.preflight import MAX_UNCOMPRESSED_BYTES, MAX_ZIP_MEMBERS
from pipeline.xlsx.text import FORMULA_START, ILLEGAL_CHARACTERS, MAX_TEXT

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
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
HYPERLINK_RGB = "FF0563C1"  # Excel's «Гиперссылка» style colour
COMMENT_WIDTH = 320  # pixels, as the openpyxl path draws them
SHAPES_PER_BLOCK = 1024  # VML shape ids come in blocks of 1024 per «o:idmap» number
# Worksheet children that must follow <legacyDrawing> (ECMA-376 Part 1, CT_Worksheet sequence).
AFTER_LEGACY_DRAWING = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                        "tableParts", "extLst")

_UNSAFE_MARKUP = re.compile(rb"<!DOCTYPE|<!ENTITY|<!\[CDATA\[|<!--", re.I)
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([\w.-]+)["']""")
_ATTRS = r"""((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*"""
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ANY_TAG = re.compile(rf"<(/?)([\w:.-]+){_ATTRS}(/?)>")
_ROOT_TAG = re.compile(rf"<([\w:.-]+){_ATTRS}(/?)>")
_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")
_SHAPE = re.compile(rf"<([\w.-]+:)?shape{_ATTRS}>(.*?)</\1shape>", re.S)
_SHAPE_START = re.compile(r"<(?:[\w.-]+:)?shape(?=[\s/>])")
_NOTE = re.compile(r"""ObjectType\s*=\s*["']Note["']""")
_OBJECT_TYPE = re.compile(r"ObjectType\s*=")
_VML_ROW = re.compile(r"<(?:[\w.-]+:)?Row>\s*(\d+)\s*<")
_VML_COLUMN = re.compile(r"<(?:[\w.-]+:)?Column>\s*(\d+)\s*<")
_SELECTED = re.compile(rb"""tabSelected\s*=\s*["'](?:1|true)["']""")
_IDMAP = re.compile(r"""idmap\b[^>]*?\bdata\s*=\s*["']([\d,\s]*)["']""")


class AnnotationError(Exception):
    """The workbook holds something this module does not patch safely; annotate it with openpyxl instead."""


@dataclass(frozen=True)
class CellNote:
    """A cell to mark: its fill (RGB) and a comment line per finding."""

    sheet: str
    cell: str  # Excel address, upper case, no «$»
    fill: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class ListingCell:
    """One cell of the listing sheet: a number or a text, with an optional fill and internal link."""

    value: str | int
    fill: str | None = None
    link: str | None = None  # «'Лист'!A1»


@dataclass(frozen=True)
class Listing:
    """The sheet put first in the annotated copy: a bold header row, then one row per finding."""

    title: str
    columns: tuple[tuple[str, int], ...]  # (label, width)
    rows: list[tuple[ListingCell, ...]]


def comment_text(lines: Iterable[str], own_note: str | None) -> tuple[str, int]:
    """Return a cell's comment text (the school's own note first) and its height in pixels."""
    lines = [own_note, *lines] if own_note is not None else list(lines)
    text = ILLEGAL_CHARACTERS.sub("", "\n".join(lines))[:MAX_TEXT]
    return text, min(600, 40 + 15 * (len(text) // 45 + len(lines)))


def cell_text(text: str) -> tuple[str, bool]:
    """Return *text* as a cell can hold it, and whether it must be kept from becoming a formula."""
    text = ILLEGAL_CHARACTERS.sub("", text)[:MAX_TEXT]
    return text, text.startswith(FORMULA_START)


@dataclass
class _Sheet:
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
        self.sheets: list[_Sheet] = []
        for sheet in workbook.iterfind(f"{{{MAIN_NS}}}sheets/{{{MAIN_NS}}}sheet"):
            rel = self.workbook_rels.get(sheet.get(f"{{{DOC_REL_NS}}}id", ""))
            if rel is None or rel[1] not in (WORKSHEET_REL, CHARTSHEET_REL) or rel[2] not in self.names:
                raise AnnotationError("a sheet that is not a worksheet or chartsheet")
            self.sheets.append(_Sheet(sheet.get("name", ""), rel[2], rel[1] == WORKSHEET_REL))
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
            _default_namespace_root(text, root)
        return element

    def content_type(self, path: str) -> str | None:
        override = self.overrides.get("/" + path.lower())
        if override is not None:
            return override
        return self.defaults.get(posixpath.splitext(path)[1].lstrip(".").lower())

    def relationships(self, part: str) -> dict[str, tuple[str, str, str]]:
        """Return Id → (Id, Type, target part path) of *part*'s internal relationships ("" is the package)."""
        folder, name = posixpath.split(part)
        rels_path = posixpath.join(folder, "_rels", f"{name}.rels")
        if rels_path not in self.names:
            return {}
        root = self.tree(rels_path, "Relationships", PACKAGE_REL_NS)
        relationships = {}
        for rel in root.iterfind(f"{{{PACKAGE_REL_NS}}}Relationship"):
            if rel.get("TargetMode", "Internal") != "Internal":
                continue
            relationships[rel.get("Id", "")] = (rel.get("Id", ""), rel.get("Type", ""),
                                               resolve_target(folder, rel.get("Target", "")))
        return relationships

    def rels_path(self, part: str) -> str:
        folder, name = posixpath.split(part)
        return posixpath.join(folder, "_rels", f"{name}.rels")

    def sheet(self, title: str) -> _Sheet:
        for sheet in self.sheets:
            if sheet.name == title:
                return sheet
        raise AnnotationError(f"no sheet {title!r}")

    def merged_ranges(self, title: str) -> list[str]:
        """The merged ranges of worksheet *title* («A1:C1»)."""
        text = self.text(self.sheet(title).path)
        return [_attributes(match.group(1)).get("ref", "") for match in _tag("mergeCell").finditer(text)]

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
            return "".join(_texts(cell.find(f"{{{MAIN_NS}}}is")))
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
                strings = ["".join(_texts(item)) for item in root.iterfind(f"{{{MAIN_NS}}}si")]
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


def check_xml(data: bytes) -> str:
    """Return an XML part's text; raise AnnotationError for DTDs, comments, CDATA or a non-UTF-8 encoding."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
        raise AnnotationError("an XML part not in UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    declared = _DECLARED_ENCODING.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise AnnotationError("an XML part not in UTF-8")
    if _UNSAFE_MARKUP.search(data):
        raise AnnotationError("a DTD, comment or CDATA section in an XML part")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AnnotationError("an XML part not in UTF-8") from None


def parse_xml(text: str) -> ElementTree.Element:
    """Parse XML already passed through check_xml (no DTD, hence no entities to expand)."""
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise AnnotationError(f"broken XML: {error}") from None


def resolve_target(folder: str, target: str) -> str:
    """Turn a relationship target into a part name (no leading «/»), relative to the source part's folder."""
    target = unquote(target)
    path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
    return posixpath.normpath(path).lstrip("/")


def split_cell(reference: str) -> tuple[str, int]:
    match = _CELL_REF.match(reference.replace("$", "").upper())
    if match is None:
        raise AnnotationError(f"not a cell address: {reference!r}")
    return match.group(1), int(match.group(2))


def _texts(element: ElementTree.Element | None) -> list[str]:
    """The text of a rich-text item: its own <t> and the <t> of each run; phonetic runs are not text."""
    if element is None:
        return []
    texts = [element.findtext(f"{{{MAIN_NS}}}t") or ""]
    texts.extend(run.findtext(f"{{{MAIN_NS}}}t") or "" for run in element.iterfind(f"{{{MAIN_NS}}}r"))
    return texts


def _tag(name: str) -> re.Pattern[str]:
    return re.compile(rf"<{re.escape(name)}(?=[\s/>]){_ATTRS}(/?)>")


def _attributes(text: str) -> dict[str, str]:
    return {match.group(1): _unescape(match.group(2) if match.group(2) is not None else match.group(3))
            for match in _ATTR.finditer(text)}


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _set_attribute(attributes: str, name: str, value: str) -> str:
    """Return the attribute text of a tag with *name* set to *value* (added if missing)."""
    pattern = re.compile(rf"""(\s){re.escape(name)}\s*=\s*(?:"[^"]*"|'[^']*')""")
    replacement = f"{name}={quoteattr(value)}"
    if pattern.search(attributes):
        return pattern.sub(lambda match: match.group(1) + replacement, attributes, count=1)
    return f"{attributes} {replacement}"


def _drop_attribute(attributes: str, name: str) -> str:
    return re.sub(rf"""\s{re.escape(name)}\s*=\s*(?:"[^"]*"|'[^']*')""", "", attributes)


def _root(text: str) -> re.Match[str]:
    """The root element's start tag (after the declaration)."""
    position = 0
    if text.startswith("<?"):
        position = text.index("?>") + 2
    match = _ROOT_TAG.search(text, position)
    if match is None:
        raise AnnotationError("no root element")
    return match


def _default_namespace_root(text: str, name: str) -> None:
    """Edits below write unprefixed element names: the root must be unprefixed in the main namespace."""
    root = _root(text)
    if root.group(1) != name or _attributes(root.group(2)).get("xmlns") != MAIN_NS:
        raise AnnotationError(f"<{name}> with a prefix or another namespace")


def _relationship_prefix(text: str) -> tuple[str, str]:
    """Return (the text with a prefix for the relationships namespace declared on its root, that prefix)."""
    root = _root(text)
    declared = _attributes(root.group(2))
    for attribute, value in declared.items():
        if attribute.startswith("xmlns:") and value == DOC_REL_NS:
            return text, attribute.split(":", 1)[1]
    prefix = "r"
    while f"xmlns:{prefix}" in declared:
        prefix += "r"
    start = root.start(2)
    return f'{text[:start]} xmlns:{prefix}="{DOC_REL_NS}"{text[start:]}', prefix


def _top_level_children(text: str) -> list[tuple[str, int, int]]:
    """Return (local name, start, end) of each child of the root element, skipping over sheetData."""
    root = _root(text)
    if root.group(3):
        return []
    children: list[tuple[str, int, int]] = []
    depth, start, name = 0, 0, ""
    position = root.end()
    while True:
        tag = _ANY_TAG.search(text, position)
        if tag is None:
            raise AnnotationError("unterminated root element")
        closing, local, empty = tag.group(1), tag.group(2).rsplit(":", 1)[-1], tag.group(4)
        if depth == 0:
            if closing:
                return children
            end = _element_end(text, tag) if not empty else -1
            if end != -1:
                children.append((local, tag.start(), end))
                position = end
                continue
            if empty:
                children.append((local, tag.start(), tag.end()))
            else:
                depth, start, name = 1, tag.start(), local
        elif closing:
            depth -= 1
            if depth == 0:
                children.append((name, start, tag.end()))
        elif not empty:
            depth += 1
        position = tag.end()


def _element_end(text: str, start: re.Match[str]) -> int:
    """The end of the element opened by *start* when its name is not nested in it (most are not); else -1.

    Jumping to the closing tag skips a long <sheetData> or <dataValidations> without reading its tags.
    """
    closing = f"</{start.group(2)}>"
    end = text.find(closing, start.end())
    if end == -1:
        raise AnnotationError(f"unterminated <{start.group(2)}>")
    if re.search(rf"<{re.escape(start.group(2))}(?=[\s/>])", text[start.end():end]):
        return -1
    return end + len(closing)


def _xml_text(text: str) -> str:
    return escape(text, {"\r": "&#13;"})


def build_annotated(package: XlsxPackage, notes: list[CellNote], author: str, listing: Listing) -> bytes:
    """Return the bytes of *package* with *notes* on their cells and *listing* as the first, active sheet."""
    if any(fold(sheet.name) == fold(listing.title) for sheet in package.sheets):
        raise AnnotationError("the workbook already has a listing sheet")
    styles = _Styles(package.text(package.styles_path))
    changed: dict[str, str] = {}
    added: dict[str, str] = {}  # new part → its text
    types: dict[str, str] = {}  # new part → its content type
    idmaps = _used_idmaps(package)
    notes_by_sheet: dict[str, list[CellNote]] = {}
    for note in notes:
        notes_by_sheet.setdefault(note.sheet, []).append(note)
    for sheet in package.sheets:
        sheet_notes = notes_by_sheet.pop(sheet.name, [])
        if sheet_notes and sheet.is_worksheet:
            _annotate_sheet(package, sheet, sheet_notes, author, styles, idmaps, changed, added, types)
        elif _SELECTED.search(package.part(sheet.path)):
            text = package.text(sheet.path)
            _default_namespace_root(text, "worksheet" if sheet.is_worksheet else "chartsheet")
            changed[sheet.path] = _unselect_tabs(text)
    if notes_by_sheet:
        raise AnnotationError(f"notes for unknown sheets {sorted(notes_by_sheet)}")
    listing_path = _free_name(package, added, "xl/worksheets/sheet{}.xml")
    added[listing_path] = _listing_xml(listing, styles)
    types[listing_path] = WORKSHEET_TYPE
    rel_id = _free_id(package.workbook_rels)
    changed[package.workbook_path] = _insert_listing_sheet(
        package.text(package.workbook_path), listing.title, max(package.sheet_ids, default=0) + 1, rel_id)
    workbook_rels = package.rels_path(package.workbook_path)
    changed[workbook_rels] = _add_relationships(package.text(workbook_rels), [(rel_id, WORKSHEET_REL, listing_path)])
    changed[package.styles_path] = styles.result()
    changed["[Content_Types].xml"] = _add_content_types(package.text("[Content_Types].xml"), types)
    # Spliced sheets and comment lists are parsed again: an edit that broke one is a bug, and the school
    # should get openpyxl's copy rather than a broken file. The other edits insert whole generated
    # elements into parts already parsed.
    for path, text in changed.items():
        if path not in (package.workbook_path, package.styles_path, "[Content_Types].xml", workbook_rels):
            parse_xml(text)
    return _write_zip(package, {path: text.encode("utf-8") for path, text in (changed | added).items()},
                      list(added))


def _annotate_sheet(package: XlsxPackage, sheet: _Sheet, notes: list[CellNote], author: str, styles: _Styles,
                    idmaps: set[int], changed: dict[str, str], added: dict[str, str], types: dict[str, str]) -> None:
    """Fill and comment the cells of *notes* on *sheet*, with a comments part and its VML drawing."""
    text = package.text(sheet.path)
    _default_namespace_root(text, "worksheet")
    rels = package.relationships(sheet.path)
    by_type: dict[str, list[tuple[str, str]]] = {}
    for rel_id, rel_type, target in rels.values():
        by_type.setdefault(rel_type, []).append((rel_id, target))
    if any("threadedcomment" in rel_type.lower() for rel_type in by_type):
        raise AnnotationError("threaded comments")  # Excel 365 keeps them in sync with the legacy ones
    comments = by_type.get(COMMENTS_REL, [])
    drawings = by_type.get(VML_REL, [])
    if len(comments) > 1 or len(drawings) > 1 or len(comments) != len(drawings):
        raise AnnotationError("a VML drawing without comments, or the other way round")
    if comments and not (comments[0][1] in package.names and drawings[0][1] in package.names):
        raise AnnotationError("a comments part or drawing is missing")
    existing = package.text(comments[0][1]) if comments else None
    old_vml = package.text(drawings[0][1]) if drawings else None
    comments_text, shapes = _merge_comments(existing, old_vml, notes, author)
    block = max(idmaps, default=0) + 1
    idmaps.add(block)
    vml = _vml(block, shapes)
    rel_id = None
    if comments:
        changed[comments[0][1]] = comments_text
        changed[drawings[0][1]] = vml
    else:
        comments_path = _free_name(package, added, "xl/comments{}.xml")
        vml_path = _free_name(package, added, "xl/drawings/vmlDrawing{}.vml")
        added[comments_path], added[vml_path] = comments_text, vml
        types[comments_path], types[vml_path] = COMMENTS_TYPE, VML_TYPE
        rel_id = _free_id(rels)
        comments_id = _free_id({**rels, rel_id: (rel_id, "", "")})
        rels_path = package.rels_path(sheet.path)
        new_rels = [(rel_id, VML_REL, vml_path), (comments_id, COMMENTS_REL, comments_path)]
        if rels_path in package.names:
            changed[rels_path] = _add_relationships(package.text(rels_path), new_rels)
        else:
            added[rels_path] = _add_relationships(None, new_rels)
    changed[sheet.path] = _patch_worksheet(text, notes, styles, rel_id)


def _merge_comments(existing: str | None, vml: str | None, notes: list[CellNote],
                    author: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Return the sheet's comments part with *notes* in it, and (row, column, VML style) for every comment.

    A school's own comment on a marked cell stays as the first lines of ours; an older comment by
    *author* (a resubmitted annotated copy) is replaced.
    """
    marked = {note.cell: note for note in notes}
    own_notes: dict[str, str] = {}
    styles: dict[tuple[int, int], str] = {}
    if existing is None:
        head, authors, kept, tail = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                     f'<comments xmlns="{MAIN_NS}"><authors>'), [], [], "</commentList></comments>"
        middle = "</authors><commentList>"
        author_id = 0
        shapes: list[tuple[int, int, str]] = []
    else:
        head, authors, kept, middle, tail = _split_comments(existing)
        root = parse_xml(existing)
        names = [item.text or "" for item in root.iterfind(f"{{{MAIN_NS}}}authors/{{{MAIN_NS}}}author")]
        elements = list(root.iterfind(f"{{{MAIN_NS}}}commentList/{{{MAIN_NS}}}comment"))
        if len(elements) != len(kept) or len(names) != len(authors):
            raise AnnotationError("comments part not understood")
        styles = _shape_styles(vml or "", len(elements))
        remaining = []
        for element, source in zip(elements, kept, strict=True):
            reference = element.get("ref", "").replace("$", "").upper()
            if reference not in marked:
                remaining.append((reference, source))
                continue
            index = element.get("authorId", "")
            writer = names[int(index)] if index.isdigit() and int(index) < len(names) else ""
            if writer != author:
                own_notes[reference] = "".join(_texts(element.find(f"{{{MAIN_NS}}}text")))
        kept = [source for _, source in remaining]
        author_id = names.index(author) if author in names else len(names)
        shapes = []
        for reference, _ in remaining:
            letters, row = split_cell(reference)
            column = column_index_from_string(letters)
            shapes.append((row - 1, column - 1, styles.get((row - 1, column - 1), _note_style(144, 79))))
    new_authors = "" if author_id < len(authors) else f"<author>{_xml_text(author)}</author>"
    ours = []
    for note in notes:
        text, height = comment_text(note.lines, own_notes.get(note.cell))
        ours.append(f'<comment ref="{note.cell}" authorId="{author_id}"><text><t xml:space="preserve">'
                    f"{_xml_text(text)}</t></text></comment>")
        letters, row = split_cell(note.cell)
        shapes.append((row - 1, column_index_from_string(letters) - 1, _note_style(COMMENT_WIDTH, height)))
    if len(shapes) >= SHAPES_PER_BLOCK:
        raise AnnotationError("too many comments for one drawing block")
    return head + new_authors + middle + "".join(kept) + "".join(ours) + tail, shapes


def _note_style(width: int, height: int) -> str:
    """A hidden note of *width* × *height* pixels, placed as Excel places a new one."""
    return (f"position:absolute;margin-left:59.25pt;margin-top:1.5pt;width:{width}px;height:{height}px;"
            "z-index:1;visibility:hidden")


_COMMENT = re.compile(rf"<comment(?=[\s/>]){_ATTRS}(?:/>|>.*?</comment>)", re.S)
_AUTHOR = re.compile(rf"<author(?=[\s/>]){_ATTRS}(?:/>|>.*?</author>)", re.S)


def _split_comments(text: str) -> tuple[str, list[str], list[str], str, str]:
    """Cut a comments part into: up to the end of the authors, the authors, between, the comments, the rest."""
    _default_namespace_root(text, "comments")
    children = {name: (start, end) for name, start, end in _top_level_children(text)}
    if "authors" not in children or "commentList" not in children:
        raise AnnotationError("comments part without authors or commentList")
    authors_start, authors_end = children["authors"]
    list_start, list_end = children["commentList"]
    authors_text, list_text = text[authors_start:authors_end], text[list_start:list_end]
    if authors_text.endswith("/>"):
        authors_text = "<authors></authors>"
    if list_text.endswith("/>"):
        list_text = "<commentList></commentList>"
    authors_open = authors_text.index(">") + 1
    list_open = list_text.index(">") + 1
    authors = [match.group(0) for match in _AUTHOR.finditer(authors_text[authors_open:-len("</authors>")])]
    comments = [match.group(0) for match in _COMMENT.finditer(list_text[list_open:-len("</commentList>")])]
    head = text[:authors_start] + authors_text[:-len("</authors>")]
    middle = "</authors>" + text[authors_end:list_start] + list_text[:list_open]
    tail = "</commentList>" + text[list_end:]
    return head, authors, comments, middle, tail


def _shape_styles(vml: str, comments: int) -> dict[tuple[int, int], str]:
    """Return (row, column) → style of each note shape; refuse a drawing with anything but comment notes."""
    if vml:
        check_xml(vml.encode("utf-8"))
    shapes = list(_SHAPE.finditer(vml))
    if (len(_SHAPE_START.findall(vml)) != len(shapes) or len(_NOTE.findall(vml)) != len(shapes)
            or len(_OBJECT_TYPE.findall(vml)) != len(shapes) or len(shapes) > comments):
        raise AnnotationError("the VML drawing holds more than comment notes")
    styles = {}
    for shape in shapes:
        row, column = _VML_ROW.search(shape.group(3)), _VML_COLUMN.search(shape.group(3))
        style = _attributes(shape.group(2)).get("style")
        if row and column and style:
            styles[(int(row.group(1)), int(column.group(1)))] = " ".join(style.split())
    return styles


def _vml(block: int, shapes: list[tuple[int, int, str]]) -> str:
    """The legacy drawing Excel and LibreOffice need to show comments: one hidden note shape per comment."""
    parts = ['<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
             'xmlns:x="urn:schemas-microsoft-com:office:excel">'
             f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
             '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
             '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>']
    for number, (row, column, style) in enumerate(shapes, start=1):
        anchor = f"{column + 1}, 15, {row}, 2, {column + 4}, 15, {row + 5}, 16"
        parts.append(
            f'<v:shape id="_x0000_s{block * SHAPES_PER_BLOCK + number}" type="#_x0000_t202" '
            f'style={quoteattr(style)} fillcolor="#ffffe1" o:insetmode="auto">'
            '<v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
            '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{anchor}</x:Anchor><x:AutoFill>False</x:AutoFill>"
            f"<x:Row>{row}</x:Row><x:Column>{column}</x:Column></x:ClientData></v:shape>")
    parts.append("</xml>")
    return "".join(parts)


def _used_idmaps(package: XlsxPackage) -> set[int]:
    used = set()
    for name in package.names:
        if name.lower().endswith(".vml"):
            for match in _IDMAP.finditer(package.part(name).decode("utf-8", "replace")):
                used.update(int(number) for number in re.findall(r"\d+", match.group(1))[:16])
    return {number for number in used if number < 1_000_000}


_ROW = _tag("row")
_R = re.compile(r"""\sr\s*=\s*["']\s*(\d+)\s*["']""")
_CELL = _tag("c")
_COL = _tag("col")
_SHEET_VIEW = _tag("sheetView")


@dataclass
class _Row:
    number: int
    start: int
    tag_end: int
    end: int
    attributes: str
    empty: bool


def _patch_worksheet(text: str, notes: list[CellNote], styles: _Styles, legacy_id: str | None) -> str:
    """Point the marked cells at filled styles (creating missing cells), add <legacyDrawing>, unselect the tab."""
    prefix = ""
    if legacy_id is not None:
        text, prefix = _relationship_prefix(text)
    children = _top_level_children(text)
    spans = {name: (start, end) for name, start, end in reversed(children)}
    if "sheetData" not in spans:
        raise AnnotationError("a worksheet without sheetData")
    if text[slice(*spans["sheetData"])].endswith("/>"):
        text = _apply(text, [(*spans["sheetData"], "<sheetData></sheetData>")])
        children = _top_level_children(text)
        spans = {name: (start, end) for name, start, end in reversed(children)}
    data_start, data_end = spans["sheetData"]
    rows = _rows(text, data_start, data_end)
    column_styles = _column_styles(text, spans.get("cols"))
    edits: list[tuple[int, int, str]] = []
    wanted: dict[int, dict[int, str]] = {}
    for note in notes:
        letters, row = split_cell(note.cell)
        wanted.setdefault(row, {})[column_index_from_string(letters)] = note.fill
    created: list[tuple[int, int]] = []
    new_rows: dict[int, list[str]] = {}  # insertion point → new rows, in order
    numbers = sorted(rows)
    for number in sorted(wanted):
        cells = wanted[number]
        if number in rows:
            row = rows[number]
            replacement, made = _patch_row(text, row, cells, styles, column_styles)
            edits.append((row.start, row.end, replacement))
            created.extend((number, column) for column in made)
            continue
        following = [other for other in numbers if other > number]
        point = rows[following[0]].start if following else _data_close(text, data_start, data_end)
        parts = [f'<row r="{number}">']
        for column in sorted(cells):
            style = styles.marked(column_styles.get(column, 0), cells[column])
            parts.append(f'<c r="{get_column_letter(column)}{number}" s="{style}"/>')
            created.append((number, column))
        new_rows.setdefault(point, []).append("".join(parts) + "</row>")
    for point, texts in new_rows.items():
        edits.append((point, point, "".join(texts)))
    if created and "dimension" in spans:
        edits.append((*spans["dimension"], _dimension(text[slice(*spans["dimension"])], created)))
    if "sheetViews" in spans:
        edits.append((*spans["sheetViews"], _unselect_tabs(text[slice(*spans["sheetViews"])])))
    if legacy_id is None and "legacyDrawing" not in spans:
        raise AnnotationError("comments without a <legacyDrawing> to show them")
    if legacy_id is not None:
        if "legacyDrawing" in spans or "AlternateContent" in spans:
            raise AnnotationError("a legacy drawing without comments, or alternate content")
        following = [start for name, start, _ in children if name in AFTER_LEGACY_DRAWING]
        point = min(following) if following else _root_close(text)
        edits.append((point, point, f'<legacyDrawing {prefix}:id="{legacy_id}"/>'))
    return _apply(text, edits)


def _rows(text: str, start: int, end: int) -> dict[int, _Row]:
    rows: dict[int, _Row] = {}
    position = start
    while True:
        match = _ROW.search(text, position, end)
        if match is None:
            return rows
        found = _R.search(match.group(1))
        number = found.group(1) if found else ""
        if not number.isdigit() or int(number) in rows:
            raise AnnotationError("a row without its number")  # openpyxl counts them; this module does not
        empty = bool(match.group(2))
        row_end = match.end() if empty else text.find("</row>", match.end(), end)
        if row_end == -1:
            raise AnnotationError("unterminated row")
        row_end = row_end if empty else row_end + len("</row>")
        rows[int(number)] = _Row(int(number), match.start(), match.end(), row_end, match.group(1), empty)
        position = row_end


def _patch_row(text: str, row: _Row, wanted: dict[int, str], styles: _Styles,
               column_styles: dict[int, int]) -> tuple[str, list[int]]:
    """Return the row's new XML and the columns whose cells had to be created."""
    attributes = _attributes(row.attributes)
    row_style = int(attributes["s"]) if attributes.get("customFormat") in ("1", "true") and attributes.get(
        "s", "").isdigit() else None
    body = "" if row.empty else text[row.tag_end:row.end - len("</row>")]
    cells: list[tuple[int, int, int, re.Match[str]]] = []  # column, start, end in body, tag
    position = 0
    while (match := _CELL.search(body, position)) is not None:
        reference = _attributes(match.group(1)).get("r")
        if reference is None:
            raise AnnotationError("a cell without its address")
        letters, number = split_cell(reference)
        if number != row.number:
            raise AnnotationError("a cell in the wrong row")
        end = match.end() if match.group(2) else body.find("</c>", match.end())
        if end == -1:
            raise AnnotationError("unterminated cell")
        end = end if match.group(2) else end + len("</c>")
        cells.append((column_index_from_string(letters), match.start(), end, match))
        position = end
    edits = []
    made = []
    present = {column: (start, tag) for column, start, _, tag in cells}
    for column, fill in wanted.items():
        if column in present:
            start, tag = present[column]
            old = _attributes(tag.group(1)).get("s", "0")
            style = styles.marked(int(old) if old.isdigit() else 0, fill)
            replacement = f"<c{_set_attribute(tag.group(1), 's', str(style))}{tag.group(2)}>"
            edits.append((start, tag.end(), replacement))
            continue
        base = row_style if row_style is not None else column_styles.get(column, 0)
        new = f'<c r="{get_column_letter(column)}{row.number}" s="{styles.marked(base, fill)}"/>'
        after = [start for other, start, _, _ in cells if other > column]
        point = min(after) if after else len(body)
        edits.append((point, point, new))
        made.append(column)
    # Several new cells at one point: apply them right to left so they end up left to right.
    edits.sort(key=lambda edit: (edit[0], edit[1], _column_of(edit[2])), reverse=True)
    for start, end, replacement in edits:
        body = body[:start] + replacement + body[end:]
    row_attributes = _drop_attribute(row.attributes, "spans") if made else row.attributes
    return f"<row{row_attributes}>{body}</row>", made


def _column_of(cell: str) -> int:
    match = re.match(r'<c r="([A-Z]+)', cell)
    return column_index_from_string(match.group(1)) if match else 0


def _column_styles(text: str, span: tuple[int, int] | None) -> dict[int, int]:
    styles: dict[int, int] = {}
    if span is None:
        return styles
    for match in _COL.finditer(text, *span):
        attributes = _attributes(match.group(1))
        first, last, style = attributes.get("min", ""), attributes.get("max", ""), attributes.get("style", "")
        if first.isdigit() and last.isdigit() and style.isdigit():
            for column in range(int(first), min(int(last), 16_384) + 1):
                styles[column] = int(style)
    return styles


def _dimension(tag: str, cells: list[tuple[int, int]]) -> str:
    match = re.search(r"""\sref\s*=\s*["']([A-Z$0-9:]+)["']""", tag.upper())
    if match is None:
        return tag
    try:
        first_column, first_row, last_column, last_row = range_boundaries(match.group(1).replace("$", ""))
    except ValueError:
        return tag
    first_column = min(first_column or 1, *(column for _, column in cells))
    first_row = min(first_row or 1, *(row for row, _ in cells))
    last_column = max(last_column or 1, *(column for _, column in cells))
    last_row = max(last_row or 1, *(row for row, _ in cells))
    ref = f"{get_column_letter(first_column)}{first_row}:{get_column_letter(last_column)}{last_row}"
    return f'<dimension ref="{ref}"/>'


def _unselect_tabs(text: str) -> str:
    """Drop «tabSelected» from every sheet view: two selected tabs would group the sheets in Excel."""
    return _SHEET_VIEW.sub(lambda match: f"<sheetView{_drop_attribute(match.group(1), 'tabSelected')}"
                                         f"{match.group(2)}>", text)


def _data_close(text: str, start: int, end: int) -> int:
    return end - len("</sheetData>")


def _spans(text: str) -> dict[str, tuple[int, int]]:
    """(start, end) of the first top-level child of each name."""
    return {name: (start, end) for name, start, end in reversed(_top_level_children(text))}


def _root_close(text: str) -> int:
    position = text.rfind("</")
    if position == -1:
        raise AnnotationError("a self-closing root")
    return position


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply non-overlapping (start, end, replacement) edits; an insertion goes before a replacement at its point."""
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


_XF = re.compile(rf"<xf(?=[\s/>]){_ATTRS}(?:/>|>(.*?)</xf>)", re.S)
_RGB = re.compile(r"^[0-9A-F]{6}$")
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


class _Styles:
    """styles.xml with fonts, fills and cell formats appended; existing indexes never move."""

    SECTIONS = ("fonts", "fills", "cellXfs")

    def __init__(self, text: str):
        _default_namespace_root(text, "styleSheet")
        root = parse_xml(text)
        self.text = text
        self.spans = _spans(text)
        elements = {name: root.find(f"{{{MAIN_NS}}}{name}") for name in self.SECTIONS}
        counts = {name: len(element) if element is not None else 0 for name, element in elements.items()}
        # Fills 0 and 1 are reserved (none, gray125): a workbook without them is not one to patch.
        if counts["fonts"] < 1 or counts["fills"] < 2 or counts["cellXfs"] < 1:
            raise AnnotationError("styles without fonts, fills or cell formats")
        for name in self.SECTIONS:
            _section(text, self.spans.get(name), name)
        start, end = self.spans["cellXfs"]
        self.xfs = [(match.group(1), match.group(2)) for match in _XF.finditer(text, start, end)]
        if len(self.xfs) != counts["cellXfs"]:
            raise AnnotationError("cell formats not understood")
        first_font = elements["fonts"][0]
        self.font_size = first_font.find(f"{{{MAIN_NS}}}sz")
        self.font_name = first_font.find(f"{{{MAIN_NS}}}name")
        style_xfs = root.find(f"{{{MAIN_NS}}}cellStyleXfs")
        self.has_style_xf = style_xfs is not None and len(style_xfs) > 0
        self.counts = counts
        self.added: dict[str, list[str]] = {name: [] for name in self.SECTIONS}
        self.memo: dict[tuple[Any, ...], int] = {}

    def marked(self, base: int, rgb: str) -> int:
        """A cell format like *base* with a solid *rgb* fill."""
        key = ("marked", base, rgb)
        if key not in self.memo:
            attributes, body = self.xfs[base] if base < len(self.xfs) else self.xfs[0]
            attributes = _set_attribute(_set_attribute(attributes, "fillId", str(self._fill(rgb))), "applyFill", "1")
            self.memo[key] = self._add("cellXfs", f"<xf{attributes}/>" if body is None else
                                       f"<xf{attributes}>{body}</xf>")
        return self.memo[key]

    def listing(self, *, bold: bool = False, fill: str | None = None, link: bool = False,
                quoted: bool = False) -> int:
        """A cell format of the listing sheet: wrapped, top-aligned, optionally bold, filled, a link, text-only."""
        key = ("listing", bold, fill, link, quoted)
        if key not in self.memo:
            font = self._font("bold") if bold else self._font("link") if link else 0
            fill_id = self._fill(fill) if fill else 0
            attributes = f'numFmtId="0" fontId="{font}" fillId="{fill_id}" borderId="0"'
            attributes += ' xfId="0"' if self.has_style_xf else ""
            attributes += ' applyFont="1"' if font else ""
            attributes += ' applyFill="1"' if fill_id else ""
            attributes += ' quotePrefix="1"' if quoted else ""
            self.memo[key] = self._add("cellXfs", f'<xf {attributes} applyAlignment="1">'
                                                  '<alignment vertical="top" wrapText="1"/></xf>')
        return self.memo[key]

    def result(self) -> str:
        edits = []
        for name in self.SECTIONS:
            if not self.added[name]:
                continue
            start, end = self.spans[name]
            opening = _tag(name).match(self.text, start)
            count = str(self.counts[name] + len(self.added[name]))
            edits.append((start, opening.end(), f"<{name}{_set_attribute(opening.group(1), 'count', count)}>"))
            close = end - len(f"</{name}>")
            edits.append((close, close, "".join(self.added[name])))
        return _apply(self.text, edits)

    def _fill(self, rgb: str) -> int:
        if not _RGB.match(rgb):
            raise ValueError(f"not an RGB colour: {rgb!r}")
        key = ("fill", rgb)
        if key not in self.memo:
            self.memo[key] = self._add("fills", f'<fill><patternFill patternType="solid"><fgColor rgb="FF{rgb}"/>'
                                                '<bgColor indexed="64"/></patternFill></fill>')
        return self.memo[key]

    def _font(self, kind: str) -> int:
        key = ("font", kind)
        if key not in self.memo:
            size = self.font_size.get("val", "11") if self.font_size is not None else "11"
            name = self.font_name.get("val", "Calibri") if self.font_name is not None else "Calibri"
            look = "<b/>" if kind == "bold" else "<u/>"
            colour = f'<color rgb="{HYPERLINK_RGB}"/>' if kind == "link" else ""
            self.memo[key] = self._add("fonts", f"<font>{look}<sz val={quoteattr(size)}/>{colour}"
                                                f"<name val={quoteattr(name)}/></font>")
        return self.memo[key]

    def _add(self, section: str, xml: str) -> int:
        self.added[section].append(xml)
        return self.counts[section] + len(self.added[section]) - 1


def _section(text: str, span: tuple[int, int] | None, name: str) -> None:
    """Edits insert before «</name>»: the element must be there, unprefixed and not self-closing."""
    if span is None or not text[span[0]:span[1]].endswith(f"</{name}>") or not _tag(name).match(text, span[0]):
        raise AnnotationError(f"<{name}> not understood")


def _listing_xml(listing: Listing, styles: _Styles) -> str:
    """The listing worksheet: inline strings, a frozen bold header, an autofilter, internal links."""
    header = styles.listing(bold=True)
    cells = [f'<c r="{get_column_letter(column)}1" s="{header}" t="inlineStr"><is><t xml:space="preserve">'
             f"{_xml_text(label)}</t></is></c>" for column, (label, _) in enumerate(listing.columns, start=1)]
    rows = [f'<row r="1">{"".join(cells)}</row>']
    links = []
    for number, row in enumerate(listing.rows, start=2):
        cells = []
        for column, cell in enumerate(row, start=1):
            reference = f"{get_column_letter(column)}{number}"
            if isinstance(cell.value, int) and not isinstance(cell.value, bool):
                style = styles.listing(fill=cell.fill)
                cells.append(f'<c r="{reference}" s="{style}"><v>{cell.value}</v></c>')
                continue
            text, quoted = cell_text(str(cell.value))
            style = styles.listing(fill=cell.fill, link=cell.link is not None, quoted=quoted)
            if text:
                cells.append(f'<c r="{reference}" s="{style}" t="inlineStr"><is><t xml:space="preserve">'
                             f"{_xml_text(text)}</t></is></c>")
            else:
                cells.append(f'<c r="{reference}" s="{style}"/>')
            if cell.link is not None:
                links.append(f'<hyperlink ref="{reference}" location={quoteattr(cell.link)} '
                             f"display={quoteattr(text)}/>")
        rows.append(f'<row r="{number}">{"".join(cells)}</row>')
    last = f"{get_column_letter(max(1, len(listing.columns)))}{max(2, len(listing.rows) + 1)}"
    columns = "".join(f'<col min="{column}" max="{column}" width="{width}" customWidth="1"/>'
                      for column, (_, width) in enumerate(listing.columns, start=1))
    return (f'{_XML_DECLARATION}<worksheet xmlns="{MAIN_NS}" xmlns:r="{DOC_REL_NS}">'
            f'<dimension ref="A1:{last}"/>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{columns}</cols>'
            f'<sheetData>{"".join(rows)}</sheetData><autoFilter ref="A1:{last}"/>'
            + (f'<hyperlinks>{"".join(links)}</hyperlinks>' if links else "")
            + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>')


_DEFINED_NAME = _tag("definedName")
_WORKBOOK_VIEW = _tag("workbookView")


def _insert_listing_sheet(text: str, title: str, sheet_id: int, rel_id: str) -> str:
    """Put the listing sheet first in <sheets>, shift sheet-local names by one, open the book on it."""
    _default_namespace_root(text, "workbook")
    text, prefix = _relationship_prefix(text)
    spans = _spans(text)
    _section(text, spans.get("sheets"), "sheets")
    opening = _tag("sheets").match(text, spans["sheets"][0])
    edits = [(opening.end(), opening.end(), f'<sheet name={quoteattr(title)} sheetId="{sheet_id}" '
                                            f'{prefix}:id="{rel_id}"/>')]
    if "definedNames" in spans:
        # A name local to a sheet refers to it by position (ECMA-376 §18.2.5): every position moves by one.
        start, end = spans["definedNames"]
        for match in _DEFINED_NAME.finditer(text, start, end):
            local = _attributes(match.group(1)).get("localSheetId")
            if local is None:
                continue
            if not local.isdigit():
                raise AnnotationError("a defined name with an odd sheet index")
            attributes = _set_attribute(match.group(1), "localSheetId", str(int(local) + 1))
            edits.append((match.start(), match.end(), f"<definedName{attributes}{match.group(2)}>"))
    if "bookViews" in spans:
        for match in _WORKBOOK_VIEW.finditer(text, *spans["bookViews"]):
            attributes = match.group(1)
            for name in ("activeTab", "firstSheet"):
                if name in _attributes(attributes):
                    attributes = _set_attribute(attributes, name, "0")
            edits.append((match.start(), match.end(), f"<workbookView{attributes}{match.group(2)}>"))
    return _apply(text, edits)


def _add_relationships(text: str | None, relationships: list[tuple[str, str, str]]) -> str:
    entries = "".join(f'<Relationship Id="{rel_id}" Type="{rel_type}" Target={quoteattr("/" + target)}/>'
                      for rel_id, rel_type, target in relationships)
    if text is None:
        return f'{_XML_DECLARATION}<Relationships xmlns="{PACKAGE_REL_NS}">{entries}</Relationships>'
    return _append_to_root(text, "Relationships", PACKAGE_REL_NS, entries)


def _add_content_types(text: str, types: dict[str, str]) -> str:
    entries = "".join(f'<Override PartName={quoteattr("/" + path)} ContentType="{kind}"/>'
                      for path, kind in types.items())
    return _append_to_root(text, "Types", TYPES_NS, entries)


def _append_to_root(text: str, name: str, namespace: str, entries: str) -> str:
    root = _root(text)
    if root.group(1) != name or _attributes(root.group(2)).get("xmlns") != namespace:
        raise AnnotationError(f"<{name}> with a prefix or another namespace")
    if root.group(3):
        return f"{text[:root.start()]}<{name}{root.group(2)}>{entries}</{name}>{text[root.end():]}"
    close = _root_close(text)
    return text[:close] + entries + text[close:]


def _free_name(package: XlsxPackage, added: dict[str, str], pattern: str) -> str:
    taken = {name.lower() for name in (*package.names, *added)}
    number = 1
    while pattern.format(number).lower() in taken:
        number += 1
    return pattern.format(number)


def _free_id(relationships: dict[str, Any]) -> str:
    number = 1
    while f"rId{number}" in relationships:
        number += 1
    return f"rId{number}"


def _write_zip(package: XlsxPackage, replaced: dict[str, bytes], added: list[str]) -> bytes:
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
