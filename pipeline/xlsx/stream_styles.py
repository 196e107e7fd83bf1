"""The style table of a streamed workbook: a cell's style in XlsxWriter's vocabulary, and styles.xml holding them."""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

from pipeline.xlsx.markup import MAIN_NS, XML_DECLARATION

Style = tuple[tuple[str, Any], ...]  # format properties in XlsxWriter's vocabulary, e.g. (("bold", True),)
STYLE_PROPERTIES = {"bold", "italic", "font_color", "bg_color", "pattern", "text_wrap", "valign", "align",
                    "num_format", "quote_prefix"}

_BUILTIN_NUMBER_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10,
                           "@": 49}
_VERTICAL = {"top": "top", "vcenter": "center", "bottom": "bottom", "vjustify": "justify"}
_HORIZONTAL = {"left": "left", "center": "center", "right": "right", "justify": "justify"}
_QUOTE = {'"': "&quot;"}  # escape() leaves quotes alone; an attribute value in «"…"» must not


def _argb(color: str) -> str:
    """«#C6EFCE» as the «FFC6EFCE» styles.xml wants."""
    digits = color.lstrip("#").upper()
    if not re.fullmatch("[0-9A-F]{6}", digits):
        raise ValueError(f"not an RGB colour: {color!r}")
    return "FF" + digits


def styles_xml(registered: list[tuple[Style, str | None, bool]]) -> str:
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
    number_format_xml = "".join(f'<numFmt numFmtId="{number}" formatCode="{escape(code, _QUOTE)}"/>'
                                for code, number in number_formats.items())
    font_xml = "".join(f'<font>{font}<sz val="11"/><name val="Calibri"/><family val="2"/></font>' for font in fonts)
    fill_xml = '<fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    fill_xml += "".join(f'<fill><patternFill patternType="solid"><fgColor rgb="{color}"/><bgColor indexed="64"/>'
                        f"</patternFill></fill>" for color in list(fills)[2:])
    return (
        f'{XML_DECLARATION}<styleSheet xmlns="{MAIN_NS}">'
        + (f'<numFmts count="{len(number_formats)}">{number_format_xml}</numFmts>' if number_formats else "")
        + f'<fonts count="{len(fonts)}">{font_xml}</fonts>'
        f'<fills count="{len(fills)}">{fill_xml}</fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(formats)}">{"".join(formats)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )
