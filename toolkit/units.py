"""Unit conversions and display rounding shared by the store, reports and dashboard.

Stored weights keep full precision (to 1 g) beside the original value and unit;
what a physiotherapist reads is snapped to what was really on the bar.
"""

from __future__ import annotations

import polars as pl

from toolkit.ingest._parse import LB_TO_KG

__all__ = ["LB_TO_KG", "display_weight_kg"]


def display_weight_kg(
    weight_kg: str | pl.Expr = "weight_kg", unit_original: str | pl.Expr = "weight_unit_original"
) -> pl.Expr:
    """Weight in kg as a physio should read it.

    * Entered in pounds (``unit_original == "lb"``): 0.1 kg (45 lb → 20.4 kg).
    * Entered in kg but really converted pounds, as Fitbod writes them
      (20.41168092460379 = 45 lb, within 0.01 lb of a quarter pound): 0.1 kg.
    * Otherwise kg to 0.01 kg (removes float artefacts: 12.900000000000034 → 12.9).

    Examples
    --------
    >>> df = pl.DataFrame({"weight_kg": [20.41168092460379, 12.900000000000034, 52.163], "weight_unit_original": ["kg", "kg", "lb"]})
    >>> df.select(display_weight_kg())["weight_kg"].to_list()
    [20.4, 12.9, 52.2]
    """
    kg = pl.col(weight_kg) if isinstance(weight_kg, str) else weight_kg
    unit = pl.col(unit_original) if isinstance(unit_original, str) else unit_original
    quarter_lb = kg / LB_TO_KG * 4
    looks_converted = ((quarter_lb - quarter_lb.round(0)).abs() < 0.04) & (
        (kg * 100 - (kg * 100).round(0)).abs() > 1e-6
    )
    return pl.when((unit == "lb") | looks_converted).then(kg.round(1)).otherwise(kg.round(2))
