"""Patient: is training helping, and where is it overdone? Pain first, then training."""

from __future__ import annotations

import _state
import polars as pl
import streamlit as st

from toolkit import report

cfg = _state.settings()
view = _state.patient_page(cfg, "Patient {pid}")
_state.added_banner(view.patient_id)
# The headline and the pain chart come from the first look (about half the analysis); the
# rest of the analysis is computed once they are on the screen.
first = _state.chosen_first_look(cfg, view)
b = first.basics
head = b.headline()
pain, load = head["pain"], head["load"]
st.caption(
    f"{b.start or '–'} → {b.end or '–'}"
    + ("" if view.start is None and view.end is None else " (part of the log; the URL keeps this view)")
)

# -- headline ----------------------------------------------------------------------------
c1, c2, c3, c4, c5, c6 = st.columns(6)
c1.metric(
    "Pain now",
    _state.fmt(pain["current"]),
    delta=None if pain["change"] is None else f"{pain['change']:+.1f} from {pain['baseline']:.1f}",
    delta_color="inverse",
    help="Mean NRS 0–10 of the last 7 logged days; the change is from the first 7 (the baseline).",
)
c2.metric(
    "Clinically important?",
    {True: "Yes", False: "Not yet", None: "–"}[pain["mcid_reached"]],
    help="MCID: at least 2 points or 30 % better than baseline (Ostelo et al. 2008).",
)
ci = pain["trend_ci"]
c3.metric(
    "Pain trend / week",
    "–" if pain["trend_per_week"] is None else f"{pain['trend_per_week']:+.2f}",
    help=None if ci[0] is None else f"95 % CI {ci[0]:+.2f} to {ci[1]:+.2f} points per week (Newey–West).",
)
c4.metric("Sessions / week", _state.fmt(load["sessions_per_week"]))
c5.metric(
    "Adherence",
    "no plan" if load["adherence_pct"] is None else f"{load['adherence_pct']:.0f} %",
    help="Sessions done against the prescribed sessions per week.",
)
FLAGS_HELP = "Prompts to look, not verdicts."
flag_count = c6.empty()
flag_count.metric("Flags", "…", help=FLAGS_HELP)  # counted with the rest of the analysis, below
for message in b.messages:
    st.caption(f"ℹ️ {message}")

# -- pain ----------------------------------------------------------------------------------
st.plotly_chart(_state.chosen_patient_figure(cfg, view, "pain"), theme=None, key="pain_chart")
st.caption(
    "Dots: daily pain. Line: smoothed trend. Dashed grey: baseline; green band: change smaller than the "
    "MCID. Purple lines: change points (candidate shifts). Red triangles: flares (≥ 2 points above the "
    "7-day median). Orange bars: training load (right axis); grey ticks: logged rest days."
)

pv = _state.chosen_patient_view(cfg, view)
a = pv.analysis
summary = a.to_dict()
flag_count.metric("Flags", len(summary["flags"]), help=FLAGS_HELP)

# -- training ------------------------------------------------------------------------------
st.header("Training")
left, right = st.columns(2)
with left:
    st.plotly_chart(_state.chosen_patient_figure(cfg, view, "load"), theme=None, key="load_chart")
with right:
    st.plotly_chart(
        _state.chosen_patient_figure(cfg, view, "progression"), theme=None, key="progression_chart"
    )
st.plotly_chart(_state.chosen_patient_figure(cfg, view, "acwr"), theme=None, key="acwr_chart")
st.caption(
    f"ACWR variant: {load['acwr_variant'] or '–'}. The 0.8–1.3 band and the 1.5 line are shown for "
    f"orientation only: the ratio is a {report.ACWR_CAVEAT} (Impellizzeri et al. 2020)."
)

# -- flags ---------------------------------------------------------------------------------
st.header("Flags")
st.plotly_chart(_state.chosen_patient_figure(cfg, view, "flags"), theme=None, key="flags_chart")
if a.flags.height:
    st.dataframe(
        a.flags.select("date", "kind", "detail", "exercise"),
        hide_index=True,
        width="stretch",
        column_config={
            "date": st.column_config.DateColumn("date", format="YYYY-MM-DD"),
            "detail": st.column_config.TextColumn("why", width="large"),
        },
    )
if a.safe_doses.height:
    with st.expander("Highest recent dose per exercise not followed by a flare (last 8 weeks)"):
        st.dataframe(
            a.safe_doses.select(
                "exercise", "date", "top_kg", "reps", "volume_kg", "sessions_followed_by_flare"
            ),
            hide_index=True,
            width="stretch",
            column_config={"date": st.column_config.DateColumn("session", format="YYYY-MM-DD")},
        )

# -- relations -----------------------------------------------------------------------------
st.header("Training and pain: what goes together")
relations = a.relations if isinstance(a.relations, pl.DataFrame) else pl.DataFrame(a.relations or [])
if relations.height == 0:
    st.caption("Relations between training and pain: not computed for this patient and period.")
else:
    sentences = summary.get("significant_relations")
    if sentences is None:  # an analysis without the sentence list: take the significant rows
        sentences = [
            r.get("sentence") or r.get("driver")
            for r in relations.iter_rows(named=True)
            if r.get("significant")
        ]
    for sentence in sentences:
        st.markdown(f"- {sentence}")
    if not sentences:
        st.write(
            "No relation between training and pain passed the false-discovery control (q < 0.05) "
            "in this period."
        )
    shown = [
        c
        for c in (
            "direction",
            "driver",
            "lag_label",
            "effect",
            "ci_low",
            "ci_high",
            "unit",
            "q_value",
            "significant",
            "n",
            "note",
        )
        if c in relations.columns
    ]
    with st.expander(f"All {relations.height} relations tested, in both directions"):
        st.dataframe(relations.select(shown), hide_index=True, width="stretch")
    st.caption(
        "These are associations in this person's own log, not proof of cause: pain also changes what is "
        "trained (the pain → training direction is tested beside each), and recovery over time or "
        "regression to the mean can look like an effect. 95 % CIs are robust to day-to-day "
        "autocorrelation; q-values control false discoveries across everything tested."
    )
rest_strength = getattr(a, "rest_strength", None)
if isinstance(rest_strength, pl.DataFrame) and rest_strength.height and "sentence" in rest_strength.columns:
    st.subheader("Rest and strength")
    for sentence in rest_strength["sentence"].drop_nulls().to_list():
        st.markdown(f"- {sentence}")

# -- questionnaires ------------------------------------------------------------------------
st.header("Questionnaires")
prom_chart = _state.chosen_patient_figure(cfg, view, "prom")
if prom_chart is None:
    st.caption("No questionnaire scores (ODI, RMDQ, PSFS) in this period: upload them on the Upload page.")
else:
    st.plotly_chart(prom_chart, theme=None, key="prom_chart")
if a.prom_outcomes.height:
    st.dataframe(
        a.prom_outcomes.select(
            "instrument", "baseline_date", "baseline", "latest_date", "latest", "mcid", "mcid_reached"
        ),
        hide_index=True,
        width="stretch",
    )
