"""Cell formats added to an existing workbook's styles.xml: marked cells and the listing sheet's; no index moves."""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import quoteattr

from pipeline.xlsx.markup import (
    ATTRIBUTES,
    MAIN_NS,
    AnnotationError,
    apply_edits,
    check_main_root,
    check_section,
    child_spans,
    parse_xml,
    set_attribute,
    start_tag,
)

HYPERLINK_RGB = "FF0563C1"  # Excel's «Гиперссылка» style colour

_XF = re.compile(rf"<xf(?=[\s/>]){ATTRIBUTES}(?:/>|>(.*?)</xf>)", re.S)
_RGB = re.compile(r"^[0-9A-F]{6}$")


class PatchedStyles:
    """styles.xml with fonts, fills and cell formats appended; existing indexes never move."""

    SECTIONS = ("fonts", "fills", "cellXfs")

    def __init__(self, text: str):
        check_main_root(text, "styleSheet")
        root = parse_xml(text)
        self.text = text
        self.spans = child_spans(text)
        elements = {name: root.find(f"{{{MAIN_NS}}}{name}") for name in self.SECTIONS}
        counts = {name: len(element) if element is not None else 0 for name, element in elements.items()}
        # Fills 0 and 1 are reserved (none, gray125): a workbook without them is not one to patch.
        if counts["fonts"] < 1 or counts["fills"] < 2 or counts["cellXfs"] < 1:
            raise AnnotationError("styles without fonts, fills or cell formats")
        for name in self.SECTIONS:
            check_section(text, self.spans.get(name), name)
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
            attributes = set_attribute(set_attribute(attributes, "fillId", str(self._fill(rgb))), "applyFill", "1")
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
            opening = start_tag(name).match(self.text, start)
            count = str(self.counts[name] + len(self.added[name]))
            edits.append((start, opening.end(), f"<{name}{set_attribute(opening.group(1), 'count', count)}>"))
            close = end - len(f"</{name}>")
            edits.append((close, close, "".join(self.added[name])))
        return apply_edits(self.text, edits)

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
