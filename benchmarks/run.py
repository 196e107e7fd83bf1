"""Time the collection of N synthetic schools against a bare loop: collect, re-runs, report, peak memory."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH-RESULT "
PROGRESS_PREFIX = "BENCH-PROGRESS "
STEPS = ("bare", "bare-pipeline", "collect", "rerun", "changed", "report")
TOP_ENTRIES = 25
# Pipeline functions of the run's own process whose cumulative time makes up each stage of a collection
# (module path, name). Reading, typing and rules run in the worker processes (judge.prejudge_unit) and
# show here only as the wait for them.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("plan: list, stat, hash", "pipeline/collect/plan.py", "plan_collection"),
    ("judging: waiting for the workers", "concurrent/futures/_base.py", "result"),
    ("  schemas (batched pandera, in the judging thread)", "pipeline/judge/schema.py", "check_schemas"),
    ("last year's indicators", "pipeline/ledger/queries.py", "accepted_indicators"),
    ("record (ledger, archive, feedback)", "pipeline/collect/record.py", "record_batch"),
    ("  ledger insert (record_many)", "pipeline/ledger/writes.py", "record_many"),
    ("    of which accepted data", "pipeline/ledger/writes.py", "_store_data"),
    ("  archive copy (in the plan, as the files are read)", "pipeline/archive.py", "archive_bytes"),
    ("  feedback, all (write_batch_feedback)", "pipeline/collect/record.py", "write_batch_feedback"),
    ("    status of the batch's schools", "pipeline/collect/status.py", "current_status"),
    ("    feedback HTML (render_page)", "pipeline/collect/feedback.py", "render_page"),
    ("    annotated workbook", "pipeline/collect/annotated_copy.py", "write_annotated_workbook"),
    ("      of which openpyxl (fallback) save", "openpyxl/workbook/workbook.py", "save"),
    ("finish (present, status, summary)", "pipeline/collect/run.py", "finish_collection"),
    ("  set_present", "pipeline/ledger/writes.py", "set_present"),
    ("  write_status", "pipeline/collect/status.py", "write_status"),
)



def collection_time(inputs: Path, year: int) -> dt.datetime:
    """The benchmark's «now»: the morning the collection window closes (every generated file has arrived)."""
    from pipeline.district.roadmap import load_district

    district = load_district(inputs)
    return dt.datetime.combine(district.campaign(year).window_close, dt.time(6, 0))


def peak_memory_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its finished children (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"rss_mb": round(own, 1), "children_rss_mb": round(children, 1)}


def phase_generate(args: argparse.Namespace) -> dict[str, Any]:
    import generate

    started = time.perf_counter()
    counts = generate.generate(args.data, generate.Options(args.schools, args.year), os.cpu_count() or 1)
    return {"seconds": time.perf_counter() - started, **counts}


def phase_bare(args: argparse.Namespace) -> dict[str, Any]:
    """The issue's bare loop: python-calamine for every sheet of every file, then one pandera call per sheet."""
    import pandas as pd
    import pandera.pandas as pa
    import python_calamine

    from pipeline.district.layout import INDICATORS, SHEETS, TITLE
    from pipeline.district.roadmap import load_district
    from pipeline.intake.discover import CSV_GROUP, UNRECOGNIZED, group_units, list_drop_folder
    from pipeline.intake.read import read_csv_parts
    from pipeline.judge.schema import build_schema

    district = load_district(args.data / "inputs")
    started = time.perf_counter()
    records: dict[str, list[dict[str, Any]]] = {sheet: [] for sheet in SHEETS}
    units = group_units(list_drop_folder(args.data / "inputs" / str(args.year)))
    for unit in units:
        if unit.kind == UNRECOGNIZED:
            continue
        if unit.kind == CSV_GROUP:
            sheets = {sheet.name: sheet.rows for sheet in read_csv_parts(
                [file.path for file in unit.files], district.max_file_bytes, district.max_rows_per_sheet).sheets}
        else:
            workbook = python_calamine.CalamineWorkbook.from_path(str(unit.files[0].path))
            sheets = {name: workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names}
            workbook.close()
        for name in SHEETS:
            rows = sheets.get(name) or [[]]
            if name == TITLE:
                records[name].append({row[0]: _value(row[1]) for row in rows[1:] if len(row) > 1})
            elif name == INDICATORS:
                records[name].append({row[0]: _value(row[3]) for row in rows[1:] if len(row) > 3})
            else:
                records[name] += [{label: _value(value) for label, value in zip(rows[0], row, strict=False)}
                                  for row in rows[1:]]
    read = time.perf_counter()
    failures = 0
    for name in SHEETS:
        frame = pd.DataFrame(records[name], dtype=object)
        try:
            build_schema(name, district).validate(frame, lazy=True)
        except pa.errors.SchemaErrors as errors:
            failures += len(errors.failure_cases)
    finished = time.perf_counter()
    return {"seconds": finished - started, "read_seconds": read - started, "validate_seconds": finished - read,
            "units": len(units), "failure_cases": failures}


