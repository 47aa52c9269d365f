"""Upload: drop in what the apps exported, see what each file holds, then add it."""

from __future__ import annotations

import _state
import streamlit as st

from toolkit import dashboard as tkd
from toolkit.exceptions import ToolkitError
from toolkit.ingest import ReadOptions

K = _state.Keys
cfg = _state.settings()
store = cfg.store
st.title("Upload exports")
st.write(
    "Workout exports (Strong, Hevy, FitNotes, Fitbod or any CSV), pain diaries (CSV, Bearable, FHIR, "
    "Apple Health) and questionnaires (ODI, RMDQ, PSFS). Each file is checked first; **nothing is "
    "stored until you press Add**, which then opens the patient's charts."
)
_state.load_chart_library()

# -- who and how -------------------------------------------------------------------------
try:
    ids = _state.patients(cfg)["patient_id"].to_list()
except ToolkitError as exc:
    st.error(str(exc))
    st.stop()
options = [_state.NEW_PATIENT, *ids]
wanted = st.query_params.get(_state.QueryParams.PATIENT)
choice = st.selectbox(
    "Patient", options, index=options.index(wanted) if wanted in ids else 0, key=K.UPLOAD_PATIENT
)
if choice == _state.NEW_PATIENT:
    pid = st.text_input("New patient id", key=K.UPLOAD_NEW_PATIENT, placeholder="e.g. p001").strip()
else:
    pid = choice
with st.expander("Reading options"):
    unit = st.radio(
        "Weights in files that do not say their unit are in",
        ["kg", "lb"],
        horizontal=True,
        key=K.UPLOAD_WEIGHT_UNIT,
        help="Strong's classic iOS export and generic CSVs carry no unit; the check says when it was assumed.",
    )
    tz = st.text_input(
        "Time zone of the times in the files",
        value=st.context.timezone or "",
        key=K.UPLOAD_TZ,
        help="IANA name such as Europe/London; empty = this computer's zone.",
    ).strip()

nonce = st.session_state.setdefault(K.UPLOAD_NONCE, 0)
files = st.file_uploader(
    "Export files",
    accept_multiple_files=True,
    key=f"upload.files.{nonce}",
    max_upload_size=cfg.max_upload_mb,
    help="Several files at once; CSV, JSON (FHIR), XML (Apple Health) or ZIP exports.",
)
# Says whose files these are once the id is in: the sign that the rerun of typing it is over
# (files set while that rerun is still in flight can be lost when it redraws the input).
st.caption(
    f"Up to {cfg.max_upload_mb} MB per file." + (f" Files are checked for patient **{pid}**." if pid else "")
)
if not files:
    st.session_state.pop(K.UPLOAD_PREVIEW, None)  # the files were removed: free what was read of them
    st.stop()
if not pid:
    st.info("Choose a patient, or type the id of a new one, to check these files.")
    st.stop()

items = []
for f in files:
    too_big = _state.check_size(f.name, f.size, cfg)
    if too_big:
        st.error(too_big)
    else:
        items.append((f.name, f.getvalue()))
if not items:
    st.stop()

try:
    read_options = ReadOptions(weight_unit=unit, weight_unit_given=unit != "kg", tz=tz or None)
    catalogue = tkd.user_catalogue(cfg.store_path)
except ToolkitError as exc:
    st.error(str(exc))
    st.stop()

# -- check (dry run) -----------------------------------------------------------------------
# Each file is read and normalised once, here; Add writes what was read. That is reused only
# while the patient, options, files and catalogue are the same, and never after a write.
signature = tkd.upload_signature(items, patient_id=pid, options=read_options, catalogue=catalogue)
cached = st.session_state.get(K.UPLOAD_PREVIEW)
if (
    cached is None
    or cached[0] != signature
    or any(p.prepared is not None and p.prepared.consumed for p in cached[1])
):
    del cached  # free the last check before reading again
    st.session_state.pop(K.UPLOAD_PREVIEW, None)
    with st.status(f"Checking {len(items)} file(s)…", expanded=False) as status:
        bar = st.progress(0.0)

        def _on_file(i: int, name: str) -> None:
            bar.progress(i / len(items), text=f"Reading {name}")

        previews = tkd.preview_uploads(
            store, items, patient_id=pid, options=read_options, catalogue=catalogue, on_file=_on_file
        )
        bar.progress(1.0, text="Checked")
        status.update(label=f"Checked {len(items)} file(s)", state="complete")
    st.session_state[K.UPLOAD_PREVIEW] = (signature, previews)
