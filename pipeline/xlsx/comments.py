"""The comments of an annotated sheet: its comments part with ours merged in, and the VML drawing that shows them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.sax.saxutils import quoteattr

from openpyxl.utils.cell import column_index_from_string

from pipeline.xlsx.markup import (
    ATTRIBUTES,
    MAIN_NS,
    AnnotationError,
    attributes_of,
    check_main_root,
    check_xml,
    escape_text,
    parse_xml,
    rich_text,
    split_cell,
    top_level_children,
)
from pipeline.xlsx.notes import CellNote
from pipeline.xlsx.package import XlsxPackage
from pipeline.xlsx.text import ILLEGAL_CHARACTERS, MAX_TEXT

COMMENT_WIDTH = 320  # pixels, as the openpyxl path draws them
SHAPES_PER_BLOCK = 1024  # VML shape ids come in blocks of 1024 per «o:idmap» number

_SHAPE = re.compile(rf"<([\w.-]+:)?shape{ATTRIBUTES}>(.*?)</\1shape>", re.S)
_SHAPE_START = re.compile(r"<(?:[\w.-]+:)?shape(?=[\s/>])")
_NOTE = re.compile(r"""ObjectType\s*=\s*["']Note["']""")
_OBJECT_TYPE = re.compile(r"ObjectType\s*=")
_VML_ROW = re.compile(r"<(?:[\w.-]+:)?Row>\s*(\d+)\s*<")
_VML_COLUMN = re.compile(r"<(?:[\w.-]+:)?Column>\s*(\d+)\s*<")
_IDMAP = re.compile(r"""idmap\b[^>]*?\bdata\s*=\s*["']([\d,\s]*)["']""")


def comment_text(lines: Iterable[str], own_note: str | None) -> tuple[str, int]:
    """Return a cell's comment text (the school's own note first) and its height in pixels."""
    lines = [own_note, *lines] if own_note is not None else list(lines)
    text = ILLEGAL_CHARACTERS.sub("", "\n".join(lines))[:MAX_TEXT]
    return text, min(600, 40 + 15 * (len(text) // 45 + len(lines)))



def merge_comments(existing: str | None, vml: str | None, notes: list[CellNote],
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
                own_notes[reference] = "".join(rich_text(element.find(f"{{{MAIN_NS}}}text")))
        kept = [source for _, source in remaining]
        author_id = names.index(author) if author in names else len(names)
        shapes = []
        for reference, _ in remaining:
            letters, row = split_cell(reference)
            column = column_index_from_string(letters)
            shapes.append((row - 1, column - 1, styles.get((row - 1, column - 1), _note_style(144, 79))))
    new_authors = "" if author_id < len(authors) else f"<author>{escape_text(author)}</author>"
    ours = []
    for note in notes:
        text, height = comment_text(note.lines, own_notes.get(note.cell))
        ours.append(f'<comment ref="{note.cell}" authorId="{author_id}"><text><t xml:space="preserve">'
                    f"{escape_text(text)}</t></text></comment>")
        letters, row = split_cell(note.cell)
        shapes.append((row - 1, column_index_from_string(letters) - 1, _note_style(COMMENT_WIDTH, height)))
    if len(shapes) >= SHAPES_PER_BLOCK:
        raise AnnotationError("too many comments for one drawing block")
    return head + new_authors + middle + "".join(kept) + "".join(ours) + tail, shapes


def _note_style(width: int, height: int) -> str:
    """A hidden note of *width* × *height* pixels, placed as Excel places a new one."""
    return (f"position:absolute;margin-left:59.25pt;margin-top:1.5pt;width:{width}px;height:{height}px;"
            "z-index:1;visibility:hidden")


_COMMENT = re.compile(rf"<comment(?=[\s/>]){ATTRIBUTES}(?:/>|>.*?</comment>)", re.S)
_AUTHOR = re.compile(rf"<author(?=[\s/>]){ATTRIBUTES}(?:/>|>.*?</author>)", re.S)


def _split_comments(text: str) -> tuple[str, list[str], list[str], str, str]:
    """Cut a comments part into: up to the end of the authors, the authors, between, the comments, the rest."""
    check_main_root(text, "comments")
    children = {name: (start, end) for name, start, end in top_level_children(text)}
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
        style = attributes_of(shape.group(2)).get("style")
        if row and column and style:
            styles[(int(row.group(1)), int(column.group(1)))] = " ".join(style.split())
    return styles


def vml_drawing(block: int, shapes: list[tuple[int, int, str]]) -> str:
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


def used_idmaps(package: XlsxPackage) -> set[int]:
    """The «o:idmap» numbers the workbook's VML drawings already take; a new drawing needs another."""
    used = set()
    for name in package.names:
        if name.lower().endswith(".vml"):
            for match in _IDMAP.finditer(package.part(name).decode("utf-8", "replace")):
                used.update(int(number) for number in re.findall(r"\d+", match.group(1))[:16])
    return {number for number in used if number < 1_000_000}