def _value(raw: Any) -> Any:
    return None if raw == "" else raw


def phase_bare_pipeline(args: argparse.Namespace) -> dict[str, Any]:
    """The pipeline's own reading without the ledger: read_unit + build_submission each, check_schemas once."""
    from pipeline.district.roadmap import load_district
    from pipeline.intake.discover import UNRECOGNIZED, group_units, list_drop_folder
    from pipeline.judge.schema import check_schemas
    from pipeline.judge.submission import build_submission
    from pipeline.judge.verdict import read_unit

    district = load_district(args.data / "inputs")
    started = time.perf_counter()
    units = [unit for unit in group_units(list_drop_folder(args.data / "inputs" / str(args.year)))
             if unit.kind != UNRECOGNIZED]
    submissions = []
    for unit in units:
        raw = read_unit(unit, district)
        if raw.sheets:
            submissions.append(build_submission(raw.sheets, district))
    read = time.perf_counter()
    found = check_schemas(submissions, district)
    finished = time.perf_counter()
    return {"seconds": finished - started, "read_seconds": read - started, "validate_seconds": finished - read,
            "units": len(units), "schema_findings": sum(len(item) for item in found)}


def phase_collect(args: argparse.Namespace) -> dict[str, Any]:
    """pipeline.collect.run.collect on the given outputs folder (fresh for the first run, kept for the re-runs)."""
    from pipeline.collect.run import collect
    from pipeline.district.setup import load_setup

    now = collection_time(args.data / "inputs", args.year) + dt.timedelta(days=args.day)
    setup = load_setup(args.data / "inputs", args.outputs, args.year)
    if args.without_annotated:
        import pipeline.collect.feedback

        # What-if only: measures what the annotated copy costs; the pipeline itself is unchanged.
        pipeline.collect.feedback.write_annotated_workbook = lambda target, item: False  # type: ignore[assignment]
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"{PROGRESS_PREFIX}{done} {total} {time.perf_counter() - started:.3f}", flush=True)

    summary = collect(setup, now=now, progress=progress)
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"seconds": seconds, "processed": summary.processed,
                              "files": sum(summary.counts.values()),
                              "counts": summary.counts}
    if profiler is not None:
        profiler.disable()
        stats_path = args.outputs.parent / f"collect-{args.schools}.prof"
        profiler.dump_stats(str(stats_path))
        result["profile"] = str(stats_path)
        print_profile(stats_path, summary.processed or 1)
    return result


def phase_rewrite(args: argparse.Namespace) -> dict[str, Any]:
    import generate

    started = time.perf_counter()
    # A new revision number per call, so rewriting the same data folder twice still changes the files.
    revision = int(time.time()) % 9973 + 1
    written = generate.rewrite(args.data, generate.Options(args.schools, args.year), args.changed, revision)
    return {"seconds": time.perf_counter() - started, "written": len(written)}


