"""How the report's tables show numbers: one number of decimals per column, shares with n of N, changes signed."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.report.columns import column_kind, format_cell
from pipeline.report.model import Change, Share


def cells(name: str, values: list) -> list[str]:
    """A column as the report prints it."""
    column = pd.Series(values, dtype=object)
    kind = column_kind(name, column)
    return [format_cell(value, kind) for value in column]


def test_a_column_shows_every_number_with_the_same_decimals() -> None:
    # «0,2» beside «0,22» reads as two precisions: the column takes what its most precise value needs.
    assert cells("Обращаемость фонда", [0.2, 0.22, 1.0]) == ["0,20", "0,22", "1,00"]
    assert cells("Площадь, м²", [77.6, 68.0, None]) == ["77,6", "68,0", "—"]
    assert cells("Посещений", [6221.0, 2610.0]) == ["6\u00a0221", "2\u00a0610"]


def test_in_a_table_of_indicators_a_count_stays_whole_beside_a_ratio() -> None:
    assert cells("Значение", [7574.0, 8.74, 12.3]) == ["7\u00a0574", "8,74", "12,30"]


def test_a_share_carries_its_counts_and_a_change_its_sign() -> None:
    assert cells("Доля, %", [Share(10, 11), Share(0, 0)]) == ["90,9\u00a0% (10\u00a0из\u00a011)", "—"]
    assert cells("Изменение", [Change(-0.067, "%"), Change(-1, "ОО"), Change(1012, "чел.")]) == [
        "\u22126,7\u00a0п.\u00a0п.", "\u22121\u00a0ОО", "+1\u00a0012\u00a0чел."]


@pytest.mark.parametrize(("value", "text"), [
    pytest.param(-3.5, "\u22123,5", id="a negative number has a true minus"),
    pytest.param("Фонд: 18181 + 871 − 499 = 18553", "Фонд: 18\u00a0181 + 871 − 499 = 18\u00a0553", id="a formula"),
    pytest.param("МБОУ «СОШ № 5»", "МБОУ «СОШ №\u00a05»", id="№ and its number"),
])
def test_cells_keep_russian_typography(value: object, text: str) -> None:
    assert cells("Замечание", [value]) == [text]
