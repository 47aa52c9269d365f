import doctest

import polars as pl

import toolkit.units
from toolkit.units import LB_TO_KG, display_weight_kg


def test_pound_is_exactly_the_international_definition() -> None:
    # International yard and pound agreement (1959): 1 lb = 0.45359237 kg exactly.
    assert LB_TO_KG == 0.45359237
    assert round(115 * LB_TO_KG, 3) == 52.163


def test_display_snaps_converted_pounds_and_float_artefacts() -> None:
    df = pl.DataFrame(
        {
            "weight_kg": [20.41168092460379, 12.900000000000034, 100.0, 2.5, 52.163, 6.80388555],
            "weight_unit_original": ["kg", "kg", "kg", "kg", "lb", "kg"],
        }
    )
    assert df.select(display_weight_kg())["weight_kg"].to_list() == [20.4, 12.9, 100.0, 2.5, 52.2, 6.8]


def test_doctests() -> None:
    assert doctest.testmod(toolkit.units).failed == 0
