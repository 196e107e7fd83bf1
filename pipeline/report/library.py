"""Aggregate the library indicators: district totals, ratios from totals, IBC zones, outliers, values per school."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.district.roadmap import District
from pipeline.report.model import Figure, Section, Share, share

# Robust outliers: |0,6745·(x − median)/MAD| > 3,5 (Iglewicz & Hoaglin), only with enough schools.
OUTLIER_Z = 3.5
OUTLIER_MIN_SCHOOLS = 8
RATIOS = {  # name → (numerator, denominator, factor); REPORT_FORMAT §3.6
    "Охват обучающихся, %": ("P03", "P01", 1.0),
    "Читаемость": ("P05", "P02", 1.0),
    "Посещаемость": ("P04", "P02", 1.0),
    "Обращаемость фонда": ("P05", "P06", 1.0),
    "Книгообеспеченность": ("P06", "P02", 1.0),
    "Обновляемость фонда, %": ("P09", "P06", 1.0),
    "Доля учебников в фонде, %": ("P07", "P06", 1.0),
}
KEY_RATIOS = ("Читаемость", "Посещаемость", "Обращаемость фонда", "Книгообеспеченность")
# Every ratio says what it counts per what (DOMAIN_NOTES §2.1); the head noun agrees with the number shown.
RATIO_UNITS = {"Читаемость": "книг на читателя", "Посещаемость": "посещений на читателя",
               "Обращаемость фонда": "раз", "Книгообеспеченность": "книг на читателя"}
RATIO_DIGITS = 2  # one number of decimals for every ratio, in cards, tables and their changes
# Short Russian headers for the indicator columns: a reader never meets the format's codes (P01…).
INDICATOR_LABELS = {
    "P01": "Обучающихся", "P02": "Пользователей", "P03": "Пользователей-обучающихся", "P04": "Посещений",
    "P05": "Книговыдача, экз.", "P06": "Фонд, экз.", "P07": "Учебников, экз.", "P08": "Художественной лит., экз.",
    "P09": "Поступило, экз.", "P10": "Выбыло, экз.", "P11": "Обеспеченность учебниками",
    "P12": "Площадь, м²", "P13": "Посадочных мест", "P14": "Мест с ПК", "P15": "Мест с Интернетом",
    "P16": "Компьютеров", "P17": "Электронный каталог", "P18": "АБИС", "P20": "Массовых мероприятий",
    "P21": "Публикаций на сайте", "P22": "Раздел «Школьные ИБЦ» на сайте",
}


def indicator_label(code: str) -> str:
    """The short Russian header of an indicator's column (its code only when the format adds one unknown here)."""
    return INDICATOR_LABELS.get(code, code)
ZONES = ("P19.1", "P19.2", "P19.3", "P19.4", "P19.5", "P19.6", "P19.7")
TOTALLED = ("P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08", "P09", "P10", "P12", "P13", "P14", "P15",
            "P16", "P20", "P21")


def indicator_table(indicators: pd.DataFrame, schools: list[str]) -> pd.DataFrame:
    """Schools × indicator codes (floats; да/нет as 1/0)."""
    if not len(indicators):
        return pd.DataFrame(index=pd.Index(schools, name="school"))
    wide = indicators.pivot_table(index="school", columns="code", values="value", aggfunc="first")
    return wide.reindex(index=schools).astype(float)


def ratios(wide: pd.DataFrame) -> pd.DataFrame:
    """Derived ratios per school (never entered by schools); percentages as shares 0–1."""
    result = pd.DataFrame(index=wide.index)
    for name, (numerator, denominator, factor) in RATIOS.items():
        if numerator in wide and denominator in wide:
            result[name] = wide[numerator] * factor / wide[denominator].where(wide[denominator] > 0)
        else:
            result[name] = np.nan
    zone_columns = [code for code in ZONES if code in wide]
    result["Зон ИБЦ"] = wide[zone_columns].sum(axis=1, min_count=1) if zone_columns else np.nan
    return result


def district_ratios(wide: pd.DataFrame) -> dict[str, float | None]:
    """District-level ratios from totals over schools having both values (not a mean of school ratios)."""
    values = {}
    for name, (numerator, denominator, factor) in RATIOS.items():
        if numerator not in wide or denominator not in wide:
            values[name] = None
            continue
        both = wide[[numerator, denominator]].dropna()
        values[name] = share(float(both[numerator].sum()) * factor, float(both[denominator].sum()))
    return values


def robust_outliers(values: pd.Series) -> pd.Series:
    """Flags of values far from the median in MADs; all False when too few values or no spread."""
    clean = values.dropna()
    flags = pd.Series(False, index=values.index)
    if len(clean) < OUTLIER_MIN_SCHOOLS:
        return flags
    median = clean.median()
    mad = (clean - median).abs().median()
    if not mad:
        return flags
    score = 0.6745 * (clean - median) / mad
    flags.loc[score.index] = score.abs() > OUTLIER_Z
    return flags


