"""Stream typed rows into .xlsx files written as plain SpreadsheetML: text stays text, dates get Russian formats."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import numbers
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.atomic import atomic_path
from pipeline.xlsx.markup import DOC_REL_NS, MAIN_NS, PACKAGE_REL_NS, XML_DECLARATION
from pipeline.xlsx.stream_sheet import COLUMN_LETTERS, MAX_COLUMNS, Sheet
from pipeline.xlsx.stream_styles import STYLE_PROPERTIES, Style, styles_xml
from pipeline.xlsx.text import DATE_FORMAT, DATETIME_FORMAT, is_formula_like, to_cell_text

# XlsxWriter spent ~85 % of a 4-million-cell svod.xlsx in its per-cell code; one f-string per cell
# written to a scratch file (see pipeline.xlsx.stream_sheet) is what this module does instead.
MAX_SHEET_NAME = 31
_FORBIDDEN_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
# Serial day numbers count from 1899-12-30 in Excel's 1900 date system (right from 1900-03-01 on;
# Excel's phantom 1900-02-29 shifts earlier dates by one, which no school report holds).
_EPOCH_ORDINAL = dt.date(1899, 12, 30).toordinal()
_SECONDS_PER_DAY = 86_400
# to_cell_text drops the ASCII control characters; XML 1.0 also forbids lone surrogates (they cannot
# even be encoded as UTF-8) and the non-characters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")
# Repeated texts (states, «выполнено», municipalities) are escaped once; the cache is emptied when full
# so that a million distinct names cannot grow it without bound. Inline strings, not a shared-strings
# table: svod.xlsx of 10,000 schools took the same time either way (4.6 s), and the table would have
# kept every distinct text in memory until the end.
_TEXT_CACHE_SIZE = 50_000
# zlib level 1 deflates the sheets 3.5x faster than the default 6 (0.35 s against 1.24 s for svod.xlsx
# of 10,000 schools) for a file 30 % larger (7.4 MB against 5.6 MB).
_COMPRESS_LEVEL = 1


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def to_xml_text(text: str) -> str:
    """*text* as Excel can hold it (see pipeline.xlsx.text.to_cell_text), also without what XML 1.0 forbids."""
    return _NOT_XML.sub("", to_cell_text(text))



class StreamWorkbook:
    """One workbook being written row by row; sheets are filled one after another, rows top to bottom."""

    def __init__(self, path: Path, scratch: Path) -> None:
        self._scratch = scratch
        self._archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL)
        self._sheets: list[Sheet] = []
        self._properties: dict[str, str] = {}
        # (style, number format, quoted) -> ' s="N"' for the cell; index 0 is the default style.
        self._style_attributes: dict[tuple[Style, str | None, bool], str] = {((), None, False): ""}
        self._styles: list[tuple[Style, str | None, bool]] = [((), None, False)]
        # raw text -> (the cell's XML after its style, quoted), see _TEXT_CACHE_SIZE
        self._texts: dict[str, tuple[str | None, bool]] = {}

    def add_sheet(self, name: str) -> Sheet:
        """A new sheet named *name* (Excel-safe: at most 31 characters, no []:*?/\\); the previous sheet is done."""
        if not 0 < len(name) <= MAX_SHEET_NAME or _FORBIDDEN_IN_SHEET_NAME.search(name) or "'" in (name[0], name[-1]):
            raise ValueError(f"not an Excel sheet name: {name!r}")
        if name.lower() in (sheet.name.lower() for sheet in self._sheets):
            raise ValueError(f"sheet name {name!r} is taken (Excel ignores case)")
        if self._sheets:
            self._write_sheet(self._sheets[-1])
        sheet = Sheet(name, len(self._sheets), self._scratch)
        self._sheets.append(sheet)
        return sheet

    def set_properties(self, title: str | None = None, creator: str | None = None) -> None:
        """Document properties shown in Excel's «Сведения»."""
        properties = {"title": title, "creator": creator}
        self._properties.update({key: value for key, value in properties.items() if value is not None})

    def write(self, sheet: Sheet, row: int, column: int, value: Any, style: Style = (),
              number_format: str | None = None) -> None:
        """Write *value* typed at 0-based (*row*, *column*): text safely as text, dates as dates, numbers as numbers.

        *number_format* overrides the format of a number or date; None keeps numbers unformatted and
        gives dates «ДД.ММ.ГГГГ» and date-times «ДД.ММ.ГГГГ ЧЧ:ММ». Cells of a row go left to right.
        """
        if row != sheet._row:
            sheet._next_row(row)
        if not sheet._column < column < MAX_COLUMNS:
            raise ValueError(f"column {column} of row {row} comes after column {sheet._column}: cells go left to right")
        sheet._column = column
        reference = COLUMN_LETTERS[column] + sheet._label
        kind = type(value)
        # Exact types first: they are nearly all cells; subclasses (numpy, pandas) take the isinstance path.
        if kind is str:
            cached = self._texts.get(value)
            if cached is None:
                cached = self._text(value)
            tail, quoted = cached
            if tail is None:  # an empty string is an empty cell, as openpyxl left it
                if style:
                    sheet._cells.append(f'<c r="{reference}"{self._attribute(style, None, False)}/>')
                return
            # The style lookups of the three common types are inlined: a method call is 10 % of a cell.
            attribute = self._style_attributes.get((style, None, quoted))
            if attribute is None:
                attribute = self._attribute(style, None, quoted)
            sheet._cells.append(f'<c r="{reference}"{attribute}{tail}')
        elif kind is int:
            attribute = self._style_attributes.get((style, number_format, False))
            if attribute is None:
                attribute = self._attribute(style, number_format, False)
            sheet._cells.append(f'<c r="{reference}"{attribute}><v>{value}</v></c>')
        elif kind is float:
            if not math.isfinite(value):
                raise ValueError(f"Excel has no number {value!r} (row {row}, column {column})")
            attribute = self._style_attributes.get((style, number_format, False))
            if attribute is None:
                attribute = self._attribute(style, number_format, False)
            sheet._cells.append(f'<c r="{reference}"{attribute}><v>{value!r}</v></c>')
        elif value is None:
            if style:
                sheet._cells.append(f'<c r="{reference}"{self._attribute(style, None, False)}/>')
        elif isinstance(value, str):
            sheet._column = column - 1
            self.write(sheet, row, column, str(value), style, number_format)
        elif isinstance(value, bool):
            sheet._cells.append(f'<c r="{reference}"{self._attribute(style, None, False)} t="b"><v>{value:d}</v></c>')
        elif isinstance(value, dt.datetime):
            # Excel has no time zones: the wall-clock time stays, the zone goes.
            serial = (value.toordinal() - _EPOCH_ORDINAL
                      + (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6)
                      / _SECONDS_PER_DAY)
            attribute = self._attribute(style, number_format or DATETIME_FORMAT, False)
            sheet._cells.append(f'<c r="{reference}"{attribute}><v>{serial!r}</v></c>')
        elif isinstance(value, dt.date):
            attribute = self._attribute(style, number_format or DATE_FORMAT, False)
            sheet._cells.append(f'<c r="{reference}"{attribute}><v>{value.toordinal() - _EPOCH_ORDINAL}</v></c>')
        elif isinstance(value, numbers.Integral):
            sheet._column = column - 1
            self.write(sheet, row, column, int(value), style, number_format)
        elif isinstance(value, numbers.Real):
            sheet._column = column - 1
            self.write(sheet, row, column, float(value), style, number_format)
        else:
            raise TypeError(f"no Excel cell type for {type(value).__name__}: {value!r}")

    def _text(self, raw: str) -> tuple[str | None, bool]:
        """The XML of a text cell after its style attribute, and whether it needs the «'» prefix."""
        text = to_xml_text(raw)
        if not text:
            cached: tuple[str | None, bool] = (None, False)
        else:
            # Leading or trailing spaces are kept only when the <t> says so.
            space = ' xml:space="preserve"' if text != text.strip() else ""
            cached = (f' t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>', is_formula_like(text))
        if len(self._texts) >= _TEXT_CACHE_SIZE:
            self._texts.clear()
        self._texts[raw] = cached
        return cached

    def _attribute(self, style: Style, number_format: str | None, quoted: bool) -> str:
        """' s="N"' naming the shared cell format of *style* with *number_format*; one per distinct style."""
        key = (style, number_format, quoted)
        found = self._style_attributes.get(key)
        if found is None:
            unknown = {name for name, _ in style} - STYLE_PROPERTIES
            if unknown:
                raise ValueError(f"unsupported style properties: {sorted(unknown)}")
            found = self._style_attributes[key] = f' s="{len(self._styles)}"'
            self._styles.append(key)
        return found

    def close(self) -> None:
        """Write the file; an OS error (disk full, no permission) surfaces as OSError."""
        if not self._sheets:
            # Excel refuses a workbook without sheets, as XlsxWriter did: give it an empty one.
            self.add_sheet("Лист1")
        try:
            self._write_sheet(self._sheets[-1])
            self._write_parts()
        finally:
            self._archive.close()

    def abort(self) -> None:
        """Drop everything written so far (the caller removes the file)."""
        for sheet in self._sheets:
            sheet._discard()
        self._archive.close()

    def _write_sheet(self, sheet: Sheet) -> None:
        sheet._copy_into(self._archive, f"xl/worksheets/sheet{sheet.index + 1}.xml")

    def _write_parts(self) -> None:
        archive = self._archive
        count = len(self._sheets)
        archive.writestr("[Content_Types].xml", _content_types(count))
        archive.writestr("_rels/.rels", _ROOT_RELATIONSHIPS)
        archive.writestr("docProps/app.xml", _APP)
        archive.writestr("docProps/core.xml", _core(self._properties))
        archive.writestr("xl/workbook.xml", self._workbook())
        archive.writestr("xl/_rels/workbook.xml.rels", _workbook_relationships(count))
        archive.writestr("xl/styles.xml", styles_xml(self._styles))

    def _workbook(self) -> str:
        sheets = "".join(f'<sheet name="{_escape_attribute(sheet.name)}" sheetId="{sheet.index + 1}" '
                         f'r:id="rId{sheet.index + 1}"/>' for sheet in self._sheets)
        names = "".join(name for sheet in self._sheets for name in sheet._defined_names())
        defined = f"<definedNames>{names}</definedNames>" if names else ""
        return (f'{XML_DECLARATION}<workbook xmlns="{MAIN_NS}" xmlns:r="{DOC_REL_NS}"><workbookPr/>'
                f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>{defined}</workbook>')


_ROOT_RELATIONSHIPS = (
    f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_REL_NS}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_APP = (f'{XML_DECLARATION}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>eibm</Application></Properties>")


def _content_types(sheets: int) -> str:
    spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{number}.xml" '
                        f'ContentType="{spreadsheet}.worksheet+xml"/>' for number in range(1, sheets + 1))
    return (
        f'{XML_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{spreadsheet}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{spreadsheet}.styles+xml"/>'
        f"{overrides}"
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    )


def _workbook_relationships(sheets: int) -> str:
    kind = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    relationships = [f'<Relationship Id="rId{number}" Type="{kind}/worksheet" Target="worksheets/sheet{number}.xml"/>'
                     for number in range(1, sheets + 1)]
    relationships.append(f'<Relationship Id="rId{sheets + 1}" Type="{kind}/styles" Target="styles.xml"/>')
    return f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_REL_NS}">{"".join(relationships)}</Relationships>'


