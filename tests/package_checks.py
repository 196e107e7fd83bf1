"""Check that a written .xlsx is a valid package: unique relationship Ids, no dangling targets, a strict read."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections import Counter
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

import openpyxl

PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
# A relationship Id is an xsd:ID (ECMA-376 Part 2, §9.3.2.2): an XML NCName.
_NCNAME = re.compile(r"^[A-Za-z_][\w.-]*$")


def check_package(path: Path) -> None:
    """Assert the workbook at *path* opens as Excel needs it to, without offering to repair it.

    Every .rels part has unique, well-formed Ids and internal targets that exist; every r:id a part
    uses is one of its relationships; every Override of [Content_Types].xml names a part; every part
    has a content type; and openpyxl loads the workbook.
    """
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None, f"{path.name}: a member fails its CRC"
        names = [name for name in archive.namelist() if not name.endswith("/")]
        assert len(names) == len(set(names)), f"{path.name}: duplicate zip members"
        parts = {name.lower(): name for name in names}
        ids_by_source: dict[str, set[str]] = {}
        for name in names:
            if name.endswith(".rels"):
                ids_by_source[_source_of(name)] = _check_relationships(path.name, name, archive.read(name), parts)
        for name in names:
            if name.endswith(".xml") and not name.startswith("["):
                used = _relationship_references(archive.read(name))
                missing = used - ids_by_source.get(name, set())
                assert not missing, f"{path.name}: {name} refers to relationships {sorted(missing)} it does not have"
        _check_content_types(path.name, archive.read("[Content_Types].xml"), names, parts)
    openpyxl.load_workbook(path).close()


def _source_of(rels_name: str) -> str:
    """The part a .rels part belongs to: «xl/_rels/workbook.xml.rels» → «xl/workbook.xml»; «_rels/.rels» → ""."""
    folder, name = posixpath.split(rels_name)
    assert posixpath.basename(folder) == "_rels", f"{rels_name}: a .rels part outside a _rels folder"
    return posixpath.join(posixpath.dirname(folder), name[:-len(".rels")]).lstrip("/")


def _check_relationships(package: str, name: str, data: bytes, parts: dict[str, str]) -> set[str]:
    root = ElementTree.fromstring(data)
    assert root.tag == f"{{{PACKAGE_REL_NS}}}Relationships", f"{package}: {name} is not a relationships part"
    relationships = list(root)
    assert all(rel.tag == f"{{{PACKAGE_REL_NS}}}Relationship" for rel in relationships), f"{package}: {name}"
    ids = [rel.get("Id", "") for rel in relationships]
    repeated = sorted(rel_id for rel_id, times in Counter(ids).items() if times > 1)
    assert not repeated, f"{package}: {name} repeats relationship Ids {repeated}"
    malformed = [rel_id for rel_id in ids if not _NCNAME.match(rel_id)]
    assert not malformed, f"{package}: {name} has malformed relationship Ids {malformed}"
    folder = posixpath.dirname(_source_of(name))
    for rel in relationships:
        if rel.get("TargetMode", "Internal") != "Internal":
            continue
        target = unquote(rel.get("Target", ""))
        resolved = posixpath.normpath(target if target.startswith("/") else posixpath.join(folder, target))
        assert resolved.lstrip("/").lower() in parts, f"{package}: {name} → {target}: no such part"
    return set(ids)


def _relationship_references(data: bytes) -> set[str]:
    """Every value of an attribute in the relationships namespace (r:id, r:embed …) in an XML part."""
    root = ElementTree.fromstring(data)
    prefix = f"{{{DOC_REL_NS}}}"
    return {value for element in root.iter() for key, value in element.attrib.items() if key.startswith(prefix)}


def _check_content_types(package: str, data: bytes, names: list[str], parts: dict[str, str]) -> None:
    root = ElementTree.fromstring(data)
    defaults = {item.get("Extension", "").lower() for item in root.iterfind(f"{{{TYPES_NS}}}Default")}
    overrides = [item.get("PartName", "") for item in root.iterfind(f"{{{TYPES_NS}}}Override")]
    repeated = sorted(part for part, times in Counter(part.lower() for part in overrides).items() if times > 1)
    assert not repeated, f"{package}: [Content_Types].xml repeats overrides {repeated}"
    missing = [part for part in overrides if part.lstrip("/").lower() not in parts]
    assert not missing, f"{package}: [Content_Types].xml overrides parts that do not exist: {missing}"
    typed = {part.lstrip("/").lower() for part in overrides}
    untyped = [name for name in names if name != "[Content_Types].xml" and name.lower() not in typed
               and name.rsplit(".", 1)[-1].lower() not in defaults]  # «_rels/.rels» has extension rels
    assert not untyped, f"{package}: parts without a content type: {untyped}"
