"""Time the old openpyxl writers of status.xlsx and svod.xlsx against the current ones on N synthetic schools."""

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

from pipeline import status as new_status  # noqa: E402
from pipeline import svod as new_svod  # noqa: E402
from pipeline.roadmap import Campaign  # noqa: E402

# The last commit that wrote both files with openpyxl in normal mode.
OLD_COMMIT = "0bcd8a6"
CAMPAIGN = Campaign(
    year=2025, period_start=dt.date(2024, 9, 1), period_end=dt.date(2025, 8, 31),
    window_open=dt.date(2025, 4, 1), window_close=dt.date(2025, 10, 31), deadline=dt.date(2025, 10, 1),
)
NOW = dt.datetime(2025, 10, 20, 6, 0)
STATES = ("on_time", "on_time", "on_time", "on_time", "on_time", "on_time", "late", "rejected", "missing")
ITEM_STATES = ("выполнено", "выполнено", "в работе", "не начато", "не требуется")
ITEMS = [f"{section}.{number}" for section in range(1, 6) for number in range(1, 6)]
INDICATORS = [f"P{number:02d}" for number in range(1, 51)]


def load_old(name: str) -> ModuleType:
    """pipeline/<name>.py as it was at OLD_COMMIT, imported under another name."""
    source = subprocess.run(["git", "show", f"{OLD_COMMIT}:pipeline/{name}.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(f"old_{name}", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(ROOT / "pipeline" / f"{name}.py")  # status.py finds its templates from it
    sys.modules[spec.name] = module  # dataclasses look their module up there
    exec(compile(source, f"{OLD_COMMIT}:pipeline/{name}.py", "exec"), module.__dict__)
    return module


def synthetic_status(schools: int, module: ModuleType) -> object:
    """A CampaignStatus of *schools* schools in the states' realistic mix, built from *module*'s classes."""
    rng = random.Random(schools)
    rows = []
    for number in range(1, schools + 1):
        state = rng.choice(STATES)
        accepted = state in ("on_time", "late")
        arrived = dt.datetime(2025, 9, 1, 8) + dt.timedelta(minutes=rng.randrange(60 * 24 * 45))
        rejected = rng.randrange(3) if state != "missing" else 0
        rows.append(module.SchoolStatus(
            code=f"B-{number:06d}", name=f"МБОУ «Средняя общеобразовательная школа № {number}»",
            municipality=f"Муниципальный район № {number // 25 + 1}", state=state,
            accepted_at=arrived if accepted else None,
            accepted_path=f"B-{number:06d}_ИБЦ_2025.xlsx" if accepted else None,
            warnings=rng.randrange(4), rejected_files=rejected if accepted else max(rejected, 1),
            last_arrival=arrived if state != "missing" else None, last_errors=rng.randrange(1, 6),
        ))
    return module.CampaignStatus(campaign=CAMPAIGN, generated_at=NOW, schools=rows, unattributed=17)


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


def write_old_status(module: ModuleType, status: object, path: Path) -> None:
    # The old write_status also rendered status.html; only the workbook is compared here.
    workbook = module.build_status_workbook(status)
    workbook.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schools", type=int, nargs="+", default=[10_000, 40_000])
    arguments = parser.parse_args()
    old_status, old_svod = load_old("status"), load_old("svod")
    print(f"{'N':>7} {'file':<12} {'cells':>10} {'old s':>8} {'new s':>8} {'old/new':>8}")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for schools in arguments.schools:
            old = seconds(write_old_status, old_status, synthetic_status(schools, old_status), out / "old.xlsx")
            new = seconds(new_status.write_status_workbook, out / "status.xlsx", synthetic_status(schools, new_status))
            cells = 10 * (schools + 1) + 2 * 18
            print(f"{schools:>7} {'status.xlsx':<12} {cells:>10,} {old:>8.2f} {new:>8.2f} {old / new:>7.1f}×",
                  flush=True)
            tables = synthetic_tables(schools)
            cells = sum(frame.size + len(frame.columns) for _, frame in tables)
            # write_svod takes a YearReport only to list its tables: hand both writers the same tables.
            old_svod.svod_tables = new_svod.svod_tables = lambda report, tables=tables: tables
            old = seconds(old_svod.write_svod, None, out / "old.xlsx")
            new = seconds(new_svod.write_svod, None, out / "svod.xlsx")
            print(f"{schools:>7} {'svod.xlsx':<12} {cells:>10,} {old:>8.2f} {new:>8.2f} {old / new:>7.1f}×",
                  flush=True)


if __name__ == "__main__":
    main()
