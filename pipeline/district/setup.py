"""A run's setup: the district's data and register, loaded once, and where the campaign's files live."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from pipeline import ledger
from pipeline.district.register import School, load_register
from pipeline.district.roadmap import Campaign, District, load_district


def drop_folder(inputs: Path, year: int) -> Path:
    """Where schools drop the files of campaign *year*: inputs/<year>/."""
    return inputs / str(year)


@dataclass(frozen=True)
class Setup:
    """The district's data and where things live, loaded once per run."""

    inputs: Path
    outputs: Path
    year: int
    district: District
    register: dict[str, School]
    ledger_url: str

    @property
    def drop_folder(self) -> Path:
        return drop_folder(self.inputs, self.year)

    @property
    def campaign(self) -> Campaign:
        return self.district.campaign(self.year)

    def for_year(self, year: int) -> Setup:
        """The same district and places, for another campaign (last year's, for comparisons)."""
        return replace(self, year=year)


def load_setup(inputs: Path, outputs: Path, year: int, ledger_url: str | None = None) -> Setup:
    """Load district data and register; raises DistrictDataError / RegisterError on broken files."""
    district = load_district(inputs)
    register = load_register(inputs)
    return Setup(inputs, outputs, year, district, register, ledger_url or ledger.default_url(outputs))
