"""Render the year's report to self-contained HTML and PDF/A-3b, fetching nothing but the project's own assets."""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any

import jinja2
import weasyprint
from markupsafe import Markup

from pipeline.atomic import atomic_path, write_text
from pipeline.report.columns import format_cell, safe_link
from pipeline.report.fetcher import ASSETS, AssetFetcher
from pipeline.report.front import METHOD_TITLE, SHORT_TITLE, build_front, school_year
from pipeline.report.model import Figure, YearReport
from pipeline.report.views import document_view
from pipeline.templating import environment
from pipeline.typography import ru_change, ru_value

STYLESHEET = ASSETS / "report.css"
CONCLUSIONS_TITLE = "Выводы и рекомендации"
DEMO_MARK = "Демонстрационные данные"
DRAFT_MARK = "Черновик"
# A key figure's card is a third of the text width: about 13 characters of the value at its 15 pt. A longer
# value (a sum of very large, yet accepted, numbers) is set smaller, and it and its change may wrap between
# digit groups, whose no-break spaces would otherwise push them past the card's edge.
LONG_FIGURE = 13
_GROUP_SPACE = re.compile(r"(?<=\d)\u00a0(?=\d)")
ATTACHMENT_DESCRIPTIONS = {
    "svod.xlsx": "Сводные таблицы отчёта (все агрегированные таблицы)",
    "files.csv": "Реестр файлов, по которым построен отчёт: хеш, ОО, статус",
}


def render_report(report: YearReport, outputs: Path, attachments: dict[str, bytes]) -> dict[str, Path]:
    """Write outputs/<year>/report.html and report.pdf (PDF/A-3b carrying *attachments*); return their paths."""
    folder = outputs / str(report.year)
    html = render_html(report, attachments=sorted(attachments))
    html_path = folder / "report.html"
    pdf_path = folder / "report.pdf"
    write_text(html_path, html)
    with atomic_path(pdf_path) as temporary:
        write_pdf(html, temporary, attachments, report.generated_at)
    return {"html": html_path, "pdf": pdf_path}


def render_html(report: YearReport, attachments: list[str] | None = None) -> str:
    """Return the report as one self-contained HTML page (CSS inlined, charts as inline SVG)."""
    context = build_context(report, attachments or [])
    return _environment().get_template("report.html").render(context)


def write_pdf(html: str, target: Path, attachments: dict[str, bytes], created: dt.datetime) -> None:
    """Lay out *html* with WeasyPrint into a PDF/A-3b file at *target*, embedding *attachments*."""
    fetcher = AssetFetcher()
    embedded = [
        weasyprint.Attachment(string=data, name=name, description=ATTACHMENT_DESCRIPTIONS.get(name, name),
                              created=created, modified=created, relationship="Data", url_fetcher=fetcher)
        for name, data in sorted(attachments.items())
    ]
    document = weasyprint.HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=fetcher)
    document.write_pdf(target, pdf_variant="pdf/a-3b", attachments=embedded)


def build_context(report: YearReport, attachments: list[str]) -> dict[str, Any]:
    """Everything the template shows, already chosen and ordered; the template only formats it."""
    front = build_front(report, attachments, method_number="1")
    document = document_view(report, first_number=2)
    return {
        "title": front.title,
        "short_title": SHORT_TITLE,
        "front": front,
        "method_title": METHOD_TITLE,
        "demo_mark": DEMO_MARK,
        "draft_mark": DRAFT_MARK,
        "report": report,
        "formed": report.generated_at.date(),
        "school_year": school_year(report),
        "sections": document.sections,
        "conclusions_number": str(2 + len(document.sections)),
        "conclusions_title": CONCLUSIONS_TITLE,
        "appendices": document.appendices,
        "css": Markup(STYLESHEET.read_text(encoding="utf-8")),
    }


def figure_value(figure: Figure) -> str:
    """A key figure's value with its unit; «%» means a share 0–1."""
    return _breakable_when_long(ru_value(figure.value, figure.unit, figure.digits))


def figure_size(figure: Figure) -> str:
    """The card value's size class: «long» when it would not fit the card at full size."""
    return "long" if len(ru_value(figure.value, figure.unit, figure.digits)) > LONG_FIGURE else ""


def figure_change(figure: Figure) -> str:
    """«+5,2 п.п.», «-3 ОО»: the change against the previous campaign, empty when there is none."""
    return "" if figure.change is None else _breakable_when_long(ru_change(figure.change, figure.unit, figure.digits))


def _breakable_when_long(text: str) -> str:
    """*text* with ordinary spaces between digit groups once it is longer than a card line holds."""
    return _GROUP_SPACE.sub(" ", text) if len(text) > LONG_FIGURE else text


@functools.cache
def _environment() -> jinja2.Environment:
    """The shared document environment plus the report's own cell and figure filters."""
    env = environment().overlay()
    env.filters.update({"cell": format_cell, "safe_link": safe_link, "figure_value": figure_value,
                        "figure_size": figure_size, "figure_change": figure_change})
    return env
