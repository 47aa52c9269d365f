"""Report: the physiotherapist's report (PDF and HTML) for the chosen patient and period.

Rendered only when a download button is clicked, never on a page run. The charts are
drawn in the headless Chromium that :mod:`toolkit.report.render` keeps alive across
reports (``keep_browser=True``): the first report of the server process starts it, later
ones only wait for their charts; it is shut down after 15 idle minutes and at exit.
"""

from __future__ import annotations

import functools
import json

import _state
import streamlit as st

from toolkit.report.render import render_html, render_pdf

cfg = _state.settings()
view = _state.patient_page(cfg, "Report — {pid}")
pv = _state.chosen_patient_view(cfg, view)
a = pv.analysis
st.caption(f"Period: {a.start or '–'} → {a.end or '–'} (change it in the sidebar).")
stem = f"recovery-report-{view.patient_id}-{a.start or 'all'}-{a.end or 'all'}"

st.write(
    "The progress note for this patient and period: pain against the MCID, training and its "
    "progression, flags, relations with their caveats, and the data's accounting. It is made when "
    "you click (a few seconds)."
)
args = (cfg.store, view.patient_id)
options = {"start": view.start, "end": view.end, "keep_browser": True}
left, right = st.columns(2)
left.download_button(
    "Download PDF",
    data=functools.partial(render_pdf, *args, **options),
    file_name=f"{stem}.pdf",
    mime="application/pdf",
    icon=":material/picture_as_pdf:",
    on_click="ignore",
)
right.download_button(
    "Download HTML",
    data=functools.partial(render_html, *args, **options),
    file_name=f"{stem}.html",
    mime="text/html",
    icon=":material/html:",
    on_click="ignore",
)

st.download_button(
    "Download the analysis (JSON)",
    data=json.dumps(a.to_dict(), indent=2, ensure_ascii=False),
    file_name=f"{stem}.json",
    mime="application/json",
    icon=":material/data_object:",
    help="The object of `recovery analyse --json` for this patient and period.",
)
