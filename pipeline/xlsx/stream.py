"""Stream typed rows into .xlsx files written as plain SpreadsheetML: text stays text, dates get Russian formats."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import numbers
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pipeline.atomic import atomic_path
from pipeline.xlsx.text import DATE_FORMAT, DATETIME_FORMAT, is_formula_like, to_cell_text

# XlsxWriter spent ~85 % of a 4-million-cell svod.xlsx in its per-cell code; one f-string per cell
# written to a scratch file is what this module does instead. Each sheet's <sheetData> goes to disk
# as its rows are written (memory stays flat) and is copied into the zip member once the sheet is done,
# because <cols>, which Excel wants before the rows, is only known then.
Style = tuple[tuple[str, Any], ...]  # format properties in XlsxWriter's vocabulary, e.g. (("bold", True),)

MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
MAX_SHEET_NAME = 31
_FORBIDDEN_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
# Excel's column width unit is the width of a digit, 7 px in the default Calibri 11. Widths are
# rounded to whole pixels as Excel itself stores them.
DIGIT_PIXELS = 7
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
_ZIP64_LIMIT = (1 << 31) - 1
_COPY_CHUNK = 1 << 20

_BUILTIN_NUMBER_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10,
                           "@": 49}
_VERTICAL = {"top": "top", "vcenter": "center", "bottom": "bottom", "vjustify": "justify"}
_HORIZONTAL = {"left": "left", "center": "center", "right": "right", "justify": "justify"}
_STYLE_PROPERTIES = {"bold", "italic", "font_color", "bg_color", "pattern", "text_wrap", "valign", "align",
                     "num_format", "quote_prefix"}

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _column_letters(count: int) -> list[str]:
    letters = []
    for index in range(count):
        name, number = "", index + 1
        while number:
            number, remainder = divmod(number - 1, 26)
            name = chr(65 + remainder) + name
        letters.append(name)
    return letters


_LETTERS = _column_letters(MAX_COLUMNS)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def to_xml_text(text: str) -> str:
    """*text* as Excel can hold it (see pipeline.xlsx.text.to_cell_text), also without what XML 1.0 forbids."""
    return _NOT_XML.sub("", to_cell_text(text))


class Sheet:
    """One worksheet: its rows go to a scratch file as they come, its settings into the sheet's XML at the end."""

    def __init__(self, name: str, index: int, scratch: Path) -> None:
        self.name = name
        self.index = index
        self._path = scratch / f"sheet{index + 1}.xml"
        self._rows: IO[str] | None = self._path.open("w", encoding="utf-8", newline="", buffering=_COPY_CHUNK)
        self._row = -1  # the row being written, 0-based
        self._label = ""  # its number as Excel shows it
        self._column = -1  # the last column written in it
        self._cells: list[str] = []
        self._last_column = -1
        self._widths: list[float] = []
        self._frozen_rows = 0
        self._autofilter: tuple[int, int, int, int] | None = None
        self._repeated_rows: tuple[int, int] | None = None
        self._landscape = False
        self._fit_to_pages: tuple[int, int] | None = None

    # XlsxWriter's Worksheet names for the settings status.py uses.
    def repeat_rows(self, first_row: int, last_row: int | None = None) -> None:
        """Print the 0-based rows *first_row*..*last_row* on top of every page («Печатать на каждой странице»)."""
        self._check_open()
        self._repeated_rows = (first_row, first_row if last_row is None else last_row)

    def set_landscape(self) -> None:
        """Print in landscape orientation."""
        self._check_open()
        self._landscape = True

    def fit_to_pages(self, width: int, height: int) -> None:
        """Scale the print to *width* pages across and *height* down; 0 leaves that direction free."""
        self._check_open()
        self._fit_to_pages = (width, height)

    def set_widths(self, widths: list[float]) -> None:
        """Column widths in Excel's characters, first column first."""
        self._check_open()
        self._widths = list(widths)

    def freeze_rows(self, rows: int) -> None:
        """Keep the first *rows* rows in view while scrolling."""
        self._check_open()
        self._frozen_rows = rows

    def set_autofilter(self, first_row: int, first_column: int, last_row: int, last_column: int) -> None:
        """Filter buttons on *first_row* over the 0-based range given."""
        self._check_open()
        self._autofilter = (first_row, first_column, last_row, last_column)

    def _check_open(self) -> None:
        if self._rows is None:
            raise ValueError(f"sheet {self.name!r} is already written: sheets are filled one after another")

    def _next_row(self, row: int) -> None:
        """Close the row being written and start 0-based *row*, which must come below it."""
        self._check_open()
        if not self._row < row < MAX_ROWS:
            raise ValueError(f"row {row} of sheet {self.name!r} comes after row {self._row}: rows go top to bottom")
        self._flush_row()
        self._row = row
        self._label = str(row + 1)
        self._column = -1

    def _flush_row(self) -> None:
        if self._cells:
            self._rows.write(f'<row r="{self._label}">{"".join(self._cells)}</row>')
            self._last_column = max(self._last_column, self._column)
            self._cells.clear()

    def _copy_into(self, archive: zipfile.ZipFile, member: str) -> None:
        """Finish the sheet's XML and deflate it into *archive* as *member*; the scratch file goes."""
        self._check_open()
        self._flush_row()
        self._rows.close()
        self._rows = None
        head = self._head().encode()
        tail = self._tail().encode()
        size = len(head) + self._path.stat().st_size + len(tail)
        # zipfile needs to know up front when a member may pass 2 GiB (ZIP64 headers).
        with archive.open(member, "w", force_zip64=size > _ZIP64_LIMIT // 2) as target, self._path.open("rb") as rows:
            target.write(head)
            shutil.copyfileobj(rows, target, _COPY_CHUNK)
            target.write(tail)
        self._path.unlink()
        self._row = MAX_ROWS  # any later write lands in _next_row, which refuses it

    def _discard(self) -> None:
        if self._rows is not None:
            self._rows.close()
            self._rows = None
        self._path.unlink(missing_ok=True)

    def _head(self) -> str:
        parts = [_XML_HEAD, f'<worksheet xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">']
        if self._fit_to_pages is not None:
            parts.append('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>')
        if self._row >= 0:
            parts.append(f'<dimension ref="A1:{_LETTERS[max(self._last_column, 0)]}{self._row + 1}"/>')
        else:
            parts.append('<dimension ref="A1"/>')
        selected = ' tabSelected="1"' if self.index == 0 else ""
        if self._frozen_rows:
            top_left = f"A{self._frozen_rows + 1}"
            parts.append(
                f'<sheetViews><sheetView{selected} workbookViewId="0">'
                f'<pane ySplit="{self._frozen_rows}" topLeftCell="{top_left}" activePane="bottomLeft" state="frozen"/>'
                f'<selection pane="bottomLeft" activeCell="{top_left}" sqref="{top_left}"/>'
                f"</sheetView></sheetViews>"
            )
        else:
            parts.append(f'<sheetViews><sheetView{selected} workbookViewId="0"/></sheetViews>')
        parts.append('<sheetFormatPr defaultRowHeight="15"/>')
        if self._widths:
            parts.append("<cols>")
            for column, width in enumerate(self._widths, start=1):
                characters = round(width * DIGIT_PIXELS) / DIGIT_PIXELS
                parts.append(f'<col min="{column}" max="{column}" width="{characters!r}" customWidth="1"/>')
            parts.append("</cols>")
        parts.append("<sheetData>")
        return "".join(parts)

    def _tail(self) -> str:
        parts = ["</sheetData>"]
        if self._autofilter is not None:
            parts.append(f'<autoFilter ref="{_range(*self._autofilter)}"/>')
        parts.append('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
        setup = ['paperSize="9"']  # A4, the paper of Russian offices
        if self._landscape:
            setup.append('orientation="landscape"')
        if self._fit_to_pages is not None:
            width, height = self._fit_to_pages
            setup.append(f'fitToWidth="{width}" fitToHeight="{height}"')
        parts.append(f"<pageSetup {' '.join(setup)}/>")
        parts.append("</worksheet>")
        return "".join(parts)

    def _defined_names(self) -> list[str]:
        quoted = "'" + self.name.replace("'", "''") + "'"
        names = []
        if self._autofilter is not None:
            first_row, first_column, last_row, last_column = self._autofilter
            absolute = f"${_LETTERS[first_column]}${first_row + 1}:${_LETTERS[last_column]}${last_row + 1}"
            names.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{self.index}" hidden="1">'
                         f"{_escape(quoted)}!{absolute}</definedName>")
        if self._repeated_rows is not None:
            first, last = self._repeated_rows
            names.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{self.index}">'
                         f"{_escape(quoted)}!${first + 1}:${last + 1}</definedName>")
        return names


