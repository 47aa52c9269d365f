"""Recovery dashboard — the entrypoint: login gate, store set-up, routing. Nothing else.

Run it with ``recovery dashboard`` (see :func:`toolkit.dashboard.serve`), or
``RECOVERY_STORE=PATH streamlit run dashboards/app.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # `streamlit run` adds it; AppTest and other runners may not
    sys.path.insert(0, str(HERE))

import _state  # noqa: E402

st.set_page_config(page_title="Recovery dashboard", page_icon=":material/monitor_heart:", layout="wide")

settings = _state.settings()
if not _state.login_gate(settings):
    st.stop()
_state.ensure_store(settings)

# The patient page is the default page: it lives at the root URL (``/?patient=…&from=…&to=…``).
page = st.navigation(
    {
        "Patients": [
            st.Page(HERE / "views" / "patient.py", title="Patient", icon=":material/person:", default=True),
            st.Page(
                HERE / "views" / "cohort.py", title="Cohort", icon=":material/groups:", url_path="cohort"
            ),
            st.Page(
                HERE / "views" / "report.py", title="Report", icon=":material/description:", url_path="report"
            ),
        ],
        "Data": [
            st.Page(
                HERE / "views" / "upload.py", title="Upload", icon=":material/upload:", url_path="upload"
            ),
            st.Page(
                HERE / "views" / "data_quality.py",
                title="Data quality",
                icon=":material/fact_check:",
                url_path="data-quality",
            ),
        ],
    }
)
page.run()
