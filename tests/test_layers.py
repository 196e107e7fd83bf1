"""The house's floors: pipeline/ works and never reaches the application layer; its stages import downwards only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import PROJECT

PIPELINE = PROJECT / "pipeline"
# The application layer (the command line, Prefect flows and deployments) and what only it may use.
APPLICATION = ("prefect", "prefect_dask", "dask", "distributed", "flows", "eibm")
# Stage packages from the bottom floor up; a module may import its own floor and the floors below.
# The shared pieces directly under pipeline/ (modules, or a package such as the ledger) are the ground floor.
STAGES = ("district", "intake", "xlsx", "judge", "collect", "report", "mail")
SHARED_PACKAGES = ("ledger",)
MODULES = sorted(PIPELINE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, package: str) -> list[str]:
    """Every module *source* imports, at any depth (imports inside functions too), as absolute names."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            # «from pipeline import ledger» imports pipeline.ledger; «from pipeline.x import name» imports pipeline.x
            names += [f"{base}.{alias.name}" for alias in node.names] if base == "pipeline" else [base]
    return names


def imports_of(path: Path) -> list[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imported_modules(path.read_text(encoding="utf-8"), package)


def floor_of(module: str) -> int | None:
    """The floor of a pipeline module: 0 for shared pieces, 1… for the stages; None outside pipeline/."""
    parts = module.split(".")
    if parts[0] != "pipeline":
        return None
    if len(parts) > 1 and parts[1] in STAGES:
        return STAGES.index(parts[1]) + 1
    return 0


def test_every_package_under_pipeline_is_a_stage_or_a_shared_piece() -> None:
    packages = sorted(path.name for path in PIPELINE.iterdir() if (path / "__init__.py").exists())
    assert sorted(set(packages) - set(SHARED_PACKAGES)) == sorted(STAGES)


@pytest.mark.parametrize("path", MODULES, ids=[module_name(path) for path in MODULES])
def test_pipeline_module_never_imports_the_application_layer(path: Path) -> None:
    offenders = [name for name in imports_of(path) if name.split(".")[0] in APPLICATION]
    assert offenders == []


@pytest.mark.parametrize("path", MODULES, ids=[module_name(path) for path in MODULES])
def test_pipeline_module_imports_only_its_floor_and_below(path: Path) -> None:
    own = floor_of(module_name(path))
    upward = [name for name in imports_of(path) if (floor_of(name) or 0) > own]
    assert upward == []


def test_the_scan_sees_imports_inside_functions_and_relative_ones() -> None:
    source = ("def later():\n    import flows\n    from prefect.utilities.annotations import quote\n"
              "from ..collect import status\nfrom . import charts\nfrom pipeline import ledger\n")
    assert imported_modules(source, "pipeline.report") == [
        "pipeline.collect", "pipeline.report", "pipeline.ledger", "flows", "prefect.utilities.annotations"]


def test_floors_order_the_stages_from_shared_pieces_up() -> None:
    assert [floor_of(name) for name in ("pipeline.ledger", "pipeline.district.roadmap", "pipeline.judge.schema",
                                        "pipeline.report.svod", "pandas")] == [0, 1, 4, 6, None]
