"""Data quality: per patient, the uploads, what was quarantined and why, and exercise names
the catalogue does not know yet (with a way to map them)."""

from __future__ import annotations

import _state
import polars as pl
import streamlit as st

from toolkit import dashboard as tkd
from toolkit.exceptions import ToolkitError
from toolkit.ingest import load_catalogue

K = _state.Keys
cfg = _state.settings()
view = _state.patient_page(cfg, "Data quality — {pid}", with_period=False)
pid = view.patient_id
mapped = st.session_state.pop(K.QUALITY_MAPPED, None)
if mapped:
    st.success(mapped)

try:
    uploads = _state.table(cfg, "uploads", pid)
    quarantine = _state.table(cfg, "quarantine", pid)
    unknown = _state.unmapped(cfg, pid)
except ToolkitError as exc:
    st.error(str(exc))
    st.stop()

# -- uploads -------------------------------------------------------------------------------
st.header("Uploads")
if uploads.height == 0:
    st.write("No files uploaded for this patient.")
else:
    st.dataframe(
        uploads.sort("ingested_at_utc").select(
            "file_name",
            "format",
            "layout",
            "kind",
            "ingested_at_utc",
            "rows_read",
            "rows_accepted",
            "rows_duplicate",
            "rows_quarantined",
            pl.col("warnings_json").str.json_decode(pl.List(pl.String)).list.join(" · ").alias("warnings"),
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "ingested_at_utc": st.column_config.DatetimeColumn("ingested (UTC)", format="YYYY-MM-DD HH:mm"),
            "warnings": st.column_config.TextColumn("warnings", width="large"),
        },
    )

# -- quarantine ----------------------------------------------------------------------------
st.header("Quarantined rows")
show_info = st.toggle(
    "Also show rows that are not data by design (rest timers, unfilled sets, non-pain diary items)",
    value=False,
)
rows = quarantine if show_info else quarantine.filter(pl.col("severity") == "error")
if rows.height == 0:
    st.write("Nothing was quarantined." if quarantine.height == 0 else "No rows were refused as errors.")
else:
    counts = rows.group_by("reason", "severity").len().sort("len", descending=True)
    st.dataframe(counts.rename({"len": "rows"}), hide_index=True)
    st.dataframe(
        rows.select("file_name", *_state.quarantine_columns()).sort("file_name", "line"),
        hide_index=True,
        width="stretch",
    )

# -- unmapped exercises --------------------------------------------------------------------
st.header("Exercise names the catalogue does not know")
if unknown.height == 0:
    st.write("Every exercise name of this patient matched the catalogue.")
    st.stop()
st.caption(
    "Unmapped exercises keep their name but carry no movement pattern or bodyweight factor, so they are "
    "left out of the heavy-lift progression and bodyweight loads. Map a name to an exercise of the "
    f"catalogue: the alias is written to {tkd.user_catalogue_path(cfg.store_path)} and the patients who "
    "logged it are re-read from their kept uploads."
)
st.dataframe(
    unknown.select("exercise_raw", "sets", "first_date", "last_date"), hide_index=True, width="stretch"
)
try:
    catalogue = tkd.user_catalogue(cfg.store_path)
    if catalogue is None:
        catalogue = load_catalogue()
except ToolkitError as exc:
    st.error(str(exc))
    st.stop()
with st.form("map_exercise"):
    raw = st.selectbox("Name as exported", unknown["exercise_raw"].to_list())
    canonical = st.selectbox("is the catalogue exercise", sorted(catalogue["canonical_name"].to_list()))
    submitted = st.form_submit_button("Map and re-process")
if submitted and raw and canonical:
    everyone = _state.unmapped(cfg, None)
    who = everyone.filter(pl.col("exercise_raw") == raw)["patients"].to_list()
    affected = sorted(set(who[0]) if who else {pid})
    try:
        with st.status(f"Mapping {raw!r} to {canonical} and re-processing {len(affected)} patient(s)…"):
            tkd.add_exercise_alias(cfg.store_path, raw, canonical)
            user_cat = tkd.user_catalogue(cfg.store_path)
            for other in affected:
                cfg.store.reprocess(other, catalogue=user_cat)
    except ToolkitError as exc:
        st.error(str(exc))
        st.stop()
    st.session_state[K.QUALITY_MAPPED] = f"Mapped {raw!r} to {canonical}; re-processed {', '.join(affected)}."
    st.rerun()
