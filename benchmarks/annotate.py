"""Time the annotated feedback workbook: openpyxl load + save against the zip/XML patch, on faulty schools.

    .venv/bin/python benchmarks/annotate.py [--schools 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from generate import ERROR_KINDS, WorkbookFactory, build_report, schools_of  # run as a script, like run.py

from pipeline.collect.annotated_copy import write_openpyxl_workbook, write_patched_workbook
from pipeline.collect.feedback import FeedbackInput
from pipeline.district.register import School
from pipeline.district.roadmap import load_district
from pipeline.judge.verdict import Rules, Verdict, judge_paths

PROJECT = Path(__file__).resolve().parents[1]
YEAR = 2025


def faulty_verdicts(folder: Path, count: int) -> list[Verdict]:
    """Write *count* generated reports, each with one of the errors schools make, and judge them."""
    district = load_district(PROJECT / "inputs")
    factory = WorkbookFactory(district, YEAR)
    schools = schools_of(count)
    paths = []
    for index, school in enumerate(schools):
        report = build_report(school, district, YEAR, ERROR_KINDS[index % len(ERROR_KINDS)])
        path = folder / f"{school.code}.xlsx"
        path.write_bytes(factory.build(school, report))
        paths.append(path)
    register = {school.code: School(school.code, school.name, school.municipality, (school.site,),
                                    f"biblio@{school.site}", None, None) for school in schools}
    campaign = district.campaign(YEAR)
    verdicts = judge_paths(paths, Rules(district, register, campaign, campaign.window_close))
    return [verdict for verdict in verdicts if verdict.errors]


def feedback_input(verdict: Verdict) -> FeedbackInput:
    path = verdict.unit.files[0].path
    return FeedbackInput(
        file_name=path.name, sha256="0" * 64, year=YEAR, status=verdict.status,
        processed_at=dt.datetime(YEAR, 9, 1, 9, 0), findings=verdict.findings, school_code=verdict.school,
        school_name=None, school_state=None, deadline=dt.date(YEAR, 10, 1), workbook=path, sheets=None,
    )


def time_per_file(write: Callable[[Path, FeedbackInput], bool], items: list[FeedbackInput],
                  out: Path) -> tuple[float, float]:
    """CPU and wall milliseconds per annotated copy; every copy must be written."""
    cpu, wall = time.process_time(), time.perf_counter()
    for number, item in enumerate(items):
        if not write(out / f"{number}.xlsx", item):
            raise RuntimeError(f"{write.__name__} wrote no copy of {item.file_name}")
    return ((time.process_time() - cpu) * 1000 / len(items), (time.perf_counter() - wall) * 1000 / len(items))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schools", type=int, default=50, help="faulty reports to generate (default 50)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "in").mkdir()
        items = [feedback_input(verdict) for verdict in faulty_verdicts(root / "in", args.schools)]
        findings = sum(len(item.findings) for item in items)
        timings = {}
        for name, write in (("openpyxl", write_openpyxl_workbook), ("patch", write_patched_workbook)):
            out = root / name
            out.mkdir()
            write(out / "warm-up.xlsx", items[0])  # imports and regex compilation are not per file
            timings[name] = time_per_file(write, items, out)
    (slow_cpu, slow_wall), (fast_cpu, fast_wall) = timings["openpyxl"], timings["patch"]
    print(f"{len(items)} faulty workbooks, {findings} findings; ms per file (CPU / wall, wall includes the write)")
    print(f"openpyxl load + save: {slow_cpu:6.1f} / {slow_wall:6.1f}")
    print(f"zip/XML patch:        {fast_cpu:6.1f} / {fast_wall:6.1f}")
    print(f"ratio:                {slow_cpu / fast_cpu:6.1f}x / {slow_wall / fast_wall:5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
