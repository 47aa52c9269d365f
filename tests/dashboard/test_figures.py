"""The figure builders of ``toolkit.report``: the right traces and labels on the demo cohort,
a figure (not an error) for empty input, the same figure for the same frames, and no
streamlit anywhere near them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest

from toolkit.analysis import analyse_patient
from toolkit.analysis import load as ld
from toolkit.report import (
    ACWR_CAVEAT,
    acwr_figure,
    cohort_figure,
    flags_timeline,
    load_figure,
    pain_figure,
    progression_figure,
    prom_figure,
)


def _names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data]


def _annotations(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def _is_empty(fig: go.Figure) -> bool:
    return not fig.data and any(a.name == "empty" for a in fig.layout.annotations)


@pytest.fixture(scope="module")
def spike(cohort_store):
    """spike_01 of the demo cohort: planted load spikes followed by flares."""
    _, store = cohort_store
    analysis = analyse_patient(store, "spike_01")
    sets = store.table("sets", patient_id="spike_01")
    return analysis, sets


def test_pain_figure_shows_pain_trend_baseline_mcid_flares_change_points_and_training(spike) -> None:
    a, _ = spike
    fig = pain_figure(
        a.daily_pain,
        outcome=a.pain_outcome,
        change_points=a.change_points,
        flares=a.flares,
        daily_load=a.daily_load,
    )
    assert isinstance(fig, go.Figure)
    names = _names(fig)
    for expected in (
        "Daily pain",
        "Trend (7-day EWMA)",
        "Baseline",
        "MCID band",
        "Flare",
        "Training load (kg)",
        "Rest day",
    ):
        assert expected in names, expected
    by_name = {t.name: t for t in fig.data}
    assert len(by_name["Daily pain"].x) == a.daily_pain.height
    assert len(by_name["Flare"].x) == a.flares.height > 0
    # Training is on the secondary (right) axis, behind the pain traces.
    assert by_name["Training load (kg)"].yaxis == "y"
    assert by_name["Daily pain"].yaxis == "y2"
    assert fig.layout.yaxis.side == "right" and fig.layout.yaxis2.side == "left"
    # Baseline is the outcome's baseline; the band reaches down to the MCID level.
    baseline = a.pain_outcome["baseline"][0]
    assert set(by_name["Baseline"].y) == {baseline}
    target = max(baseline - 2.0, baseline * 0.7)
    assert min(by_name["MCID band"].y) == pytest.approx(target)
    # One vertical line and one label per change point.
    change_labels = [t for t in _annotations(fig) if t.startswith("change point")]
    assert len(change_labels) == a.change_points.height > 0
    assert any(t.startswith("MCID") for t in _annotations(fig))


def test_pain_figure_without_pain_says_so() -> None:
    fig = pain_figure(
        pl.DataFrame(schema={"patient_id": pl.String, "date": pl.Date, "pain_mean": pl.Float64})
    )
    assert _is_empty(fig)
    assert "pain diary" in fig.layout.annotations[0].text


def test_load_figure_has_daily_and_weekly_rows(spike) -> None:
    a, _ = spike
    fig = load_figure(a.daily_load, a.weekly_load)
    assert _names(fig) == ["Daily load", "Rest day", "Weekly load", "Sessions / week"]
    daily = next(t for t in fig.data if t.name == "Daily load")
    assert len(daily.x) == a.daily_load.filter(pl.col("volume_kg") > 0).height
    assert _is_empty(load_figure(a.daily_load.clear(), a.weekly_load.clear()))


@pytest.mark.parametrize(
    ("most_sessions", "step"), [(None, 1), (3, 1), (6, 1), (7, 2), (12, 2), (13, 5), (30, 5), (113, 20)]
)
def test_sessions_axis_keeps_whole_numbers_and_a_handful_of_ticks(most_sessions, step) -> None:
    week = [dt.date(2026, 1, 5), dt.date(2026, 1, 12)]
    weekly = pl.DataFrame(
        {
            "patient_id": ["p", "p"],
            "week_start": week,
            "sessions": [1, most_sessions],
            "volume_kg": [1.0, 2.0],
        },
        schema_overrides={"sessions": pl.Int64},
    )
    daily = pl.DataFrame({"patient_id": ["p"], "date": [week[0]], "volume_kg": [1.0]})
    fig = load_figure(daily, weekly)
    axis = next(
        a
        for name, a in fig.layout.to_plotly_json().items()
        if name.startswith("yaxis") and a.get("title", {}).get("text") == "sessions"
    )
    assert axis["dtick"] == step and axis["tickformat"] == "d"
    assert (most_sessions or 1) / step <= 6


def test_acwr_figure_names_the_variant_and_draws_band_line_and_caveat(spike) -> None:
    a, _ = spike
    fig = acwr_figure(a.acwr)
    assert _names(fig) == ["ACWR"]
    title = fig.layout.title.text
    assert "ewma" in title and ACWR_CAVEAT in title
    shapes = {s.name: s for s in fig.layout.shapes}
    band = shapes["reference band"]
    assert (band.y0, band.y1) == (0.8, 1.3)
    assert shapes["1.5"].y0 == shapes["1.5"].y1 == 1.5
    assert "withheld" in shapes
    # Null ratios stay gaps (missing is not zero).
    assert None in fig.data[0].y


def test_acwr_figure_in_the_warm_up_explains_why_it_is_withheld(spike) -> None:
    a, _ = spike
    first = a.acwr["date"].min()
    fig = acwr_figure(a.acwr.filter(pl.col("date") < first + dt.timedelta(days=20)))
    assert _is_empty(fig)
    assert "Withheld" in fig.layout.annotations[0].text
    assert ACWR_CAVEAT in fig.layout.title.text


def test_progression_figure_one_panel_per_main_lift_with_kg_per_week(spike) -> None:
    a, sets = spike
    fig = progression_figure(a.weekly_top_load, a.progression, e1rm=ld.e1rm(sets))
    lifts = sorted(a.progression["exercise"].to_list())
    assert sorted({t.meta for t in fig.data}) == lifts
    for lift in lifts:
        names = {t.name for t in fig.data if t.meta == lift}
        assert names == {"top kg of the week", "e1RM range (formulas)", "fitted kg/week"}
    titles = _annotations(fig)
    for row in a.progression.iter_rows(named=True):
        title = next(t for t in titles if t.startswith(row["exercise"] + ":"))
        assert f"{row['kg_per_week']:+.2f}".replace("-", "−") in title and "95 % CI" in title
    # Without e1RM rows the Epley e1RM of the week is drawn instead of the range.
    plain = progression_figure(a.weekly_top_load, a.progression)
    assert "e1RM (Epley)" in _names(plain)


def test_flags_timeline_one_row_per_kind(spike) -> None:
    a, _ = spike
    fig = flags_timeline(a.flags)
    kinds = set(a.flags["kind"].to_list())
    assert {"pain_flare", "load_spike"} <= kinds
    labels = {"pain_flare": "Pain flare", "load_spike": "Load spike", "no_rest": "No rest day"}
    assert set(_names(fig)) == {labels.get(k, "Too-fast progression") for k in kinds}
    total = sum(len(t.x) for t in fig.data)
    assert total == a.flags.height
    assert all(t.customdata is not None for t in fig.data)  # the reason in numbers, on hover
    assert _is_empty(flags_timeline(a.flags.clear()))


def test_prom_figure_draws_scores_against_their_mcid() -> None:
    from toolkit.analysis.pain import prom_outcomes

    measures = pl.DataFrame(
        {
            "patient_id": ["p1"] * 4,
            "local_date": [
                dt.date(2025, 1, 6),
                dt.date(2025, 3, 3),
                dt.date(2025, 1, 6),
                dt.date(2025, 3, 3),
            ],
            "instrument": ["ODI", "ODI", "PSFS", "PSFS"],
            "score": [40.0, 22.0, 3.0, 4.0],
            "higher_is_better": [False, False, True, True],
        }
    )
    fig = prom_figure(measures, prom_outcomes(measures))
    assert set(_names(fig)) == {"ODI", "ODI MCID", "PSFS", "PSFS MCID"}
    mcid = {t.name: t.y[0] for t in fig.data if t.name.endswith("MCID")}
    assert mcid == {"ODI MCID": 30.0, "PSFS MCID": 5.0}  # 40 − 10 (ODI); 3 + 2 (PSFS, higher is better)
    titles = _annotations(fig)
    assert any("ODI: 40 → 22" in t and "reached" in t and "not reached" not in t for t in titles)
    assert any("PSFS" in t and "not reached" in t for t in titles)
    assert _is_empty(prom_figure(measures.clear(), None))


def test_cohort_figure_groups_patients_by_mcid() -> None:
    table = pl.DataFrame(
        {
            "patient_id": ["a", "b", "c"],
            "baseline": [7.0, 5.0, 6.0],
            "current": [3.0, 4.5, None],
            "mcid_reached": [True, False, None],
        }
    )
    fig = cohort_figure(table)
    names = _names(fig)
    assert names == ["MCID reached", "MCID not reached", "not enough data", "Baseline", "Current"]
    current = next(t for t in fig.data if t.name == "Current")
    assert list(current.y) == ["c", "b", "a"]  # no data first, then the most improved on top
    reached = next(t for t in fig.data if t.name == "MCID reached")
    assert list(reached.x) == [7.0, 3.0, None]  # baseline → current of patient a
    assert _is_empty(cohort_figure(table.clear()))


def test_figures_are_deterministic(spike) -> None:
    a, sets = spike

    def build() -> list[str]:
        return [
            pain_figure(
                a.daily_pain, outcome=a.pain_outcome, flares=a.flares, daily_load=a.daily_load
            ).to_json(),
            acwr_figure(a.acwr).to_json(),
            progression_figure(a.weekly_top_load, a.progression, e1rm=ld.e1rm(sets)).to_json(),
            flags_timeline(a.flags).to_json(),
        ]

    assert build() == build()


def test_figure_builders_never_import_streamlit() -> None:
    import ast

    import toolkit.dashboard
    import toolkit.report.figures

    for module in (toolkit.report, toolkit.report.figures, toolkit.dashboard):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
        }
        assert "streamlit" not in imported, module.__name__


def test_figures_have_the_plotly_white_look_and_margins_that_hold_their_labels(spike) -> None:
    import plotly.io as pio

    a, _ = spike
    white = pio.templates["plotly_white"]
    for fig in (load_figure(a.daily_load, a.weekly_load), acwr_figure(a.acwr), pain_figure(None)):
        template = fig.layout.template
        # The same look as template="plotly_white" for the traces drawn here (scatter, bar).
        assert template.layout.to_plotly_json() == white.layout.to_plotly_json()
        assert template.data.scatter == white.data.scatter and template.data.bar == white.data.bar
        # Wide enough for y ticks such as "120k" and an axis title on either side: Plotly's
        # automatic margins then leave them alone (they would redraw the chart to widen them).
        assert fig.layout.margin.l >= 72 and fig.layout.margin.r >= 72
    kinds = ["too_fast_progression", "no_rest"]
    flags = pl.DataFrame(
        {"date": [dt.date(2025, 1, 6), dt.date(2025, 1, 7)], "kind": kinds, "detail": ["x", "y"]}
    )
    fig = flags_timeline(flags)
    # Category labels ("Too-fast progression", 20 characters) at ~7 px a character.
    assert fig.layout.margin.l >= 7 * len("Too-fast progression")
    assert list(fig.layout.yaxis.categoryarray) == ["No rest day", "Too-fast progression"]