def _core(properties: dict[str, str]) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    title = f"<dc:title>{_escape(to_xml_text(properties['title']))}</dc:title>" if "title" in properties else ""
    creator = (f"<dc:creator>{_escape(to_xml_text(properties['creator']))}</dc:creator>"
               if "creator" in properties else "")
    return (
        f'{XML_DECLARATION}<cp:coreProperties '
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{title}{creator}"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
        "</cp:coreProperties>"
    )


@contextlib.contextmanager
def stream_workbook(path: Path) -> Iterator[StreamWorkbook]:
    """Yield a workbook to fill; on success it is written atomically at *path* (see pipeline.atomic)."""
    # The scratch folder goes whatever happens, with the rows of a sheet that failed half-way.
    with atomic_path(path) as temporary, tempfile.TemporaryDirectory(prefix="eibm-xlsx-") as scratch:
        book = StreamWorkbook(temporary, Path(scratch))
        try:
            yield book
        except BaseException:
            book.abort()
            raise
        book.close()


def set_widths(sheet: Sheet, widths: list[float]) -> None:
    """Column widths in Excel's characters, first column first."""
    sheet.set_widths(widths)


def set_autofilter(sheet: Sheet, last_row: int, last_column: int) -> None:
    """Filter buttons on the header row over A1 to the 0-based (*last_row*, *last_column*)."""
    sheet.set_autofilter(0, 0, last_row, last_column)


def freeze_header(sheet: Sheet) -> None:
    """Keep row 1 in view while scrolling (Excel's «Закрепить верхнюю строку»)."""
    sheet.freeze_rows(1)
