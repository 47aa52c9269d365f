"""Report: the physiotherapist's report (PDF and HTML) for the chosen patient and period."""

from __future__ import annotations

import functools
import json

import _state
import streamlit as st

from toolkit import report

cfg = _state.settings()
view = _state.patient_page(cfg, "Report — {pid}")
pv = _state.chosen_patient_view(cfg, view)
a = pv.analysis
st.caption(f"Period: {a.start or '–'} → {a.end or '–'} (change it in the sidebar).")
stem = f"recovery-report-{view.patient_id}-{a.start or 'all'}-{a.end or 'all'}"

render_pdf = getattr(report, "render_pdf", None)
render_html = getattr(report, "render_html", None)
if render_pdf is None and render_html is None:
    try:
        from toolkit.report import render as _render
    except ImportError:
        pass
    else:
        render_pdf, render_html = _render.render_pdf, _render.render_html
if render_pdf is None and render_html is None:
    st.info(
        "The physiotherapist report (PDF and HTML) arrives with issue 6; until then, download the numbers."
    )
else:
    st.write(
        "The progress note for this patient and period: pain against the MCID, training and its "
        "progression, flags, relations with their caveats, and the data's accounting. It is made when "
        "you click (a few seconds)."
    )
    # Deferred: the report is rendered only when a button is clicked, never on a page run.
    args = (cfg.store, view.patient_id)
    period = {"start": view.start, "end": view.end}
    left, right = st.columns(2)
    if render_pdf is not None:
        left.download_button(
            "Download PDF",
            data=functools.partial(render_pdf, *args, **period),
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            icon=":material/picture_as_pdf:",
            on_click="ignore",
        )
    if render_html is not None:
        right.download_button(
            "Download HTML",
            data=functools.partial(render_html, *args, **period),
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
