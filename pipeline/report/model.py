"""What the annual report holds: the figures and tables aggregate.py assembles and render.py formats."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from pipeline.district.roadmap import Office
from pipeline.report.assessment import Assessment
from pipeline.typography import base_text, of_text, ru_change, ru_share


def share(part: float, whole: float) -> float | None:
    """*part* of *whole* as a share 0–1, the form a Figure with unit «%» holds; None when there is no whole."""
    return None if not whole else part / whole


@dataclass(frozen=True)
class Share:
    """A share with the counts it is made of, «90,9 % (10 из 11)»: *part* of *whole*, the whole in *unit*
    («чел.» for a share of people; empty where the table's header names the schools)."""

    part: float
    whole: float
    unit: str = ""

    @property
    def value(self) -> float | None:
        return share(self.part, self.whole)

    def __str__(self) -> str:
        return ru_share(self.part, self.whole, self.unit)


@dataclass(frozen=True)
class Change:
    """A change against last year as a table shows it: «−6,7 п. п.» for shares (unit «%»), «+1 012 чел.»."""

    value: float | None
    unit: str = ""
    digits: int | None = None
    with_unit: bool = True  # False where the table has its own «Ед. изм.» column (a share's п. п. stays)

    def __str__(self) -> str:
        return ru_change(self.value, self.unit if self.with_unit or self.unit == "%" else "", self.digits)


@dataclass(frozen=True)
class Figure:
    """One key figure and its base: «по данным <base> из <of> ОО», or the counts of a share («6 из 7 чел.»)."""

    label: str
    value: float | None
    unit: str  # "" | "%" | "чел." | "экз." | "ОО" | «книг на читателя» (agreed with the number) …
    base: int
    of: int
    previous: float | None = None  # last campaign's value, when there is one
    counts: Share | None = None  # for a share: what it is a share of, in schools or in people
    digits: int | None = None  # decimals of the value and its change; None: whole numbers as is, else up to two
    note: str = ""  # said apart under the base: «не требуется: 2 ОО», «по 12 ОО, сдавшим отчёт в оба года»

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def base_line(self) -> str:
        """«по данным 13 из 15 ОО»; for a share «10 из 11 ОО», «6 из 7 чел., по данным 7 из 13 ОО»; and the note
        («10 из 11 ОО; не требуется: 2 ОО»)."""
        # A note such as «по кампании в целом» says the base itself when every school counted.
        line = "" if self.note and self.base == self.of else base_text(self.base, self.of)
        if self.counts is not None:
            counted = of_text(self.counts.part, self.counts.whole, self.counts.unit or "ОО")
            # A share of schools says its schools; a share of people also says how many schools it rests on.
            line = counted if (self.counts.unit or "ОО") == "ОО" or not line else f"{counted}, {line}"
        return "; ".join(part for part in (line, self.note) if part)


@dataclass(frozen=True)
class Section:
    """One section of the report: its key figures, its tables (title → frame), and sentences."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # generated sentences; «нет данных» sentences too

    @property
    def is_empty(self) -> bool:
        return not self.figures and not any(len(table) for table in self.tables.values())


@dataclass(frozen=True)
class YearReport:
    """The consolidated final report of one campaign (roadmap item 5.2)."""

    district: str
    year: int
    demo: bool
    generated_at: dt.datetime
    period: tuple[dt.date, dt.date]
    deadline: dt.date
    expected: int
    accepted: int
    has_previous: bool
    coverage: Section  # общие сведения и охват
    roadmap: Section  # выполнение дорожной карты
    regulation: Section  # нормативная база
    informing: Section  # информирование
    staff: Section  # кадры и повышение квалификации
    awards: Section  # поощрения
    library: Section  # ресурсы и деятельность библиотек
    dynamics: Section  # динамика к прошлому году
    conclusions: list[str]  # выводы, generated from the numbers
    # Frames the charts are drawn from (see charts.py): each documented where it is built.
    status_by_item: pd.DataFrame  # index item code; columns the five statuses; values school counts
    arrivals: pd.DataFrame  # columns date, accepted (cumulative count of schools accepted by that date)
    item_matrix: pd.DataFrame  # index school code; columns item codes; values status (or "" when missing)
    index_by_school: pd.DataFrame  # columns school, name, index (0–1), done, applicable; sorted desc
    key_indicators: pd.DataFrame  # index school; columns of a few key ratios for ranked bars
    year_over_year: pd.DataFrame  # columns figure, previous, current (only when has_previous)
    appendix_schools: pd.DataFrame  # per-school summary table (one row per expected school)
    appendix_warnings: pd.DataFrame  # columns school, name, code, sheet, cell, message (accepted files)
    appendix_links: pd.DataFrame  # columns school, name, item, link
    files_used: pd.DataFrame  # columns path, sha256, school, status, arrived_at (the ledger of files)
    window: tuple[dt.date, dt.date] | None = None  # the collection window, for the arrivals chart
    office: Office = field(default_factory=Office)  # the education department issuing it: cover, approval, executor
    states: dict[str, int] = field(default_factory=dict)  # expected schools by SchoolState value (the method)
    assessment: Assessment | None = None  # выводы, рекомендации, решения by the district's rules (conclusions.py)
    analyst_text: tuple[str, ...] = ()  # paragraphs of the analyst's own text, inputs/report/<year>.txt
    warning_cells: pd.DataFrame | None = None  # appendix_warnings with check code, sheet and cell, for svod.xlsx
    draft: bool = False  # a deliberate draft (eibm report --force): every page says «Черновик»
