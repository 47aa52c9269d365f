"""Pure computations over the canonical tables (polars in, polars out; pandas accepted).

One module per family:

* :mod:`~toolkit.analysis.load` — sessions, volume load, sRPE, rest days, streaks,
  ACWR (coupled, uncoupled, EWMA), monotony/strain, e1RM, progression, adherence;
* :mod:`~toolkit.analysis.pain` — daily pain, trend, slope with CI, change points,
  baseline → current against the MCID, reliable change, flares, PROMs;
* :mod:`~toolkit.analysis.flags` — dated ``load_spike``, ``too_fast_progression``,
  ``no_rest`` and ``pain_flare`` flags, and the safe dose per exercise;
* :mod:`~toolkit.analysis.summary` — one patient's answer (:func:`analyse_patient`).
"""

from toolkit.analysis.summary import PatientAnalysis, analyse_patient, analyse_tables

__all__ = ["PatientAnalysis", "analyse_patient", "analyse_tables"]
