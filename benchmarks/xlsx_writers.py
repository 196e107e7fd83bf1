"""Time status.xlsx and svod.xlsx written through XlsxWriter (OLD_COMMIT) and through xlsx_stream on N schools."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.collect import status  # noqa: E402
from pipeline.district.roadmap import Campaign  # noqa: E402
from pipeline.report import svod  # noqa: E402
from pipeline.xlsx import stream as xlsx_stream  # noqa: E402

# The last commit whose pipeline/xlsx_stream.py wrapped XlsxWriter; status.py and svod.py drive either writer.
OLD_COMMIT = "35a470b"
WRITER_NAMES = ("stream_workbook", "set_widths", "set_autofilter", "freeze_header")
CAMPAIGN = Campaign(
    year=2025, period_start=dt.date(2024, 9, 1), period_end=dt.date(2025, 8, 31),
    window_open=dt.date(2025, 4, 1), window_close=dt.date(2025, 10, 31), deadline=dt.date(2025, 10, 1),
)
NOW = dt.datetime(2025, 10, 20, 6, 0)
STATES = ("on_time", "on_time", "on_time", "on_time", "on_time", "on_time", "late", "rejected", "missing")
ITEM_STATES = ("выполнено", "выполнено", "в работе", "не начато", "не требуется")
ITEMS = [f"{section}.{number}" for section in range(1, 6) for number in range(1, 6)]
INDICATORS = [f"P{number:02d}" for number in range(1, 51)]


def load_old_writer() -> ModuleType:
    """pipeline/xlsx_stream.py as it was at OLD_COMMIT (XlsxWriter in constant-memory mode), as another module."""
    source = subprocess.run(["git", "show", f"{OLD_COMMIT}:pipeline/xlsx_stream.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("old_xlsx_stream", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    exec(compile(source, f"{OLD_COMMIT}:pipeline/xlsx_stream.py", "exec"), module.__dict__)
    return module


def use_writer(writer: ModuleType) -> None:
    """Make status.py and svod.py write through *writer*'s stream_workbook and sheet settings."""
    for module in (status, svod):
        for name in WRITER_NAMES:
            setattr(module, name, getattr(writer, name))


def synthetic_status(schools: int) -> status.CampaignStatus:
    """A CampaignStatus of *schools* schools in the states' realistic mix."""
    rng = random.Random(schools)
    rows = []
    for number in range(1, schools + 1):
        state = rng.choice(STATES)
        accepted = state in ("on_time", "late")
        arrived = dt.datetime(2025, 9, 1, 8) + dt.timedelta(minutes=rng.randrange(60 * 24 * 45))
        rejected = rng.randrange(3) if state != "missing" else 0
        rows.append(status.SchoolStatus(
            code=f"B-{number:06d}", name=f"МБОУ «Средняя общеобразовательная школа № {number}»",
            municipality=f"Муниципальный район № {number // 25 + 1}", state=state,
            accepted_at=arrived if accepted else None,
            accepted_path=f"B-{number:06d}_ИБЦ_2025.xlsx" if accepted else None,
            warnings=rng.randrange(4), rejected_files=rejected if accepted else max(rejected, 1),
            last_arrival=arrived if state != "missing" else None, last_errors=rng.randrange(1, 6),
        ))
    return status.CampaignStatus(campaign=CAMPAIGN, generated_at=NOW, schools=rows, unattributed=17)


