"""Annotate an existing .xlsx at the XML level: fill and comment cells, add a listing sheet first; no openpyxl."""

# openpyxl needs ~100–160 ms to load and save a school's workbook; patching the few parts that change
# and copying the rest costs a few ms. How parts are read and edited safely: see pipeline.xlsx.markup.
# Anything the patch does not handle raises AnnotationError: the caller then uses openpyxl.

from __future__ import annotations

import re

from pipeline.district.labels import fold
from pipeline.xlsx.comments import merge_comments, used_idmaps, vml_drawing
from pipeline.xlsx.listing import insert_listing_sheet, listing_xml
from pipeline.xlsx.markup import AnnotationError, check_main_root, parse_xml
from pipeline.xlsx.notes import CellNote, Listing
from pipeline.xlsx.package import (
    COMMENTS_REL,
    COMMENTS_TYPE,
    VML_REL,
    VML_TYPE,
    WORKSHEET_REL,
    WORKSHEET_TYPE,
    SheetPart,
    XlsxPackage,
    add_content_types,
    add_relationships,
    free_id,
    free_name,
    write_zip,
)
from pipeline.xlsx.styles import PatchedStyles
from pipeline.xlsx.worksheet import patch_worksheet, unselect_tabs

_SELECTED = re.compile(rb"""tabSelected\s*=\s*["'](?:1|true)["']""")


def build_annotated(package: XlsxPackage, notes: list[CellNote], author: str, listing: Listing) -> bytes:
    """Return the bytes of *package* with *notes* on their cells and *listing* as the first, active sheet."""
    if any(fold(sheet.name) == fold(listing.title) for sheet in package.sheets):
        raise AnnotationError("the workbook already has a listing sheet")
    styles = PatchedStyles(package.text(package.styles_path))
    changed: dict[str, str] = {}
    added: dict[str, str] = {}  # new part → its text
    types: dict[str, str] = {}  # new part → its content type
    idmaps = used_idmaps(package)
    notes_by_sheet: dict[str, list[CellNote]] = {}
    for note in notes:
        notes_by_sheet.setdefault(note.sheet, []).append(note)
    for sheet in package.sheets:
        sheet_notes = notes_by_sheet.pop(sheet.name, [])
        if sheet_notes and sheet.is_worksheet:
            _annotate_sheet(package, sheet, sheet_notes, author, styles, idmaps, changed, added, types)
        elif _SELECTED.search(package.part(sheet.path)):
            text = package.text(sheet.path)
            check_main_root(text, "worksheet" if sheet.is_worksheet else "chartsheet")
            changed[sheet.path] = unselect_tabs(text)
    if notes_by_sheet:
        raise AnnotationError(f"notes for unknown sheets {sorted(notes_by_sheet)}")
    listing_path = free_name(package, added, "xl/worksheets/sheet{}.xml")
    added[listing_path] = listing_xml(listing, styles)
    types[listing_path] = WORKSHEET_TYPE
    rel_id = free_id(package.relationship_ids(package.workbook_path))
    changed[package.workbook_path] = insert_listing_sheet(
        package.text(package.workbook_path), listing.title, max(package.sheet_ids, default=0) + 1, rel_id)
    workbook_rels = package.rels_path(package.workbook_path)
    changed[workbook_rels] = add_relationships(package.text(workbook_rels), [(rel_id, WORKSHEET_REL, listing_path)])
    changed[package.styles_path] = styles.result()
    changed["[Content_Types].xml"] = add_content_types(package.text("[Content_Types].xml"), types)
    # Spliced sheets and comment lists are parsed again: an edit that broke one is a bug, and the school
    # should get openpyxl's copy rather than a broken file. The other edits insert whole generated
    # elements into parts already parsed.
    for path, text in changed.items():
        if path not in (package.workbook_path, package.styles_path, "[Content_Types].xml", workbook_rels):
            parse_xml(text)
    return write_zip(package, {path: text.encode("utf-8") for path, text in (changed | added).items()},
                     list(added))


def _annotate_sheet(package: XlsxPackage, sheet: SheetPart, notes: list[CellNote], author: str, styles: PatchedStyles,
                    idmaps: set[int], changed: dict[str, str], added: dict[str, str], types: dict[str, str]) -> None:
    """Fill and comment the cells of *notes* on *sheet*, with a comments part and its VML drawing."""
    text = package.text(sheet.path)
    check_main_root(text, "worksheet")
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
    comments_text, shapes = merge_comments(existing, old_vml, notes, author)
    block = max(idmaps, default=0) + 1
    idmaps.add(block)
    vml = vml_drawing(block, shapes)
    rel_id = None
    if comments:
        changed[comments[0][1]] = comments_text
        changed[drawings[0][1]] = vml
    else:
        comments_path = free_name(package, added, "xl/comments{}.xml")
        vml_path = free_name(package, added, "xl/drawings/vmlDrawing{}.vml")
        added[comments_path], added[vml_path] = comments_text, vml
        types[comments_path], types[vml_path] = COMMENTS_TYPE, VML_TYPE
        taken = package.relationship_ids(sheet.path)
        rel_id = free_id(taken)
        comments_id = free_id(taken | {rel_id})
        rels_path = package.rels_path(sheet.path)
        new_rels = [(rel_id, VML_REL, vml_path), (comments_id, COMMENTS_REL, comments_path)]
        if rels_path in package.names:
            changed[rels_path] = add_relationships(package.text(rels_path), new_rels)
        else:
            added[rels_path] = add_relationships(None, new_rels)
    changed[sheet.path] = patch_worksheet(text, notes, styles, rel_id)
