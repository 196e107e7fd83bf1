"""The listing sheet of an annotated copy: its worksheet XML, and its place first in the workbook."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from openpyxl.utils.cell import get_column_letter

from pipeline.xlsx.markup import (
    DOC_REL_NS,
    MAIN_NS,
    XML_DECLARATION,
    AnnotationError,
    apply_edits,
    attributes_of,
    check_main_root,
    check_section,
    child_spans,
    escape_text,
    relationship_prefix,
    set_attribute,
    start_tag,
)
from pipeline.xlsx.notes import Listing
from pipeline.xlsx.styles import PatchedStyles
from pipeline.xlsx.text import FORMULA_START, ILLEGAL_CHARACTERS, MAX_TEXT


def cell_text(text: str) -> tuple[str, bool]:
    """Return *text* as a cell can hold it, and whether it must be kept from becoming a formula."""
    text = ILLEGAL_CHARACTERS.sub("", text)[:MAX_TEXT]
    return text, text.startswith(FORMULA_START)


def listing_xml(listing: Listing, styles: PatchedStyles) -> str:
    """The listing worksheet: inline strings, a frozen bold header, an autofilter, internal links."""
    header = styles.listing(bold=True)
    cells = [f'<c r="{get_column_letter(column)}1" s="{header}" t="inlineStr"><is><t xml:space="preserve">'
             f"{escape_text(label)}</t></is></c>" for column, (label, _) in enumerate(listing.columns, start=1)]
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
                             f"{escape_text(text)}</t></is></c>")
            else:
                cells.append(f'<c r="{reference}" s="{style}"/>')
            if cell.link is not None:
                links.append(f'<hyperlink ref="{reference}" location={quoteattr(cell.link)} '
                             f"display={quoteattr(text)}/>")
        rows.append(f'<row r="{number}">{"".join(cells)}</row>')
    last = f"{get_column_letter(max(1, len(listing.columns)))}{max(2, len(listing.rows) + 1)}"
    columns = "".join(f'<col min="{column}" max="{column}" width="{width}" customWidth="1"/>'
                      for column, (_, width) in enumerate(listing.columns, start=1))
    return (f'{XML_DECLARATION}<worksheet xmlns="{MAIN_NS}" xmlns:r="{DOC_REL_NS}">'
            f'<dimension ref="A1:{last}"/>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{columns}</cols>'
            f'<sheetData>{"".join(rows)}</sheetData><autoFilter ref="A1:{last}"/>'
            + (f'<hyperlinks>{"".join(links)}</hyperlinks>' if links else "")
            + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>')


_DEFINED_NAME = start_tag("definedName")
_WORKBOOK_VIEW = start_tag("workbookView")


def insert_listing_sheet(text: str, title: str, sheet_id: int, rel_id: str) -> str:
    """Put the listing sheet first in <sheets>, shift sheet-local names by one, open the book on it."""
    check_main_root(text, "workbook")
    text, prefix = relationship_prefix(text)
    spans = child_spans(text)
    check_section(text, spans.get("sheets"), "sheets")
    opening = start_tag("sheets").match(text, spans["sheets"][0])
    edits = [(opening.end(), opening.end(), f'<sheet name={quoteattr(title)} sheetId="{sheet_id}" '
                                            f'{prefix}:id="{rel_id}"/>')]
    if "definedNames" in spans:
        # A name local to a sheet refers to it by position (ECMA-376 §18.2.5): every position moves by one.
        start, end = spans["definedNames"]
        for match in _DEFINED_NAME.finditer(text, start, end):
            local = attributes_of(match.group(1)).get("localSheetId")
            if local is None:
                continue
            if not local.isdigit():
                raise AnnotationError("a defined name with an odd sheet index")
            attributes = set_attribute(match.group(1), "localSheetId", str(int(local) + 1))
            edits.append((match.start(), match.end(), f"<definedName{attributes}{match.group(2)}>"))
    if "bookViews" in spans:
        for match in _WORKBOOK_VIEW.finditer(text, *spans["bookViews"]):
            attributes = match.group(1)
            for name in ("activeTab", "firstSheet"):
                if name in attributes_of(attributes):
                    attributes = set_attribute(attributes, name, "0")
            edits.append((match.start(), match.end(), f"<workbookView{attributes}{match.group(2)}>"))
    return apply_edits(text, edits)