else:
    previews = cached[1]

st.subheader(f"What would be added to {pid}")
for p in previews:
    with st.container(border=True):
        if p.report is None:
            st.markdown(f"**{p.name}** :red-badge[refused]")
            st.error(p.error or "refused")
            continue
        r = p.report
        badge = " :orange-badge[already ingested]" if r.already_ingested else ""
        st.markdown(
            f"**{p.name}**{badge} — detected **{r.format}** ({r.layout}), {r.kind}"
            + (f", {r.first_date} → {r.last_date}" if r.first_date else "")
        )
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Rows read", r.rows_read)
        m2.metric("New", r.rows_accepted)
        m3.metric("Already stored", r.rows_duplicate)
        m4.metric("Quarantined", r.rows_quarantined)
        st.caption(
            f"Row accounting: {r.rows_read} read = {r.rows_accepted} new + {r.rows_duplicate} already stored "
            f"+ {r.rows_quarantined} quarantined."
        )
        if r.already_ingested:
            st.info("Already ingested: this exact file was uploaded for this patient before.")
        for w in r.warnings:
            st.warning(w)
        if r.assumptions:
            st.caption("Assumed: " + "; ".join(f"{k}: {v}" for k, v in r.assumptions.items()))
        if r.rows_quarantined:
            with st.expander(f"Quarantined rows ({r.rows_quarantined}) and why"):
                st.write(", ".join(f"{reason}: {n}" for reason, n in r.quarantined_by_reason.items()))
                st.dataframe(
                    r.quarantine.select(_state.quarantine_columns()),
                    hide_index=True,
                    width="stretch",
                )

good = [p.prepared for p in previews if p.prepared is not None]
refused = len(previews) - len(good)
if refused:
    st.caption(f"{refused} refused file(s) will be left out.")
new_rows = sum(p.report.rows_accepted for p in previews if p.report is not None)
label = f"Add {len(good)} file(s) to {pid}" + ("" if new_rows else " (nothing new)")
if st.button(label, type="primary", disabled=not good):
    try:
        with st.status(f"Adding {len(good)} file(s) to {pid}…", expanded=True) as status:
            bar = st.progress(0.0)
            started: list[str] = []

            def _on_commit(name: str) -> None:
                started.append(name)
                bar.progress((len(started) - 1) / len(good), text=f"Storing {name}")

            # What the check read, not the files again; duplicates are counted against the
            # store as it is now (another tab may have added rows since the check).
            reports = store.ingest(good, patient_id=pid, progress=_on_commit)
            bar.progress(1.0, text="Stored")
            status.update(label=f"Added {len(reports)} file(s)", state="complete")
    except ToolkitError as exc:
        st.error(str(exc))
        st.stop()
    st.session_state.pop(K.UPLOAD_PREVIEW, None)  # written: drop the rows read for it
    # Added: open the patient's charts, where what was added is said first (added_banner).
    st.session_state[K.UPLOAD_RESULT] = (
        pid,
        [
            f"{r.file}: {r.rows_accepted} new, {r.rows_duplicate} already stored, "
            f"{r.rows_quarantined} quarantined"
            for r in reports
        ],
    )
    st.session_state[K.UPLOAD_NONCE] = nonce + 1
    _state.warm_first_look_soon(cfg, pid)  # while the browser switches to the page
    st.switch_page("views/patient.py", query_params=_state.patient_link_params(pid))
