"""Read and edit the XML parts of an .xlsx as text: safety checks, tag patterns, attribute and child edits."""

# Changed parts are edited as text, never re-serialised: a round trip through ElementTree renames
# namespace prefixes, which breaks «mc:Ignorable» lists and Excel. ElementTree is used only to prove a
# part well-formed and to read values, and only after the part is known to carry no DTD (so no entity
# can be declared, let alone expanded), as in pipeline.intake.preflight.

from __future__ import annotations

import re
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# The attributes of a start tag, as one group; other patterns build on it.
ATTRIBUTES = r"""((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*"""

_UNSAFE_MARKUP = re.compile(rb"<!DOCTYPE|<!ENTITY|<!\[CDATA\[|<!--", re.I)
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([\w.-]+)["']""")
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ANY_TAG = re.compile(rf"<(/?)([\w:.-]+){ATTRIBUTES}(/?)>")
_ROOT_TAG = re.compile(rf"<([\w:.-]+){ATTRIBUTES}(/?)>")
_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")


class AnnotationError(Exception):
    """The workbook holds something the zip/XML patch does not handle safely; annotate it with openpyxl instead."""


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


def split_cell(reference: str) -> tuple[str, int]:
    match = _CELL_REF.match(reference.replace("$", "").upper())
    if match is None:
        raise AnnotationError(f"not a cell address: {reference!r}")
    return match.group(1), int(match.group(2))


def rich_text(element: ElementTree.Element | None) -> list[str]:
    """The text of a rich-text item: its own <t> and the <t> of each run; phonetic runs are not text."""
    if element is None:
        return []
    texts = [element.findtext(f"{{{MAIN_NS}}}t") or ""]
    texts.extend(run.findtext(f"{{{MAIN_NS}}}t") or "" for run in element.iterfind(f"{{{MAIN_NS}}}r"))
    return texts


def start_tag(name: str) -> re.Pattern[str]:
    """A pattern for the start tag of unprefixed *name*: group 1 its attributes, group 2 «/» if empty."""
    return re.compile(rf"<{re.escape(name)}(?=[\s/>]){ATTRIBUTES}(/?)>")


def attributes_of(text: str) -> dict[str, str]:
    return {match.group(1): _unescape(match.group(2) if match.group(2) is not None else match.group(3))
            for match in _ATTR.finditer(text)}


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def set_attribute(attributes: str, name: str, value: str) -> str:
    """Return the attribute text of a tag with *name* set to *value* (added if missing)."""
    pattern = re.compile(rf"""(\s){re.escape(name)}\s*=\s*(?:"[^"]*"|'[^']*')""")
    replacement = f"{name}={quoteattr(value)}"
    if pattern.search(attributes):
        return pattern.sub(lambda match: match.group(1) + replacement, attributes, count=1)
    return f"{attributes} {replacement}"


def drop_attribute(attributes: str, name: str) -> str:
    return re.sub(rf"""\s{re.escape(name)}\s*=\s*(?:"[^"]*"|'[^']*')""", "", attributes)


def root_tag(text: str) -> re.Match[str]:
    """The root element's start tag (after the declaration)."""
    position = 0
    if text.startswith("<?"):
        position = text.index("?>") + 2
    match = _ROOT_TAG.search(text, position)
    if match is None:
        raise AnnotationError("no root element")
    return match


def check_main_root(text: str, name: str) -> None:
    """Edits write unprefixed element names: the root must be unprefixed <*name*> in the main namespace."""
    root = root_tag(text)
    if root.group(1) != name or attributes_of(root.group(2)).get("xmlns") != MAIN_NS:
        raise AnnotationError(f"<{name}> with a prefix or another namespace")


def relationship_prefix(text: str) -> tuple[str, str]:
    """Return (the text with a prefix for the relationships namespace declared on its root, that prefix)."""
    root = root_tag(text)
    declared = attributes_of(root.group(2))
    for attribute, value in declared.items():
        if attribute.startswith("xmlns:") and value == DOC_REL_NS:
            return text, attribute.split(":", 1)[1]
    prefix = "r"
    while f"xmlns:{prefix}" in declared:
        prefix += "r"
    start = root.start(2)
    return f'{text[:start]} xmlns:{prefix}="{DOC_REL_NS}"{text[start:]}', prefix


def top_level_children(text: str) -> list[tuple[str, int, int]]:
    """Return (local name, start, end) of each child of the root element, skipping over sheetData."""
    root = root_tag(text)
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


def child_spans(text: str) -> dict[str, tuple[int, int]]:
    """(start, end) of the first top-level child of each name."""
    return {name: (start, end) for name, start, end in reversed(top_level_children(text))}


def check_section(text: str, span: tuple[int, int] | None, name: str) -> None:
    """Edits insert before «</name>»: the element must be there, unprefixed and not self-closing."""
    if span is None or not text[span[0]:span[1]].endswith(f"</{name}>") or not start_tag(name).match(text, span[0]):
        raise AnnotationError(f"<{name}> not understood")


def root_close(text: str) -> int:
    """Where the root element's closing tag starts."""
    position = text.rfind("</")
    if position == -1:
        raise AnnotationError("a self-closing root")
    return position


def apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply non-overlapping (start, end, replacement) edits; an insertion goes before a replacement at its point."""
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def escape_text(text: str) -> str:
    """*text* as element content; a carriage return survives as a character reference."""
    return escape(text, {"\r": "&#13;"})
