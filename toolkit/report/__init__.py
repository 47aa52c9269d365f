"""What a physiotherapist reads: figures and the PDF/HTML report.

:mod:`toolkit.report.figures` builds plotly figures from the analysis frames; the
dashboard (``dashboards/``) and the report show the same figures.
:mod:`toolkit.report.render` writes the report (``render_pdf``, ``render_html``,
``render_report``); it is imported on its own, so that importing the figures does not
load the report's templates and analysis. Nothing here imports streamlit.
"""

from toolkit.report.figures import (
    ACWR_CAVEAT,
    acwr_figure,
    cohort_figure,
    flags_timeline,
    load_figure,
    pain_figure,
    progression_figure,
    prom_figure,
)

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