def phase_report(args: argparse.Namespace) -> dict[str, Any]:
    """pipeline.report.annual.build_report, then write_report (skipped, with the reason, if rendering is not there)."""
    from pipeline import ledger
    from pipeline.district.setup import load_setup
    from pipeline.report import annual

    now = collection_time(args.data / "inputs", args.year) + dt.timedelta(days=args.day)
    setup = load_setup(args.data / "inputs", args.outputs, args.year)
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        started = time.perf_counter()
        report = annual.build_report(setup, engine, now)
        built = time.perf_counter()
        result: dict[str, Any] = {"build_seconds": built - started}
        try:
            paths = annual.write_report(setup, report)
        except ImportError as error:
            result["write_skipped"] = f"write_report not runnable yet: {error}"
            result["seconds"] = built - started
            return result
        finished = time.perf_counter()
        result.update(write_seconds=finished - built, seconds=finished - started)
        pdf = paths.get("pdf")
        if pdf is not None and Path(pdf).exists():
            result["pdf_bytes"] = Path(pdf).stat().st_size
        return result
    finally:
        engine.dispose()


def phase_prefect(args: argparse.Namespace) -> dict[str, Any]:
    """The Prefect flow flows.collect on a fresh outputs folder, with a throw-away PREFECT_HOME."""
    os.environ["PREFECT_HOME"] = str(args.outputs.parent / "prefect-home")
    started = time.perf_counter()
    import flows

    imported = time.perf_counter()
    if args.without_annotated:
        import pipeline.collect.feedback

        pipeline.collect.feedback.write_annotated_workbook = lambda target, item: False  # type: ignore[assignment]
    summary = flows.collect(year=args.year, inputs=str(args.data / "inputs"), outputs=str(args.outputs))
    finished = time.perf_counter()
    return {"seconds": finished - imported, "import_seconds": imported - started,
            "processed": summary["processed"]}


PHASES = {
    "generate": phase_generate,
    "bare": phase_bare,
    "bare-pipeline": phase_bare_pipeline,
    "collect": phase_collect,
    "rewrite": phase_rewrite,
    "report": phase_report,
    "prefect": phase_prefect,
}


def run_phase(args: argparse.Namespace) -> int:
    result = PHASES[args.phase](args)
    result.update(peak_memory_mb())
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False, default=str), flush=True)
    return 0


def print_profile(stats_path: Path, units: int) -> None:
    """Top cumulative entries, then the time of each collection stage in ms per school."""
    import pstats

    stats = pstats.Stats(str(stats_path), stream=sys.stdout)
    print(f"\n== cProfile of collect, top {TOP_ENTRIES} by cumulative time ==")
    stats.sort_stats("cumulative").print_stats(TOP_ENTRIES)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = max(entry[3] for entry in raw.values())
    print(f"== stages of collect (cumulative, under cProfile; {units} schools; total {total:.1f} s) ==")
    print(f"{'stage':44} {'calls':>8} {'s':>8} {'ms/school':>10} {'share':>6}")
    for label, module, name in STAGES:
        calls, seconds = 0, 0.0
        for (filename, _line, function), (_, ncalls, _, cumulative, _) in raw.items():
            if function == name and filename.endswith(module):
                calls += ncalls
                seconds += cumulative
        print(f"{label:44} {calls:8d} {seconds:8.2f} {1000 * seconds / units:10.2f} {seconds / total:6.1%}")


@dataclass
class Step:
    """One measured step: its phase result and the wall time of its process."""

    result: dict[str, Any]
    process_seconds: float


