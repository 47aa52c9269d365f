"""Cohort: one row per patient — where is everyone, and who needs a look?"""

from __future__ import annotations

import _state
import polars as pl
import streamlit as st

from toolkit import report
from toolkit._polars import format_str
from toolkit.exceptions import ToolkitError

cfg = _state.settings()
st.title("Cohort")
try:
    table = _state.cohort(cfg)
except ToolkitError as exc:
    st.error(str(exc))
    st.stop()
if table.height == 0:
    st.warning("No patients yet: add exports on the **Upload** page.")
    st.page_link("views/upload.py", label="Upload exports", icon=":material/upload:")
    st.stop()
_state.demo_banner(cfg, table["patient_id"].to_list())

reached = table.filter(pl.col("mcid_reached").fill_null(False)).height
judged = table.filter(pl.col("mcid_reached").is_not_null()).height
c1, c2, c3 = st.columns(3)
c1.metric("Patients", table.height)
c2.metric(
    "Clinically important improvement", f"{reached} of {judged}", help="≥ 2 points or ≥ 30 % (Ostelo 2008)."
)
c3.metric("Patients with flags", table.filter(pl.col("flags") > 0).height)

st.caption("Click a column header to sort; the link opens the patient's page.")
shown = table.with_columns(
    format_str("./?{}={}", pl.lit(_state.QueryParams.PATIENT), pl.col("patient_id")).alias("open")
).select(
    "open",
    "baseline",
    "current",
    "change",
    "mcid_reached",
    "trend_per_week",
    "sessions_per_week",
    "adherence_pct",
    "flags",
    "flares",
    "last_log",
    "status",
)
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    column_config={
        "open": st.column_config.LinkColumn("patient", display_text=r"patient=(.*)$", width="medium"),
        "baseline": st.column_config.NumberColumn("baseline pain", format="%.1f"),
        "current": st.column_config.NumberColumn("current pain", format="%.1f"),
        "change": st.column_config.NumberColumn("change", format="%+.1f"),
        "mcid_reached": st.column_config.CheckboxColumn("MCID reached"),
        "trend_per_week": st.column_config.NumberColumn("trend / week", format="%+.2f"),
        "sessions_per_week": st.column_config.NumberColumn("sessions / week", format="%.1f"),
        "adherence_pct": st.column_config.NumberColumn("adherence", format="%.0f %%"),
        "last_log": st.column_config.DateColumn("last log"),
    },
)

left, right = st.columns([3, 1])
with right:
    pid = st.selectbox("Open a patient", table["patient_id"].to_list())
    st.page_link(
        "views/patient.py",
        label=f"Open {pid}",
        icon=":material/person:",
        query_params=_state.patient_link_params(pid),
    )
with left:
    st.plotly_chart(report.cohort_figure(table), theme=None, key="cohort_chart")

st.header("Clinic-level model")
try:
    model = _state.clinic_model(cfg)
except ToolkitError as exc:
    model = None
    st.info(f"The clinic-level model cannot be fitted on this store: {exc}")
else:
    if model is None:
        st.caption("Pooled effects (mixed model across patients): not available in this installation.")
if model is not None:
    # describe(): the within-, between- and load-change associations first, then the notes.
    for sentence in model.sentences[:3]:
        st.markdown(f"- {sentence}")
    with st.expander("How the model was fitted, its caveats and limitations"):
        for sentence in model.sentences[3:]:
            st.markdown(f"- {sentence}")
    left, right = st.columns(2)
    with left:
        st.caption("Pooled effects (fixed effects, 95 % CI)")
        st.dataframe(model.fixed_effects, hide_index=True, width="stretch")
    with right:
        st.caption("Each patient's own slope (sessions → weekly pain change) beside the partially pooled one")
        st.dataframe(model.patient_slopes, hide_index=True, width="stretch")