def synthetic_tables(schools: int) -> list[tuple[str, pd.DataFrame]]:
    """svod's per-school tables at the report's size (≈ 106 cells per school) plus a key-figures sheet."""
    rng = random.Random(schools)
    codes = [f"B-{number:06d}" for number in range(1, schools + 1)]
    names = [f"МБОУ «Средняя общеобразовательная школа № {number}»" for number in range(1, schools + 1)]
    municipalities = [f"Муниципальный район № {number // 25 + 1}" for number in range(1, schools + 1)]
    arrived = [dt.datetime(2025, 9, 1, 8) + dt.timedelta(minutes=rng.randrange(60 * 24 * 45)) for _ in codes]
    key_figures = pd.DataFrame({
        "Раздел": ["Охват"] * 3, "Показатель": ["Сдали отчёт", "Доля сдавших", "Фонд"],
        "Значение": [schools * 0.9, 0.9, 1234.5], "Ед. изм.": ["ОО", "%", "экз."],
        "По данным ОО": [schools] * 3, "Всего ОО": [schools] * 3, "Прошлый год": [None, 0.85, 1200.0],
        "Изменение": [None, 0.05, 34.5],
    })
    matrix = pd.DataFrame({"Код ОО": codes, "ОО": names,
                           **{item: [rng.choice(ITEM_STATES) for _ in codes] for item in ITEMS}})
    index = pd.DataFrame({"Код ОО": codes, "ОО": names, "Муниципалитет": municipalities,
                          "Доля выполненных, %": [rng.random() for _ in codes],
                          "Место": list(range(1, schools + 1))})
    indicators = pd.DataFrame({"Код ОО": codes, **{code: [rng.randrange(2000) for _ in codes]
                                                   for code in INDICATORS[:8]}})
    appendix = pd.DataFrame({"Код ОО": codes, "ОО": names, "Муниципалитет": municipalities, "Принят": arrived,
                             "Сайт": [f"https://school{number}.ru/ibc" for number in range(len(codes))],
                             "Электронный каталог": [rng.random() < 0.5 for _ in codes],
                             **{code: [rng.randrange(5000) + rng.random() * (code == "P07") for _ in codes]
                                for code in INDICATORS}})
    warnings = pd.DataFrame({"Код ОО": codes[::3], "Лист": "Показатели", "Ячейка": "C5",
                             "Замечание": "Значение вне диапазона", "Значение": "=1+1"})
    files = pd.DataFrame({"Файл": [f"{code}_ИБЦ_2025.xlsx" for code in codes],
                          "SHA-256": [f"{number:064x}" for number in range(len(codes))],
                          "Поступил": arrived, "Статус": "принят"})
    arrivals = pd.DataFrame({"Код ОО": codes, "Дата": [moment.date() for moment in arrived],
                             "Поступил": arrived})
    return [("Показатели разделов", key_figures), ("Статусы ОО по мероприятиям", matrix),
            ("Индекс выполнения по ОО", index), ("Показатели ОО для графиков", indicators),
            ("Сводная таблица по ОО", appendix), ("Замечания к данным", warnings), ("Файлы отчёта", files),
            ("Поступление отчётов", arrivals)]


def seconds(function: Callable[..., object], *arguments: object) -> float:
    started = time.perf_counter()
    function(*arguments)
    return time.perf_counter() - started


def timed(writer: ModuleType, function: Callable[..., object], *arguments: object) -> float:
    use_writer(writer)
    return seconds(function, *arguments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schools", type=int, nargs="+", default=[10_000, 40_000])
    arguments = parser.parse_args()
    old_writer = load_old_writer()
    print(f"{'N':>7} {'file':<12} {'cells':>10} {'old s':>8} {'new s':>8} {'old/new':>8}")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for schools in arguments.schools:
            campaign_status = synthetic_status(schools)
            old = timed(old_writer, status.write_status_workbook, out / "old.xlsx", campaign_status)
            new = timed(xlsx_stream, status.write_status_workbook, out / "status.xlsx", campaign_status)
            cells = 10 * (schools + 1) + 2 * 18
            print(f"{schools:>7} {'status.xlsx':<12} {cells:>10,} {old:>8.2f} {new:>8.2f} {old / new:>7.1f}×",
                  flush=True)
            tables = synthetic_tables(schools)
            cells = sum(frame.size + len(frame.columns) for _, frame in tables)
            # write_svod takes a YearReport only to list its tables: hand both writers the same tables.
            svod.svod_tables = lambda report, tables=tables: tables
            old = timed(old_writer, svod.write_svod, None, out / "old.xlsx")
            new = timed(xlsx_stream, svod.write_svod, None, out / "svod.xlsx")
            print(f"{schools:>7} {'svod.xlsx':<12} {cells:>10,} {old:>8.2f} {new:>8.2f} {old / new:>7.1f}×",
                  flush=True)

if __name__ == "__main__":
    main()