def spawn(phase: str, args: argparse.Namespace, data: Path, outputs: Path, day: int = 0,
          profile: bool = False) -> Step:
    """Run *phase* in a fresh interpreter; on --timeout, stop it and keep its last progress report."""
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--schools", str(args.schools),
               "--year", str(args.year), "--data", str(data), "--outputs", str(outputs), "--day", str(day),
               "--changed", str(args.changed)]
    if profile:
        command.append("--profile")
    if args.without_annotated:
        command.append("--without-annotated")
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=_echo, args=(child, lines), daemon=True)
    reader.start()
    try:
        child.wait(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    reader.join()
    elapsed = time.perf_counter() - started
    results = [json.loads(line.removeprefix(RESULT_PREFIX)) for line in lines if line.startswith(RESULT_PREFIX)]
    if results:
        return Step(results[-1], elapsed)
    progress = [line.removeprefix(PROGRESS_PREFIX).split() for line in lines if line.startswith(PROGRESS_PREFIX)]
    if child.returncode is not None and child.returncode < 0 and progress:
        done, total, seconds = int(progress[-1][0]), int(progress[-1][1]), float(progress[-1][2])
        return Step({"timed_out": True, "processed": done, "total": total, "seconds": seconds,
                     "projected_seconds": seconds / done * total}, elapsed)
    if child.returncode is not None and child.returncode < 0:
        raise SystemExit(f"phase {phase} stopped by --timeout {args.timeout:.0f} s before its first batch finished")
    raise SystemExit(f"phase {phase} failed (exit {child.returncode})")


def _echo(child: subprocess.Popen[str], lines: list[str]) -> None:
    """Collect the child's output lines; show everything that is not a machine-readable report."""
    assert child.stdout is not None
    for line in child.stdout:
        line = line.rstrip("\n")
        lines.append(line)
        if not line.startswith((RESULT_PREFIX, PROGRESS_PREFIX)):
            print(line, flush=True)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    load = os.getloadavg()
    return (f"{os.cpu_count()} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}, "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def orchestrate(args: argparse.Namespace) -> int:
    skip = set(filter(None, args.skip.split(",")))
    unknown = skip - set(STEPS)
    if unknown:
        raise SystemExit(f"--skip: unknown steps {sorted(unknown)}; steps are {', '.join(STEPS)}")
    temporary = args.data is None
    data = args.data or Path(tempfile.mkdtemp(prefix=f"eibm-bench-{args.schools}-"))
    work = Path(tempfile.mkdtemp(prefix="eibm-bench-out-"))
    print(f"N = {args.schools:,} schools, year {args.year}; data {data}; outputs {work}")
    print(f"machine: {machine()}", flush=True)
    steps: dict[str, Step] = {}
    outputs = work / "outputs"
    try:
        if temporary or not (data / "inputs" / str(args.year)).is_dir():
            steps["generate"] = spawn("generate", args, data, work / "unused")
        for name in ("bare", "bare-pipeline"):
            if name not in skip:
                steps[name] = spawn(name, args, data, work / "unused")
        if "collect" not in skip:
            steps["collect"] = spawn("collect", args, data, outputs)
        collected = "collect" in steps and not steps["collect"].result.get("timed_out")
        if collected and "rerun" not in skip:
            steps["rerun"] = spawn("collect", args, data, outputs, day=1)
        if collected and "changed" not in skip:
            steps["rewrite"] = spawn("rewrite", args, data, outputs)
            steps["changed"] = spawn("collect", args, data, outputs, day=2)
        if collected and "report" not in skip:
            steps["report"] = spawn("report", args, data, outputs, day=2)
        if args.prefect:
            steps["prefect"] = spawn("prefect", args, data, work / "outputs-prefect")
        if args.profile:
            spawn("collect", args, data, work / "outputs-profile", profile=True)
        print_table(args, steps)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if temporary:
                shutil.rmtree(data, ignore_errors=True)
        else:
            print(f"kept: data {data}, outputs {work}")
    return 0


def print_table(args: argparse.Namespace, steps: dict[str, Step]) -> None:
    """One line per step: seconds, ms per school, the process's wall time and peak memory, and a note."""
    units = args.schools
    bare = steps["bare"].result["seconds"] if "bare" in steps else None
    bare_pipeline = steps["bare-pipeline"].result["seconds"] if "bare-pipeline" in steps else None
    lines: list[str] = []

    def add(key: str, label: str, note: str = "") -> None:
        if key not in steps:
            return
        step = steps[key]
        seconds = step.result["seconds"]
        rss = max(step.result.get("rss_mb", 0.0), step.result.get("children_rss_mb", 0.0))
        if step.result.get("timed_out"):
            note = (f"STOPPED after --timeout: {step.result['processed']:,} of {step.result['total']:,} units in "
                    f"{seconds:.0f} s, projected {step.result['projected_seconds']:.0f} s")
            rss = float("nan")
        per = 1000 * seconds / (step.result.get("processed") or units)
        lines.append(f"{label:58} {seconds:8.2f} {per:10.2f} {step.process_seconds:10.1f} {rss:8.0f}  {note}")

    def times(seconds: float | None, reference: float | None, name: str) -> str:
        return f"{seconds / reference:.1f}x {name}" if seconds and reference else ""

    if "generate" in steps:
        add("generate", "generate (all cores)", f"{steps['generate'].result['files']:,} files")
    if bare is not None:
        result = steps["bare"].result
        add("bare", "bare loop: calamine + 1 pandera/sheet",
            f"read {result['read_seconds']:.1f} + validate {result['validate_seconds']:.2f}")
    if bare_pipeline is not None:
        result = steps["bare-pipeline"].result
        add("bare-pipeline", "bare pipeline: read_unit+build_submission+1 check_schemas",
            f"read+type {result['read_seconds']:.1f} + schemas {result['validate_seconds']:.2f}")
    collect = steps["collect"].result if "collect" in steps else {}
    what_if = " [what-if: no annotated workbook]" if args.without_annotated else ""
    seconds = collect.get("projected_seconds") or collect.get("seconds")
    add("collect", f"collect, all new{what_if}",
        "; ".join(filter(None, (times(seconds, bare, "bare loop"), times(seconds, bare_pipeline, "bare pipeline"),
                                f"files {collect.get('counts')}"))))
    add("rerun", "collect again, nothing new", f"processed {steps.get('rerun', Step({}, 0)).result.get('processed')}")
    written = steps["rewrite"].result["written"] if "rewrite" in steps else args.changed
    add("rewrite", f"rewrite {written} workbooks (setup, not a target)")
    add("changed", f"collect after {written} changed",
        f"processed {steps.get('changed', Step({}, 0)).result.get('processed')}")
    if "report" in steps:
        report = steps["report"].result
        add("report", "report: build_report + write_report", report.get("write_skipped") or (
            f"build {report['build_seconds']:.1f} + write {report['write_seconds']:.1f}"))
    if "prefect" in steps:
        prefect = steps["prefect"].result
        add("prefect", f"Prefect flow collect, all new{what_if}",
            "; ".join(filter(None, (times(prefect["seconds"], collect.get("seconds"), "plain collect"),
                                    f"import {prefect['import_seconds']:.1f} s"))))
    print(f"\n== N = {units:,} schools ==")
    print(f"{'step':58} {'work s':>8} {'ms/school':>10} {'process s':>10} {'peak MB':>8}  note")
    print("\n".join(lines))
    print("\ntargets (issue 6, 2 cores): collect 10k <= 60 s and <= 2x bare loop; collect 40k <= 4 min, "
          "<= 1.5 GB; re-run 40k <= 5 s; 100 changed of 40k <= 10 s; report 500 <= 30 s, 40k <= 2 min")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schools", type=int, required=True, help="number of synthetic schools")
    parser.add_argument("--year", type=int, default=2025, help="campaign year (default 2025)")
    parser.add_argument("--data", type=Path, help="use (or generate into) this folder instead of a temporary one")
    parser.add_argument("--keep", action="store_true", help="keep the generated data and the outputs")
    parser.add_argument("--changed", type=int, default=100, help="workbooks rewritten before the last re-run")
    parser.add_argument("--prefect", action="store_true", help="also time the Prefect flow flows.collect")
    parser.add_argument("--profile", action="store_true", help="also run collect under cProfile and print stages")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to leave out: {', '.join(STEPS)}")
    parser.add_argument("--timeout", type=float, help="stop a step after this many seconds (collect reports "
                                                       "how far it got and projects the total)")
    parser.add_argument("--without-annotated", action="store_true",
                        help="what-if: collect without the annotated workbook (patched out in the benchmark only)")
    # Internal: run one phase in this process and print its result as JSON.
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--outputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--day", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        return run_phase(args)
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
