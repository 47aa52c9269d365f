"""Plotly figures of one patient's (or a clinic's) recovery, shared by the dashboard and the report.

Every builder takes analysis frames (polars or pandas; the outputs of
:mod:`toolkit.analysis`) and returns a new :class:`plotly.graph_objects.Figure`. The
builders are pure and deterministic: the same frames give the same figure (no clock,
no randomness), so the PDF report and the dashboard show the same picture. They never
import streamlit. An empty input gives a figure that says what is missing, never an
error.

==========================  ===============================================================
Builder                     Shows
==========================  ===============================================================
:func:`pain_figure`         daily pain, smoothed trend, baseline and MCID band, change
                            points, flares; training load as bars on a secondary axis and
                            rest days
:func:`load_figure`         daily load (training and rest days), weekly load and sessions
:func:`acwr_figure`         acute:chronic workload ratio with the 0.8–1.3 band and 1.5 line
:func:`progression_figure`  weekly top load of each main lift with its kg/week and e1RM range
:func:`flags_timeline`      dated flags by kind
:func:`prom_figure`         questionnaire scores against their MCIDs
:func:`cohort_figure`       baseline → current pain of every patient, MCID reached or not
==========================  ===============================================================

Trace names are part of the contract (tests and the report look them up): see each
builder's *Returns*.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from toolkit.analysis import pain as pn
from toolkit.analysis._frames import as_polars
from toolkit.analysis._options import week_start_of

__all__ = [
    "ACWR_CAVEAT",
    "acwr_figure",
    "cohort_figure",
    "flags_timeline",
    "load_figure",
    "pain_figure",
    "progression_figure",
    "prom_figure",
]

ACWR_CAVEAT = "descriptive spike detector, not a risk verdict"
"""Said under every ACWR chart (Impellizzeri et al. 2020; DOMAIN.md "Critiques")."""

# Colours (colour-blind safe, Okabe–Ito) and the shared look.
_BLUE = "#0072B2"
_DARK = "#1f2d3d"
_GREEN = "#009E73"
_ORANGE = "#E69F00"
_RED = "#D55E00"
_PURPLE = "#CC79A7"
_GREY = "#7f7f7f"
_LIGHT = "#c8c8c8"
_KIND_COLOURS = {
    "pain_flare": _RED,
    "load_spike": _ORANGE,
    "too_fast_progression": _PURPLE,
    "no_rest": _BLUE,
}
_KIND_LABELS = {
    "pain_flare": "Pain flare",
    "load_spike": "Load spike",
    "too_fast_progression": "Too-fast progression",
    "no_rest": "No rest day",
}
_FONT = {"family": "Helvetica, Arial, sans-serif", "size": 13, "color": _DARK}


def _integer_step(top: Any, *, ticks: int = 6) -> int:
    """A whole-number tick step (1, 2, 5, 10, 20, 50, ...) giving at most ``ticks`` ticks
    up to ``top``: counts stay whole numbers without a tick per unit on a tall axis
    (a label per session on an axis up to 100 sessions costs the browser a second)."""
    try:
        top = float(top)
    except (TypeError, ValueError):
        return 1
    if not math.isfinite(top) or top <= ticks:
        return 1
    magnitude = 10 ** math.floor(math.log10(top / ticks))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude * ticks >= top)


# Margins that hold the usual tick labels and axis titles (y ticks such as "120k" plus a
# title on either side; the legend under the x-axis labels). The axes keep Plotly's automatic
# margins as a safety net, but a label that does not fit makes the browser draw the chart a
# second time with wider margins (~0.1-0.4 s of a busy browser per chart): measured in
# headless Chromium, the 60 px of before pushed every chart but one to 65-79 px.
_MARGIN = {"l": 72, "r": 72, "t": 80, "b": 90}


@functools.cache
def _template() -> go.layout.Template:
    """Plotly's ``plotly_white`` look, made once: its layout and its defaults for the two
    trace types drawn here (scatter, bar). Setting ``template="plotly_white"`` by name copies
    and validates the whole template (24 trace types) for every figure: 0.15 s each, most of
    the time the five charts of the patient page took to build. Same picture."""
    import plotly.io as pio

    white = pio.templates["plotly_white"]
    return go.layout.Template(
        layout=white.layout, data={"scatter": white.data.scatter, "bar": white.data.bar}
    )


def _category_margin(labels: Sequence[Any]) -> int:
    """A left margin wide enough for category tick labels at the 13 px font (about 7 px a
    character and the gap), so the automatic margin has nothing to widen."""
    longest = max((len(str(label)) for label in labels), default=0)
    return max(_MARGIN["l"], 7 * longest + 20)


def _base_layout(fig: go.Figure, title: str, *, height: int = 420, left: int | None = None) -> go.Figure:
    top, bottom = _MARGIN["t"], _MARGIN["b"]
    plot_height = max(height - top - bottom, 100)
    fig.update_layout(
        template=_template(),
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16}},
        font=_FONT,
        height=height,
        margin={**_MARGIN, "l": left or _MARGIN["l"]},
        # Legend under the x-axis labels (about 45 px below the plot): beside the title it
        # collides with it in narrow columns.
        legend={
            "orientation": "h",
            "yanchor": "top",
            "y": -45 / plot_height,
            "xanchor": "left",
            "x": 0.0,
        },
        hovermode="x unified",
    )
    return fig


def _empty_figure(title: str, message: str, *, height: int = 300) -> go.Figure:
    fig = _base_layout(go.Figure(), title, height=height)
    fig.add_annotation(
        text=message,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 14, "color": _GREY},
        name="empty",
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _frame(frame: Any, name: str) -> pl.DataFrame:
    if frame is None:
        return pl.DataFrame()
    return as_polars(frame, name)


def _col(frame: pl.DataFrame, name: str) -> list[Any]:
    return frame.get_column(name).to_list() if name in frame.columns else [None] * frame.height


def _first(frame: pl.DataFrame, name: str) -> Any:
    if frame.height == 0 or name not in frame.columns:
        return None
    value = frame.get_column(name)[0]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def _signed(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:+.{digits}f}".replace("-", "−")


def _vline(fig: go.Figure, x: dt.date, *, colour: str, text: str, dash: str = "dash", y: float = 1.0) -> None:
    """A vertical line across the plot with a label at the top (shape + annotation: both
    work on date axes and export to static images)."""
    fig.add_shape(
        type="line",
        xref="x",
        yref="paper",
        x0=x,
        x1=x,
        y0=0,
        y1=1,
        line={"color": colour, "width": 1.5, "dash": dash},
        layer="below",
        name=text,
    )
    fig.add_annotation(
        x=x,
        y=y,
        xref="x",
        yref="paper",
        text=text,
        showarrow=False,
        xanchor="left",
        yanchor="top",
        font={"size": 11, "color": colour},
        name=text,
    )


# --------------------------------------------------------------------------------------
# Pain
# --------------------------------------------------------------------------------------


def pain_figure(
    daily_pain: Any,
    *,
    trend: Any = None,
    outcome: Any = None,
    change_points: Any = None,
    flares: Any = None,
    daily_load: Any = None,
    load: str = "volume_kg",
    mcid_points: float = 2.0,
    mcid_percent: float = 30.0,
    title: str = "Pain over time",
) -> go.Figure:
    """Daily pain with its smoothed trend, baseline and MCID band, change points and flares,
    with the training load overlaid.

    Parameters
    ----------
    daily_pain
        :func:`toolkit.analysis.pain.daily_pain` output (one patient).
    trend
        :func:`toolkit.analysis.pain.pain_trend` output; computed from ``daily_pain``
        when None.
    outcome
        :func:`toolkit.analysis.pain.pain_outcome` output: its ``baseline`` draws the
        baseline line and the MCID band; its baseline and current windows are shaded.
    change_points
        :func:`toolkit.analysis.pain.change_points` output: dashed vertical lines.
    flares
        :func:`toolkit.analysis.pain.flares` output: red triangles on the flare days.
    daily_load
        :func:`toolkit.analysis.load.daily_load` output: training days as bars of
        ``load`` on the right-hand axis, logged rest days as grey ticks at its foot.
    load
        Column of ``daily_load`` drawn (default ``volume_kg``, Σ reps × kg).
    mcid_points, mcid_percent
        The MCID of :func:`toolkit.analysis.pain.pain_outcome` (defaults 2 points or
        30 %; Ostelo et al. 2008). The band spans from the baseline down to the level
        that reaches it, ``max(baseline − points, baseline × (1 − percent/100))``.
    title
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces (by ``name``): ``"Daily pain"`` (markers, NRS 0–10, left axis),
        ``"Trend (7-day EWMA)"``, ``"Baseline"``, ``"MCID band"`` (the shaded band),
        ``"Flare"``, ``"Training load (kg)"`` (bars, right axis) and ``"Rest day"``, each
        present when its input has rows. Change points are vertical line shapes with an
        annotation ``"change point"``.
    """
    daily = _frame(daily_pain, "daily_pain")
    loads = _frame(daily_load, "daily_load")
    if daily.height == 0 and loads.height == 0:
        return _empty_figure(title, "No pain ratings in this period: upload a pain diary.")
    fig = go.Figure()
    # The load is the primary axis (drawn first, behind) on the right; pain overlays it on
    # the left, so the pain lines stay on top of the bars.
    fig.update_layout(
        yaxis={
            "title": {"text": "training load (kg)" if load.endswith("_kg") else "training load"},
            "side": "right",
            "showgrid": False,
            "rangemode": "tozero",
        },
        yaxis2={
            "title": {"text": "pain (NRS 0–10)"},
            "side": "left",
            "overlaying": "y",
            "range": [-0.3, 10.3],
            "dtick": 2,
            "showgrid": True,
            "gridcolor": "#eeeeee",
        },
    )
    if loads.height and load in loads.columns:
        train = (
            loads.filter(pl.col("training_day").fill_null(False))
            if "training_day" in loads.columns
            else loads
        )
        train = train.filter(pl.col(load).is_not_null())
        top = train[load].max() if train.height else None
        if isinstance(top, int | float) and top > 0:
            # Bars in the lower half, under the pain lines.
            fig.update_layout(yaxis={"range": [0, 2.0 * float(top)], "rangemode": None})
        if train.height:
            fig.add_trace(
                go.Bar(
                    x=_col(train, "date"),
                    y=_col(train, load),
                    name="Training load (kg)" if load.endswith("_kg") else "Training load",
                    marker={"color": _ORANGE, "opacity": 0.35},
                    customdata=_col(train, "sessions"),
                    hovertemplate="%{y:,.0f} kg (%{customdata} session(s))<extra>training</extra>",
                    yaxis="y",
                )
            )
        if "rest_day" in loads.columns:
            rest = loads.filter(pl.col("rest_day").fill_null(False))
            if rest.height:
                fig.add_trace(
                    go.Scatter(
                        x=_col(rest, "date"),
                        y=[-0.15] * rest.height,
                        name="Rest day",
                        mode="markers",
                        marker={"symbol": "line-ns-open", "size": 7, "color": _GREY},
                        hovertemplate="rest day<extra></extra>",
                        yaxis="y2",
                    )
                )
    out = _frame(outcome, "outcome")
    baseline = _first(out, "baseline")
    if daily.height:
        first, last = daily["date"].min(), daily["date"].max()
        for start_col, end_col, label in (
            ("baseline_start", "baseline_end", "baseline week"),
            ("current_start", "current_end", "current week"),
        ):
            start, end = _first(out, start_col), _first(out, end_col)
            if start is not None and end is not None and _first(out, "current") is not None:
                fig.add_vrect(
                    x0=start,
                    x1=end,
                    fillcolor=_LIGHT,
                    opacity=0.25,
                    line_width=0,
                    layer="below",
                    name=label,
                )
                fig.add_annotation(
                    x=start + (end - start) / 2,
                    y=1.0,
                    xref="x",
                    yref="paper",
                    text=label,
                    showarrow=False,
                    yanchor="bottom",
                    font={"size": 10, "color": _GREY},
                    name=label,
                )
        if baseline is not None:
            target = max(baseline - mcid_points, baseline * (1 - mcid_percent / 100.0))
            fig.add_trace(
                go.Scatter(
                    x=[first, last, last, first, first],
                    y=[baseline, baseline, target, target, baseline],
                    name="MCID band",
                    fill="toself",
                    fillcolor="rgba(0,158,115,0.12)",
                    line={"width": 0},
                    mode="lines",
                    hoverinfo="skip",
                    yaxis="y2",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=[first, last],
                    y=[baseline, baseline],
                    name="Baseline",
                    mode="lines",
                    line={"color": _GREY, "dash": "dash", "width": 1.5},
                    hovertemplate=f"baseline {baseline:.1f}<extra></extra>",
                    yaxis="y2",
                )
            )
            fig.add_annotation(
                x=last,
                y=target,
                xref="x",
                yref="y2",
                text=f"MCID: ≤ {target:.1f} (−{mcid_points:g} points or −{mcid_percent:g} %)",
                showarrow=False,
                xanchor="right",
                yanchor="top",
                font={"size": 11, "color": _GREEN},
                name="mcid",
            )
        fig.add_trace(
            go.Scatter(
                x=_col(daily, "date"),
                y=_col(daily, "pain_mean"),
                name="Daily pain",
                mode="markers",
                marker={"color": _BLUE, "size": 6, "opacity": 0.55},
                hovertemplate="pain %{y:.1f}<extra></extra>",
                yaxis="y2",
            )
        )
        smooth = _frame(trend, "trend") if trend is not None else pn.pain_trend(daily)
        if smooth.height and "pain_smooth" in smooth.columns:
            smooth = smooth.sort("date")
            fig.add_trace(
                go.Scatter(
                    x=_col(smooth, "date"),
                    y=_col(smooth, "pain_smooth"),
                    name="Trend (7-day EWMA)",
                    mode="lines",
                    line={"color": _DARK, "width": 2.5},
                    hovertemplate="trend %{y:.1f}<extra></extra>",
                    yaxis="y2",
                )
            )
    fl = _frame(flares, "flares")
    if fl.height:
        fig.add_trace(
            go.Scatter(
                x=_col(fl, "date"),
                y=_col(fl, "pain"),
                name="Flare",
                mode="markers",
                marker={
                    "symbol": "triangle-up",
                    "size": 12,
                    "color": _RED,
                    "line": {"width": 1, "color": "white"},
                },
                customdata=[
                    [_fmt(e), "not settled" if s is None else f"settled after {s} day(s)"]
                    for e, s in zip(_col(fl, "excess"), _col(fl, "days_to_settle"), strict=True)
                ],
                hovertemplate="flare: +%{customdata[0]} above the 7-day median, %{customdata[1]}<extra></extra>",
                yaxis="y2",
            )
        )
    cps = _frame(change_points, "change_points")
    for i, row in enumerate(cps.sort("date").iter_rows(named=True) if cps.height else []):
        _vline(
            fig,
            row["date"],
            colour=_PURPLE,
            text=f"change point {_fmt(row.get('mean_before'))} → {_fmt(row.get('mean_after'))}",
            y=0.98 - 0.06 * (i % 3),  # staggered, so labels of close change points do not overlap
        )
    return _base_layout(fig, title, height=460)


# --------------------------------------------------------------------------------------
# Training load
# --------------------------------------------------------------------------------------


def load_figure(daily_load: Any, weekly_load: Any = None, *, load: str = "volume_kg") -> go.Figure:
    """Daily training load (with rest days) above weekly load and sessions per week.

    Parameters
    ----------
    daily_load
        :func:`toolkit.analysis.load.daily_load` output.
    weekly_load
        :func:`toolkit.analysis.load.weekly_load` output (optional).
    load
        Load column (default ``volume_kg``).

    Returns
    -------
    plotly.graph_objects.Figure
        Row 1: ``"Daily load"`` bars and ``"Rest day"`` markers; row 2 (with
        ``weekly_load``): ``"Weekly load"`` bars and ``"Sessions / week"`` line on a
        secondary axis.
    """
    title = "Training load"
    daily = _frame(daily_load, "daily_load")
    weekly = _frame(weekly_load, "weekly_load")
    if daily.height == 0 and weekly.height == 0:
        return _empty_figure(title, "No training sessions in this period: upload a workout export.")
    rows = 2 if weekly.height else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        row_heights=[0.55, 0.45] if rows == 2 else [1.0],
        specs=[[{"secondary_y": False}]] + ([[{"secondary_y": True}]] if rows == 2 else []),
        subplot_titles=["daily load (kg)"] + (["weekly load and sessions"] if rows == 2 else []),
    )
    if daily.height and load in daily.columns:
        train = daily.filter(pl.col(load).fill_null(0) > 0)
        fig.add_trace(
            go.Bar(
                x=_col(train, "date"),
                y=_col(train, load),
                name="Daily load",
                marker={"color": _ORANGE},
                hovertemplate="%{y:,.0f} kg<extra>daily load</extra>",
            ),
            row=1,
            col=1,
        )
        if "rest_day" in daily.columns:
            rest = daily.filter(pl.col("rest_day").fill_null(False))
            fig.add_trace(
                go.Scatter(
                    x=_col(rest, "date"),
                    y=[0] * rest.height,
                    name="Rest day",
                    mode="markers",
                    marker={"symbol": "line-ns-open", "size": 8, "color": _GREY},
                    hovertemplate="rest day<extra></extra>",
                ),
                row=1,
                col=1,
            )
    if rows == 2:
        fig.add_trace(
            go.Bar(
                x=_col(weekly, "week_start"),
                y=_col(weekly, load) if load in weekly.columns else [],
                name="Weekly load",
                marker={"color": _LIGHT},
                hovertemplate="%{y:,.0f} kg<extra>weekly load</extra>",
            ),
            row=2,
            col=1,
            secondary_y=False,
        )
        fig.add_trace(
            go.Scatter(
                x=_col(weekly, "week_start"),
                y=_col(weekly, "sessions"),
                name="Sessions / week",
                mode="lines+markers",
                line={"color": _BLUE, "width": 2},
                hovertemplate="%{y} session(s)<extra>week</extra>",
            ),
            row=2,
            col=1,
            secondary_y=True,
        )
        fig.update_yaxes(title_text="kg / week", row=2, col=1, secondary_y=False, rangemode="tozero")
        fig.update_yaxes(
            title_text="sessions",
            row=2,
            col=1,
            secondary_y=True,
            rangemode="tozero",
            showgrid=False,
            tickformat="d",
            dtick=_integer_step(weekly["sessions"].max() if "sessions" in weekly.columns else None),
        )
    fig.update_yaxes(title_text="kg", row=1, col=1, rangemode="tozero")
    return _base_layout(fig, title, height=480 if rows == 2 else 320)


def acwr_figure(acwr: Any, *, band: tuple[float, float] = (0.8, 1.3), high: float = 1.5) -> go.Figure:
    """Acute:chronic workload ratio over time with its reference band, the 1.5 line and the
    variant named in the title.

    Parameters
    ----------
    acwr
        :func:`toolkit.analysis.load.acwr` output (``date``, ``acwr``, ``variant``,
        ``withheld``).
    band
        Reference band drawn (default 0.8–1.3, Gabbett 2016's "sweet spot").
    high
        Level drawn as a red dashed line (default 1.5).

    Returns
    -------
    plotly.graph_objects.Figure
        Trace ``"ACWR"``; a shaded band shape named ``"reference band"``, a line shape
        named ``"1.5"``, and the caveat :data:`ACWR_CAVEAT` as the title's subtitle.

    Notes
    -----
    The band and line are descriptive: neither the sweet spot nor the danger zone holds
    up once load is treated as continuous (Impellizzeri et al. 2020), hence the caveat.
    """
    frame = _frame(acwr, "acwr")
    variant = _first(frame, "variant") or "ewma"
    title = f"Acute:chronic workload ratio — {variant}"
    caveat = f"<sup>{ACWR_CAVEAT}</sup>"
    valid = frame.filter(pl.col("acwr").is_not_null()) if frame.height else frame
    if valid.height == 0:
        days = frame.height
        why = (
            "No training in this period."
            if days == 0
            else f"Withheld: the first 28 days of a training log are its warm-up ({days} day(s) here)."
        )
        return _empty_figure(f"{title}<br>{caveat}", why)
    fig = go.Figure()
    first, last = frame["date"].min(), frame["date"].max()
    fig.add_hrect(
        y0=band[0],
        y1=band[1],
        fillcolor=_GREEN,
        opacity=0.12,
        line_width=0,
        layer="below",
        name="reference band",
    )
    fig.add_annotation(
        x=first,
        y=band[1],
        xref="x",
        yref="y",
        text=f"{band[0]:g}–{band[1]:g} reference band",
        showarrow=False,
        xanchor="left",
        yanchor="bottom",
        font={"size": 11, "color": _GREEN},
        name="reference band",
    )
    fig.add_shape(
        type="line",
        xref="paper",
        yref="y",
        x0=0,
        x1=1,
        y0=high,
        y1=high,
        line={"color": _RED, "dash": "dash", "width": 1.5},
        name=f"{high:g}",
    )
    fig.add_annotation(
        x=first,
        y=high,
        xref="x",
        yref="y",
        text=f"{high:g}",
        showarrow=False,
        xanchor="left",
        yanchor="bottom",
        font={"size": 11, "color": _RED},
        name=f"{high:g}",
    )
    if "withheld" in frame.columns:
        held = frame.filter(pl.col("withheld").fill_null(False))
        if held.height:
            fig.add_vrect(
                x0=held["date"].min(),
                x1=held["date"].max(),
                fillcolor=_LIGHT,
                opacity=0.3,
                line_width=0,
                layer="below",
                name="withheld",
            )
            fig.add_annotation(
                x=held["date"].min(),
                y=1.0,
                xref="x",
                yref="paper",
                text="withheld (warm-up)",
                showarrow=False,
                xanchor="left",
                yanchor="top",
                font={"size": 11, "color": _GREY},
                name="withheld",
            )
    # Keep gaps (unlogged days are null, not zero): plotly breaks the line at None.
    fig.add_trace(
        go.Scatter(
            x=_col(frame, "date"),
            y=_col(frame, "acwr"),
            name="ACWR",
            mode="lines",
            connectgaps=False,
            line={"color": _BLUE, "width": 2},
            hovertemplate="ACWR %{y:.2f}<extra></extra>",
        )
    )
    top = max(2.0, float(valid["acwr"].max() or 0) * 1.1)
    fig.update_yaxes(title_text="acute : chronic", range=[0, top])
    fig.update_xaxes(range=[first, last])
    return _base_layout(fig, f"{title}<br>{caveat}", height=360)


def progression_figure(
    weekly_top_load: Any, progression: Any, *, e1rm: Any = None, max_lifts: int = 4
) -> go.Figure:
    """Weekly top load of each main lift, with its fitted kg/week and the e1RM range.

    Parameters
    ----------
    weekly_top_load
        :func:`toolkit.analysis.load.weekly_top_load` output.
    progression
        :func:`toolkit.analysis.load.progression` output: chooses the lifts (the main,
        heavy lifts) and gives each panel its kg/week with 95 % CI.
    e1rm
        Optional :func:`toolkit.analysis.load.e1rm` output: the band spans the week's
        best ``e1rm_low_kg`` to best ``e1rm_high_kg`` (the spread of the formulas).
        Without it the Epley e1RM (``top_e1rm_kg``) is drawn as a dotted line.
    max_lifts
        Most lifts shown, those with the most weeks first (default 4).

    Returns
    -------
    plotly.graph_objects.Figure
        One panel per lift (its title gives kg/week with the 95 % CI); per panel the traces
        ``"top kg of the week"``, ``"e1RM range (formulas)"`` (or ``"e1RM (Epley)"``)
        and ``"fitted kg/week"``, each with ``meta`` = the lift's name.
    """
    title = "Load progression of the main lifts"
    weeks = _frame(weekly_top_load, "weekly_top_load")
    prog = _frame(progression, "progression")
    if weeks.height == 0 or prog.height == 0:
        return _empty_figure(
            title, "No loaded sets of a main lift (deadlift, squat, rows, presses) in this period."
        )
    prog = prog.sort(["weeks", "exercise"], descending=[True, False]).head(max_lifts)
    lifts = prog["exercise"].to_list()
    titles = []
    for row in prog.iter_rows(named=True):
        rate = row.get("kg_per_week")
        ci = (row.get("kg_per_week_ci_low"), row.get("kg_per_week_ci_high"))
        text = f"{row['exercise']}: {_signed(rate, 2)} kg/week"
        if ci[0] is not None and ci[1] is not None:
            text += f" (95 % CI {_signed(ci[0], 2)} to {_signed(ci[1], 2)})"
        elif rate is None:
            text += f" (needs ≥ 3 weeks; {row['weeks']} here)"
        titles.append(text)
    fig = make_subplots(
        rows=len(lifts), cols=1, shared_xaxes=True, vertical_spacing=0.09, subplot_titles=titles
    )
    band = _frame(e1rm, "e1rm")
    if band.height and {"e1rm_low_kg", "e1rm_high_kg", "local_date"} <= set(band.columns):
        name_col = "exercise" if "exercise" in band.columns else "exercise_raw"
        weekly_band = (
            band.with_columns(
                week_start_of(pl.col("local_date"), 1).alias("week_start"),
                pl.coalesce(name_col, "exercise_raw").alias("__lift"),
            )
            .group_by("__lift", "week_start")
            .agg(pl.col("e1rm_low_kg").max().alias("low"), pl.col("e1rm_high_kg").max().alias("high"))
            .sort("__lift", "week_start")
        )
    else:
        weekly_band = None
    for i, row in enumerate(prog.iter_rows(named=True), start=1):
        lift = row["exercise"]
        w = weeks.filter(pl.col("exercise") == lift).sort("week_start")
        if weekly_band is not None:
            b = weekly_band.filter(pl.col("__lift") == lift)
            if b.height:
                x = _col(b, "week_start")
                fig.add_trace(
                    go.Scatter(
                        x=x + x[::-1],
                        y=_col(b, "high") + _col(b, "low")[::-1],
                        name="e1RM range (formulas)",
                        meta=lift,
                        fill="toself",
                        fillcolor="rgba(0,114,178,0.12)",
                        line={"width": 0},
                        mode="lines",
                        hoverinfo="skip",
                        showlegend=i == 1,
                        legendgroup="e1rm",
                    ),
                    row=i,
                    col=1,
                )
        else:
            fig.add_trace(
                go.Scatter(
                    x=_col(w, "week_start"),
                    y=_col(w, "top_e1rm_kg"),
                    name="e1RM (Epley)",
                    meta=lift,
                    mode="lines",
                    line={"color": _BLUE, "dash": "dot", "width": 1.5},
                    hovertemplate="e1RM %{y:.1f} kg<extra></extra>",
                    showlegend=i == 1,
                    legendgroup="e1rm",
                ),
                row=i,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=_col(w, "week_start"),
                y=_col(w, "top_kg"),
                name="top kg of the week",
                meta=lift,
                mode="lines+markers",
                line={"color": _DARK, "width": 2},
                marker={"size": 6},
                hovertemplate="top %{y:.1f} kg<extra></extra>",
                showlegend=i == 1,
                legendgroup="top",
            ),
            row=i,
            col=1,
        )
        rate, first_kg = row.get("kg_per_week"), row.get("first_top_kg")
        if rate is not None and first_kg is not None and w.height >= 2:
            start, end = row["first_week"], row["last_week"]
            span_weeks = (end - start).days / 7.0
            # The OLS line passes through the means; anchor it there.
            mean_t = sum((d - start).days / 7.0 for d in w["week_start"].to_list()) / w.height
            mean_y = float(w["top_kg"].mean())  # type: ignore[arg-type]
            fig.add_trace(
                go.Scatter(
                    x=[start, end],
                    y=[mean_y - rate * mean_t, mean_y + rate * (span_weeks - mean_t)],
                    name="fitted kg/week",
                    meta=lift,
                    mode="lines",
                    line={"color": _ORANGE, "dash": "dash", "width": 1.5},
                    hovertemplate=f"{_signed(rate, 2)} kg/week<extra>trend</extra>",
                    showlegend=i == 1,
                    legendgroup="trend",
                ),
                row=i,
                col=1,
            )
        fig.update_yaxes(title_text="kg", row=i, col=1)
    fig.update_annotations(font={"size": 12})
    return _base_layout(fig, title, height=max(300, 230 * len(lifts)))


# --------------------------------------------------------------------------------------
# Flags, PROMs, cohort
# --------------------------------------------------------------------------------------


def flags_timeline(flags: Any) -> go.Figure:
    """Every flag as a dated marker on the row of its kind; hover shows the reason in numbers.

    Parameters
    ----------
    flags
        :func:`toolkit.analysis.flags.all_flags` output (``date``, ``kind``, ``detail``).

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per kind present, named ``"Pain flare"``, ``"Load spike"``,
        ``"Too-fast progression"`` or ``"No rest day"``.
    """
    title = "Flags: prompts to look, not verdicts"
    frame = _frame(flags, "flags")
    if frame.height == 0:
        return _empty_figure(title, "No flags in this period.", height=220)
    fig = go.Figure()
    kinds = sorted(
        frame["kind"].unique().to_list(),
        key=lambda k: (list(_KIND_LABELS).index(k) if k in _KIND_LABELS else 99, k),
    )
    for kind in kinds:
        rows = frame.filter(pl.col("kind") == kind).sort("date")
        label = _KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())
        fig.add_trace(
            go.Scatter(
                x=_col(rows, "date"),
                y=[label] * rows.height,
                name=label,
                mode="markers",
                marker={"size": 13, "color": _KIND_COLOURS.get(kind, _GREY), "symbol": "diamond"},
                customdata=_col(rows, "detail"),
                hovertemplate="%{x|%d %b %Y}: %{customdata}<extra></extra>",
            )
        )
    order = [_KIND_LABELS.get(k, k) for k in kinds][::-1]
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=order)
    fig = _base_layout(fig, title, height=160 + 45 * len(kinds), left=_category_margin(order))
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


def prom_figure(outcome_measures: Any, prom_outcomes: Any = None) -> go.Figure:
    """Questionnaire scores (ODI, RMDQ, PSFS, NRS, ...) over time against their MCIDs.

    Parameters
    ----------
    outcome_measures
        Canonical ``outcome_measures`` rows of one patient (``local_date``,
        ``instrument``, ``score``).
    prom_outcomes
        :func:`toolkit.analysis.pain.prom_outcomes` output: each panel's baseline, the
        level that reaches the MCID (dashed green) and whether it was reached.

    Returns
    -------
    plotly.graph_objects.Figure
        One panel per instrument; traces ``"<instrument>"`` (scores) and
        ``"<instrument> MCID"`` (the target level) when the instrument has an MCID.
    """
    title = "Questionnaires against their MCIDs"
    scores = _frame(outcome_measures, "outcome_measures")
    summary = _frame(prom_outcomes, "prom_outcomes")
    if scores.height == 0:
        return _empty_figure(title, "No questionnaire scores (ODI, RMDQ, PSFS) in this period.", height=220)
    scores = scores.with_columns(pl.col("instrument").str.strip_chars().str.to_uppercase())
    instruments = sorted(scores["instrument"].unique().to_list())
    info = {r["instrument"]: r for r in summary.iter_rows(named=True)} if summary.height else {}
    titles = []
    for inst in instruments:
        r = info.get(inst, {})
        if r.get("mcid") is None:
            titles.append(f"{inst}: no MCID on file")
        elif r.get("mcid_reached") is None:
            titles.append(f"{inst}: MCID {r['mcid']:g} points — one score so far")
        else:
            verdict = "reached" if r["mcid_reached"] else "not reached"
            titles.append(
                f"{inst}: {_fmt(r.get('baseline'), 0)} → {_fmt(r.get('latest'), 0)}, MCID {r['mcid']:g} points {verdict}"
            )
    fig = make_subplots(
        rows=len(instruments), cols=1, shared_xaxes=True, vertical_spacing=0.12, subplot_titles=titles
    )
    for i, inst in enumerate(instruments, start=1):
        rows = scores.filter(pl.col("instrument") == inst).sort("local_date")
        fig.add_trace(
            go.Scatter(
                x=_col(rows, "local_date"),
                y=_col(rows, "score"),
                name=inst,
                mode="lines+markers",
                line={"color": _BLUE, "width": 2},
                marker={"size": 8},
                hovertemplate=f"{inst} %{{y:.0f}}<extra></extra>",
            ),
            row=i,
            col=1,
        )
        r = info.get(inst, {})
        if r.get("mcid") is not None and r.get("baseline") is not None:
            better_up = r.get("higher_is_better")
            if better_up is None:
                better_up = inst == "PSFS"
            target = r["baseline"] + r["mcid"] if better_up else r["baseline"] - r["mcid"]
            fig.add_trace(
                go.Scatter(
                    x=[rows["local_date"].min(), rows["local_date"].max()],
                    y=[target, target],
                    name=f"{inst} MCID",
                    mode="lines",
                    line={"color": _GREEN, "dash": "dash", "width": 1.5},
                    hovertemplate=f"MCID level {target:.0f}<extra></extra>",
                ),
                row=i,
                col=1,
            )
        fig.update_yaxes(title_text="points", row=i, col=1)
    fig.update_annotations(font={"size": 12})
    fig = _base_layout(fig, title, height=max(260, 220 * len(instruments)))
    fig.update_layout(showlegend=False)
    return fig


def cohort_figure(cohort_table: Any, *, sort_by: str = "change") -> go.Figure:
    """Baseline → current pain of every patient (a dumbbell plot), coloured by MCID reached.

    Parameters
    ----------
    cohort_table
        One row per patient with ``patient_id``, ``baseline``, ``current`` (NRS points)
        and ``mcid_reached`` (bool or null).
    sort_by
        Column that orders the patients (default ``change``, the most improved first;
        computed as current − baseline when absent).

    Returns
    -------
    plotly.graph_objects.Figure
        Traces ``"Baseline"`` and ``"Current"`` (markers) and one ``"MCID reached"`` /
        ``"MCID not reached"`` / ``"not enough data"`` line trace per group.
    """
    title = "Pain: baseline → current, per patient"
    table = _frame(cohort_table, "cohort_table")
    if table.height == 0 or not {"patient_id", "baseline", "current"} <= set(table.columns):
        return _empty_figure(title, "No patients with pain ratings yet.")
    if "change" not in table.columns:
        table = table.with_columns((pl.col("current") - pl.col("baseline")).alias("change"))
    if "mcid_reached" not in table.columns:
        table = table.with_columns(pl.lit(None, dtype=pl.Boolean).alias("mcid_reached"))
    key = sort_by if sort_by in table.columns else "patient_id"
    table = table.sort([key, "patient_id"], descending=[True, True], nulls_last=False)
    fig = go.Figure()
    groups: Sequence[tuple[str, Any, str]] = (
        ("MCID reached", True, _GREEN),
        ("MCID not reached", False, _GREY),
        ("not enough data", None, _LIGHT),
    )
    for label, value, colour in groups:
        part = (
            table.filter(pl.col("mcid_reached").is_null() | pl.col("current").is_null())
            if value is None
            else table.filter((pl.col("mcid_reached") == value) & pl.col("current").is_not_null())
        )
        if part.height == 0:
            continue
        xs: list[Any] = []
        ys: list[Any] = []
        for r in part.iter_rows(named=True):
            xs += [r["baseline"], r["current"], None]
            ys += [r["patient_id"], r["patient_id"], None]
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, name=label, mode="lines", line={"color": colour, "width": 4}, hoverinfo="skip"
            )
        )
    fig.add_trace(
        go.Scatter(
            x=_col(table, "baseline"),
            y=_col(table, "patient_id"),
            name="Baseline",
            mode="markers",
            marker={"color": "white", "size": 10, "line": {"color": _DARK, "width": 2}},
            hovertemplate="%{y}: baseline %{x:.1f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=_col(table, "current"),
            y=_col(table, "patient_id"),
            name="Current",
            mode="markers",
            marker={"color": _DARK, "size": 10},
            hovertemplate="%{y}: current %{x:.1f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="pain (NRS 0–10)", range=[-0.3, 10.3], dtick=1)
    ids = table["patient_id"].to_list()
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=ids)
    fig = _base_layout(fig, title, height=max(320, 26 * table.height + 140), left=_category_margin(ids))
    fig.update_layout(hovermode="closest")
    return fig
