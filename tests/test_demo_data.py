"""The shipped demo district (inputs/) is exactly what scripts/make_demo.py makes, and shows every format."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pipeline.district.register import load_register
from pipeline.intake.discover import UNRECOGNIZED, group_units, list_drop_folder

PROJECT = Path(__file__).resolve().parents[1]
INPUTS = PROJECT / "inputs"
# Everything the script owns under inputs/; district.toml is its input, not its output.
DEMO_PATHS = ("schools.csv", "2024", "2025", "arrivals/2024.csv", "arrivals/2025.csv")


@functools.cache
def load_script() -> ModuleType:
    # scripts/ is not a package: load the file itself, as `python scripts/make_demo.py` would. Its
    # dataclasses look their module up in sys.modules, so it is registered there first.
    spec = importlib.util.spec_from_file_location("make_demo", PROJECT / "scripts" / "make_demo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def digests(root: Path) -> dict[str, str]:
    found = {}
    for name in DEMO_PATHS:
        path = root / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                found[file.relative_to(root).as_posix()] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inputs = tmp_path_factory.mktemp("demo") / "inputs"
    inputs.mkdir()
    shutil.copy(INPUTS / "district.toml", inputs / "district.toml")
    assert load_script().main(["--inputs", str(inputs)]) == 0
    return inputs


def test_make_demo_reproduces_the_committed_inputs(regenerated: Path) -> None:
    # If this fails after a change to the template or district.toml, run `python scripts/make_demo.py`.
    assert digests(regenerated) == digests(INPUTS)


def test_make_demo_refuses_a_real_register(tmp_path: Path) -> None:
    shutil.copy(INPUTS / "district.toml", tmp_path / "district.toml")
    real = "Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n70-001;МБОУ «СОШ»;Томский район;;;;\n"
    (tmp_path / "schools.csv").write_text(real, encoding="utf-8")
    assert load_script().main(["--inputs", str(tmp_path)]) == 2
    assert (tmp_path / "schools.csv").read_text(encoding="utf-8") == real


def test_demo_register_has_about_fifteen_schools() -> None:
    register = load_register(INPUTS)
    assert 14 <= len(register) <= 16
    assert {school.municipality for school in register.values()} == {"Демонстрационный район"}
    assert all(domain.endswith((".example.ru", ".gosweb.gosuslugi.ru"))
               for school in register.values() for domain in school.domains)


def test_demo_2025_folder_has_every_kind_of_file() -> None:
    units = group_units(list_drop_folder(INPUTS / "2025"))
    kinds = {unit.kind for unit in units}
    assert {"workbook", "csv", UNRECOGNIZED} <= kinds
    assert any(unit.key.endswith(".ods") for unit in units)
    assert any(unit.key.startswith("~$") and unit.kind == UNRECOGNIZED for unit in units)


def test_demo_csv_parts_are_windows_1251() -> None:
    parts = sorted((INPUTS / "2025").glob("*.csv"))
    assert len(parts) == 6
    for part in parts:
        data = part.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert data.decode("cp1251").splitlines()[0].count(";") >= 1