def _range(first_row: int, first_column: int, last_row: int, last_column: int) -> str:
    return f"{_LETTERS[first_column]}{first_row + 1}:{_LETTERS[last_column]}{last_row + 1}"


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
        reference = _LETTERS[column] + sheet._label
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
            unknown = {name for name, _ in style} - _STYLE_PROPERTIES
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
        archive.writestr("xl/styles.xml", _styles(self._styles))

    def _workbook(self) -> str:
        sheets = "".join(f'<sheet name="{_escape_attribute(sheet.name)}" sheetId="{sheet.index + 1}" '
                         f'r:id="rId{sheet.index + 1}"/>' for sheet in self._sheets)
        names = "".join(name for sheet in self._sheets for name in sheet._defined_names())
        defined = f"<definedNames>{names}</definedNames>" if names else ""
        return (f'{_XML_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}"><workbookPr/>'
                f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>{defined}</workbook>')


_ROOT_RELATIONSHIPS = (
    f'{_XML_HEAD}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_APP = (f'{_XML_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>eibm</Application></Properties>")


def _content_types(sheets: int) -> str:
    spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{number}.xml" '
                        f'ContentType="{spreadsheet}.worksheet+xml"/>' for number in range(1, sheets + 1))
    return (
        f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
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
    return f'{_XML_HEAD}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">{"".join(relationships)}</Relationships>'


def _core(properties: dict[str, str]) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    title = f"<dc:title>{_escape(to_xml_text(properties['title']))}</dc:title>" if "title" in properties else ""
    creator = (f"<dc:creator>{_escape(to_xml_text(properties['creator']))}</dc:creator>"
               if "creator" in properties else "")
    return (
        f'{_XML_HEAD}<cp:coreProperties '
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{title}{creator}"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def _argb(color: str) -> str:
    """«#C6EFCE» as the «FFC6EFCE» styles.xml wants."""
    digits = color.lstrip("#").upper()
    if not re.fullmatch("[0-9A-F]{6}", digits):
        raise ValueError(f"not an RGB colour: {color!r}")
    return "FF" + digits


def _styles(registered: list[tuple[Style, str | None, bool]]) -> str:
    """styles.xml holding exactly the cell formats *registered*, in their order (index = the cells' s="N")."""
    number_formats: dict[str, int] = {}
    fonts: dict[str, int] = {"": 0}
    fills: dict[str, int] = {"none": 0, "gray125": 1}
    formats = []
    for style, number_format, quoted in registered:
        properties = dict(style)
        number_format = number_format or properties.get("num_format")
        if number_format is None:
            format_id = 0
        elif number_format in _BUILTIN_NUMBER_FORMATS:
            format_id = _BUILTIN_NUMBER_FORMATS[number_format]
        else:
            format_id = number_formats.setdefault(number_format, 164 + len(number_formats))
        font = ("<b/>" if properties.get("bold") else "") + ("<i/>" if properties.get("italic") else "")
        if properties.get("font_color"):
            font += f'<color rgb="{_argb(properties["font_color"])}"/>'
        font_id = fonts.setdefault(font, len(fonts))
        fill_id = 0
        if properties.get("bg_color") and properties.get("pattern", 1):
            fill_id = fills.setdefault(_argb(properties["bg_color"]), len(fills))
        alignment = ""
        if properties.get("valign"):
            alignment += f' vertical="{_VERTICAL[properties["valign"]]}"'
        if properties.get("align"):
            alignment += f' horizontal="{_HORIZONTAL[properties["align"]]}"'
        if properties.get("text_wrap"):
            alignment += ' wrapText="1"'
        prefix = ' quotePrefix="1"' if quoted or properties.get("quote_prefix") else ""
        applied = (' applyNumberFormat="1"' if format_id else "") + (' applyFont="1"' if font_id else "") \
            + (' applyFill="1"' if fill_id else "") + (' applyAlignment="1"' if alignment else "")
        body = f"<alignment{alignment}/>" if alignment else ""
        formats.append(f'<xf numFmtId="{format_id}" fontId="{font_id}" fillId="{fill_id}" borderId="0" xfId="0"'
                       f"{applied}{prefix}" + (f">{body}</xf>" if body else "/>"))
    number_format_xml = "".join(f'<numFmt numFmtId="{number}" formatCode="{_escape_attribute(code)}"/>'
                                for code, number in number_formats.items())
    font_xml = "".join(f'<font>{font}<sz val="11"/><name val="Calibri"/><family val="2"/></font>' for font in fonts)
    fill_xml = '<fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    fill_xml += "".join(f'<fill><patternFill patternType="solid"><fgColor rgb="{color}"/><bgColor indexed="64"/>'
                        f"</patternFill></fill>" for color in list(fills)[2:])
    return (
        f'{_XML_HEAD}<styleSheet xmlns="{_MAIN}">'
        + (f'<numFmts count="{len(number_formats)}">{number_format_xml}</numFmts>' if number_formats else "")
        + f'<fonts count="{len(fonts)}">{font_xml}</fonts>'
        f'<fills count="{len(fills)}">{fill_xml}</fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(formats)}">{"".join(formats)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
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