def build_library(indicators: pd.DataFrame, schools: list[str], district: District,
                  names: dict[str, str]) -> tuple[Section, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The library section, and the key ratios, indicators and derived ratios by school that others reuse."""
    n = len(schools)
    wide = indicator_table(indicators, schools)
    derived = ratios(wide)
    rows = []
    for indicator in district.indicators:
        column = wide[indicator.code] if indicator.code in wide else pd.Series(dtype=float)
        base = int(column.count())
        if indicator.kind == "yes_no":
            rows.append({"Показатель": indicator.name, "Ед. изм.": "доля ОО «да», %",
                         "Значение": Share(int((column == 1).sum()), base), "Данные ОО": base})
        elif indicator.code in TOTALLED:
            rows.append({"Показатель": indicator.name, "Ед. изм.": indicator.unit,
                         "Значение": float(column.sum()) if base else None, "Данные ОО": base})
        else:  # P11 is a percentage per school: its median is the district figure, as a share 0–1
            median = float(column.median()) / 100 if base else None
            rows.append({"Показатель": indicator.name + " (медиана по ОО)",
                         "Ед. изм.": indicator.unit, "Значение": median, "Данные ОО": base})
    totals = pd.DataFrame(rows)
    district_values = district_ratios(wide)
    ratio_rows = [{"Показатель": name, "Ед. изм.": "%" if name.endswith("%") else RATIO_UNITS[name], "Значение": value,
                   "Медиана по ОО": float(derived[name].median()) if derived[name].count() else None,
                   "Данные ОО": int(derived[name].count())} for name, value in district_values.items()]
    ratio_table = pd.DataFrame(ratio_rows)
    zones = pd.DataFrame([{"Зона": indicator.name.removeprefix("Зона ИБЦ: "),
                           "Доля ОО с зоной, % (n из N)": Share(int((wide[indicator.code] == 1).sum()),
                                                                int(wide[indicator.code].count()))
                           if indicator.code in wide else None}
                          for indicator in district.indicators if indicator.code in ZONES])
    outlier_rows = []
    for name in (*KEY_RATIOS, "Охват обучающихся, %", "Обновляемость фонда, %"):
        flags = robust_outliers(derived[name])
        median = derived[name].median()
        for school in flags[flags].index:
            outlier_rows.append({"Код ОО": school, "Наименование": names.get(school, ""), "Показатель": name,
                                 "Ед. изм.": "%" if name.endswith("%") else RATIO_UNITS[name],
                                 "Значение ОО": derived.at[school, name], "Медиана по району": median})
    outliers = pd.DataFrame(outlier_rows, columns=["Код ОО", "Наименование", "Показатель", "Ед. изм.",
                                                   "Значение ОО", "Медиана по району"])
    per_school = pd.concat([wide.reindex(columns=[code for code in TOTALLED if code in wide]), derived], axis=1)
    per_school.insert(0, "Наименование", [names.get(code, "") for code in per_school.index])
    per_school = per_school.reset_index().rename(columns={"school": "Код ОО", **INDICATOR_LABELS})
    reporting = int(wide.notna().any(axis=1).sum()) if len(wide.columns) else 0
    figures = library_figures(wide, derived, n)
    notes = []
    if not reporting:
        notes.append("В принятых отчётах нет показателей библиотек.")
    if len(outliers):
        notes.append("Отмечены значения, далёкие от медианы по району: их стоит проверить вместе с ОО.")
    elif n < OUTLIER_MIN_SCHOOLS:
        notes.append(f"Выбросы не оцениваются: отчётов меньше {OUTLIER_MIN_SCHOOLS}.")
    tables = {"Показатели библиотек по району": totals, "Относительные показатели": ratio_table,
              "Зоны ИБЦ": zones, "Значения, требующие проверки": outliers, "Показатели по ОО": per_school}
    key = derived[list(KEY_RATIOS)].copy()
    return Section("Ресурсы и деятельность библиотек", figures if reporting else [], tables, notes), key, \
        wide, derived


def library_figures(wide: pd.DataFrame, derived: pd.DataFrame, n: int) -> list[Figure]:
    """The library's key figures over the schools in *wide* (of *n*): totals, ratios from totals, zones."""
    district_values = district_ratios(wide)
    zones = derived["Зон ИБЦ"] if "Зон ИБЦ" in derived else pd.Series(dtype=float)
    return [
        Figure("Обучающихся", _sum(wide, "P01"), "чел.", _base(wide, "P01"), n),
        Figure("Пользователей библиотек", _sum(wide, "P02"), "чел.", _base(wide, "P02"), n),
        Figure("Охват обучающихся", district_values["Охват обучающихся, %"], "%", _base(wide, "P03"), n,
               counts=_people(wide, "P03", "P01")),
        Figure("Библиотечный фонд", _sum(wide, "P06"), "экз.", _base(wide, "P06"), n),
        Figure("Читаемость", district_values["Читаемость"], RATIO_UNITS["Читаемость"], _base(wide, "P05"), n,
               digits=RATIO_DIGITS),
        Figure("Обращаемость фонда", district_values["Обращаемость фонда"], RATIO_UNITS["Обращаемость фонда"],
               _base(wide, "P05"), n, digits=RATIO_DIGITS),
        Figure("Среднее число зон ИБЦ в ОО", float(zones.mean()) if zones.count() else None, "зона",
               int(zones.count()), n, digits=RATIO_DIGITS),
    ]


def _people(wide: pd.DataFrame, part: str, whole: str) -> Share | None:
    """The people a share of people is made of, over the schools having both counts: «5 772 из 7 574 чел.»."""
    if part not in wide or whole not in wide:
        return None
    both = wide[[part, whole]].dropna()
    return Share(float(both[part].sum()), float(both[whole].sum()), "чел.")


def _sum(wide: pd.DataFrame, code: str) -> float | None:
    return float(wide[code].sum()) if code in wide and wide[code].count() else None


def _base(wide: pd.DataFrame, code: str) -> int:
    return int(wide[code].count()) if code in wide else 0


def indicator_values(indicators: pd.DataFrame, code: str) -> pd.Series:
    """One indicator as a Series indexed by school (missing values dropped)."""
    if not len(indicators):
        return pd.Series(dtype=float)
    rows = indicators[indicators["code"] == code]
    return pd.Series(rows["value"].to_numpy(dtype=float), index=rows["school"].to_numpy()).dropna()

